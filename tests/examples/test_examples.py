"""The examples in examples/ run end to end in quick mode and print what they claim.

Each example is imported from its file and its `main(quick=True)` is run in-process (or
`main()` with `GRAPHC_EXAMPLES_QUICK=1` set); one test runs a script as a user does
(`GRAPHC_EXAMPLES_QUICK=1 python examples/... OUTPUT_DIR`).
No test touches the network: the MNIST loaders see an empty data folder and a download that
fails, which is how an offline machine without the files behaves.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from graphc.frontend import backend
from graphc.frontend.datasets import _files

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def offline_without_data(tmp_path, monkeypatch):
    """An empty data folder, downloads that fail like on a machine without network, and
    fresh default layer names."""
    monkeypatch.setenv("GRAPHC_DATA_DIR", str(tmp_path / "keras-data"))

    def no_network(url, timeout=None):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(_files, "urlopen", no_network)
    monkeypatch.syspath_prepend(str(EXAMPLES))  # fashion_mnist_cnn imports mnist_mlp
    backend.clear_session()  # default layer names as in a fresh process


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mnist_mlp_trains_saves_and_reloads_identically(tmp_path, capsys):
    result = load("mnist_mlp").main(quick=True, output_dir=str(tmp_path))
    out = capsys.readouterr().out
    assert "Data: synthetic MNIST-like images, because" in out
    assert "keras-data/mnist.npz does not exist" in out
    assert "2000 training and 500 test images" in out
    assert "Total params: 101,770" in out
    assert result["accuracy"] > 0.3  # 10 classes: chance is 0.1; one epoch reaches about 0.5
    assert f"test accuracy {result['accuracy']:.4f}" in out
    assert result["reload_difference"] == 0.0
    assert "reloaded model predicts identically: True" in out
    assert (tmp_path / "mnist_mlp.graphc").is_file()


def test_mnist_loader_is_used_when_the_file_is_present(tmp_path, capsys):
    mnist_mlp = load("mnist_mlp")
    images, labels = mnist_mlp.synthetic_images(30, seed=5)
    folder = tmp_path / "keras-data"
    folder.mkdir()
    np.savez(
        folder / "mnist.npz", x_train=images, y_train=labels, x_test=images[:10], y_test=labels[:10]
    )
    (x_train, y_train), (x_test, _) = mnist_mlp.load_or_generate(
        mnist_mlp.datasets.mnist, "MNIST", limit=(20, 5)
    )
    assert f"Data: the real MNIST data from {folder}: 20 training and 5 test images" in (
        capsys.readouterr().out
    )
    np.testing.assert_array_equal(x_train, images[:20])
    np.testing.assert_array_equal(y_train, labels[:20])
    assert x_test.shape == (5, 28, 28)


def test_a_damaged_data_file_is_reported_not_replaced(tmp_path):
    mnist_mlp = load("mnist_mlp")
    (tmp_path / "keras-data").mkdir()
    (tmp_path / "keras-data" / "mnist.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable mnist.npz"):
        mnist_mlp.load_or_generate(mnist_mlp.datasets.mnist, "MNIST", limit=(20, 5))


def test_synthetic_digits_look_like_mnist():
    images, labels = load("mnist_mlp").synthetic_images(200, seed=3)
    assert images.shape == (200, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.uint8 and set(labels.tolist()) == set(range(10))
    means = np.stack([images[labels == k].mean(axis=0) for k in range(10)])
    assert (
        np.min(np.abs(means[:, None] - means[None]).sum(axis=(2, 3))[~np.eye(10, dtype=bool)]) > 0
    )


def test_fashion_mnist_cnn(capsys):
    result = load("fashion_mnist_cnn").main(quick=True)
    out = capsys.readouterr().out
    assert "Data: synthetic Fashion-MNIST-like images" in out
    assert "conv2d (Conv2D)             (None, 26, 26, 16)" in out
    assert "conv2d_1 (Conv2D)           (None, 11, 11, 32)        4640" in out
    assert "(None, 5, 5, 32)" in out  # after the second pooling
    assert "val_accuracy" in out
    assert result["accuracy"] > 0.2
    assert f"test accuracy {result['accuracy']:.4f}" in out
    assert "9 Ankle boot" in out


def test_functional_multi_io(capsys):
    result = load("functional_multi_io").main(quick=True)
    out = capsys.readouterr().out
    assert "['residual[0][0]'," in out and "'tags[0][0]']" in out  # Connected to
    assert set(result) == {
        "loss",
        "priority_loss",
        "department_loss",
        "priority_accuracy",
        "department_accuracy",
    }
    # the total is the weighted sum of the two losses (loss_weights 1.0 and 0.5)
    assert result["loss"] == pytest.approx(
        result["priority_loss"] + 0.5 * result["department_loss"], rel=1e-4
    )
    assert "predict on a dict of 4 tickets:" in out


def test_subclassed_model(tmp_path, capsys):
    result = load("subclassed_model").main(quick=True, output_dir=str(tmp_path))
    out = capsys.readouterr().out
    assert "output of the unbuilt model on 2 points: (2, 3)" in out
    assert "Total params: 8,707" in out
    assert "reloaded: SpiralNet with config" in out and "'blocks': 2" in out
    assert result["reload_difference"] == 0.0
    assert (tmp_path / "spiral_net.graphc").is_file()


def test_custom_layer(capsys):
    result = load("custom_layer").main(quick=True)
    out = capsys.readouterr().out
    assert "its weights: [('rbf/centres', (2, 16)), ('rbf/widths', (16,))]" in out
    assert "rbf (RBFFeatures)           (None, 16)                48" in out
    assert "the config names the layer 'examples>RBFFeatures'" in out
    assert "Could not locate activation 'soft_clip'" in out
    assert result["reload_difference"] == 0.0
    assert "layer 'rbf' is RBFFeatures, predicts identically: True" in out


def test_transfer_learning_freezes_then_fine_tunes(capsys):
    result = load("transfer_learning").main(quick=True)
    out = capsys.readouterr().out
    frozen, unfrozen = out.split("3. Unfreeze")
    assert "base (Sequential)           (None, 32)                3424      N" in frozen
    assert "Trainable params: 99\nNon-trainable params: 3,424" in frozen
    assert "base (Sequential)           (None, 32)                3424      Y" in unfrozen
    assert "Trainable params: 3,523\nNon-trainable params: 0" in unfrozen
    assert set(result) == {"task_a", "frozen", "fine_tuned", "scratch"}
    assert all(0.0 <= value <= 1.0 for value in result.values())


def test_autodiff_modes_match_the_textbook(capsys):
    load("autodiff_modes").main()
    out = capsys.readouterr().out
    assert "forward   5.5     1.71634" in out and "reverse   5.5     1.71634" in out
    assert "v̇₄  = v̇₁ + v̇₂         = 5.5000" in out  # the tangent trace
    assert "v̄₀  = v̄₀ + v̄₂*v₋₁  = 1.7163" in out  # the adjoint trace
    assert "grad f(2, 5) = [5.5, 1.716338]" in out
    assert "df = [x2 + 1/x1, x1 - cos(x2)]" in out


def test_inspect_compiler_prints_every_stage(capsys):
    result = load("inspect_compiler").main()
    out = capsys.readouterr().out
    for stage in ("1. The model's", "2. Optimization", "3. LLVM IR", "4. LLVM IR after", "5. Host"):
        assert stage in out
    assert "fused[kind=epilogue, nodes=5: matmul add le select]" in out
    assert 'call void @"k3_fused_matmul_add_le_select"' in out
    assert "graphc_main:" in out  # the assembly
    assert result["interpreter"] < 1e-5 and result["predict"] == 0.0


def test_rnn_text_masking(capsys):
    result = load("rnn_text").main(quick=True)
    out = capsys.readouterr().out
    assert "padded to (300, 8) int32" in out
    assert "embedding (Embedding)       (None, 8, 16)" in out
    assert f"test accuracy {result['accuracy']:.4f}" in out
    assert result["padding_difference"] < 1e-5  # pre- and post-padding agree: masking works


def test_flowers_augmentation(tmp_path, capsys):
    result = load("flowers_augmentation").main(quick=True, output_dir=str(tmp_path))
    out = capsys.readouterr().out
    assert "Found 90 files belonging to 3 classes.\nUsing 72 files for training." in out
    assert "Using 18 files for validation." in out
    assert "class names: ['daisy', 'rose', 'tulip']" in out
    assert "random_zoom (RandomZoom)    (None, 32, 32, 3)" in out
    assert "Epoch 2/2" in out and "val_accuracy" in out
    if importlib.util.find_spec("matplotlib") is None:
        assert result["plot"] is None and 'pip install "graphc[plot]"' in out
    else:
        assert result["plot"] == str(tmp_path / "history.png")
        assert (tmp_path / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_moons_mlp_reads_quick_mode_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("GRAPHC_EXAMPLES_QUICK", "1")
    accuracy = load("two_moons_mlp").main()
    out = capsys.readouterr().out
    assert "Epoch 4/4\n57/57 - " in out and "Epoch 5/" not in out  # quick: 4 epochs, verbose=2
    assert "val_accuracy" in out
    assert accuracy > 0.9  # a logistic regression reaches 0.885; 30 epochs reach 0.958
    assert f"test accuracy {accuracy:.4f}" in out


def test_seed_binary_classifier_reads_quick_mode_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("GRAPHC_EXAMPLES_QUICK", "1")
    loss, accuracy = load("seed_binary_classifier").main()
    out = capsys.readouterr().out
    assert "Epoch 2/2\n8/8 ━━━━━━━━━━━━━━━━━━━━" in out and "Epoch 3/" not in out
    assert "1/1 ━━━━━━━━━━━━━━━━━━━━" in out  # evaluate's bar
    assert loss == pytest.approx(0.69, abs=0.1)  # random labels: near log(2)
    assert f"test loss {loss:.4f}, test accuracy {accuracy:.4f}" in out


def test_a_script_runs_as_a_user_runs_it(tmp_path):
    env = {**os.environ, "GRAPHC_EXAMPLES_QUICK": "1"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "custom_layer.py"), str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "trained 1 epochs" in done.stdout  # the environment variable chose quick mode
    assert (tmp_path / "out" / "ring_classifier.graphc").is_file()
