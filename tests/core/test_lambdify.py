"""graphc.lambdify: generated Python code must give the interpreter's results on every graph."""

from __future__ import annotations

import functools
import math
import operator
import warnings

import numpy as np
import pytest

import graphc
from graphc.errors import InputError

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 1e300, -1e300, 1e-310, math.inf, -math.inf, math.nan]

UNARY = {
    "exp": graphc.exp,
    "expm1": graphc.expm1,
    "log": graphc.log,
    "log1p": graphc.log1p,
    "sqrt": graphc.sqrt,
    "sin": graphc.sin,
    "cos": graphc.cos,
    "tan": graphc.tan,
    "tanh": graphc.tanh,
    "erf": graphc.erf,
    "negative": graphc.negative,
    "abs": graphc.abs,
    "sigmoid": graphc.sigmoid,  # not in the math table: the numpy implementation
}

BINARY = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "pow": operator.pow,
    "maximum": graphc.maximum,
}


def assert_same(got, want, rtol: float = 1e-14) -> None:
    """Equal to the interpreter up to a last-bit difference of a libm function; nan where it
    has nan, the same infinities, and the same dtype."""
    got_list = got if isinstance(got, list) else [got]
    want_list = want if isinstance(want, list) else [want]
    assert len(got_list) == len(want_list)
    for g, w in zip(got_list, want_list):
        w = np.asarray(w)
        assert np.asarray(g).dtype == w.dtype
        np.testing.assert_allclose(np.asarray(g), w, rtol=rtol, atol=0, equal_nan=True)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_functions_match_the_interpreter_on_special_values(name: str) -> None:
    x = graphc.scalars("x")
    graph = graphc.Graph([x], UNARY[name](x))
    f = graphc.lambdify(graph)
    for value in SPECIAL:
        assert_same(f(value), graph(value), rtol=2e-16 * 4)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_operations_match_the_interpreter_on_special_values(name: str) -> None:
    x, y = graphc.scalars("x y")
    graph = graphc.Graph([x, y], BINARY[name](x, y))
    f = graphc.lambdify(graph)
    for a in SPECIAL:
        for b in SPECIAL + [1 / 3, 2.0, -3.0]:
            assert_same(f(a, b), graph(a, b), rtol=1e-15)


def test_values_math_rejects_come_from_the_interpreter() -> None:
    """math raises where numpy returns inf or nan: those calls are evaluated again."""
    x, y = graphc.scalars("x y")
    f = graphc.lambdify(
        graphc.Graph(
            [x, y], [graphc.log(x), x / y, graphc.exp(y), graphc.sqrt(x), graphc.sin(y), x**y]
        )
    )
    log0, div0, exp_big, sqrt0, _, pow0 = f(0.0, 1000.0)
    assert log0 == -math.inf and exp_big == math.inf and sqrt0 == 0.0 and pow0 == 0.0
    assert div0 == 0.0
    results = f(-8.0, 0.0)
    assert math.isnan(results[0]) and results[1] == -math.inf and math.isnan(results[3])
    assert math.isnan(f(1.0, math.inf)[4])
    assert math.isnan(f(-8.0, 1 / 3)[5])


def _sym_grad_graph(n: int = 12) -> graphc.Graph:
    xs = graphc.scalars(" ".join(f"x{i}" for i in range(n)), dtype="float64")
    terms = [
        graphc.log(1 + graphc.exp(xs[i] * xs[(i + 1) % n]))
        + graphc.sin(xs[i]) * graphc.cos(xs[(i + 7) % n])
        for i in range(n)
    ]
    return graphc.grad(graphc.Graph(list(xs), functools.reduce(operator.add, terms)))


def test_a_gradient_matches_the_interpreter_at_random_points() -> None:
    gradient = _sym_grad_graph()
    f = graphc.lambdify(gradient)
    rng = np.random.default_rng(0)
    for _ in range(20):
        point = [float(v) for v in rng.uniform(-3, 3, 12)]
        assert_same(f(*point), gradient(*point), rtol=1e-13)


def test_common_subexpressions_are_computed_once() -> None:
    x, y = graphc.scalars("x y")
    s = graphc.sin(x)
    f = graphc.lambdify(graphc.Graph([x, y], s * y + graphc.sin(x) * 2.0 + y * s))
    assert f.source.count("_sin(") == 1
    assert float(f(0.5, 3.0)) == pytest.approx(math.sin(0.5) * 8.0)


