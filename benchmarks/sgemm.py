"""sgemm: float32 C = A @ B for square 256 and 1024 matrices, in GFLOP/s (2 n^3 / time).

Both operands are runtime inputs. Each size is measured on one thread and on all threads:
graphc compiles once per thread count (with `threads=k` its k threads share the product);
numpy's BLAS and PyTorch are limited at run time (threadpoolctl, `torch.set_num_threads`);
XLA cannot change its thread pool in a running process, so JAX appears in the multi-threaded
cases only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import threadpoolctl

import graphc
from benchmarks.harness import Section, Settings, Target, check_close, measure

NAME = "sgemm"
TITLE = "float32 square matrix product, GFLOP/s"
PEERS = ("numpy", "torch", "jax")
TARGET = 0.8  # graphc GFLOP/s / numpy GFLOP/s at 1024


@contextmanager
def peer_threads(settings: Settings, threads: int) -> Iterator[None]:
    """Limit numpy's BLAS and PyTorch to `threads` meanwhile."""
    torch = settings.peers.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    limiter = threadpoolctl.threadpool_limits(threads, user_api="blas")
    try:
        yield
    finally:
        limiter.restore_original_limits()
        if torch is not None:
            torch.set_num_threads(settings.threads)


def peer_calls(
    settings: Settings, a: np.ndarray, b: np.ndarray, threads: int
) -> dict[str, Callable[[], Any]]:
    peers = settings.peers
    calls: dict[str, Callable[[], Any]] = {}
    if peers.get("numpy") is not None:
        calls["numpy"] = lambda: a @ b
    torch = peers.get("torch")
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        calls["torch"] = lambda: torch.mm(ta, tb)
    jax = peers.get("jax")
    if jax is not None and threads == settings.threads:
        jitted = jax.jit(jax.numpy.matmul)
        da, db = jax.device_put(a), jax.device_put(b)
        calls["jax"] = lambda: jitted(da, db).block_until_ready()
    return calls


def run(settings: Settings) -> Section:
    section = Section(NAME, TITLE)
    thread_counts = sorted({1, settings.threads})
    for n in (64,) if settings.quick else (256, 1024):
        rng = np.random.default_rng(n)
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        want = a.astype(np.float64) @ b.astype(np.float64)
        lhs = graphc.placeholder((None, n), name="a")
        rhs = graphc.placeholder((n, n), name="b")
        graph = graphc.Graph([lhs, rhs], lhs @ rhs, name=f"sgemm{n}")
        for threads in thread_counts:
            case = f"{n}x{n}, {threads} thread{'s' if threads > 1 else ''}"
            compiled = graphc.compile(graph, threads=threads)
            candidates: dict[str, Callable[[], Any]] = {
                "graphc": lambda c=compiled, a=a, b=b: c(a, b)
            }
            with peer_threads(settings, threads):
                candidates.update(peer_calls(settings, a, b, threads))
                for name, call in candidates.items():
                    check_close(f"{NAME} {case} {name}", np.asarray(call()), want, rtol=1e-4)
                times = measure(candidates, settings)
            for name, seconds in times.items():
                gflops = f"{2 * n**3 / seconds / 1e9:.1f} GFLOP/s"
                section.add(case, name, "graphc" if name == "graphc" else "peer", seconds, gflops)
            for peer in PEERS:
                if peer not in candidates:
                    if peer == "jax" and settings.peers.get("jax") is not None:
                        section.add(case, peer, "peer", None, "XLA's threads are fixed")
                    else:
                        section.skip(case, peer, settings)
            numpy_seconds = section.seconds(case, "numpy")
            if n == 1024 and numpy_seconds:
                section.targets.append(
                    Target(
                        f"{case}: graphc GFLOP/s / numpy's >= {TARGET}",
                        numpy_seconds / times["graphc"],
                        TARGET,
                        at_least=True,
                    )
                )
    return section
