"""The elementwise family against numpy: unary functions, binary operations, comparisons, where
and cast, over dtypes and shapes (scalar, broadcast, batched); type promotion; build-time errors.

The interpreter (`graphc.Graph(...)(*arrays)`) is compared with numpy on the same arrays. Each
spec row names a public function, its numpy reference and the domain its operands are drawn
from. References are scipy-free (erf is `math.erf` through `np.vectorize`).
"""

from __future__ import annotations

import math
import operator
import re
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

import graphc
from graphc.primitives.elementwise import add_p

FLOATS = ["float32", "float64"]
INTS = ["int32", "int64"]
NUMERIC = FLOATS + INTS
ALL = NUMERIC + ["bool"]

#: (shape, batch size): scalar, static, and batched shapes, including an empty batch.
UNARY_SHAPES = [((), None), ((4,), None), ((2, 3, 4), None), ((None, 3), 0), ((None, 3), 5)]

#: Operand shapes that broadcast, with the batch size of the call.
BINARY_SHAPES = [
    ((), (), None),
    ((3,), (), None),
    ((), (2, 3), None),
    ((2, 3), (3,), None),
    ((2, 1), (1, 3), None),
    ((None, 3), (3,), 4),
    ((None, 3), (None, 1), 4),
    ((1, 3), (None, 3), 4),
    ((None, 1, 3), (2, 1), 4),
    ((None, 3), (), 0),
]

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 1e-8, 40.0, -40.0, np.inf, -np.inf, np.nan]

_np_erf = np.vectorize(math.erf, otypes=[np.float64])


def concrete(shape: tuple, batch: int | None) -> tuple[int, ...]:
    return tuple(batch if d is None else d for d in shape)


def sample(rng: np.random.Generator, shape: tuple[int, ...], dtype: str, domain=(-3, 3)):
    """Random values of `dtype` in [low, high) (ints: [low, high])."""
    low, high = domain
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype in INTS:
        return rng.integers(math.ceil(low), math.floor(high), shape, endpoint=True).astype(dtype)
    return rng.uniform(low, high, shape).astype(dtype)


