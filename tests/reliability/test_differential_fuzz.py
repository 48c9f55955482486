"""Differential fuzzing: random graphs over every primitive, run two ways that must agree.

Hypothesis draws seeds; `graphc.fuzzing.random_graph` turns a seed into a graph and
`graphc.differential` runs the checks (compiled vs interpreter, optimized vs unoptimized,
forward vs reverse vs finite differences). The example counts are modest and derandomized so
the suite is fast and stable; `benchmarks/fuzz.py --minutes N` searches far more seeds. Every
bug the fuzzer found has a regression test below, and planted bugs show the checks can fail.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphc
from graphc import differential
from graphc.autodiff import JVP_RULES, VJP_RULES
from graphc.fuzzing import ALL_DTYPES, random_arguments, random_graph
from graphc.primitives.conv import conv_p
from graphc.primitives.elementwise import sin_p

pytestmark = pytest.mark.backend

FUZZ = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
SEEDS = st.integers(0, 2**32 - 1)


def graph_for(seed: int, differentiable: bool = False) -> graphc.Graph:
    return random_graph(np.random.default_rng(seed), differentiable=differentiable)


@settings(FUZZ, max_examples=40)
@given(seed=SEEDS)
def test_compiled_code_agrees_with_the_interpreter(seed: int) -> None:
    differential.run_check("compiled", graph_for(seed), seed)


@settings(FUZZ, max_examples=60)
@given(seed=SEEDS)
def test_optimized_graphs_agree_with_the_original(seed: int) -> None:
    differential.run_check("optimized", graph_for(seed), seed)


@settings(FUZZ, max_examples=25)
@given(seed=SEEDS)
def test_forward_reverse_and_finite_differences_agree(seed: int) -> None:
    differential.run_check("derivatives", graph_for(seed, differentiable=True), seed)


def test_the_generator_reaches_every_primitive_and_dtype() -> None:
    """Over a few hundred seeds, every primitive but `fused` (which the passes create) and
    every dtype appear, so the checks above exercise all of them."""
    seen_primitives: set[str] = set()
    seen_dtypes: set[str] = set()
    for seed in range(300):
        graph = graph_for(seed)
        seen_primitives.update(graph.primitive(n).name for n in graph.order)
        seen_dtypes.update(graph.type(n).dtype.name for n in graph.order)
    assert seen_primitives == set(graphc.core.PRIMITIVES) - {"fused"}
    assert seen_dtypes == set(ALL_DTYPES)


def test_graphs_and_arguments_are_reproducible_from_the_seed() -> None:
    a, b = graph_for(7), graph_for(7)
    assert a.dump() == b.dump()
    for x, y in zip(
        random_arguments(a, np.random.default_rng(1), 5),
        random_arguments(b, np.random.default_rng(1), 5),
    ):
        np.testing.assert_array_equal(x, y)


# --- the checks can fail: planted bugs --------------------------------------------------------


def sine_graph() -> graphc.Graph:
    x = graphc.placeholder((None, 3), "float64", name="x")
    y = graphc.placeholder((3,), "float64", name="y")
    return graphc.Graph([x, y], graphc.exp(y) * graphc.sin(x) + graphc.tanh(y))


def test_a_wrong_interpreter_rule_is_caught_by_the_compiled_check(monkeypatch) -> None:
    differential.run_check("compiled", sine_graph(), 0)
    monkeypatch.setattr(sin_p, "impl", lambda x: np.sin(x) * (1 + 1e-5))
    with pytest.raises(differential.FuzzFailure, match="differs"):
        differential.run_check("compiled", sine_graph(), 0)


def test_a_wrong_pass_is_caught_by_the_optimized_check(monkeypatch) -> None:
    import graphc.passes

    wrong = graphc.Graph(
        *[
            [
                x := graphc.placeholder((None, 3), "float64"),
                y := graphc.placeholder((3,), "float64"),
            ],
            x + y,
        ]
    )
    monkeypatch.setattr(graphc.passes, "optimize", lambda graph, level, verify: wrong)
    with pytest.raises(differential.FuzzFailure, match="optimize level 0"):
        differential.run_check("optimized", sine_graph(), 0)


@pytest.mark.parametrize("table", [JVP_RULES, VJP_RULES], ids=["jvp", "vjp"])
def test_a_wrong_derivative_rule_is_caught(monkeypatch, table) -> None:
    differential.run_check("derivatives", sine_graph(), 0)
    rule = table[sin_p]
    if table is JVP_RULES:
        monkeypatch.setitem(table, sin_p, lambda p, t, out: rule(p, t, out) * 1.01)
    else:
        monkeypatch.setitem(table, sin_p, lambda ct, p, out: [c * 1.01 for c in rule(ct, p, out)])
    with pytest.raises(differential.FuzzFailure, match="forward mode|reverse mode"):
        differential.run_check("derivatives", sine_graph(), 0)


def test_the_minimizer_keeps_the_culprit_and_little_else(monkeypatch) -> None:
    monkeypatch.setattr(sin_p, "impl", lambda x: np.sin(x) + 0.5)
    graph = sine_graph()
    small = differential.minimize(graph, lambda g: differential.fails("compiled", g, 0))
    names = [small.primitive(n).name for n in small.order]
    assert names == ["input", "sin"], small.dump()


def test_a_reproducer_replays_the_check(tmp_path: Path, monkeypatch) -> None:
    script = differential.write_reproducer(tmp_path, "compiled", sine_graph(), 3, "message")
    assert script.with_suffix(".graphc").exists() and "message" in script.read_text()
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert run.returncode == 0 and "passed" in run.stdout, run.stderr
    monkeypatch.setattr(sin_p, "impl", lambda x: np.cos(x))
    with pytest.raises(differential.FuzzFailure):
        runpy.run_path(str(script))


# --- regressions: bugs the fuzzer found ---------------------------------------------------------


def interpreted_and_compiled(graph: graphc.Graph, *args: np.ndarray) -> tuple[list, list]:
    want = graph(*args)
    got = graphc.compile(graph, cache=False)(*args)
    return (want, got) if isinstance(want, list) else ([want], [got])


def test_a_sum_that_cancels_is_compared_at_the_precision_of_its_terms() -> None:
    """Found by the long fuzz (seed 1829): int64 extremes cast to float32 and summed on 2
    threads gave -37 where numpy's order of additions gave 4. Both are right to the float32
    precision of terms near 2**62, so the oracle compares relative to the terms."""
    unused_flag = graphc.placeholder((), "bool", name="x0")
    unused_ints = graphc.placeholder((3,), "int32", name="x1")
    x = graphc.placeholder((None, 2, 3), "int64", name="x2")
    graph = graphc.Graph([unused_flag, unused_ints, x], graphc.sum(graphc.cast(x, "float32")))
    assert differential.run_check("compiled", graph, 1829)  # the fuzz's exact case passes

    terms = np.array([2**62, -(2**62), 4, 0, 0, 0], np.int64).reshape(1, 2, 3)
    args = [np.array(True), np.zeros(3, np.int32), terms]
    assert differential.summand_scales(graph, args) == [float(np.float32(2**62))]
    four, minus_37 = np.array(4.0, np.float32), np.array(-37.0, np.float32)
    differential.compare_outputs([four], [minus_37], "t", None, [2.0**62])
    with pytest.raises(differential.FuzzFailure):  # relative to the result alone: a failure
        differential.compare_outputs([four], [minus_37], "t")


def test_integer_power_with_a_negative_exponent_does_not_raise() -> None:
    """The interpreter raised numpy's ValueError; compiled code gives the truncated result."""
    i = graphc.placeholder((None,), "int32", name="i")
    j = graphc.placeholder((None,), "int32", name="j")
    graph = graphc.Graph([i, j], i**j)
    base = np.array([2, -1, -1, 1, 0, 3, -3, 7], np.int32)
    exponent = np.array([-1, -3, -2, -5, -1, 2, 3, 0], np.int32)
    (want,), (got,) = interpreted_and_compiled(graph, base, exponent)
    np.testing.assert_array_equal(want, [0, -1, 1, 1, 0, 9, -27, 1])
    np.testing.assert_array_equal(got, want)


