"""`graphc dump --stage ...` and `graphc compile`: the compiler's stages on the command line."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import graphc
from graphc.cli import main


@pytest.fixture
def saved(tmp_path):
    """A 2-layer network, softmax(relu(x @ W1 + b1) @ W2), saved as a graph file."""
    rng = np.random.default_rng(0)
    x = graphc.placeholder((None, 4), name="x")
    w1 = rng.normal(scale=0.5, size=(4, 8)).astype("float32")
    w2 = rng.normal(scale=0.5, size=(8, 3)).astype("float32")
    hidden = graphc.relu(x @ w1 + np.full(8, 0.1, "float32"))
    path = tmp_path / "mlp.graphc"
    graphc.Graph([x], graphc.softmax(hidden @ w2, axis=-1), name="mlp").save(str(path))
    return path


def test_optimized_stage_with_stats_and_dump_after(saved, capsys):
    assert (
        main(["dump", str(saved), "--stage", "optimized", "--stats", "--dump-after", "fuse"]) == 0
    )
    out = capsys.readouterr().out
    assert "nodes before" in out and "memory" in out
    assert "fused[kind=epilogue" in out and out.count("graph mlp(") == 2


def test_unknown_pass_name_is_a_one_line_error(saved, capsys):
    assert main(["dump", str(saved), "--stage", "optimized", "--dump-after", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


@pytest.mark.backend
@pytest.mark.parametrize(
    "stage, marker",
    [("llvm", 'define void @"graphc_main"'), ("llvm-opt", "graphc_main"), ("asm", "graphc_main")],
)
def test_llvm_and_assembly_stages(saved, capsys, stage, marker):
    assert main(["dump", str(saved), "--stage", stage]) == 0
    assert marker in capsys.readouterr().out


@pytest.mark.backend
def test_compile_writes_an_object_with_a_header(saved, tmp_path, capsys):
    out = tmp_path / "model.o"
    assert main(["compile", str(saved), "-o", str(out)]) == 0
    assert out.exists() and out.with_suffix(".h").exists()
    assert "graphc_main" in out.with_suffix(".h").read_text()


@pytest.mark.backend
@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler to link a .so")
def test_compile_links_a_shared_library(saved, tmp_path):
    out = tmp_path / "libmodel.so"
    assert main(["compile", str(saved), "-o", str(out)]) == 0
    assert out.exists() and out.stat().st_size > 0


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--dump-after", "all", "--stats"], "--dump-after and --stats need --stage optimized"),
        (["--stats"], "--stats needs --stage optimized (the stage is graph)"),
        (["--stage", "llvm", "--dump-after", "fuse"], "--dump-after needs --stage optimized"),
        (["--stage", "asm", "--format", "svg"], "--format svg applies to --stage graph or"),
        (["--stage", "llvm", "--format", "dot"], "--stage llvm prints text"),
    ],
)
def test_optimizer_flags_without_the_optimized_stage_are_a_one_line_error(
    saved, capsys, flags, message
):
    assert main(["dump", str(saved), *flags]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err
    assert captured.err.startswith("graphc dump: error: ")
