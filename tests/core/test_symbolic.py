"""to_sympy / from_sympy: graphs to expressions and back."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import graphc
from graphc.expression import parse_expression
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


def test_from_sympy_array_output():
    x, y = sp.symbols("x y")
    graph = graphc.from_sympy(sp.Array([[x, y], [y, x]]), [x, y])
    np.testing.assert_array_equal(graph(1.0, 2.0), [[1.0, 2.0], [2.0, 1.0]])
    scalar = graphc.from_sympy(sp.Array(x * y), [x, y])
    assert float(scalar(3.0, 4.0)) == 12.0


def test_tensor_graph_round_trips_through_sympy():
    w = graphc.placeholder((2, 3), "float64", name="w")
    b = graphc.scalars("b")
    graph = graphc.Graph([w, b], graphc.sum(graphc.tanh(w) * b))
    symbols = graphc.symbolic.input_symbols(graph)
    back = graphc.from_sympy(graphc.to_sympy(graph), symbols)
    assert back.input_names == ["w", "b"]
    assert [t.shape for t in back.input_types] == [(2, 3), ()]
    point = np.arange(6.0).reshape(2, 3) / 6
    assert float(back(point, 1.5)) == pytest.approx(float(graph(point, 1.5)))
    # Symbol arrays may also be sympy Arrays or Matrices; unused elements cost nothing.
    a00, a01 = sp.Symbol("a[0,0]"), sp.Symbol("a[0,1]")
    first = graphc.from_sympy(2 * a00, [sp.Matrix([[a00, a01]])])
    assert first.input_types[0].shape == (1, 2) and first.input_names == ["a"]
    assert float(first(np.array([[4.0, 5.0]]))) == 8.0


def test_an_unevaluated_derivative_is_refused_with_the_fix():
    x = sp.Symbol("x")
    with pytest.raises(SympyConversionError, match=r"unevaluated Derivative.*\.doit\(\)"):
        graphc.from_sympy(sp.Derivative(sp.sin(x), x), [x])
    graph = graphc.from_sympy(sp.Derivative(sp.sin(x), x).doit(), [x])
    assert float(graph(0.0)) == 1.0


@pytest.mark.parametrize("text", ["9**9**9**9 + x", "2**2**2**2**2**2**2*x"])
def test_constant_power_towers_are_computed_in_floating_point(text):
    """sympy would evaluate them exactly (hundreds of millions of digits) and never finish."""
    expr = graphc.to_sympy(parse_expression(text))
    assert expr.has(sp.oo)


def test_constants_print_as_integers_when_whole_and_floats_otherwise():
    x = graphc.scalars("x")
    assert str(graphc.to_sympy(graphc.Graph([x], 2 * x))) == "2*x"
    assert str(graphc.to_sympy(graphc.Graph([x], x + 0.5))) == "x + 0.5"
    assert graphc.to_sympy(graphc.Graph([x], x * 1e300)).args[0] == sp.Float(1e300)


def test_sums_and_matrix_products_convert_in_linear_time():
    """A 64x64 sum took 78 s when numpy added the terms pairwise; now one Add of 4096 terms."""
    w = graphc.placeholder((64, 64), "float64", name="w")
    total = graphc.to_sympy(graphc.Graph([w], graphc.sum(w)))
    assert isinstance(total, sp.Add) and len(total.args) == 64 * 64
    rows = graphc.to_sympy(graphc.Graph([w], graphc.sum(w, axis=1)))
    assert rows.shape == (64,) and len(rows[5].args) == 64
    a = graphc.placeholder((2, 1, 1, 512), "float64", name="a")
    b = graphc.placeholder((3, 512, 2), "float64", name="b")
    product = graphc.to_sympy(graphc.Graph([a, b], a @ b))
    assert product.shape == (2, 3, 1, 2) and len(product[1, 2, 0, 1].args) == 512
    assert str(product[1, 2, 0, 1].args[0]).startswith("a[1,0,0,")