def test_float_to_int_casts_saturate_in_the_interpreter_too() -> None:
    """numpy gave INT_MIN for nan and out-of-range floats (on x86); compiled code saturates."""
    x = graphc.placeholder((None,), "float32", name="x")
    graph = graphc.Graph([x], [graphc.cast(x, "int32"), graphc.cast(x, "int64")])
    values = np.array([np.nan, np.inf, -np.inf, 3e9, -3e9, 2.7, -2.7, 2**31, 1e20], np.float32)
    want, got = interpreted_and_compiled(graph, values)
    np.testing.assert_array_equal(
        want[0], [0, 2**31 - 1, -(2**31), 2**31 - 1, -(2**31), 2, -2, 2**31 - 1, 2**31 - 1]
    )
    np.testing.assert_array_equal(want[1][:3], [0, 2**63 - 1, -(2**63)])
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize(
    "padding, lhs_dilation", [(((0, 0), (1, 0)), (1, 1)), (((0, 0), (0, 0)), (1, 2))]
)
def test_conv_with_non_finite_weights_on_padding(padding, lhs_dilation) -> None:
    """Compiled conv skipped kernel taps on padding or between dilated input pixels, so an inf
    weight there was never multiplied; the interpreter multiplies it by 0 and gets nan."""
    x = graphc.placeholder((None, 1, 3, 1), "float64", name="x")
    kernel = graphc.constant(np.array([np.inf, 1.0]).reshape(1, 2, 1, 1))
    y = conv_p.bind(
        x,
        kernel,
        strides=(1, 1),
        padding=padding,
        lhs_dilation=lhs_dilation,
        rhs_dilation=(1, 1),
        feature_group_count=1,
    )
    (want,), (got,) = interpreted_and_compiled(graphc.Graph([x], y), np.ones((1, 1, 3, 1)))
    np.testing.assert_array_equal(got, want)


def test_derivatives_through_an_infinite_intermediate_are_not_compared() -> None:
    """Found by the long fuzz (seed 5799): a max window reading only padding is -inf, its
    square inf, and rem(finite, inf) finite; the tangent of the square is 2 * -inf * 0 = nan,
    which finite differences of the finite output cannot see. Such points are skipped."""
    x = graphc.placeholder((None, 1), "float64", name="x0")
    window_max = graphc.primitives.window.reduce_window_p.bind(
        x, reducer="max", window=(1, 1), strides=(1, 2), padding=((0, 0), (1, 0))
    )
    graph = graphc.Graph([x], graphc.max(x, axis=0) % (window_max * window_max))
    assert not differential.run_check("derivatives", graph, 5799)
    finite = graphc.Graph([x], graphc.max(x, axis=0) % (x * x + 1.0))
    assert differential.run_check("derivatives", finite, 5799)  # the same shape, compared
