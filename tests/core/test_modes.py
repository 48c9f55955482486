"""compare_modes and the `graphc diff` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

import graphc
from graphc.diff_command import parse_point
from graphc.expression import ExpressionError


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
    data = json.loads(json.dumps(report.to_dict()))
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
