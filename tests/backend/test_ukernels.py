"""GEMM micro-kernels are compiled once per process and shared (backend.ukernels)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import graphc
from graphc.backend import cache as disk_cache
from graphc.backend import compile_graph, ukernels

pytestmark = pytest.mark.backend


def dense(units: int, seed: int) -> graphc.Graph:
    rng = np.random.default_rng(seed)
    x = graphc.placeholder((None, 20), name="x")
    w = graphc.constant(rng.standard_normal((20, units)).astype(np.float32))
    return graphc.Graph([x], graphc.relu(x @ w))


def test_graphs_share_the_processs_micro_kernels() -> None:
    first = compile_graph(dense(24, 0), cache=False)
    called = ukernels.symbols_in(first.object_code)
    assert called and all(name.startswith(ukernels.PREFIX) for name in called)
    declared = [line for line in first.llvm_ir().splitlines() if line.startswith("declare")]
    assert all(any(name in line for line in declared) for name in called)
    assert "gemm.f32" not in first.llvm_ir()  # no micro-kernel of its own
    second = compile_graph(dense(40, 1), cache=False)
    assert ukernels.symbols_in(second.object_code) <= called | ukernels._addresses.keys()
    assert second.timings["micro-kernels"] < 0.01  # nothing left to compile
    x = np.random.default_rng(2).standard_normal((13, 20)).astype(np.float32)
    for compiled in (first, second):
        np.testing.assert_allclose(compiled(x), compiled.graph(x), rtol=1e-5, atol=1e-6)


def test_only_this_graphcs_kernels_are_accepted() -> None:
    name = next(iter(ukernels.symbols_in(compile_graph(dense(8, 3)).object_code)))
    foreign = name[:-16] + "0" * 16
    with pytest.raises(ValueError, match="not a micro-kernel of this graphc"):
        ukernels.ensure([foreign], cache=False)


def test_a_new_process_loads_a_cached_graph_and_its_kernels(tmp_path: Path) -> None:
    """The second process compiles nothing: the graph and the kernels come from the cache."""
    script = textwrap.dedent(
        """
        import numpy as np, graphc
        x = graphc.placeholder((None, 16), name="x")
        w = graphc.constant(np.arange(16 * 9, dtype=np.float32).reshape(16, 9) / 100)
        f = graphc.compile(graphc.Graph([x], x @ w))
        print(f.from_cache, round(f.timings["micro-kernels"], 3) < 0.05)
        print(float(f(np.ones((7, 16), np.float32)).sum()))
        """
    )
    env = {"PATH": "/usr/bin:/bin", disk_cache.CACHE_ENV: str(tmp_path)}

    def run() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
        )
        return done.stdout.split()

    first, second = run(), run()
    assert first[0] == "False" and second[:2] == ["True", "True"]
    want = float((np.arange(16 * 9, dtype=np.float32).reshape(16, 9) / 100).sum() * 7)
    assert float(second[2]) == pytest.approx(want, rel=1e-5) and first[2] == second[2]
    assert any(p.name.startswith(ukernels.KERNELS_CACHE_PREFIX) for p in tmp_path.iterdir())
