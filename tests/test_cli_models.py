"""`graphc summary`, `graphc predict` and `graphc dump` on saved models (graphc.model_commands)."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.cli import main
from graphc.frontend import Input, Model, Sequential, backend, layers


@pytest.fixture(autouse=True)
def _fresh_names():
    backend.clear_session()


@pytest.fixture
def model_file(tmp_path):
    model = Sequential(
        [layers.Input((4,), name="x"), layers.Dense(3, activation="relu", name="hidden")],
        name="tiny",
    )
    path = tmp_path / "tiny.graphc"
    model.save(path)
    return path, model


@pytest.fixture
def samples(tmp_path, rng):
    data = rng.normal(size=(10, 4)).astype("float32")
    path = tmp_path / "x.npy"
    np.save(path, data)
    return path, data


def one_line_error(capsys, command):
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    assert lines[0].startswith(f"graphc {command}: error: ")
    return lines[0]


# --- summary -----------------------------------------------------------------------------------


def test_summary_of_a_model_file(model_file, capsys):
    assert main(["summary", str(model_file[0])]) == 0
    out = capsys.readouterr().out
    assert 'Model: "tiny"' in out and "hidden (Dense)" in out and "Total params: 15" in out


def test_summary_of_a_graph_file(tmp_path, capsys):
    x = graphc.placeholder((None, 3), name="x")
    graphc.Graph([x], graphc.exp(x) + 1.0, name="g").save(tmp_path / "g.graphc")
    assert main(["summary", str(tmp_path / "g.graphc")]) == 0
    assert capsys.readouterr().out.splitlines() == [
        'Graph: "g"',
        "  inputs:  x: f32[None,3]",
        "  outputs: f32[None,3]",
        "  nodes:   4 (1 constant holding 1 numbers)",
    ]


def test_summary_errors(tmp_path, capsys):
    assert main(["summary", str(tmp_path / "missing.graphc")]) == 2
    assert "missing.graphc: No such file or directory" in one_line_error(capsys, "summary")
    (tmp_path / "junk.graphc").write_bytes(b"junk")
    assert main(["summary", str(tmp_path / "junk.graphc")]) == 2
    assert "not a readable graphc file" in one_line_error(capsys, "summary")


def test_summary_of_a_model_with_an_unknown_class(tmp_path, capsys):
    class Custom(layers.Layer):
        def call(self, x):
            return x * 2.0

    Sequential([layers.Input((2,)), Custom()]).save(tmp_path / "c.graphc")
    assert main(["summary", str(tmp_path / "c.graphc")]) == 2
    assert "Could not locate layer 'Custom'" in one_line_error(capsys, "summary")


# --- predict -----------------------------------------------------------------------------------


def test_predict_writes_the_predictions(model_file, samples, tmp_path, capsys):
    out = tmp_path / "y.npy"
    assert main(["predict", str(model_file[0]), str(samples[0]), "-o", str(out)]) == 0
    np.testing.assert_array_equal(np.load(out), model_file[1].predict(samples[1], verbose=0))
    assert capsys.readouterr().out.splitlines() == [
        "input: (10, 4) float32",
        "output: (10, 3) float32",
        f"wrote {out}",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.graphc", "x.npy", "y.npy"]


def test_predict_batch_size(model_file, samples, tmp_path):
    out = tmp_path / "y.npy"
    args = ["predict", str(model_file[0]), str(samples[0]), "-o", str(out), "--batch-size", "3"]
    assert main(args) == 0
    np.testing.assert_array_equal(np.load(out), model_file[1].predict(samples[1], verbose=0))


@pytest.mark.parametrize("threads", ["1", "2"])
def test_predict_threads(model_file, samples, tmp_path, threads):
    out = tmp_path / "y.npy"
    args = ["predict", str(model_file[0]), str(samples[0]), "-o", str(out), "--threads", threads]
    try:
        assert main(args) == 0
        assert backend.num_threads() == int(threads)
    finally:
        backend.set_num_threads(None)
    np.testing.assert_array_equal(np.load(out), model_file[1].predict(samples[1], verbose=0))


def test_predict_refuses_a_thread_count_below_one(model_file, samples, tmp_path, capsys):
    args = ["predict", str(model_file[0]), str(samples[0]), "-o", str(tmp_path / "y.npy")]
    assert main([*args, "--threads", "0"]) != 0
    assert "--threads: expected a positive number of threads, got 0" in capsys.readouterr().err
    assert not (tmp_path / "y.npy").exists()


def test_predict_several_inputs_and_outputs(tmp_path, rng, capsys):
    a, b = Input((2,), name="a"), Input((3,), name="b")
    merged = layers.Concatenate()([a, b])
    model = Model([a, b], {"sum": layers.Dense(1)(merged), "code": layers.Dense(2)(merged)})
    model.save(tmp_path / "m.graphc")
    xa, xb = rng.normal(size=(5, 2)), rng.normal(size=(5, 3))
    expected = model.predict([xa, xb], verbose=0)
    np.savez(tmp_path / "named.npz", a=xa, b=xb)
    np.savez(tmp_path / "positional.npz", xa, xb)
    for inputs in ("named.npz", "positional.npz"):
        out = tmp_path / f"out_{inputs}"
        assert (
            main(["predict", str(tmp_path / "m.graphc"), str(tmp_path / inputs), "-o", str(out)])
            == 0
        )
        with np.load(out) as got:
            assert sorted(got.files) == ["code", "sum"]
            for key in ("code", "sum"):
                np.testing.assert_array_equal(got[key], expected[key])
    capsys.readouterr()
    assert (
        main(
            [
                "predict",
                str(tmp_path / "m.graphc"),
                str(tmp_path / "named.npz"),
                "-o",
                str(tmp_path / "o.npy"),
            ]
        )
        == 2
    )
    assert "2 outputs (sum, code); write them to a .npz file" in one_line_error(capsys, "predict")


def test_predict_input_errors(model_file, tmp_path, capsys):
    model = str(model_file[0])
    out = str(tmp_path / "y.npy")
    np.save(tmp_path / "wide.npy", np.ones((2, 5), "float32"))
    assert main(["predict", model, str(tmp_path / "wide.npy"), "-o", out]) == 2
    assert "input 0 ('x') expected shape (None,4), got (2, 5)" in one_line_error(capsys, "predict")
    (tmp_path / "text.npy").write_text("1,2,3\n")
    assert main(["predict", model, str(tmp_path / "text.npy"), "-o", out]) == 2
    assert "text.npy: not a readable .npy or .npz array file" in one_line_error(capsys, "predict")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert main(["predict", model, str(tmp_path / "objects.npy"), "-o", out]) == 2
    assert "objects.npy: not a readable" in one_line_error(capsys, "predict")
    assert main(["predict", model, str(tmp_path / "none.npy"), "-o", out]) == 2
    assert "none.npy: No such file or directory" in one_line_error(capsys, "predict")
    assert main(["predict", model, str(tmp_path / "wide.npy"), "-o", str(tmp_path / "y.txt")]) == 2
    assert "must end in .npy or .npz" in one_line_error(capsys, "predict")
    assert not (tmp_path / "y.npy").exists()


def test_predict_refuses_graph_files(tmp_path, samples, capsys):
    x = graphc.placeholder((None, 4), name="x")
    graphc.Graph([x], x * 2.0).save(tmp_path / "g.graphc")
    assert (
        main(
            ["predict", str(tmp_path / "g.graphc"), str(samples[0]), "-o", str(tmp_path / "y.npy")]
        )
        == 2
    )
    assert "is a graph file; graphc predict runs model files" in one_line_error(capsys, "predict")


# --- dump --------------------------------------------------------------------------------------


def test_dump_shows_a_models_inference_graph(model_file, capsys):
    assert main(["dump", str(model_file[0])]) == 0
    out = capsys.readouterr().out
    assert out.startswith("graph tiny(%0 x: f32[None,4]) {") and "# hidden/kernel" in out
    assert out.strip() == model_file[1].graph.dump()


def test_dump_refuses_weights_files(tmp_path, capsys):
    model = Sequential([layers.Input((2,)), layers.Dense(1)])
    model.save_weights(tmp_path / "w.graphc")
    assert main(["dump", str(tmp_path / "w.graphc")]) == 2
    assert "is a weights file" in one_line_error(capsys, "dump")


def test_predict_refuses_a_model_file_as_its_input(model_file, tmp_path, capsys):
    out = tmp_path / "y.npy"
    assert main(["predict", str(model_file[0]), str(model_file[0]), "-o", str(out)]) == 2
    line = one_line_error(capsys, "predict")
    assert "graphc model or graph file, not samples" in line and not out.exists()


@pytest.mark.backend
def test_compile_takes_a_model_file(model_file, tmp_path, capsys):
    assert main(["compile", str(model_file[0]), "-o", str(tmp_path / "tiny.o")]) == 0
    assert (tmp_path / "tiny.o").exists() and (tmp_path / "tiny.h").exists()