def nonzero(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Divisors: |y| in [0.5, 4] with a random sign (ints: 1..4)."""
    magnitude = sample(rng, shape, dtype, (0.5, 4) if dtype in FLOATS else (1, 4))
    return np.where(rng.random(shape) < 0.5, magnitude, -magnitude).astype(dtype)


def run(build, *arrays: np.ndarray, shapes: list[tuple] | None = None) -> tuple[Any, graphc.Graph]:
    """Evaluate `build(*placeholders)` on `arrays`; placeholders get `shapes` (default: exact)."""
    shapes = shapes or [a.shape for a in arrays]
    inputs = [graphc.placeholder(s, a.dtype) for s, a in zip(shapes, arrays)]
    graph = graphc.Graph(inputs, build(*inputs))
    return graph(*arrays), graph


def assert_matches(got: np.ndarray, want: Any, graph: graphc.Graph, rtol: float | None = None):
    """Same dtype and shape (also the graph's static type); equal values, nan == nan."""
    want = np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert graph.output_types[0].dtype == want.dtype
    if want.dtype.kind == "f":
        tol = rtol if rtol is not None else (2e-6 if want.dtype == np.float32 else 1e-12)
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 1e-3)
    else:
        np.testing.assert_array_equal(got, want)


# --- unary functions ---------------------------------------------------------------------------


class Unary(NamedTuple):
    name: str
    reference: Any  # numpy function of a float array
    domain: tuple[float, float] = (-3, 3)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return (1 / (1 + np.exp(-a.astype(np.float64)))).astype(a.dtype)


# Float functions: float dtypes keep theirs; ints give float64, as numpy's float functions do.
UNARY_FLOAT = [
    Unary("exp", np.exp, (-5, 5)),
    Unary("log", np.log, (0.1, 10)),
    Unary("log1p", np.log1p, (-0.9, 10)),
    Unary("expm1", np.expm1, (-5, 5)),
    Unary("sqrt", np.sqrt, (0, 10)),
    Unary("sin", np.sin, (-5, 5)),
    Unary("cos", np.cos, (-5, 5)),
    Unary("tan", np.tan, (-1.4, 1.4)),
    Unary("tanh", np.tanh, (-5, 5)),
    Unary("sigmoid", _sigmoid, (-10, 10)),
    Unary("erf", lambda a: _np_erf(a).astype(a.dtype), (-3, 3)),
    Unary("floor", np.floor, (-5, 5)),
    Unary("ceil", np.ceil, (-5, 5)),
    Unary("round", np.rint, (-5, 5)),
]

# Numeric functions keep the operand's dtype; bool is refused.
UNARY_NUMERIC = [
    Unary("negative", np.negative),
    Unary("abs", np.abs),
    Unary("sign", np.sign),
    Unary("relu", lambda a: np.maximum(a, 0)),
]


def ids(rows) -> list[str]:
    return [row.name for row in rows]


@pytest.mark.parametrize(("shape", "batch"), UNARY_SHAPES)
@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("spec", UNARY_FLOAT, ids=ids(UNARY_FLOAT))
def test_unary_float_functions(spec, dtype, shape, batch, rng):
    a = sample(rng, concrete(shape, batch), dtype, spec.domain)
    if spec.name == "round" and dtype in FLOATS:
        a = (np.round(a * 2) / 2).astype(dtype)  # many ties (x.5): they round to even
    got, graph = run(getattr(graphc, spec.name), a, shapes=[shape])
    with np.errstate(all="ignore"):
        # numpy's float functions give float64 for ints (numpy >= 2.3 keeps ints for floor and
        # ceil; graphc gives float64 for every float function, whatever the numpy version).
        want = spec.reference(a if dtype in FLOATS else a.astype(np.float64))
    assert_matches(got, want, graph)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("spec", UNARY_FLOAT + UNARY_NUMERIC, ids=ids(UNARY_FLOAT + UNARY_NUMERIC))
def test_unary_functions_at_special_values(spec, dtype):
    """0, -0, tiny, large, +-inf and nan: IEEE results are values, as in numpy."""
    a = np.array(SPECIAL, dtype)
    got, graph = run(getattr(graphc, spec.name), a)
    with np.errstate(all="ignore"):
        want = spec.reference(a)
    assert_matches(got, want, graph)


@pytest.mark.parametrize(("shape", "batch"), UNARY_SHAPES)
@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("spec", UNARY_NUMERIC, ids=ids(UNARY_NUMERIC))
def test_unary_numeric_functions(spec, dtype, shape, batch, rng):
    a = sample(rng, concrete(shape, batch), dtype, (-5, 5))
    got, graph = run(getattr(graphc, spec.name), a, shapes=[shape])
    assert_matches(got, spec.reference(a), graph)


def test_unary_operators(rng):
    a = sample(rng, (5,), "float32")
    for build, reference in [(operator.neg, np.negative), (operator.abs, np.abs)]:
        got, graph = run(build, a)
        assert_matches(got, reference(a), graph)
    b = sample(rng, (5,), "bool")
    got, graph = run(operator.invert, b)
    assert_matches(got, np.logical_not(b), graph)


@pytest.mark.parametrize(("shape", "batch"), UNARY_SHAPES)
def test_logical_not(shape, batch, rng):
    a = sample(rng, concrete(shape, batch), "bool")
    got, graph = run(graphc.logical_not, a, shapes=[shape])
    assert_matches(got, np.logical_not(a), graph)


def test_float_functions_of_bools_give_float64():
    # numpy would give float16, which graphc does not have.
    a = np.array([True, False])
    got, graph = run(graphc.exp, a)
    assert_matches(got, np.exp(a.astype(np.float64)), graph)


@pytest.mark.parametrize("name", ["negative", "abs", "sign"])
def test_numeric_functions_refuse_bool(name):
    with pytest.raises(graphc.DTypeError, match=rf"^{name[:3]}\w*: .*bool\[3\]"):
        getattr(graphc, name)(graphc.placeholder((3,), "bool"))


# --- binary operations -------------------------------------------------------------------------


class Binary(NamedTuple):
    name: str  # the same name in graphc and numpy
    dtypes: list[str]
    operand: str = "any"  # "any", "divisor" (y != 0) or "power" (small y >= 0, positive float x)


ARITHMETIC = [
    Binary("add", NUMERIC),
    Binary("subtract", NUMERIC),
    Binary("multiply", NUMERIC),
    Binary("divide", NUMERIC, "divisor"),
    Binary("floor_divide", NUMERIC, "divisor"),
    Binary("remainder", NUMERIC, "divisor"),
    Binary("power", NUMERIC, "power"),
    Binary("maximum", NUMERIC),
    Binary("minimum", NUMERIC),
]
COMPARISONS = [
    Binary(name, ALL)
    for name in ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]
]
LOGICAL = [Binary("logical_and", ["bool"]), Binary("logical_or", ["bool"])]
BINARY = ARITHMETIC + COMPARISONS + LOGICAL


