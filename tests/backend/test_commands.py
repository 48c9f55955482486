"""The backend side of `graphc dump --stage` and `graphc compile`."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import graphc
from graphc.backend.commands import STAGES, compile_file, stage_text
from graphc.errors import GraphcError

pytestmark = pytest.mark.backend


@pytest.fixture(scope="module")
def graph() -> graphc.Graph:
    x = graphc.placeholder((None, 4), name="x")
    w = graphc.constant(np.ones((4, 2), np.float32), name="dense/kernel")
    return graphc.Graph([x], graphc.relu(x @ w))


@pytest.mark.parametrize(
    "stage, marker",
    [
        ("llvm", 'define void @"graphc_main"'),
        ("llvm-opt", "define void @graphc_main"),
        ("asm", "graphc_main:"),
    ],
)
def test_each_stage_prints_its_text(graph, stage: str, marker: str) -> None:
    assert stage in STAGES
    assert marker in stage_text(graph, stage)


def test_an_unknown_stage(graph) -> None:
    with pytest.raises(GraphcError, match="unknown stage 'bitcode'"):
        stage_text(graph, "bitcode")


def test_compile_a_saved_graph(graph, tmp_path: Path) -> None:
    source = tmp_path / "model.graphc"
    graph.save(str(source))
    target = tmp_path / ("libmodel.so" if shutil.which("cc") else "libmodel.o")
    written = compile_file(source, target)
    assert [p.suffix for p in written] == [written[0].suffix, ".h", ".bin"]
    assert all(p.exists() for p in written)
