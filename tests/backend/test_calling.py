"""The call path (backend/calling.py): the fast check, scalar packing, reused frames."""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pytest

import graphc
from graphc.backend import compile_graph
from graphc.backend.calling import CallPlan, address, aligned_empty
from graphc.backend.layout import ALIGNMENT
from graphc.errors import InputError
from graphc.types import TensorType

pytestmark = pytest.mark.backend


@pytest.fixture(scope="module")
def scalar_model():
    """Three float64 scalars and a float32 vector in; two scalars and a vector out."""
    a, b, c = graphc.scalars("a b c", dtype="float64")
    v = graphc.placeholder((None, 3), name="v")
    outputs = [a * b + c, graphc.exp(a) - b, v * graphc.cast(c, "float32")]
    return compile_graph(graphc.Graph([a, b, c, v], outputs))


def test_python_floats_are_packed_into_one_array(scalar_model) -> None:
    v = np.ones((2, 3), np.float32)
    got = scalar_model(1.5, 2.0, -1.0, v)
    want = scalar_model.graph(1.5, 2.0, -1.0, v)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-12)
    assert got[0].base is got[1].base is not None  # the two scalar outputs share one block
    got[0][...] = 7.0
    assert got[1] == want[1]  # ... but are separate values


@pytest.mark.parametrize(
    "args",
    [
        (np.float32(1.5), np.float64(2.0), np.array(-1.0), np.ones((2, 3))),  # casts, 0-d
        (1, 2, 3, [[1.0, 1.0, 1.0]] * 2),  # ints and lists: the general way converts them
    ],
)
def test_other_arguments_take_the_general_way_with_the_same_results(scalar_model, args) -> None:
    assert scalar_model._plan.check(args) is None
    got = scalar_model(*args)
    want = scalar_model.graph(*args)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_bad_scalars_still_raise_the_documented_errors(scalar_model) -> None:
    v = np.ones((2, 3), np.float32)
    with pytest.raises(InputError, match=r"input 1 \('b'\)"):
        scalar_model(1.0, "2.0", 3.0, v)
    with pytest.raises(InputError, match="takes 4 argument"):
        scalar_model(1.0, 2.0, v)


def test_the_fast_check_accepts_floats_and_exact_scalars(scalar_model) -> None:
    v = np.ones((2, 3), np.float32)
    plan = scalar_model._plan
    assert plan.check((1.5, np.float64(2.0), np.array(3.0), v)) == 2
    assert plan.check((1.5, np.float32(2.0), 3.0, v)) == 2  # float32 -> float64 is safe
    for bad in ("2.0", 2, np.float16(2.0), np.array([2.0]), np.array(2.0, np.float32)):
        assert plan.check((1.5, bad, 3.0, v)) is None


def test_the_fast_check_accepts_only_exact_arrays() -> None:
    types = [TensorType((None, 4), "float32"), TensorType((4,), "int64")]
    plan = CallPlan(types, [TensorType((None, 4), "float32")], [], lambda batch: 0)
    good = (np.zeros((5, 4), np.float32), np.zeros(4, np.int64))
    assert plan.check(good) == 5
    assert plan.check((np.zeros((5, 4), np.float64), good[1])) is None  # needs a cast
    assert plan.check((np.zeros((4, 5), np.float32).T, good[1])) is None  # not contiguous
    assert plan.check((np.zeros((5, 3), np.float32), good[1])) is None  # wrong static dim
    assert plan.check((good[0], np.zeros(5, np.int64))) is None
    assert plan.check((good[0][None], good[1])) is None  # wrong rank
    assert plan.check(good[:1]) is None


def test_batch_sizes_must_agree_on_the_fast_way_too() -> None:
    a = graphc.placeholder((None, 2), name="a")
    b = graphc.placeholder((None,), name="b")
    f = compile_graph(graphc.Graph([a, b], a + b[:, None]))
    with pytest.raises(InputError, match="all batch dimensions"):
        f(np.zeros((3, 2), np.float32), np.zeros(4, np.float32))


def softmax_model():
    x = graphc.placeholder((None, 64), "float64", name="x")
    return compile_graph(graphc.Graph([x], graphc.softmax(x * 2.0) + graphc.sigmoid(x)))


def test_the_workspace_is_reused_and_grows_when_needed() -> None:
    f = softmax_model()
    assert f.workspace_size(100) > 0
    rng = np.random.default_rng(0)
    frame = f._plan.frame()
    for batch in (100, 3, 100, 250, 7):
        x = rng.standard_normal((batch, 64))
        np.testing.assert_allclose(f(x), f.graph(x), rtol=1e-12)
        assert frame.workspace is not None and frame.workspace.nbytes >= f.workspace_size(batch)
    assert frame.workspace.nbytes == f.workspace_size(250)


def test_a_call_allocates_only_its_outputs() -> None:
    f = softmax_model()
    x = np.random.default_rng(1).standard_normal((2000, 64))
    f(x)  # the first call allocates the workspace
    assert f.workspace_size(2000) >= x.nbytes
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = f(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < result.nbytes + 16_384


def test_threads_calling_at_once_use_separate_frames() -> None:
    f = softmax_model()
    rng = np.random.default_rng(2)
    inputs = [rng.standard_normal((50 + 10 * k, 64)) for k in range(8)]
    want = [f.graph(x) for x in inputs]
    got: list[np.ndarray | None] = [None] * len(inputs)

    def work(k: int) -> None:
        for _ in range(20):
            got[k] = f(inputs[k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_addresses_of_read_only_and_empty_arrays() -> None:
    data = np.arange(6.0)
    data.flags.writeable = False
    assert address(data) == data.ctypes.data
    assert address(np.zeros(0)) == 0
    assert address(aligned_empty(1000)) % ALIGNMENT == 0