def binary_operands(rng, spec: Binary, x_shape, y_shape, dtype):
    if spec.operand == "divisor":
        return sample(rng, x_shape, dtype, (-9, 9)), nonzero(rng, y_shape, dtype)
    if spec.operand == "power":
        x = sample(rng, x_shape, dtype, (0.1, 3) if dtype in FLOATS else (-5, 5))
        return x, sample(rng, y_shape, dtype, (-2, 3) if dtype in FLOATS else (0, 4))
    if dtype in FLOATS:  # few distinct values, so there are ties; nan propagates or compares
        choices = np.array([-1.5, 0.0, 0.5, 1.0, 2.0, np.nan], dtype)
        return rng.choice(choices, x_shape), rng.choice(choices, y_shape)
    return sample(rng, x_shape, dtype), sample(rng, y_shape, dtype)


def binary_cases(rows: list[Binary]) -> list:
    return [
        pytest.param(spec, dtype, id=f"{spec.name}-{dtype}")
        for spec in rows
        for dtype in spec.dtypes
    ]


@pytest.mark.parametrize(("x_shape", "y_shape", "batch"), BINARY_SHAPES)
@pytest.mark.parametrize(("spec", "dtype"), binary_cases(BINARY))
def test_binary_functions(spec, dtype, x_shape, y_shape, batch, rng):
    x, y = binary_operands(rng, spec, concrete(x_shape, batch), concrete(y_shape, batch), dtype)
    got, graph = run(getattr(graphc, spec.name), x, y, shapes=[x_shape, y_shape])
    with np.errstate(all="ignore"):
        want = getattr(np, spec.name)(x, y)
    assert_matches(got, want, graph)


OPERATORS = [
    ("+", operator.add, "add"),
    ("-", operator.sub, "subtract"),
    ("*", operator.mul, "multiply"),
    ("/", operator.truediv, "divide"),
    ("//", operator.floordiv, "floor_divide"),
    ("%", operator.mod, "remainder"),
    ("**", operator.pow, "power"),
    ("==", operator.eq, "equal"),
    ("!=", operator.ne, "not_equal"),
    ("<", operator.lt, "less"),
    ("<=", operator.le, "less_equal"),
    (">", operator.gt, "greater"),
    (">=", operator.ge, "greater_equal"),
    ("&", operator.and_, "logical_and"),
    ("|", operator.or_, "logical_or"),
]


@pytest.mark.parametrize(("symbol", "op", "name"), OPERATORS, ids=[o[0] for o in OPERATORS])
def test_operators_match_numpy(symbol, op, name, rng):
    spec = next(s for s in BINARY if s.name == name)
    dtype = "bool" if spec in LOGICAL else "float64"
    x, y = binary_operands(rng, spec, (4, 3), (3,), dtype)
    got, graph = run(op, x, y, shapes=[(None, 3), (3,)])
    with np.errstate(all="ignore"):
        assert_matches(got, op(x, y), graph)
    # A Python scalar on either side (the reflected operator for the right one).
    scalar = True if dtype == "bool" else 2.0
    with np.errstate(all="ignore"):
        got, graph = run(lambda v: op(v, scalar), x)
        assert_matches(got, op(x, scalar), graph)
        got, graph = run(lambda v: op(scalar, v), y)
        assert_matches(got, op(scalar, y), graph)


