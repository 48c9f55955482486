"""The native module's lifetime and its workspace-size function."""

from __future__ import annotations

import ctypes
import gc
import platform
import weakref

import numpy as np
import pytest

import graphc
from graphc.backend import compile_graph
from graphc.backend.codegen import WORKSPACE_SIZE

pytestmark = pytest.mark.backend


def chain() -> graphc.Graph:
    x = graphc.placeholder((None, 5), "float64", name="x")
    y = graphc.exp(x - graphc.max(x, axis=1, keepdims=True))
    return graphc.Graph([x], graphc.log(y / graphc.sum(y, axis=1, keepdims=True)))


def test_the_native_code_is_freed_with_the_compiled_object() -> None:
    f = compile_graph(chain())
    library = weakref.ref(f._library)
    f(np.zeros((2, 5)))
    del f
    gc.collect()
    assert library() is None


def test_the_native_workspace_size_matches_the_wrapper() -> None:
    f = compile_graph(chain(), run_passes=False)
    size = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(f._library.address(WORKSPACE_SIZE))
    assert f.workspace_size(0) == 0 or size(0) == f.workspace_size(0)
    for batch in (0, 1, 7, 1000, 123457):
        assert size(batch) == f.workspace_size(batch)
    assert f.workspace_size(1000) >= 1000 * 5 * 8


def test_outputs_that_are_inputs_constants_or_repeated() -> None:
    x = graphc.placeholder((None, 2), "int64", name="x")
    c = graphc.constant(np.array([[1, 2], [3, 4]]), name="c")
    s = graphc.constant(7)
    y = x * 3
    graph = graphc.Graph([x], [x, c, s, y, y])
    f = compile_graph(graph, run_passes=False)
    data = np.arange(6).reshape(3, 2)
    got = f(data)
    for g, w in zip(got, graph(data)):
        np.testing.assert_array_equal(g, w)
    assert not np.shares_memory(got[0], data) and not np.shares_memory(got[3], got[4])


def test_a_graph_without_batch_dimension() -> None:
    a, b = graphc.scalars("a b")
    graph = graphc.Graph([a, b], graphc.log(a) + a * b - graphc.sin(b))
    f = compile_graph(graph)
    assert float(f(2.0, 5.0)) == pytest.approx(float(graph(2.0, 5.0)), rel=1e-15)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 only")
def test_flush_denormals_holds_during_the_call_only() -> None:
    x = graphc.placeholder((None,), "float32", name="x")
    graph = graphc.Graph([x], x * np.float32(0.5))
    tiny = np.full(3, np.finfo(np.float32).tiny, np.float32)  # halving it gives a subnormal
    flushed = graphc.compile(graph, flush_denormals=True, cache=False)
    exact = graphc.compile(graph, cache=False)
    np.testing.assert_array_equal(flushed(tiny), 0.0)
    np.testing.assert_array_equal(exact(tiny), tiny * np.float32(0.5))
    assert np.float32(tiny[0]) * np.float32(0.5) > 0  # the mode was restored for numpy
    assert "llvm.x86.sse.ldmxcsr" in flushed.llvm_ir() and "mxcsr" not in exact.llvm_ir()
