"""compare_modes and the `graphc diff` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

import graphc
from graphc import modes
from graphc.diff_command import parse_point
from graphc.differentiate import DifferentiationError
from graphc.expression import ExpressionError, parse_expression
from graphc.symbolic import MAX_SYMPY_ELEMENTS


@pytest.fixture
def textbook():
    x1, x2 = graphc.scalars("x1 x2")
    return graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2))


def test_report_agrees_across_modes(textbook):
    report = graphc.compare_modes(textbook, {"x1": 2.0, "x2": 5.0})
    assert report.value == pytest.approx(11.652071455)
    for mode in ("forward", "reverse", "symbolic", "numeric"):
        result = report.results[mode]
        assert float(result.gradient["x1"]) == pytest.approx(5.5, rel=1e-7)
        assert float(result.gradient["x2"]) == pytest.approx(1.716337814536, rel=1e-7)
    assert report.results["reverse"].max_abs_diff < 1e-12
    assert report.results["numeric"].max_abs_diff < 1e-6
    assert report.results["reverse"].size_unit == "nodes"
    assert report.results["symbolic"].size > 0


def test_report_text_and_json(textbook):
    report = graphc.compare_modes(textbook, [2.0, 5.0], traces=True)
    text = str(report)
    for word in (
        "forward",
        "reverse",
        "symbolic",
        "numeric",
        "Primal trace",
        "Reverse (adjoint) trace",
        "11.6521",
    ):
        assert word in text
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["modes"]["reverse"]["x1"] == pytest.approx(5.5)
    assert set(data["stats"]["forward"]) >= {"size", "derive_seconds", "eval_seconds"}
    assert data["traces"]["primal"][0]["name"] == "v₋₁"


def test_report_on_a_tensor_input_has_no_traces_by_default():
    x = graphc.placeholder((3,), "float64", name="x")
    report = graphc.compare_modes(
        graphc.Graph([x], graphc.sum(graphc.sin(x) * x)), [np.array([0.1, 0.2, 0.3])]
    )
    assert report.traces is None
    np.testing.assert_allclose(
        report.results["forward"].gradient["x"],
        report.results["symbolic"].gradient["x"],
        rtol=1e-12,
    )


def test_parse_point_errors():
    with pytest.raises(ExpressionError, match="NAME=VALUE"):
        parse_point("x1:2")
    with pytest.raises(ExpressionError, match="not a number"):
        parse_point("x1=two")


@pytest.mark.parametrize(
    "text, at, sympy_gives",
    [("1/x", 0.0, "zoo"), ("log(x)", 0.0, "zoo"), ("sqrt(x)", -1.0, "I")],
)
def test_singular_points_give_nan_and_say_why(text, at, sympy_gives):
    report = graphc.compare_modes(parse_expression(text), {"x": at})
    assert np.isnan(report.results["symbolic"].gradient["x"])
    (note,) = [n for n in report.notes if n.startswith("symbolic:")]
    assert "df/dx is not a real number" in note and sympy_gives in note and "nan" in note
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))  # strict JSON
    assert data["modes"]["symbolic"]["x"] is None
    assert data["stats"]["forward"]["max_abs_diff_to_symbolic"] is None


def test_json_has_null_where_values_are_not_finite():
    report = graphc.compare_modes(parse_expression("log(x)"), {"x": -1.0}, traces=True)
    data = report.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert data["value"] is None and "NaN" not in text
    assert data["traces"]["primal"][-1]["value"] is None


def test_deep_nesting_marks_the_symbolic_row_unavailable():
    """sympy recurses once per nesting level; graphc's modes do not."""
    depth = 190
    report = graphc.compare_modes(parse_expression("sin(" * depth + "x" + ")" * depth), [1.0])
    symbolic = report.results["symbolic"]
    assert symbolic.unavailable.startswith("sympy's recursion limit was exceeded")
    assert "unavailable" in str(report) and "recursion limit" in str(report)
    forward, reverse = (float(report.results[m].gradient["x"]) for m in ("forward", "reverse"))
    assert forward == pytest.approx(reverse)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["modes"]["symbolic"] is None
    assert data["stats"]["symbolic"]["available"] is False
    assert data["stats"]["reverse"]["max_abs_diff_to_symbolic"] is None


def test_more_elements_than_sympy_takes_skip_the_symbolic_row():
    big = graphc.placeholder((MAX_SYMPY_ELEMENTS + 1,), "float64", name="big")
    x = graphc.scalars("x")
    graph = graphc.Graph([x, big], x * graphc.sum(big))
    report = graphc.compare_modes(graph, [2.0, np.ones(MAX_SYMPY_ELEMENTS + 1)], wrt="x")
    assert "4097 elements" in report.results["symbolic"].unavailable
    assert float(report.results["reverse"].gradient["x"]) == MAX_SYMPY_ELEMENTS + 1
    assert any(n.startswith("symbolic: unavailable") for n in report.notes)
    assert "a graph of" in report.expression


def test_traces_of_a_tensor_input_are_refused_clearly():
    w = graphc.placeholder((2,), "float64", name="w")
    graph = graphc.Graph([w], graphc.sum(w * w))
    with pytest.raises(DifferentiationError, match=r"traces are for scalar inputs.*w: f64\[2\]"):
        graphc.compare_modes(graph, [np.ones(2)], traces=True)


def test_integer_inputs_are_passed_as_given_and_not_differentiated():
    x = graphc.scalars("x")
    n = graphc.placeholder((), "int64", name="n")
    graph = graphc.Graph([x, n], x ** graphc.cast(n, "float64"))
    report = graphc.compare_modes(graph, {"x": 2.0, "n": 3})
    for result in report.results.values():
        assert list(result.gradient) == ["x"]
        assert float(result.gradient["x"]) == pytest.approx(12.0, rel=1e-8)


def test_numeric_mode_is_accurate_in_float32():
    x = graphc.placeholder((), "float32", name="x")
    report = graphc.compare_modes(graphc.Graph([x], graphc.exp(x)), [np.float32(1.0)])
    assert report.results["numeric"].max_rel_diff < 1e-4


def test_sympy_is_warmed_up_before_the_symbolic_timer_starts(textbook, monkeypatch):
    """The first derivative pays sympy's first-use costs; they must not count as derive time."""
    events = []
    real_input_symbols = modes.input_symbols
    monkeypatch.setattr(modes, "_warm_up_sympy", lambda: events.append("warm-up"))
    monkeypatch.setattr(
        modes, "input_symbols", lambda g: events.append("timed") or real_input_symbols(g)
    )
    graphc.compare_modes(textbook, [2.0, 5.0])
    assert events == ["warm-up", "timed"]


def test_a_primitive_without_a_sympy_form_leaves_the_other_modes_and_the_traces():
    x = graphc.scalars("x")
    report = graphc.compare_modes(graphc.Graph([x], graphc.round(x) + x * x), [1.3])
    assert report.results["symbolic"].unavailable == "round (node %1) has no sympy form"
    assert float(report.results["reverse"].gradient["x"]) == pytest.approx(2.6)
    assert [r.formula for r in report.traces.primal][:2] == ["x", "round(v₀)"]
