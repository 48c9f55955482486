"""`graphc demo` (graphc/demo.py): the tour trains, evaluates, compiles, compares and saves.

The quick demo runs once in-process (module fixture) and its printed lines are checked; one
more run goes through the installed console script with the optional packages hidden, as on
a fresh machine.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graphc import demo
from graphc.cli import main
from graphc.frontend.models import load_model

#: The quick run (2,000 images, 4 epochs) reaches about 0.80 on its 500 test images; chance
#: is 0.10. The bound leaves room for other CPUs' float rounding.
QUICK_ACCURACY_BOUND = 0.6
OPTIONAL = ("matplotlib", "PIL", "torch", "jax", "onnxruntime", "onnx")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("demo") / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["demo", "--quick", "--out", str(folder)]) == 0
    return stdout.getvalue(), folder


def test_prints_the_summary_and_keras_progress_bar(quick_run):
    out, _ = quick_run
    assert 'Model: "digits_mlp"' in out and "Total params: 17,226" in out
    assert " hidden_1 (Dense)            (None, 128)               8320" in out
    assert "Epoch 4/4" in out and "Epoch 5/4" not in out
    assert re.search(r"^\d+/\d+ ━+ \d+s \d+[mu]?s/step - accuracy: 0\.\d{4} - loss: ", out, re.M)


def test_accuracy_on_held_out_images_is_printed_and_above_the_bound(quick_run):
    out, _ = quick_run
    match = re.search(
        r"^test accuracy: (0\.\d{4}) \(loss (\d+\.\d{4})\) on 500 held-out", out, re.M
    )
    assert match, out
    assert float(match.group(1)) > QUICK_ACCURACY_BOUND


def test_compiled_model_matches_numpy_and_both_are_timed(quick_run):
    out, _ = quick_run
    match = re.search(r"numpy forward pass with the same weights: max \|difference\| (\S+),", out)
    assert match and float(match.group(1)) < 1e-5
    assert "same predicted class for 100.0% of the 500 images" in out
    for batch in (1, 500):
        line = re.search(rf"^  batch {batch} .*$", out, re.M)
        assert line, out
        times = re.findall(r"(?:graphc|numpy) +(\d+(?:\.\d+)?) (s|ms|us)", line.group(0))
        assert len(times) == 2 and re.search(r"graphc is \S+x (faster|slower)$", line.group(0))


def test_the_gradient_agrees_in_three_modes(quick_run):
    out, _ = quick_run
    assert "= 11.652071455223084 at (2, 5):" in out
    assert out.count("df/dx1 = 5.5, df/dx2 = 1.716337815") == 3


def test_the_saved_model_loads_and_predicts_like_the_samples_say(quick_run):
    out, folder = quick_run
    model = load_model(str(folder / demo.MODEL_FILE))
    samples = np.load(folder / demo.SAMPLES_FILE)
    probabilities = model.predict(samples, verbose=0)
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    labels = re.search(r"and 5 test images \(labels ([\d ]+)\)", out).group(1).split()
    assert len(labels) == 5
    assert (probabilities.argmax(axis=1) == np.array(labels, int)).mean() >= 0.6
    assert type(model.optimizer).__name__ == "Adam"  # the compiled state was saved too


def test_the_suggested_commands_run(quick_run, capsys):
    out, folder = quick_run
    commands = re.findall(r"^  .{32}(graphc (?:summary|predict|dump) .*)$", out, re.M)
    assert len(commands) == 4, out
    for command in commands:
        assert main(shlex.split(command)[1:]) == 0, command
    printed = capsys.readouterr().out
    assert 'Model: "digits_mlp"' in printed and 'define void @"graphc_main"' in printed
    assert (folder / "predictions.npy").exists()


def test_digits_are_reproducible_and_labelled():
    x1, y1 = demo.make_digits(50, np.random.default_rng(3))
    x2, y2 = demo.make_digits(50, np.random.default_rng(3))
    np.testing.assert_array_equal(x1, x2)
    assert set(y1.tolist()) <= set(range(10)) and len(set(y1.tolist())) > 5
    # The ink of each image is its digit's glyph: the noise-free image equals a template.
    clean, labels = demo.make_digits(20, np.random.default_rng(4), noise=0.0, drop=0.0)
    ink = demo.TEMPLATES.reshape(10, -1).sum(axis=1)
    np.testing.assert_array_equal((clean > 0).sum(axis=1), ink[labels])


def test_numpy_forward_is_the_models_inference():
    model = demo.build_model()
    x, _ = demo.make_digits(7, np.random.default_rng(5))
    np.testing.assert_allclose(
        demo.numpy_forward(model.get_weights(), x), model.graph(x), rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--epochs", "0"], "--epochs must be at least 1, got 0"),
        (["demo", "--quick", "--out", "{file}"], "File exists"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, capsys, argv, message):
    existing_file = tmp_path / "a_file"
    existing_file.write_text("not a folder")
    argv = [arg.format(file=existing_file) for arg in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("graphc demo: error:") and message in err and len(err.splitlines()) == 1


def test_console_script_on_a_machine_without_the_optional_packages(tmp_path):
    script = shutil.which("graphc") or str(Path(sys.executable).with_name("graphc"))
    if not os.path.exists(script):
        pytest.skip("the graphc console script is not installed (pip install -e .)")
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    for name in OPTIONAL:  # these shadow the installed packages and fail to import
        (hidden / f"{name}.py").write_text(f"raise ImportError('{name} is hidden by the test')")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hidden), *sys.path])}
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True)
    assert b"hidden by the test" in probe.stderr
    out_dir = tmp_path / "saved"
    result = subprocess.run(
        [script, "demo", "--quick", "--epochs", "2", "--out", str(out_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "test accuracy: 0." in result.stdout and "Epoch 2/2" in result.stdout
    assert "Median time per call, one thread each:" in result.stdout
    assert (out_dir / demo.MODEL_FILE).exists() and (out_dir / demo.SAMPLES_FILE).exists()
