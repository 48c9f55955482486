"""Concurrency: threads sharing one compiled model, compiling at once, processes sharing a cache.

- 8 threads call one compiled model at the same moment, over and over, through the fast path,
  with `out=` buffers and at several batch sizes: every result is bit-for-bit the one a single
  thread computed (also for a model that itself splits batches over threads, and one that
  reduces over the batch);
- 4 threads compile different graphs at the same time (LLVM's state is shared) while others
  keep calling: every model computes what the interpreter does;
- two processes compile the same graphs into one empty cache directory at the same moment, in
  three rounds; a third process then loads every graph from the caches, and every entry is
  complete (its checksum holds) with no temporary file left behind.

Threads and processes run in child processes, so a race that crashed native code would fail
the test instead of killing pytest.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from child import result_of, run_in_child, start_child

import graphc
from graphc import differential
from graphc.backend import cache, ukernels

pytestmark = pytest.mark.backend

THREADS = 8
COMPILERS = 4


def mlp(threads: int | None = None) -> Any:
    """A dense-relu-dense-softmax model with two scalar knobs (the scalar fast path)."""
    rng = np.random.default_rng(0)
    x = graphc.placeholder((None, 16), "float32", name="x")
    scale = graphc.placeholder((), "float32", name="scale")
    shift = graphc.placeholder((), "float32", name="shift")
    w1 = graphc.constant(rng.standard_normal((16, 32)).astype(np.float32))
    w2 = graphc.constant(rng.standard_normal((32, 4)).astype(np.float32))
    hidden = graphc.relu(x @ w1 * scale + shift)
    return graphc.compile(graphc.Graph([x, scale, shift], graphc.softmax(hidden @ w2)),
                          threads=threads, cache=False)  # fmt: skip


def batch_statistics() -> Any:
    """Reductions over the batch: not batch-separable, so every call runs on one thread."""
    x = graphc.placeholder((None, 5), "float64", name="x")
    centered = x - graphc.mean(x, axis=0)
    return graphc.compile(graphc.Graph([x], [centered, graphc.var(x, axis=0)]), cache=False)


def calls_for(model: Any, thread: int) -> list[tuple[Any, ...]]:
    """Each thread's own arguments, at several batch sizes."""
    rng = np.random.default_rng(thread)
    shapes = [t.shape for t in model.graph.input_types]
    batches = [0, 1, 3, 64, 257][thread % 5 :] + [0, 1, 3, 64, 257][: thread % 5]
    calls = []
    for batch in batches:
        args = [
            np.float32(rng.uniform(0.5, 1.5)) if shape == () else
            rng.standard_normal((batch, *shape[1:])).astype(model.graph.input_types[i].dtype)
            for i, shape in enumerate(shapes)
        ]  # fmt: skip
        calls.append(tuple(args))
    return calls


def as_list(result: Any) -> list[np.ndarray]:
    return result if isinstance(result, list) else [result]


def hammer(rounds: int = 20) -> dict[str, int]:
    """8 threads x `rounds` x 5 calls on each model, compared bitwise with single-threaded
    results computed first. Runs in a child."""
    models = {
        "mlp": mlp(),
        "mlp split over 3 threads": mlp(threads=3),
        "batch stats": batch_statistics(),
    }
    calls = 0
    mismatches: list[str] = []
    lock = threading.Lock()
    for name, model in models.items():
        work = [calls_for(model, t) for t in range(THREADS)]
        expected = [[as_list(model(*args)) for args in thread_calls] for thread_calls in work]
        barrier = threading.Barrier(THREADS)

        def run(thread: int, model: Any = model, work: Any = work, expected: Any = expected,
                name: str = name, barrier: Any = barrier) -> None:  # fmt: skip
            nonlocal calls
            barrier.wait()
            for round_ in range(rounds):
                for args, want in zip(work[thread], expected[thread]):
                    if round_ % 2:  # the general way: caller's output buffers
                        out = [np.empty_like(w) for w in want]
                        model(*args, out=out if len(out) > 1 else out[0])
                        got = out
                    else:
                        got = as_list(model(*args))
                    same = all(np.array_equal(g, w, equal_nan=True) for g, w in zip(got, want))
                    with lock:
                        calls += 1
                        if not same:
                            mismatches.append(f"{name}, thread {thread}, round {round_}")

        threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return {"calls": calls, "mismatches": len(mismatches), "first": mismatches[:3]}


