"""Autodiff of the elementwise, compare/select and cast families, and the transformations."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc
from graphc.differentiate import DifferentiationError
from graphc.testing import DerivativeCheckError, check_jvp, check_vjp

RNG = np.random.default_rng(0)


def uniform(low: float, high: float, shape: tuple[int, ...]) -> np.ndarray:
    return RNG.uniform(low, high, shape)


# (name, function, domain of the operand)
UNARY = [
    ("exp", graphc.exp, (-2, 2)),
    ("log", graphc.log, (0.2, 3)),
    ("log1p", graphc.log1p, (-0.5, 2)),
    ("expm1", graphc.expm1, (-2, 2)),
    ("sqrt", graphc.sqrt, (0.2, 3)),
    ("sin", graphc.sin, (-3, 3)),
    ("cos", graphc.cos, (-3, 3)),
    ("tan", graphc.tan, (-1.2, 1.2)),
    ("tanh", graphc.tanh, (-3, 3)),
    ("sigmoid", graphc.sigmoid, (-5, 5)),
    ("erf", graphc.erf, (-2, 2)),
    ("abs", graphc.abs, (0.1, 2)),
    ("negative", graphc.negative, (-2, 2)),
    ("relu", graphc.relu, (0.1, 2)),
]

# (name, function, domain of x, domain of y)
BINARY = [
    ("add", graphc.add, (-2, 2), (-2, 2)),
    ("subtract", graphc.subtract, (-2, 2), (-2, 2)),
    ("multiply", graphc.multiply, (-2, 2), (-2, 2)),
    ("divide", graphc.divide, (-2, 2), (0.5, 2)),
    ("power", graphc.power, (0.5, 2), (-2, 2)),
    ("maximum", graphc.maximum, (-2, -1), (1, 2)),
    ("minimum", graphc.minimum, (-2, -1), (1, 2)),
    ("remainder", graphc.remainder, (0.1, 0.9), (1.5, 2)),
]

BROADCAST_SHAPES = [((3,), (3,)), ((2, 1), (3,)), ((), (2, 2)), ((4, 1, 3), (1, 2, 1))]


def unary_graph(fn, shape):
    x = graphc.placeholder(shape, "float64", name="x")
    return graphc.Graph([x], fn(x))


def binary_graph(fn, shape_x, shape_y):
    x = graphc.placeholder(shape_x, "float64", name="x")
    y = graphc.placeholder(shape_y, "float64", name="y")
    return graphc.Graph([x, y], fn(x, y))


@pytest.mark.parametrize("name, fn, domain", UNARY, ids=[u[0] for u in UNARY])
@pytest.mark.parametrize("shape", [(), (5,), (2, 3)])
def test_unary_jvp_and_vjp(name, fn, domain, shape):
    graph = unary_graph(fn, shape)
    args = [uniform(*domain, shape)]
    check_jvp(graph, args)
    check_vjp(graph, args)


@pytest.mark.parametrize("name, fn, dx, dy", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
def test_binary_jvp_and_vjp_with_broadcasting(name, fn, dx, dy, shapes):
    graph = binary_graph(fn, *shapes)
    args = [uniform(*dx, shapes[0]), uniform(*dy, shapes[1])]
    check_jvp(graph, args)
    check_vjp(graph, args)


@pytest.mark.parametrize("name, fn, domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_derivative_matches_sympy(name, fn, domain):
    graph = unary_graph(fn, ())
    point = float(uniform(*domain, ()))
    expr = graphc.to_sympy(graph)
    (symbol,) = graphc.symbolic.input_symbols(graph)
    expected = float(graphc.symbolic.diff(expr, symbol).xreplace({symbol: point}))
    assert float(graphc.grad(graph, wrt=0)(point)) == pytest.approx(expected, rel=1e-9)
    assert float(expr.xreplace({symbol: point})) == pytest.approx(float(graph(point)), rel=1e-9)


@pytest.mark.parametrize("name, fn, dx, dy", BINARY, ids=[b[0] for b in BINARY])
def test_binary_derivative_matches_sympy(name, fn, dx, dy):
    graph = binary_graph(fn, (), ())
    point = [float(uniform(*dx, ())), float(uniform(*dy, ()))]
    expr = graphc.to_sympy(graph)
    symbols = graphc.symbolic.input_symbols(graph)
    subs = dict(zip(symbols, point))
    expected = [float(graphc.symbolic.diff(expr, s).xreplace(subs)) for s in symbols]
    got = [float(g) for g in graphc.grad(graph)(*point)]
    assert got == pytest.approx(expected, rel=1e-9)


def test_where_routes_the_gradient_to_the_chosen_branch():
    x = graphc.placeholder((4,), "float64", name="x")
    graph = graphc.Graph([x], graphc.sum(graphc.where(x > 0, x * x, 3 * x)))
    g = graphc.grad(graph, wrt="x")(np.array([-1.0, 2.0, -3.0, 4.0]))
    np.testing.assert_allclose(g, [3.0, 4.0, 3.0, 8.0])
    check_vjp(graphc.Graph([x], graphc.where(x > 0, x * x, 3 * x)), [[-1.0, 2.0, -3.0, 4.0]])


def test_maximum_splits_the_gradient_at_ties_and_relu_has_zero_derivative_at_zero():
    x, y = graphc.scalars("x y")
    dmax = graphc.grad(graphc.Graph([x, y], graphc.maximum(x, y)))(1.0, 1.0)
    assert [float(d) for d in dmax] == [0.5, 0.5]
    drelu = graphc.grad(graphc.Graph([x], graphc.relu(x)), wrt=0)
    assert [float(drelu(v)) for v in (-1.0, 0.0, 2.0)] == [0.0, 0.0, 1.0]


def test_cast_between_floats_differentiates_and_integer_paths_do_not():
    x = graphc.scalars("x")
    via_f32 = graphc.Graph([x], graphc.cast(graphc.cast(x, "float32") * 3, "float64"))
    assert float(graphc.grad(via_f32, wrt=0)(2.0)) == 3.0
    via_int = graphc.Graph([x], graphc.cast(graphc.cast(x, "int32"), "float64") + x)
    assert float(graphc.grad(via_int, wrt=0)(2.5)) == 1.0


def test_pow_derivatives_at_zero_are_finite():
    x, y = graphc.scalars("x y")
    g = graphc.grad(graphc.Graph([x, y], x**y))
    assert [float(v) for v in g(0.0, 2.0)] == [0.0, 0.0]
    assert [float(v) for v in g(3.0, 0.0)] == [0.0, pytest.approx(np.log(3.0))]


# --- the textbook example: ln(x1) + x1*x2 - sin(x2) at (2, 5) ----------------------------------


@pytest.fixture
def textbook():
    x1, x2 = graphc.scalars("x1 x2")
    return graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2))


def test_textbook_gradient_in_every_mode(textbook):
    value, t = graphc.jvp(textbook)(2.0, 5.0, 1.0, 0.0)
    assert float(value) == pytest.approx(11.652071455)
    assert float(t) == pytest.approx(5.5)
    _, d1, d2 = graphc.vjp(textbook)(2.0, 5.0, 1.0)
    assert (float(d1), float(d2)) == pytest.approx((5.5, 1.716337814536))
    g1, g2 = graphc.grad(textbook)(2.0, 5.0)
    assert (float(g1), float(g2)) == pytest.approx((5.5, 1.716337814536))
    for mode in ("forward", "reverse"):
        blocks = graphc.jacobian(textbook, mode=mode)(2.0, 5.0)
        assert [float(b) for b in blocks] == pytest.approx([5.5, 1.716337814536])


def test_textbook_traces_have_the_published_values(textbook):
    traces = graphc.compare_modes(textbook, [2.0, 5.0]).traces
    primal = {r.formula: r.value for r in traces.primal}
    assert primal["x1"] == 2.0 and primal["x2"] == 5.0
    assert primal["log(v₋₁)"] == pytest.approx(0.693, abs=1e-3)
    assert primal["v₀*v₋₁"] == pytest.approx(10.0)
    assert primal["sin(v₀)"] == pytest.approx(-0.959, abs=1e-3)
    assert traces.primal[-1].value == pytest.approx(11.652, abs=1e-3)
    tangent_values = sorted(round(r.value, 3) for r in traces.tangent)
    assert tangent_values == sorted([1.0, 0.0, 0.5, 5.0, 0.0, 5.5, 5.5, 5.5])
    adjoint = traces.adjoint
    assert adjoint[0].value == 1.0
    finals = {}
    for row in adjoint:
        finals[row.name] = row.value
    assert finals["v̄₋₁"] == pytest.approx(5.5)
    assert finals["v̄₀"] == pytest.approx(1.716, abs=1e-3)
    partials = sorted(round(r.value, 3) for r in adjoint)
    for published in (1.0, -1.0, -0.284, 5.0, 1.716, 5.5):
        assert published in partials


def nfc(rows_):
    """Compare text as NFC: x with a combining dot above and precomposed ẋ are the same."""
    return [
        (unicodedata.normalize("NFC", a), unicodedata.normalize("NFC", b), v) for a, b, v in rows_
    ]


def rows(trace, digits=3):
    return nfc((r.name, r.formula, round(r.value, digits)) for r in trace)


def test_traces_number_the_values_as_the_textbook_does(textbook):
    """Baydin et al., table 2: intermediates numbered by depth, so sin(v0) is v3, not v4."""
    traces = graphc.compare_modes(textbook, [2.0, 5.0], traces=True).traces
    assert rows(traces.primal) == nfc(
        [
            ("v₋₁", "x1", 2.0),
            ("v₀", "x2", 5.0),
            ("v₁", "log(v₋₁)", 0.693),
            ("v₂", "v₀*v₋₁", 10.0),
            ("v₃", "sin(v₀)", -0.959),
            ("v₄", "v₁ + v₂", 10.693),
            ("v₅", "v₄ - v₃", 11.652),
            ("y", "v₅", 11.652),
        ]
    )
    # Forward trace seeded with x1dot = 1 (the textbook's table 2, right column).
    assert rows(traces.tangent) == nfc(
        [
            ("v̇₋₁", "ẋ1", 1.0),
            ("v̇₀", "ẋ2", 0.0),
            ("v̇₁", "v̇₋₁/v₋₁", 0.5),
            ("v̇₂", "v̇₀*v₋₁ + v̇₋₁*v₀", 5.0),
            ("v̇₃", "v̇₀*cos(v₀)", 0.0),
            ("v̇₄", "v̇₁ + v̇₂", 5.5),
            ("v̇₅", "v̇₄ - v̇₃", 5.5),
            ("ẏ", "v̇₅", 5.5),
        ]
    )
    # Reverse trace in the textbook's order (table 3): v̄₄ and v̄₃ from v̄₅, ..., x̄1 and x̄2 last.
    assert rows(traces.adjoint) == nfc(
        [
            ("v̄₅", "ȳ = 1", 1.0),
            ("v̄₄", "v̄₅", 1.0),
            ("v̄₃", "-v̄₅", -1.0),
            ("v̄₁", "v̄₄", 1.0),
            ("v̄₂", "v̄₄", 1.0),
            ("v̄₀", "v̄₃*cos(v₀)", -0.284),
            ("v̄₋₁", "v̄₂*v₀", 5.0),
            ("v̄₀", "v̄₀ + v̄₂*v₋₁", 1.716),
            ("v̄₋₁", "v̄₋₁ + v̄₁/v₋₁", 5.5),
        ]
    )


def test_trace_of_a_comparison_feeding_a_select_evaluates():
    """relu is where(x <= 0, 0, x): the bool value v₁ is fed back as a bool, not a float."""
    x = graphc.scalars("x")
    traces = graphc.compare_modes(graphc.Graph([x], graphc.relu(x) * 2), [1.5], traces=True)
    assert traces.traces.adjoint[-1].value == pytest.approx(2.0)


def test_numeric_grad_perturbs_only_float_inputs():
    x = graphc.scalars("x")
    n = graphc.placeholder((), "int64", name="n")
    graph = graphc.Graph([x, n], x ** graphc.cast(n, "float64"))
    (dx,) = graphc.numeric_grad(graph, {"x": 2.0, "n": 3})
    assert float(dx) == pytest.approx(12.0, rel=1e-8)
    with pytest.raises(DifferentiationError, match="only float inputs have derivatives"):
        graphc.numeric_grad(graph, [2.0, 3], wrt="n")


def test_numeric_grad_steps_in_the_inputs_precision():
    x = graphc.placeholder((), "float32", name="x")
    gradient = graphc.numeric_grad(graphc.Graph([x], graphc.exp(x)), [np.float32(1.0)], wrt=0)
    assert gradient.dtype == np.float32
    assert float(gradient) == pytest.approx(np.e, rel=1e-4)


# --- jacobian, hessian -------------------------------------------------------------------------


def test_jacobian_modes_agree_on_tensor_functions():
    x = graphc.placeholder((3,), "float64", name="x")
    w = graphc.placeholder((2, 3), "float64", name="w")
    graph = graphc.Graph([x, w], [graphc.tanh(w * x), graphc.sum(x * x)])
    args = [uniform(-1, 1, (3,)), uniform(-1, 1, (2, 3))]
    forward = graphc.jacobian(graph, mode="forward")(*args)
    reverse = graphc.jacobian(graph, mode="reverse")(*args)
    assert [f.shape for f in forward] == [(2, 3, 3), (2, 3, 2, 3), (3,), (2, 3)]
    for f, r in zip(forward, reverse):
        np.testing.assert_allclose(f, r, rtol=1e-12, atol=1e-12)


def test_hessian_matches_sympy_for_scalar_inputs(textbook):
    hessian = graphc.hessian(textbook)(2.0, 5.0)
    expr = graphc.to_sympy(textbook)
    symbols = graphc.symbolic.input_symbols(textbook)
    expected = np.array(sp.hessian(expr, symbols).subs(dict(zip(symbols, [2.0, 5.0]))), float)
    np.testing.assert_allclose(hessian, expected, rtol=1e-12)


def test_hessian_of_one_tensor_input_has_shape_x_shape_twice():
    x = graphc.placeholder((2, 2), "float64", name="x")
    graph = graphc.Graph([x], graphc.sum(x * x * x))
    point = uniform(-1, 1, (2, 2))
    hessian = graphc.hessian(graph)(point)
    assert hessian.shape == (2, 2, 2, 2)
    expected = np.zeros((2, 2, 2, 2))
    for i in range(2):
        for j in range(2):
            expected[i, j, i, j] = 6 * point[i, j]
    np.testing.assert_allclose(hessian, expected)


def test_grad_of_grad_is_a_graph_too():
    x = graphc.scalars("x")
    f = graphc.Graph([x], x**4)
    third = graphc.grad(graphc.grad(graphc.grad(f, wrt=0), wrt=0), wrt=0)
    assert float(third(2.0)) == pytest.approx(48.0)


def test_numeric_grad_agrees_with_reverse_mode(textbook):
    numeric = graphc.numeric_grad(textbook, [2.0, 5.0])
    exact = graphc.grad(textbook)(2.0, 5.0)
    np.testing.assert_allclose(numeric, exact, rtol=1e-8)


# --- errors ------------------------------------------------------------------------------------


def test_grad_needs_a_scalar_output():
    x = graphc.placeholder((None, 3), "float32", name="x")
    with pytest.raises(DifferentiationError, match="scalar float output, got f32"):
        graphc.grad(graphc.Graph([x], x * 2))


def test_grad_refuses_integer_inputs_and_unknown_names():
    x = graphc.scalars("x")
    n = graphc.placeholder((), "int32", name="n")
    graph = graphc.Graph([x, n], x * graphc.cast(n, "float64"))
    with pytest.raises(DifferentiationError, match="only float inputs"):
        graphc.grad(graph, wrt="n")
    with pytest.raises(DifferentiationError, match="no input named 'z'"):
        graphc.grad(graph, wrt="z")
    assert float(graphc.grad(graph)(2.0, 3)[0]) == 3.0


def test_jacobian_refuses_the_batch_dimension():
    x = graphc.placeholder((None, 2), "float64", name="x")
    with pytest.raises(DifferentiationError, match="batch dimension"):
        graphc.jacobian(graphc.Graph([x], x * x))


def test_a_broken_rule_is_caught_by_the_checks():
    x = graphc.placeholder((3,), "float64")
    graph = graphc.Graph([x], graphc.sin(x))
    sin_p = graphc.primitives.elementwise.sin_p
    rule = graphc.autodiff.JVP_RULES[sin_p]
    graphc.autodiff.JVP_RULES[sin_p] = lambda primals, tangents, out: tangents[0] * 2.0
    try:
        with pytest.raises(DerivativeCheckError):
            check_jvp(graph, [[0.1, 0.2, 0.3]])
        with pytest.raises(DerivativeCheckError):
            check_vjp(graph, [[0.1, 0.2, 0.3]])
    finally:
        graphc.autodiff.JVP_RULES[sin_p] = rule


# --- property: forward == reverse == symbolic on random expressions ----------------------------

SAFE_UNARY = [
    graphc.sin,
    graphc.cos,
    graphc.tanh,
    graphc.sigmoid,
    lambda v: graphc.exp(graphc.tanh(v)),
    lambda v: graphc.log1p(v * v),
]
SAFE_BINARY = [graphc.add, graphc.subtract, graphc.multiply, lambda a, b: a / (1.5 + graphc.sin(b))]


@st.composite
def expressions(draw, leaves, depth=0):
    if depth >= 4 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(leaves))
    if draw(st.booleans()):
        fn = draw(st.sampled_from(SAFE_UNARY))
        return fn(draw(expressions(leaves, depth + 1)))
    fn = draw(st.sampled_from(SAFE_BINARY))
    return fn(draw(expressions(leaves, depth + 1)), draw(expressions(leaves, depth + 1)))


@settings(max_examples=40, deadline=None)
@given(data=st.data(), point=st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_forward_reverse_and_symbolic_agree_on_random_expressions(data, point):
    inputs = list(graphc.scalars("a b c"))
    out = data.draw(expressions(inputs)) + 0.0 * inputs[0]
    graph = graphc.Graph(inputs, out)
    forward = [float(v) for v in graphc.jacobian(graph, mode="forward")(*point)]
    reverse = [float(v) for v in graphc.grad(graph)(*point)]
    expr = graphc.to_sympy(graph)
    symbols = graphc.symbolic.input_symbols(graph)
    subs = dict(zip(symbols, point))
    symbolic = [float(graphc.symbolic.diff(expr, s).xreplace(subs)) for s in symbols]
    np.testing.assert_allclose(forward, reverse, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(reverse, symbolic, rtol=1e-8, atol=1e-10)