@pytest.mark.parametrize("dtype", INTS)
def test_integer_power_with_a_negative_exponent_truncates(dtype):
    """A deliberate difference from numpy, which raises: the truncated real result."""
    x = np.array([1, -1, -1, 2, -3, 0, 5], dtype)
    y = np.array([-1, -1, -2, -1, -2, -1, 0], dtype)
    got, graph = run(operator.pow, x, y)
    assert_matches(got, np.array([1, -1, 1, 0, 0, 0, 1], dtype), graph)
    with pytest.raises(ValueError, match="negative integer powers"):
        np.power(x, y)


@pytest.mark.parametrize("dtype", INTS)
def test_integer_overflow_wraps_as_in_numpy(dtype):
    big = np.iinfo(dtype).max
    x = np.array([big, -big - 1], dtype)
    y = np.array([1, -1], dtype)
    got, graph = run(operator.add, x, y)
    assert_matches(got, x + y, graph)


@pytest.mark.parametrize(
    ("name", "dtype"),
    [(spec.name, "bool") for spec in ARITHMETIC if spec.name != "divide"]
    + [(spec.name, dtype) for spec in LOGICAL for dtype in NUMERIC],
)
def test_binary_operations_refuse_dtypes_outside_their_set(name, dtype):
    x, y = graphc.placeholder((None, 3), dtype), graphc.placeholder((3,), dtype)
    with pytest.raises(graphc.DTypeError) as info:
        getattr(graphc, name)(x, y)
    message = str(info.value)
    short = graphc.dtypes.short_name(np.dtype(dtype))
    assert message.startswith(f"{PRIMITIVE_NAMES[name]}: "), message  # the op first
    assert f"{short}[None,3] and {short}[3]" in message, message  # both operand types


def test_divide_of_bools_gives_float64_like_numpy():
    a, b = np.array([True, True, False]), np.array([True, False, True])
    got, graph = run(graphc.divide, a, b)
    with np.errstate(all="ignore"):
        assert_matches(got, np.divide(a, b), graph)


# --- where and cast ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shapes", "batch"),
    [
        (((), (), ()), None),
        (((3,), (3,), (3,)), None),
        (((2, 3), (3,), ()), None),
        (((None, 3), (3,), (None, 1)), 4),
        (((None, 1), (1, 3), ()), 0),
    ],
)
@pytest.mark.parametrize("dtype", ALL)
def test_where(dtype, shapes, batch, rng):
    c_shape, x_shape, y_shape = (concrete(s, batch) for s in shapes)
    cond = sample(rng, c_shape, "bool")
    x, y = sample(rng, x_shape, dtype), sample(rng, y_shape, dtype)
    got, graph = run(graphc.where, cond, x, y, shapes=list(shapes))
    assert_matches(got, np.where(cond, x, y), graph)


@pytest.mark.parametrize("cond_dtype", NUMERIC)
def test_where_with_a_non_bool_condition_is_true_where_nonzero(cond_dtype, rng):
    cond = np.array([0, 1, -2, 0, 3], cond_dtype)
    x, y = sample(rng, (5,), "float32"), sample(rng, (5,), "float32")
    got, graph = run(graphc.where, cond, x, y)
    assert_matches(got, np.where(cond, x, y), graph)


@pytest.mark.parametrize(
    ("dtype", "scalar"), [("float32", 0.0), ("int32", 0), ("int32", 2.5), ("bool", 1)]
)
def test_where_promotes_a_scalar_branch_like_numpy(dtype, scalar, rng):
    cond, x = sample(rng, (4,), "bool"), sample(rng, (4,), dtype)
    got, graph = run(lambda c, v: graphc.where(c, v, scalar), cond, x)
    assert_matches(got, np.where(cond, x, scalar), graph)


@pytest.mark.parametrize(("shape", "batch"), [((), None), ((None, 3), 4), ((None, 3), 0)])
@pytest.mark.parametrize("target", ALL)
@pytest.mark.parametrize("source", ALL)
def test_cast(source, target, shape, batch, rng):
    # Floats in range of every int (out of range saturates, unlike numpy; see cast.py).
    a = sample(rng, concrete(shape, batch), source, (-100, 100))
    got, graph = run(lambda v: graphc.cast(v, target), a, shapes=[shape])
    assert_matches(got, a.astype(target), graph)
    got, graph = run(lambda v: v.astype(target), a, shapes=[shape])
    assert_matches(got, a.astype(target), graph)


