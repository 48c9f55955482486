"""Every call is validated before native code runs: each rule has a test that it fires."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.backend import compile_graph
from graphc.errors import GraphcError, InputError

pytestmark = pytest.mark.backend


@pytest.fixture(scope="module")
def model():
    """f(x: f32[None,3], s: f64[]) = (x * 2 + 1, sum over axis 1 of x as f64 times s)."""
    x = graphc.placeholder((None, 3), "float32", name="x")
    s = graphc.placeholder((), "float64", name="s")
    summed = graphc.cast(graphc.sum(x, axis=1), "float64") * s
    return compile_graph(graphc.Graph([x, s], [x * 2.0 + 1.0, summed]))


def arrays(batch: int = 4):
    return np.arange(batch * 3, dtype=np.float32).reshape(batch, 3), np.float64(0.5)


def test_a_valid_call_matches_the_interpreter(model) -> None:
    got = model(*arrays())
    want = model.graph(*arrays())
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)


@pytest.mark.parametrize("args", [(), (np.zeros((2, 3), np.float32),), (1, 2, 3)])
def test_wrong_number_of_arguments(model, args) -> None:
    with pytest.raises(InputError, match="takes 2 argument"):
        model(*args)


def test_wrong_rank(model) -> None:
    with pytest.raises(InputError, match=r"input 0 \('x'\): expected shape \[None,3\]"):
        model(np.zeros((2, 3, 1), np.float32), 1.0)


def test_wrong_static_dimension(model) -> None:
    with pytest.raises(InputError, match="axis 1 should be 3"):
        model(np.zeros((2, 4), np.float32), 1.0)


def test_inconsistent_batch_sizes() -> None:
    a = graphc.placeholder((None, 2), name="a")
    b = graphc.placeholder((None,), name="b")
    f = compile_graph(graphc.Graph([a, b], a + b[:, None]))
    with pytest.raises(InputError, match="batch dimension .* all batch dimensions"):
        f(np.zeros((3, 2), np.float32), np.zeros(4, np.float32))


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, 3), np.complex64), "dtype complex64"),
        (np.array([["a", "b", "c"]]), "expected numbers"),
        (np.zeros((2, 3), object), "expected numbers"),
    ],
)
def test_dtypes_that_are_not_numbers_are_refused(model, bad, message) -> None:
    with pytest.raises(InputError, match=message):
        model(bad, 1.0)


def test_unsafe_casts_are_refused() -> None:
    i = graphc.placeholder((None,), "int32", name="i")
    f = compile_graph(graphc.Graph([i], i + 1))
    with pytest.raises(InputError, match="does not convert safely"):
        f(np.zeros(3, np.float32))
    b = graphc.placeholder((2,), "bool", name="b")
    g = compile_graph(graphc.Graph([b], graphc.logical_not(b)))
    with pytest.raises(InputError, match="does not convert safely"):
        g(np.array([0, 1]))


def test_safe_casts_convert(model) -> None:
    x, s = arrays()
    got = model(x.astype(np.float64), np.float32(s))  # float64 -> float32 is same_kind
    np.testing.assert_allclose(got[0], x * 2 + 1)
    ints = model(x.astype(np.int64), 1)  # int -> float
    np.testing.assert_allclose(ints[0], x * 2 + 1)


def test_narrowing_casts_that_would_change_a_value_are_refused() -> None:
    n = graphc.placeholder((None,), "int32", name="n")
    x = graphc.placeholder((None,), "float32", name="x")
    s = graphc.placeholder((), "float32", name="s")
    graph = graphc.Graph([n, x, s], [n + 1, x * s])
    for run in (graph, compile_graph(graph)):  # the interpreter and native code agree
        fine = run(np.array([2**31 - 1, -(2**31)]), np.array([1e38, np.inf]), 2.0)
        assert fine[0].tolist() == [-(2**31), -(2**31) + 1]  # int32 arithmetic wraps, as numpy
        with pytest.raises(InputError, match=r"values from 1 to 1099511627776 do not fit int32"):
            run(np.array([1, 2**40]), np.ones(2), 1.0)
        with pytest.raises(InputError, match="input 1 .'x'.: a value of magnitude 1e.300 over"):
            run(np.ones(2, np.int64), np.array([1.0, 1e300]), 1.0)
        with pytest.raises(InputError, match="input 2 .'s'.: a value of magnitude 1e.40 over"):
            run(np.ones(2, np.int64), np.ones(2), 1e40)  # the fast path's scalars too
        nan = run(np.ones(2, np.int64), np.array([np.nan, -np.inf]), float("nan"))
        assert np.isnan(nan[1]).all()


def test_non_contiguous_inputs_are_copied(model) -> None:
    wide = np.arange(40, dtype=np.float32).reshape(5, 8)
    strided = wide[:, ::3]  # (5, 3), not contiguous
    fortran = np.asfortranarray(wide[:, :3])
    assert not strided.flags.c_contiguous and not fortran.flags.c_contiguous
    for x in (strided, fortran):
        np.testing.assert_allclose(model(x, 2.0)[0], np.ascontiguousarray(x) * 2 + 1)


def test_outputs_are_fresh_arrays(model) -> None:
    first, _ = model(*arrays())
    second, _ = model(*arrays())
    assert first is not second and not np.shares_memory(first, second)


def test_out_buffers_are_filled(model) -> None:
    out = [np.empty((4, 3), np.float32), np.empty(4, np.float64)]
    result = model(*arrays(), out=out)
    assert result[0] is out[0] and result[1] is out[1]
    np.testing.assert_allclose(out[0], arrays()[0] * 2 + 1)


def test_out_buffers_of_scalar_outputs_and_of_every_call_path() -> None:
    """`out=` is written the same on the quick path (exact arrays) and the general one (an
    argument that needs converting), for array and 0-d outputs."""
    x = graphc.placeholder((None, 2), "float64", name="x")
    f = compile_graph(graphc.Graph([x], [x * 3.0, graphc.sum(x)]), cache=False)
    for argument in (np.ones((5, 2)), [[1.0, 1.0]] * 5):
        out = [np.zeros((5, 2)), np.zeros(())]
        result = f(argument, out=out)
        assert result[0] is out[0] and result[1] is out[1]
        np.testing.assert_array_equal(out[0], 3.0)
        assert out[1] == 10.0


@pytest.mark.parametrize(
    "out, message",
    [
        (np.empty((4, 3), np.float32), r"expected 2 array\(s\)"),
        ([np.empty((4, 3), np.float32)], r"expected 2 array\(s\)"),
        ([np.empty((4, 3), np.float64), np.empty(4)], r"out\[0\]: expected dtype float32"),
        ([np.empty((5, 3), np.float32), np.empty(4)], r"out\[0\]: expected shape \(4, 3\)"),
        ([np.empty((3, 4), np.float32).T, np.empty(4)], "C-contiguous"),
        ([[[0.0] * 3] * 4, np.empty(4)], "expected a numpy array"),
        ([np.empty((4, 3), np.float32)] * 3, r"expected 2 array\(s\) .* got a list of 3"),
    ],
)
def test_bad_out_buffers(model, out, message) -> None:
    with pytest.raises(InputError, match=message):
        model(*arrays(), out=out)


def test_read_only_out_buffer(model) -> None:
    frozen = np.empty((4, 3), np.float32)
    frozen.flags.writeable = False
    with pytest.raises(InputError, match="read-only"):
        model(*arrays(), out=[frozen, np.empty(4)])


def test_out_buffer_overlapping_an_input_or_another_output(model) -> None:
    x, s = arrays()
    with pytest.raises(InputError, match="overlaps an input"):
        model(x, s, out=[x, np.empty(4)])
    shared = np.empty(16, np.float64)
    with pytest.raises(InputError, match="overlaps another output"):
        model(x, s, out=[shared[:12].view(np.float32)[:12].reshape(4, 3), shared[:4]])


def test_a_symbolic_value_is_not_an_argument(model) -> None:
    with pytest.raises(InputError, match="symbolic Value"):
        model(graphc.placeholder((None, 3)), 1.0)


def test_errors_are_value_errors_that_name_the_input(model) -> None:
    with pytest.raises(ValueError, match="'x'"):
        model(np.zeros((2, 5), np.float32), 1.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"opt_level": 4}, "opt_level"), ({"threads": 0}, "threads"), ({"threads": 1.5}, "threads")],
)
def test_bad_compile_options(kwargs, message) -> None:
    x = graphc.placeholder((2,))
    with pytest.raises(GraphcError, match=message):
        compile_graph(graphc.Graph([x], x), **kwargs)


def test_compile_needs_a_graph() -> None:
    with pytest.raises(GraphcError, match="expected a graphc.Graph"):
        compile_graph(graphc.placeholder((2,)))
