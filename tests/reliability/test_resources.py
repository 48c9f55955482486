"""Resources: no memory growth over 100k calls, dropped compiles are freed, 10k-node graphs.

Each measurement (`measure.py`) runs in a fresh child process so that resident memory means
something. Bounds are generous (a leak of a few dozen bytes per call, or of one JIT engine per
compile, would still exceed them); the figures themselves are in docs/reliability.md.
"""

from __future__ import annotations

import measure
import pytest
from child import run_in_child

pytestmark = pytest.mark.backend

MB = 1024  # the measurements report KiB


def test_100k_calls_keep_memory_flat() -> None:
    result = run_in_child(measure.__file__, "call_memory", 100_000, timeout=600)
    for way, figures in result.items():
        assert figures["rss_growth_kb"] < 4 * MB, (way, figures)


def test_dropped_compiles_are_freed() -> None:
    result = run_in_child(measure.__file__, "compile_memory", 200, timeout=600)
    assert result["still_alive"] == 0, result  # every Compiled and JIT engine was collected
    assert result["rss_growth_cached_kb"] < 8 * MB, result
    assert result["rss_growth_total_kb"] < 16 * MB, result


def test_a_dropped_compile_is_freed_at_once() -> None:
    assert run_in_child(measure.__file__, "freed_without_gc", timeout=300) is True


def test_a_graph_of_10k_nodes_builds_optimizes_and_compiles() -> None:
    """No timing assertions (figures vary by machine); it completes, agrees with the
    interpreter and stays within a generous memory bound."""
    result = run_in_child(measure.__file__, "big_graph", 10_000, 0, timeout=600)
    assert result["nodes"] > 10_000 and result["max_error"] < 1e-5, result
    assert result["peak_rss_mb"] < 2048, result
