"""threads=k splits the batch across threads when the graph keeps batch entries apart."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import graphc
from graphc.backend import compile_graph, compiled
from graphc.backend.separable import is_batch_separable
from graphc.backend.workers import WorkerPool

pytestmark = pytest.mark.backend


def rowwise() -> graphc.Graph:
    rng = np.random.default_rng(1)
    x = graphc.placeholder((None, 6), "float64", name="x")
    w = graphc.constant(rng.standard_normal((6, 4)), name="w")
    h = graphc.relu(x @ w + 1.0)
    return graphc.Graph([x], [graphc.softmax(h, axis=-1), graphc.argmax(h, axis=1)])


@pytest.mark.parametrize("batch", [0, 1, 7, 1000])
def test_two_threads_give_identical_results(batch: int) -> None:
    graph = rowwise()
    one = compile_graph(graph)
    two = compile_graph(graph, threads=2)
    assert two.batch_separable and two.threads == 2
    x = np.random.default_rng(batch).standard_normal((batch, 6))
    for a, b in zip(one(x), two(x)):
        np.testing.assert_array_equal(a, b)


def test_large_batches_run_as_one_slice_per_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    f = compile_graph(rowwise(), threads=3, cache=False)
    slices: list[list[int]] = []
    original = WorkerPool.split

    def spy(pool: WorkerPool, batches: list[int]) -> None:
        slices.append(list(batches))
        original(pool, batches)

    monkeypatch.setattr(WorkerPool, "split", spy)
    x = np.random.default_rng(0).standard_normal((100, 6))
    for a, b in zip(f(x), rowwise()(x)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert slices == [[33, 33, 34]]
    f(x[:10])  # fewer than MIN_SLICE_ROWS rows per thread: one call, the kernels share
    assert slices == [[33, 33, 34]]


def convolutional() -> graphc.Graph:
    rng = np.random.default_rng(2)
    x = graphc.placeholder((None, 12, 12, 2), "float64", name="images")
    h = graphc.conv2d(x, graphc.constant(rng.standard_normal((3, 3, 2, 8))))
    h = graphc.max_pool2d(graphc.relu(h), 2)
    flat = graphc.reshape(h, (None, 5 * 5 * 8))
    return graphc.Graph([x], flat @ graphc.constant(rng.standard_normal((200, 3))))


@pytest.mark.parametrize("threads", [1, 2])
def test_large_workspaces_run_in_chunks_with_identical_results(
    threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each thread runs its rows a chunk at a time when their workspace would exceed the
    budget, and the results do not change by a bit."""
    f = compile_graph(convolutional(), threads=threads, cache=False)
    x = np.random.default_rng(3).standard_normal((100, 12, 12, 2))
    whole = f(x)
    assert f.chunk_rows(50) == 50  # the default budget holds these small images
    monkeypatch.setattr(compiled, "CHUNK_WORKSPACE_BYTES", f.workspace_size(10))
    rows = 100 // threads
    assert f.chunk_rows(rows) == -(-rows // -(-rows // 10))  # equal chunks of at most 10
    calls: list[int] = []
    if threads == 1:
        original_call = f._call_frame
        monkeypatch.setattr(f, "_call_frame", lambda a, n: (calls.append(n), original_call(a, n)))
    else:
        original_split = WorkerPool.split

        def spy(pool: WorkerPool, batches: list[int]) -> None:
            calls.extend(batches)
            original_split(pool, batches)

        monkeypatch.setattr(WorkerPool, "split", spy)
    np.testing.assert_array_equal(f(x), whole)
    assert sum(calls) == 100 and max(calls) <= 10 and len(calls) == 10


def test_graphs_that_mix_batch_entries_are_never_chunked(monkeypatch: pytest.MonkeyPatch) -> None:
    x = graphc.placeholder((None, 3), "float64", name="x")
    mixing = compile_graph(graphc.Graph([x], x - graphc.mean(x, axis=0)), cache=False)
    separable = compile_graph(graphc.Graph([x], x * 2.0 + 1.0), cache=False)
    monkeypatch.setattr(compiled, "CHUNK_WORKSPACE_BYTES", -1)  # any workspace is too large
    assert mixing.chunk_rows(1000) == 1000
    assert separable.chunk_rows(1000) == compiled.MIN_CHUNK_ROWS  # 125 chunks of 8


def test_a_call_while_another_holds_the_pool_runs_alone() -> None:
    f = compile_graph(rowwise(), threads=2, cache=False)
    x = np.random.default_rng(1).standard_normal((64, 6))
    want = f(x)
    pool = f._acquire_pool()  # another call holds the persistent pool
    try:
        for a, b in zip(f(x), want):
            np.testing.assert_array_equal(a, b)
    finally:
        pool.release()


def test_close_stops_the_workers_and_a_later_call_restarts_them() -> None:
    f = compile_graph(rowwise(), threads=2, cache=False)
    x = np.random.default_rng(2).standard_normal((64, 6))
    want = f(x)
    f.close()
    assert f._pool is None
    for a, b in zip(f(x), want):
        np.testing.assert_array_equal(a, b)
    assert f._pool is not None and f._pool.usable()
    f.close()


def test_graphs_that_mix_batch_entries_run_on_one_thread() -> None:
    x = graphc.placeholder((None, 3), "float64", name="x")
    mixing = [
        graphc.Graph([x], x - graphc.mean(x, axis=0)),  # a reduction over the batch
        graphc.Graph([x], graphc.flip(x, 0)),  # reverses the batch
        graphc.Graph([x], graphc.sum(x, axis=0)),  # an unbatched output
        graphc.Graph([x], x.T),  # the batch moves to axis 1
    ]
    data = np.random.default_rng(0).standard_normal((9, 3))
    for graph in mixing:
        assert not is_batch_separable(graph)
        f = compile_graph(graph, threads=2)
        assert not f.batch_separable
        np.testing.assert_allclose(f(data), graph(data), rtol=1e-12)


def test_random_numbers_are_not_split() -> None:
    seed = graphc.placeholder((), "int64", name="seed")
    x = graphc.placeholder((None, 2), name="x")
    assert not is_batch_separable(
        graphc.Graph([seed, x], x + graphc.random_uniform(seed, (None, 2)))
    )


def test_unbatched_inputs_are_shared_by_every_slice() -> None:
    x = graphc.placeholder((None, 2), "float64", name="x")
    b = graphc.placeholder((2,), "float64", name="b")
    graph = graphc.Graph([x, b], x * b)
    f = compile_graph(graph, threads=2)
    data = np.arange(20.0).reshape(10, 2)
    np.testing.assert_array_equal(f(data, np.array([2.0, 3.0])), data * [2.0, 3.0])


def adam_like() -> graphc.Graph:
    """A non-separable graph (unbatched outputs) whose elementwise kernels are large."""
    p = graphc.placeholder((1025, 1025), name="p")
    g = graphc.placeholder((1025, 1025), name="g")
    s = graphc.placeholder((), name="s")
    update = p - 0.01 * (g * s) / (graphc.sqrt(g * g) + 1e-7)
    return graphc.Graph([p, g, s], [update, g * 0.5, p[:3] + 1.0])


def test_large_elementwise_kernels_are_split_across_threads() -> None:
    graph = adam_like()
    one, two = compile_graph(graph, cache=False), compile_graph(graph, threads=2, cache=False)
    assert not two.batch_separable
    rng = np.random.default_rng(3)
    args = [rng.standard_normal((1025, 1025)).astype(np.float32) for _ in range(2)]
    for a, b in zip(one(*args, 1.5), two(*args, 1.5)):
        np.testing.assert_array_equal(a, b)
    ir_text = two.llvm_ir()
    parts = {line.split('"')[1] for line in ir_text.splitlines() if line.startswith("define")}
    split = sorted(name for name in parts if name.endswith(".part"))
    assert len(split) == 2 and all("fused" in name or "mul" in name for name in split)
    assert ".part" not in one.llvm_ir()  # one thread: no thread code at all


@pytest.mark.parametrize("batch", [0, 1, 3, 1000])
def test_batched_elementwise_kernels_split_by_their_runtime_size(batch: int) -> None:
    x = graphc.placeholder((None, 1100), "float64", name="x")
    graph = graphc.Graph([x], graphc.exp(x - graphc.mean(x, axis=0)))
    f = compile_graph(graph, threads=2, cache=False)
    assert not f.batch_separable and ".part" in f.llvm_ir()
    data = np.random.default_rng(batch).standard_normal((batch, 1100))
    np.testing.assert_array_equal(f(data), compile_graph(graph, cache=False)(data))


def test_kernel_threads_serve_concurrent_callers() -> None:
    """Each call of the entry has its own pool of workers: calls from several Python threads
    at once (the GIL is released) share nothing."""
    graph = adam_like()
    f = compile_graph(graph, threads=2, cache=False)
    rng = np.random.default_rng(4)
    inputs = [
        [rng.standard_normal((1025, 1025)).astype(np.float32) for _ in range(2)] for _ in range(4)
    ]
    want = [graph(*args, 0.5) for args in inputs]
    got: dict[int, list] = {}

    def call(index: int) -> None:
        for _ in range(3):
            got[index] = f(*inputs[index], 0.5)

    workers = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for index in range(4):
        for a, b in zip(got[index], want[index]):
            np.testing.assert_allclose(a, b, rtol=1e-6)