def test_cast_truncates_toward_zero_and_bool_is_nonzero():
    a = np.array([-1.7, -0.5, -0.0, 0.0, 0.5, 1.7, np.inf, np.nan], "float32")
    got, _ = run(lambda v: graphc.cast(v, "bool"), a)
    np.testing.assert_array_equal(got, a.astype(bool))
    got, _ = run(lambda v: graphc.cast(v, "int32"), a[:6])
    np.testing.assert_array_equal(got, a[:6].astype("int32"))


# --- promotion (NEP 50) ------------------------------------------------------------------------

PROMOTION_OPS = [spec.name for spec in ARITHMETIC]

TENSOR = {dtype: dtype for dtype in NUMERIC}
SCALARS = {
    "int": 2,
    "float": 1.5,
    "True": True,
    "np.float64": np.float64(1.5),
    "np.float32": np.float32(0.5),
    "np.int64": np.int64(3),
    "np.int32": np.int32(2),
}


def promotion_cases() -> list:
    kinds = list(TENSOR) + list(SCALARS)
    return [
        pytest.param(a, b, id=f"{a}-{b}")
        for a in kinds
        for b in kinds
        if a in TENSOR or b in TENSOR  # at least one tensor
    ]


def operand(kind: str, rng) -> tuple[Any, np.ndarray | None]:
    """(graphc operand or None for a placeholder, numpy operand)."""
    if kind in SCALARS:
        return SCALARS[kind], SCALARS[kind]
    # Positive and nonzero, so every operation is defined (divisors, powers) for every pair.
    return None, sample(rng, (3,), kind, (1, 3))


@pytest.mark.parametrize("name", PROMOTION_OPS)
@pytest.mark.parametrize(("left", "right"), promotion_cases())
def test_arithmetic_promotes_like_numpy(name, left, right, rng):
    """Tensors promote with `np.result_type`; Python scalars are weak; numpy scalars strong."""
    (gl, nl), (gr, nr) = operand(left, rng), operand(right, rng)
    arrays = [a for g, a in [(gl, nl), (gr, nr)] if g is None]

    def build(*inputs):
        it = iter(inputs)
        return getattr(graphc, name)(next(it) if gl is None else gl, next(it) if gr is None else gr)

    with np.errstate(all="ignore"):
        want = getattr(np, name)(nl, nr)
    got, graph = run(build, *arrays)
    assert_matches(got, want, graph, rtol=1e-6)


