"""Inspection: the IR as generated and optimized, and the assembly, name the kernels."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.backend import compile_graph

pytestmark = pytest.mark.backend


@pytest.fixture(scope="module")
def dense():
    x = graphc.placeholder((None, 4), name="x")
    w = graphc.constant(np.ones((4, 3), np.float32), name="dense_1/kernel")
    y = graphc.primitives.linalg.matmul_p.bind(x, w, name="dense_1")
    return compile_graph(graphc.Graph([x], graphc.exp(y)), run_passes=False)


def test_unoptimized_ir_has_named_kernels_and_values(dense) -> None:
    text = dense.llvm_ir()
    assert 'define void @"graphc_main"(ptr %"args", i64 %"batch")' in text
    assert 'define internal void @"k2_matmul_dense_1"' in text
    assert 'ptr noalias %"dense_1_kernel"' in text  # the weight's pointer, named after the node
    assert 'define i64 @"graphc_workspace_size"' in text
    assert 'define internal void @"k3_exp"' in text


def test_optimized_ir_keeps_one_function_per_kernel(dense) -> None:
    text = dense.llvm_ir(optimized=True)
    assert "@k2_matmul_dense_1(" in text and "@k3_exp(" in text
    assert text != dense.llvm_ir()


def test_assembly_is_for_the_host(dense) -> None:
    text = dense.asm()
    assert "graphc_main:" in text and "k2_matmul_dense_1:" in text


def test_inspection_after_a_cache_hit_regenerates_the_text(dense) -> None:
    again = compile_graph(dense.graph, run_passes=False)
    assert again.from_cache
    assert again.llvm_ir() == dense.llvm_ir()
    assert "k2_matmul_dense_1:" in again.asm()


def test_weights_are_not_baked_into_the_ir() -> None:
    x = graphc.placeholder((None, 300), name="x")
    w = graphc.constant(np.full((300, 300), 0.25, np.float32), name="w")
    f = compile_graph(graphc.Graph([x], x @ w), cache=False)
    text = f.llvm_ir()
    # 0.25 as LLVM spells a float literal: 90,000 baked weights would repeat it 90,000 times
    assert text.lower().count("0x3fd0000000000000") < 10 and "x float]" not in text
    np.testing.assert_allclose(f(np.ones((2, 300), np.float32)), np.full((2, 300), 75.0))


def test_repr_and_timings(dense) -> None:
    assert repr(dense) == "<Compiled (f32[None,4]) -> (f32[None,3]), 2 kernels>"
    assert {"plan", "lower", "optimize", "codegen", "load"} <= set(dense.timings) or (
        dense.from_cache and {"plan", "load"} <= set(dense.timings)
    )
