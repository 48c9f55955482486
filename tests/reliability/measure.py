"""Resource measurements of compiled graphs, each meant to run in a fresh child process.

- `call_memory`: resident memory before and after 100k calls of one compiled model (fast path,
  `out=` buffers, and a model that splits batches over threads), after a warm-up;
- `compile_memory`: resident memory over hundreds of compiles whose results are dropped, and
  whether every dropped `Compiled` object and its JIT engine were freed;
- `big_graph`: building, optimizing, compiling and running a chain of 10k elementwise nodes:
  seconds per stage and peak memory.

`python tests/reliability/measure.py` prints all three (the figures in docs/reliability.md);
test_resources.py runs them with assertions.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import time
import weakref
from typing import Any

import numpy as np

import graphc

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    """Resident memory of this process now, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def peak_rss() -> int:
    """Peak resident memory of this process, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def dense_model(threads: int | None = None) -> Any:
    rng = np.random.default_rng(0)
    x = graphc.placeholder((None, 8), "float32", name="x")
    w = graphc.constant(rng.standard_normal((8, 4)).astype(np.float32))
    b = graphc.constant(rng.standard_normal(4).astype(np.float32))
    return graphc.compile(graphc.Graph([x], graphc.relu(x @ w + b)), threads=threads, cache=False)


def _loop(call: Any, count: int) -> dict[str, float]:
    for _ in range(min(count // 10, 5000)):  # warm-up: caches, frames, allocator arenas
        call()
    gc.collect()
    before = rss()
    start = time.perf_counter()
    for _ in range(count):
        call()
    seconds = time.perf_counter() - start
    gc.collect()
    return {
        "calls": count,
        "us_per_call": seconds / count * 1e6,
        "rss_before_mb": before / 2**20,
        "rss_growth_kb": (rss() - before) / 1024,
    }


def call_memory(count: int = 100_000) -> dict[str, Any]:
    """Resident memory growth over `count` calls per way of calling."""
    model = dense_model()
    split = dense_model(threads=2)
    x = np.random.default_rng(1).standard_normal((16, 8)).astype(np.float32)
    out = np.empty((16, 4), np.float32)
    return {
        "fast path": _loop(lambda: model(x), count),
        "out= buffers": _loop(lambda: model(x, out=out), count),
        "2 threads": _loop(lambda: split(x), count // 5),
    }


def compile_memory(compiles: int = 200) -> dict[str, Any]:
    """Compile and drop the same graph `compiles` times from the disk cache (each one loads
    object code into a new JIT engine) and 20 times without it (LLVM runs too)."""
    x = graphc.placeholder((None, 8), "float32", name="x")
    graph = graphc.Graph([x], graphc.tanh(x) * 2.0 + 1.0)
    arg = np.ones((4, 8), np.float32)
    alive: list[weakref.ref] = []

    def once(cache: bool) -> None:
        compiled = graphc.compile(graph, cache=cache)
        compiled(arg)
        alive.append(weakref.ref(compiled))
        alive.append(weakref.ref(compiled._library))

    for _ in range(10):  # warm-up (and the first one fills the cache)
        once(True)
    gc.collect()
    before = rss()
    start = time.perf_counter()
    for _ in range(compiles):
        once(True)
    cached_seconds = time.perf_counter() - start
    middle = rss()
    start = time.perf_counter()
    for _ in range(20):
        once(False)
    full_seconds = time.perf_counter() - start
    gc.collect()
    return {
        "compiles_from_cache": compiles,
        "ms_per_compile_from_cache": cached_seconds / compiles * 1e3,
        "ms_per_full_compile": full_seconds / 20 * 1e3,
        "rss_before_mb": before / 2**20,
        "rss_growth_cached_kb": (middle - before) / 1024,
        "rss_growth_total_kb": (rss() - before) / 1024,
        "still_alive": sum(ref() is not None for ref in alive),
    }


def freed_without_gc() -> bool:
    """Whether a dropped Compiled object is freed at once, by reference counting alone."""
    x = graphc.placeholder((None, 2), "float64", name="x")
    compiled = graphc.compile(graphc.Graph([x], graphc.exp(x)), cache=False)
    compiled(np.ones((3, 2)))
    engine = weakref.ref(compiled._library)
    gc.disable()
    try:
        del compiled
        return engine() is None
    finally:
        gc.enable()


def big_graph(nodes: int = 10_000, opt_level: int = 3) -> dict[str, Any]:
    """A chain of `nodes` elementwise ops (mul, add, tanh, maximum in turn)."""
    start = time.perf_counter()
    x = graphc.placeholder((None, 8), "float32", name="x")
    value = x
    steps = [
        lambda v: v * 1.0001,
        lambda v: v + 0.001,
        graphc.tanh,
        lambda v: graphc.maximum(v, -2.0),
    ]
    for i in range(nodes):
        value = steps[i % 4](value)
    built = time.perf_counter()
    graph = graphc.Graph([x], value)
    materialized = time.perf_counter()
    optimized = graphc.optimize(graph, level=2)
    passes = time.perf_counter()
    compiled = graphc.compile(graph, opt_level=opt_level, cache=False)
    done = time.perf_counter()
    arg = np.linspace(-1, 1, 64, dtype=np.float32).reshape(8, 8)
    error = float(np.abs(compiled(arg) - graph(arg)).max())
    return {
        "nodes": len(graph),
        "nodes_after_passes": len(optimized),
        "seconds": {
            "build values": built - start,
            "Graph()": materialized - built,
            "optimize(level=2)": passes - materialized,
            f"compile(opt_level={opt_level})": done - passes,
            **{f"  {stage}": t for stage, t in compiled.timings.items()},
        },
        "peak_rss_mb": peak_rss() / 2**20,
        "max_error": error,
    }


if __name__ == "__main__":
    print(json.dumps({"call_memory": call_memory()}, indent=1))
    print(
        json.dumps(
            {"compile_memory": compile_memory(), "freed_without_gc": freed_without_gc()}, indent=1
        )
    )
    for level in (0, 3):
        print(json.dumps({"big_graph": big_graph(opt_level=level)}, indent=1))