def test_eight_threads_calling_one_model_get_single_thread_results() -> None:
    result = run_in_child(__file__, "hammer", timeout=600)
    assert result["mismatches"] == 0, result
    assert result["calls"] == 3 * THREADS * 20 * 5


def graph_number(k: int) -> graphc.Graph:
    """Distinct graphs (the constant differs), so every thread really compiles."""
    x = graphc.placeholder((None, 6), "float64", name="x")
    return graphc.Graph([x], graphc.tanh(x * float(k + 2)) @ graphc.constant(np.eye(6) * k))


def compile_while_calling() -> dict[str, Any]:
    """4 threads compile distinct graphs at once while 2 threads keep calling a model."""
    running = mlp()
    args = calls_for(running, 0)[3]
    want = as_list(running(*args))
    stop = threading.Event()
    errors: list[str] = []

    def keep_calling() -> None:
        while not stop.is_set():
            if not all(np.array_equal(g, w) for g, w in zip(as_list(running(*args)), want)):
                errors.append("a call during compilation changed its result")
            time.sleep(0.001)  # leave the compilers the interpreter lock most of the time

    def compile_one(k: int) -> None:
        graph = graph_number(k)
        compiled = graphc.compile(graph, cache=False)
        x = np.linspace(-1, 1, 30).reshape(5, 6)
        try:
            differential.compare_outputs([graph(x)], [compiled(x)], f"graph {k}",
                                         differential.tolerance(graph))  # fmt: skip
        except differential.FuzzFailure as exc:
            errors.append(str(exc))

    callers = [threading.Thread(target=keep_calling) for _ in range(2)]
    compilers = [threading.Thread(target=compile_one, args=(k,)) for k in range(COMPILERS)]
    for thread in callers + compilers:
        thread.start()
    for thread in compilers:
        thread.join()
    stop.set()
    for thread in callers:
        thread.join()
    return {"errors": errors}


def test_threads_compiling_at_once_while_others_call() -> None:
    assert run_in_child(__file__, "compile_while_calling", timeout=600) == {"errors": []}


# --- processes sharing one cache directory -----------------------------------------------------

ROUNDS = 3
GRAPHS_PER_ROUND = 1


def compile_from_cache(rounds: list[list[str]]) -> dict[str, Any]:
    """For each (go file, cache directory): announce readiness, wait for the go file, then
    compile the same graphs with the disk cache in that directory and check them against the
    interpreter. Returns which compiles came from the cache."""
    hits = []
    for go, directory in rounds:
        os.environ[cache.CACHE_ENV] = directory
        Path(f"{go}.{os.getpid()}.ready").touch()
        while not os.path.exists(go):
            time.sleep(0.0005)
        for k in range(GRAPHS_PER_ROUND):
            graph = graph_number(k)
            compiled = graphc.compile(graph, cache=True)
            x = np.linspace(-1, 1, 30).reshape(5, 6)
            differential.compare_outputs([graph(x)], [compiled(x)], f"graph {k}",
                                         differential.tolerance(graph))  # fmt: skip
            hits.append(compiled.from_cache)
    return {"from_cache": hits}


def test_two_processes_compiling_into_one_cache_at_once(tmp_path: Path) -> None:
    """Each round, two processes start compiling the same graphs into one empty directory at
    the same moment; then a third process loads everything from the caches."""
    rounds = [[str(tmp_path / f"go{r}"), str(tmp_path / f"cache{r}")] for r in range(ROUNDS)]
    children = [start_child(__file__, "compile_from_cache", rounds) for _ in range(2)]
    for go, _ in rounds:
        while len(list(tmp_path.glob(Path(go).name + ".*.ready"))) < 2:
            assert all(child.poll() is None for child in children), "a child died"
            time.sleep(0.001)
        Path(go).touch()
    for child in children:
        result_of(child, timeout=300)
    for _, directory in rounds:
        entries = sorted(Path(directory).iterdir())
        assert all(p.suffix == ".o" for p in entries), entries  # no temporary files left
        graphs = [p for p in entries if not p.name.startswith(ukernels.KERNELS_CACHE_PREFIX)]
        assert len(graphs) == GRAPHS_PER_ROUND, entries  # and the shared micro-kernels
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(cache.CACHE_ENV, directory)
            assert all(cache.load(p.stem) is not None for p in entries)  # checksums hold
    third = run_in_child(__file__, "compile_from_cache", rounds)
    assert third == {"from_cache": [True] * (ROUNDS * GRAPHS_PER_ROUND)}
