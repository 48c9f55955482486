"""to_sympy / from_sympy: graphs to expressions and back."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import graphc
from graphc.symbolic import MAX_SYMPY_ELEMENTS, SympyConversionError


def test_scalar_graph_to_sympy_and_back():
    x1, x2 = graphc.scalars("x1 x2")
    graph = graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2))
    expr = graphc.to_sympy(graph)
    s1, s2 = sp.symbols("x1 x2", real=True)
    assert sp.simplify(expr - (sp.log(s1) + s1 * s2 - sp.sin(s2))) == 0
    back = graphc.from_sympy(expr, [s1, s2])
    assert float(back(2.0, 5.0)) == pytest.approx(float(graph(2.0, 5.0)))


def test_sympy_derivative_compiles_like_any_graph():
    x, y = sp.symbols("x y", real=True)
    expr = sp.exp(x * y) / (1 + x**2) + sp.Max(x, y) - sp.sqrt(y) + sp.Abs(x - 3)
    gradient = [sp.diff(expr, s) for s in (x, y)]
    graph = graphc.from_sympy(gradient, [x, y])
    values = graph(0.5, 2.0)
    expected = [float(g.subs({x: 0.5, y: 2.0})) for g in gradient]
    np.testing.assert_allclose([float(v) for v in values], expected, rtol=1e-12)


def test_from_sympy_shares_equal_subexpressions():
    x = sp.Symbol("x")
    shared = sp.sin(x) ** 2
    graph = graphc.from_sympy(shared + sp.exp(shared), [x])
    sines = [n for n in graph.order if graph.primitive(n).name == "sin"]
    assert len(sines) == 1


def test_from_sympy_piecewise_and_relations():
    x = sp.Symbol("x")
    expr = sp.Piecewise((x**2, x < 0), (sp.cos(x), x < 2), (x, True))
    graph = graphc.from_sympy(expr, [x])
    for point in (-1.5, 1.0, 3.0):
        assert float(graph(point)) == pytest.approx(float(expr.subs(x, point)))


def test_from_sympy_matrix_output():
    x, y = sp.symbols("x y")
    hessian = sp.hessian(x**3 * y + y**2, (x, y))
    graph = graphc.from_sympy(hessian, [x, y])
    np.testing.assert_allclose(graph(1.0, 2.0), np.array(hessian.subs({x: 1, y: 2}), float))


def test_from_sympy_errors_name_the_problem():
    x, y = sp.symbols("x y")
    with pytest.raises(SympyConversionError, match="symbol y"):
        graphc.from_sympy(x + y, [x])
    with pytest.raises(SympyConversionError, match="no graph op for asinh"):
        graphc.from_sympy(sp.asinh(x), [x])


def test_tensor_graph_to_sympy_array():
    w = graphc.placeholder((2, 2), "float64", name="w")
    graph = graphc.Graph([w], graphc.tanh(w) * 2)
    expr = graphc.to_sympy(graph)
    assert isinstance(expr, sp.NDimArray) and expr.shape == (2, 2)
    assert str(expr[0, 1]) == "2*tanh(w[0,1])"


def test_to_sympy_refuses_batched_and_huge_values():
    x = graphc.placeholder((None, 3), "float64")
    with pytest.raises(SympyConversionError, match="batch dimension"):
        graphc.to_sympy(graphc.Graph([x], x * 2))
    big = graphc.placeholder((MAX_SYMPY_ELEMENTS + 1,), "float64")
    with pytest.raises(SympyConversionError, match="refused"):
        graphc.to_sympy(graphc.Graph([big], big * 2))
