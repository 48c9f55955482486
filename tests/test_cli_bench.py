"""`graphc bench` (graphc/bench.py): the built-in inference benchmark, in its quick mode."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from graphc import bench
from graphc.cli import main


def test_quick_bench_against_numpy_prints_the_table(capsys):
    assert main(["bench", "--quick", "--peers", "numpy"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("graphc bench: inference in float32, 1 thread, median of 2")
    assert re.search(r"^model +batch +graphc +numpy$", out, re.M), out
    rows = re.findall(r"^(MLP 784-512-256-10|CNN 28x28x1) +(\d+) +\S+ (s|ms|us) +(.*)$", out, re.M)
    assert [(name, batch) for name, batch, _, _ in rows] == [
        ("MLP 784-512-256-10", "1"),
        ("MLP 784-512-256-10", "16"),
        ("CNN 28x28x1", "1"),
        ("CNN 28x28x1", "16"),
    ]
    for *_, numpy_cell in rows:
        assert re.fullmatch(r"\d+(\.\d+)? (s|ms|us) \(\d+\.\d\dx\)", numpy_cell), numpy_cell
    assert re.search(
        r"^CNN 28x28x1: compiled in \S+ (s|ms|us) \((LLVM|from the disk cache)\)$", out, re.M
    )
    assert "`python -m benchmarks` in a checkout" in out


def test_a_missing_library_is_skipped_with_a_note(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    found, notes = bench.available_peers(("numpy", "torch"))
    assert found == ["numpy"]
    assert len(notes) == 1 and notes[0].startswith(
        "torch: skipped (not installed; pip install torch"
    )
    assert "pip install torch" in notes[0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "--peers", "numpy,tensorflow"], "unknown library 'tensorflow'"),
        (["bench", "--threads", "0"], "--threads must be at least 1, got 0"),
    ],
)
def test_bad_options_are_one_line_errors(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("graphc bench: error:") and message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("case", bench.make_cases(), ids=lambda case: case.kind)
def test_graphc_and_numpy_compute_the_same_model(case):
    x = np.random.default_rng(0).random((3, *case.sample_shape), dtype=np.float32)
    reference = bench.forward(np, bench.numpy_conv, case, x)
    np.testing.assert_allclose(bench.graphc_graph(case)(x), reference, rtol=1e-4, atol=1e-5)
    assert reference.shape == (3, 10)


def test_numpy_conv_is_a_valid_cross_correlation():
    rng = np.random.default_rng(1)
    x = rng.random((2, 5, 6, 3), dtype=np.float32)
    kernel = rng.random((3, 2, 3, 4), dtype=np.float32)
    expected = np.zeros((2, 3, 5, 4), np.float32)
    for i in range(3):
        for j in range(5):
            expected[:, i, j] = np.einsum("nabc,abco->no", x[:, i : i + 3, j : j + 2], kernel)
    np.testing.assert_allclose(bench.numpy_conv(x, kernel), expected, rtol=1e-5)


@pytest.mark.parametrize("peer", ["torch", "jax", "onnxruntime"])
def test_installed_peers_compute_the_same_models(peer):
    found, notes = bench.available_peers((peer,))
    if not found:
        pytest.skip(notes[0])
    for case in bench.make_cases():
        rows, _ = bench.bench_case(case, found, threads=1, batches=(2,), timing=(1, 0.0))
        assert rows[0][:2] == [case.name, "2"] and rows[0][3].endswith("x)")
