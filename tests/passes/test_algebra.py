"""Algebraic simplification: each rewrite firing and not firing, exact versus fast-math."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.passes import simplify
from graphc.passes.equality import structurally_equal

RNG = np.random.default_rng(0)


def f64(shape=(3,), name="x"):
    return graphc.placeholder(shape, "float64", name=name)


def same_values(a: graphc.Graph, b: graphc.Graph, *args) -> None:
    results_a, results_b = a(*args), b(*args)
    if not a.single_output:
        for ra, rb in zip(results_a, results_b, strict=True):
            np.testing.assert_array_equal(ra, rb)
    else:
        np.testing.assert_array_equal(results_a, results_b)


def ops(graph: graphc.Graph) -> list[str]:
    return [graph.primitive(n).name for n in graph.order if n not in graph.inputs]


# (description, build(x, y) -> output, expected(x, y) -> output) for exact rewrites that fire.
FIRES = [
    ("x + -0", lambda x, y: x + -0.0, lambda x, y: x),
    ("-0 + x", lambda x, y: -0.0 + x, lambda x, y: x),
    ("x - 0", lambda x, y: x - 0.0, lambda x, y: x),
    ("x * 1", lambda x, y: x * 1.0, lambda x, y: x),
    ("1 * x", lambda x, y: 1.0 * x, lambda x, y: x),
    ("x / 1", lambda x, y: x / 1.0, lambda x, y: x),
    ("x ** 1", lambda x, y: x**1.0, lambda x, y: x),
    ("x ** 0", lambda x, y: x**0.0, lambda x, y: graphc.broadcast_to(graphc.constant(1.0), (3,))),
    ("x ** 2", lambda x, y: x**2.0, lambda x, y: x * x),
    ("x ** -1", lambda x, y: x**-1.0, lambda x, y: 1.0 / x),
    ("--x", lambda x, y: graphc.negative(-x), lambda x, y: x),
    ("x + -y", lambda x, y: x + (-y), lambda x, y: x - y),
    ("-y + x", lambda x, y: (-y) + x, lambda x, y: x - y),
    ("x - -y", lambda x, y: x - (-y), lambda x, y: x + y),
    ("-x * -y", lambda x, y: (-x) * (-y), lambda x, y: x * y),
    ("-x / -y", lambda x, y: (-x) / (-y), lambda x, y: x / y),
    ("x * -1", lambda x, y: x * -1.0, lambda x, y: -x),
    ("-0 - x", lambda x, y: -0.0 - x, lambda x, y: -x),
    ("|-x|", lambda x, y: graphc.abs(-x), lambda x, y: graphc.abs(x)),
    ("||x||", lambda x, y: graphc.abs(graphc.abs(x)), lambda x, y: graphc.abs(x)),
    ("max(x, x)", lambda x, y: graphc.maximum(x, x), lambda x, y: x),
    ("select(c, x, x)", lambda x, y: graphc.where(x > y, x, x), lambda x, y: x),
    (
        "select(not c, x, y)",
        lambda x, y: graphc.where(graphc.logical_not(x > y), x, y),
        lambda x, y: graphc.where(x > y, y, x),
    ),
    (
        "max(max(x, 1), 2)",
        lambda x, y: graphc.maximum(graphc.maximum(x, 1.0), 2.0),
        lambda x, y: graphc.maximum(x, 2.0),
    ),
    ("2 + 3 folds", lambda x, y: x * (graphc.constant(2.0) + 3.0), lambda x, y: x * 5.0),
]


@pytest.mark.parametrize("description, build, expected", FIRES, ids=[f[0] for f in FIRES])
def test_exact_rewrite_fires_and_keeps_values(description, build, expected):
    x, y = f64(name="x"), f64(name="y")
    g = graphc.Graph([x, y], build(x, y))
    result = simplify(g)
    assert structurally_equal(result, graphc.Graph([x, y], expected(x, y))), result.dump()
    a, b = np.array([-2.0, -0.0, np.inf]), np.array([1.5, 0.0, -0.0])
    # bit for bit: signed zeros included (assert_array_equal alone says -0.0 == 0.0)
    assert result(a, b).tobytes() == g(a, b).tobytes()


# Look-alikes that must stay as they are.
STAYS = [
    ("x + 1", lambda x, y: x + 1.0),
    ("x * 2", lambda x, y: x * 2.0),
    ("1 / x", lambda x, y: 1.0 / x),
    ("x + 0 turns -0 into +0", lambda x, y: x + 0.0),
    ("x - -0 turns -0 into +0", lambda x, y: x - (-0.0)),
    ("x + [-0, 0, -0] is not uniform", lambda x, y: x + graphc.constant([-0.0, 0.0, -0.0])),
    ("0 - x gives +0 at +0", lambda x, y: 0.0 - x),
    ("1 - x", lambda x, y: 1.0 - x),
    ("x ** 3 rounds twice", lambda x, y: x**3.0),
    ("x ** 0.5", lambda x, y: x**0.5),
    ("x * 0", lambda x, y: x * 0.0),
    ("x - x", lambda x, y: x - x),
    ("x / x", lambda x, y: x / x),
    ("exp(log x)", lambda x, y: graphc.exp(graphc.log(x))),
    ("log(exp x)", lambda x, y: graphc.log(graphc.exp(x))),
    ("(x + 1) + 2 reassociates", lambda x, y: (x + 1.0) + 2.0),
    ("max(x, y)", lambda x, y: graphc.maximum(x, y)),
    ("x - y", lambda x, y: x - y),
    ("-(x - y)", lambda x, y: -(x - y)),
    ("select(c, x, y)", lambda x, y: graphc.where(x > y, x, y)),
]


@pytest.mark.parametrize("description, build", STAYS, ids=[s[0] for s in STAYS])
def test_exact_simplify_leaves_non_matching_graphs_alone(description, build):
    x, y = f64(name="x"), f64(name="y")
    g = graphc.Graph([x, y], build(x, y))
    assert simplify(g) is g


# (description, build, expected under fast_math)
FAST = [
    ("x + 0", lambda x: x + 0.0, lambda x: x),
    ("0 - x", lambda x: 0.0 - x, lambda x: -x),
    ("x * 0", lambda x: x * 0.0, lambda x: graphc.broadcast_to(graphc.constant(0.0), (3,))),
    ("x - x", lambda x: x - x, lambda x: graphc.broadcast_to(graphc.constant(0.0), (3,))),
    ("x / x", lambda x: x / x, lambda x: graphc.broadcast_to(graphc.constant(1.0), (3,))),
    ("exp(log x)", lambda x: graphc.exp(graphc.log(x)), lambda x: x),
    ("log(exp x)", lambda x: graphc.log(graphc.exp(x)), lambda x: x),
    ("x ** 3", lambda x: x**3.0, lambda x: x * x * x),
    ("x ** 4", lambda x: x**4.0, lambda x: (lambda square: square * square)(x * x)),
    ("x ** 0.5", lambda x: x**0.5, lambda x: graphc.sqrt(x)),
    ("(x + 1) + 2", lambda x: (x + 1.0) + 2.0, lambda x: x + 3.0),
    ("(2 * x) * 3", lambda x: (2.0 * x) * 3.0, lambda x: x * 6.0),
]


@pytest.mark.parametrize("description, build, expected", FAST, ids=[f[0] for f in FAST])
def test_fast_math_rewrites_fire_only_when_asked(description, build, expected):
    x = f64(name="x")
    g = graphc.Graph([x], build(x))
    assert simplify(g) is g
    result = simplify(g, fast_math=True)
    assert structurally_equal(result, graphc.Graph([x], expected(x))), result.dump()
    a = np.array([0.5, 1.5, 3.0])
    np.testing.assert_allclose(result(a), g(a), rtol=1e-14)


def test_integer_arithmetic_is_exact_so_its_rewrites_need_no_fast_math():
    x = graphc.placeholder((3,), "int32", name="x")
    g = graphc.Graph([x], [x * 0, x - x, (x + 1) + 2, x**3, x + 0])
    result = simplify(g)
    expected = [
        graphc.broadcast_to(graphc.constant(np.int32(0)), (3,)),
        graphc.broadcast_to(graphc.constant(np.int32(0)), (3,)),
        x + np.int32(3),
        x * x * x,
        x,
    ]
    assert structurally_equal(result, graphc.Graph([x], expected)), result.dump()
    same_values(result, g, np.array([-7, 0, 1 << 20], np.int32))


def test_a_broadcasting_identity_becomes_a_broadcast():
    x = f64((3,), name="x")
    ones = graphc.constant(np.ones((2, 3)))
    g = graphc.Graph([x], x * ones)
    result = simplify(g)
    assert ops(result) == ["broadcast_to"]
    assert result.output_types == g.output_types
    same_values(result, g, np.array([1.0, -0.0, np.nan]))


def test_elementwise_ops_move_below_broadcasts():
    x = graphc.placeholder((None, 4), "float64", name="x")
    zeros = graphc.broadcast_to(graphc.constant(0.0), (None, 4))
    g = graphc.Graph([x], graphc.exp(zeros) * 2.0 + x)
    result = simplify(g)
    assert structurally_equal(result, graphc.Graph([x], graphc.constant(2.0) + x))
    same_values(result, g, RNG.normal(size=(5, 4)))


def test_shape_rewrites():
    x = graphc.placeholder((None, 2, 3), "float32", name="x")
    t = graphc.transpose(graphc.transpose(x, (0, 2, 1)), (0, 2, 1))
    r = graphc.reshape(graphc.reshape(x, (None, 6)), (None, 3, 2))
    b = graphc.broadcast_to(graphc.broadcast_to(x[:, :1, :], (None, 2, 3)), (4, None, 2, 3))
    rotated = graphc.transpose(graphc.transpose(x, (1, 0, 2)), (2, 0, 1))
    g = graphc.Graph([x], [t, r, b, rotated])
    result = simplify(g)
    expected = [
        x,
        graphc.reshape(x, (None, 3, 2)),
        graphc.broadcast_to(x[:, :1, :], (4, None, 2, 3)),
        graphc.transpose(x, (2, 1, 0)),
    ]
    assert structurally_equal(result, graphc.Graph([x], expected)), result.dump()
    same_values(result, g, RNG.normal(size=(3, 2, 3)).astype(np.float32))


def test_casts_through_a_wider_type_collapse_and_narrowing_ones_stay():
    x = graphc.placeholder((3,), "float32", name="x")
    wide = graphc.cast(graphc.cast(x, "float64"), "int32")
    narrow = graphc.cast(graphc.cast(x, "int32"), "float32")
    g = graphc.Graph([x], [wide, narrow, graphc.cast(graphc.cast(x, "float64"), "float32")])
    result = simplify(g)
    expected = [graphc.cast(x, "int32"), narrow, x]
    assert structurally_equal(result, graphc.Graph([x], expected)), result.dump()
    same_values(result, g, np.array([1.5, -2.7, 1e9], np.float32))


def test_a_known_condition_chooses_a_branch():
    x, y = f64(name="x"), f64(name="y")
    yes = graphc.broadcast_to(graphc.constant(True), (2, 3))
    g = graphc.Graph([x, y], [graphc.where(yes, x, y), graphc.where(False, x, y)])
    result = simplify(g)
    expected = [graphc.broadcast_to(x, (2, 3)), y]
    assert structurally_equal(result, graphc.Graph([x, y], expected)), result.dump()


def test_simplify_does_not_modify_its_input():
    x = f64(name="x")
    g = graphc.Graph([x], (x * 1.0) + 0.0)
    before = [(n, g.primitive(n), dict(g.attrs(n))) for n in g.order]
    simplify(g)
    assert [(n, g.primitive(n), dict(g.attrs(n))) for n in g.order] == before