def test_literal_subexpressions_are_folded_with_numpy() -> None:
    x = graphc.scalars("x")
    one = graphc.constant(np.float64(1.0))
    f = graphc.lambdify(graphc.Graph([x], x * (-one) + graphc.exp(one * 0.0)))
    assert "-1.0" in f.source and "_exp" not in f.source
    assert float(f(2.0)) == -1.0


def test_a_long_chain_is_cut_into_statements() -> None:
    """Expressions used once are nested into their users, but not beyond what Python's parser
    takes: 3,000 chained additions compile."""
    x = graphc.scalars("x")
    total = x
    for k in range(3000):
        total = total + x * float(k % 7)
    f = graphc.lambdify(graphc.Graph([x], total))
    assert float(f(1.0)) == pytest.approx(1 + sum(k % 7 for k in range(3000)))


def test_tensor_float32_and_batched_graphs_use_the_numpy_implementations() -> None:
    x = graphc.placeholder((None, 3), "float32", name="x")
    w = graphc.constant(np.arange(6, dtype=np.float32).reshape(3, 2))
    b = graphc.broadcast_to(graphc.constant(np.float32(0.5)), (None, 2))
    graph = graphc.Graph([x], [graphc.softmax(graphc.tanh(x @ w) + b), graphc.sum(x * x)])
    f = graphc.lambdify(graph)
    for batch in (1, 4):
        data = np.random.default_rng(batch).standard_normal((batch, 3)).astype(np.float32)
        assert_same(f(data), graph(data), rtol=0)


def test_numpy_steps_warn_no_more_than_the_interpreter() -> None:
    x = graphc.placeholder((None,), "float32", name="x")
    graph = graphc.Graph([x], graphc.log(x) / x)
    f = graphc.lambdify(graph)
    data = np.array([0.0, -1.0, 2.0], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's divide-by-zero warning would fail here
        assert_same(f(data), graph(data), rtol=0)


def test_integer_scalars_wrap_as_numpy_does() -> None:
    i, j = graphc.scalars("i j", dtype="int32")
    graph = graphc.Graph([i, j], i * j + 1)
    f = graphc.lambdify(graph)
    assert_same(f(2**20, 2**12), graph(2**20, 2**12), rtol=0)
    assert f(3, 4) == 13


def test_outputs_are_numpy_values() -> None:
    x, y = graphc.scalars("x y")
    f = graphc.lambdify(graphc.Graph([x, y], [x + y, x, graphc.constant(np.float64(2.0))]))
    total, first, two = f(1.0, 2.0)
    assert type(total) is np.float64 and total == 3.0
    assert type(first) is np.float64 and first == 1.0 and two == 2.0
    single = graphc.lambdify(graphc.Graph([x, y], x * y))(2.0, 4.0)
    assert type(single) is np.float64 and single == 8.0


def test_arguments_are_checked_like_the_interpreters() -> None:
    x, y = graphc.scalars("x y")
    f = graphc.lambdify(graphc.Graph([x, y], x - y))
    assert f(3, np.float32(1.5)) == 1.5  # ints and numpy scalars are converted
    assert f(np.array(3.0), 1.0) == 2.0
    with pytest.raises(InputError, match="takes 2 argument"):
        f(1.0)
    with pytest.raises(InputError, match="'y'"):
        f(1.0, "two")


def test_parameter_names_never_clash_with_the_generated_code() -> None:
    names = ["abs", "v1", "_hidden", "lambda", "ok", "ok", "float"]
    xs = [graphc.placeholder((), "float64", name=n) for n in names]
    graph = graphc.Graph(xs, functools.reduce(operator.add, [graphc.abs(v) for v in xs]))
    f = graphc.lambdify(graph)
    header = f.source.splitlines()[0]
    assert header == "def f(in0, in1, in2, in3, ok, in5, in6, _batch):"
    assert float(f(*[-1.0] * 7)) == 7.0


def test_only_graphs_are_lambdified() -> None:
    with pytest.raises(TypeError, match="expected a graphc.Graph"):
        graphc.lambdify(graphc.scalars("x"))