def ir_doc_promotion_rows() -> list[tuple[str, str]]:
    """(expression, result) for each expression in docs/ir.md's promotion table."""
    text = (Path(__file__).parents[2] / "docs" / "ir.md").read_text()
    section = text.split("## Dtypes and promotion", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows += [(expr, cells[1]) for expr in re.findall(r"`([^`]+)`", cells[0])]
    return rows


DOC_ROWS = ir_doc_promotion_rows()


def test_the_doc_promotion_table_is_found():
    assert len(DOC_ROWS) >= 9, DOC_ROWS


@pytest.mark.parametrize(("expression", "result"), DOC_ROWS, ids=[r[0] for r in DOC_ROWS])
def test_doc_promotion_table(expression, result, rng):
    """Every row of docs/ir.md's table holds for graphc and agrees with numpy."""
    x_f32, i_i32 = sample(rng, (4,), "float32"), sample(rng, (4,), "int32", (1, 9))

    def build(x, i):  # `x` in the table's last row is x_f32
        return eval(expression, {"graphc": graphc, "np": np}, {"x_f32": x, "i_i32": i, "x": x})

    got, graph = run(build, x_f32, i_i32)
    want = eval(expression, {"graphc": np, "np": np}, {"x_f32": x_f32, "i_i32": i_i32, "x": x_f32})
    assert graphc.dtypes.as_dtype(result) == want.dtype, "the table disagrees with numpy"
    assert_matches(got, want, graph)


def test_mixed_dtypes_are_lined_up_with_cast_nodes():
    x, i = graphc.placeholder((3,), "float32"), graphc.placeholder((3,), "int32")
    dump = graphc.Graph([x, i], x + i).dump()
    assert dump.count("cast[dtype=f64]") == 2 and "add %" in dump


def test_a_python_int_out_of_the_tensors_range_is_refused():
    with pytest.raises(OverflowError):
        np.zeros(3, "int32") + 2**40
    with pytest.raises(graphc.DTypeError, match="does not fit in int32"):
        graphc.placeholder((3,), "int32") + 2**40


# --- build-time errors -------------------------------------------------------------------------


def test_bad_broadcast_message_is_the_documented_one():
    x = graphc.placeholder((None, 3))
    with pytest.raises(graphc.ShapeError) as info:
        x + graphc.placeholder((4,))
    assert str(info.value) == (
        "add of f32[None,3] and f32[4]: cannot broadcast shapes [None,3] and [4]: axis -1 is 3 vs 4"
    )
    assert isinstance(info.value, ValueError) and isinstance(info.value, graphc.GraphcError)
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert str(info.value) in readme


PRIMITIVE_NAMES = {
    "add": "add",
    "subtract": "sub",
    "multiply": "mul",
    "divide": "div",
    "floor_divide": "floordiv",
    "remainder": "rem",
    "power": "pow",
    "maximum": "maximum",
    "minimum": "minimum",
    "equal": "eq",
    "not_equal": "ne",
    "less": "lt",
    "less_equal": "le",
    "greater": "gt",
    "greater_equal": "ge",
    "logical_and": "and",
    "logical_or": "or",
}


@pytest.mark.parametrize(("spec", "dtype"), binary_cases(BINARY))
def test_bad_broadcast_names_the_op_and_both_types(spec, dtype):
    short = graphc.dtypes.short_name(np.dtype(dtype))
    out = "f64" if spec.name == "divide" and dtype in INTS else short
    x, y = graphc.placeholder((2, 3), dtype), graphc.placeholder((3, 2), dtype)
    with pytest.raises(graphc.ShapeError) as info:
        getattr(graphc, spec.name)(x, y)
    assert str(info.value) == (
        f"{PRIMITIVE_NAMES[spec.name]} of {out}[2,3] and {out}[3,2]: cannot broadcast shapes "
        f"[2,3] and [3,2]: axis -2 is 2 vs 3"
    )


def test_the_batch_dimension_only_broadcasts_with_itself_and_one():
    with pytest.raises(graphc.ShapeError, match=r"axis -1 is None vs 3 \(None is the batch"):
        graphc.placeholder((None,)) * graphc.placeholder((3,))
    assert (graphc.placeholder((None,)) * graphc.placeholder((1,))).shape == (None,)


def test_where_bad_broadcast_names_all_three_types():
    cond = graphc.placeholder((None, 3), "bool")
    with pytest.raises(graphc.ShapeError, match=r"^select of bool\[None,3\], f32\[4\] and f32\[\]"):
        graphc.where(cond, graphc.placeholder((4,)), 0.0)


def test_bad_dtype_is_a_dtype_error_naming_the_op_and_both_types():
    x, y = graphc.placeholder((None, 3)), graphc.placeholder((3,))
    with pytest.raises(graphc.DTypeError) as info:
        x & y
    assert isinstance(info.value, TypeError) and isinstance(info.value, graphc.GraphcError)
    assert str(info.value) == "and: expected a bool dtype, got f32[None,3] and f32[3]"
    b = graphc.placeholder((3,), "bool")
    with pytest.raises(graphc.DTypeError, match=r"^sub: .*bool\[3\] and bool\[2,3\]$"):
        b - graphc.placeholder((2, 3), "bool")


def test_primitives_refuse_operands_of_two_dtypes():
    x, i = graphc.placeholder((3,)), graphc.placeholder((3,), "int32")
    with pytest.raises(
        graphc.DTypeError, match=r"^add: operands must share a dtype, got f32\[3\] and i32\[3\]$"
    ):
        add_p.bind(x, i)


@pytest.mark.parametrize("build", [lambda x: ~x, graphc.logical_not])
def test_logical_not_refuses_numbers(build):
    with pytest.raises(graphc.DTypeError, match=r"^logical_not: .*f32\[3\]"):
        build(graphc.placeholder((3,)))
