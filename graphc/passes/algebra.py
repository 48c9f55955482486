"""Algebraic simplification: the canonicalize rewrites, and the `simplify` pass that runs them.

"Exact" means the simplified graph computes bit-for-bit the same values as the original for
every input, infinities, nan and signed zeros included (only a nan's payload may differ), as
LLVM's instruction combiner without fast-math flags. The sign of zero matters because it
propagates: x + 0.0 is +0.0 for x = -0.0, and 1 / x then gives +inf instead of -inf, so
x + 0 -> x is exact only for the zero -0.0 (x + -0.0 == x always). Everything else is tagged
"fast_math", or checks `node.fast_math`, and applies only when asked: it may round differently
(reassociation, x * x * x for x ** 3), ignore the sign of zero (x + 0.0 -> x, 0.0 - x -> -x)
or differ on special values (exp(log x) -> x is wrong for x < 0, x * 0 -> 0 for inf and nan,
x - x -> 0 for inf). Integer and bool arithmetic is exact, so those rewrites always apply there.

Simple families are declared as data in tables (identity elements, absorbing elements, inverse
pairs) and turned into one rewrite each by a loop; the others are small functions, each with its
algebra as a comment. Every rewrite keeps the node's type: `conform` broadcasts (x * 1 where the
1 has a bigger shape becomes broadcast_to(x, ...)) or casts the replacement.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from graphc import dtypes
from graphc.core import Primitive, Property, Value, constant, constant_p
from graphc.graph import Graph
from graphc.passes.manager import register_pass
from graphc.passes.rewrite import (
    FAST_MATH,
    FOLD_LIMIT,
    NodeView,
    apply_rewrites,
    rewrite,
    select_rewrites,
)
from graphc.primitives.cast import cast_p
from graphc.primitives.compare import select_p
from graphc.primitives.elementwise import (
    abs_p,
    add_p,
    and_p,
    div_p,
    exp_p,
    log_p,
    mul_p,
    neg_p,
    not_p,
    or_p,
    pow_p,
    sqrt_p,
    sub_p,
)
from graphc.primitives.shape import broadcast_to_p, reshape_p, transpose_p
from graphc.types import TensorType

P = Property


def conform(value: Value, like: TensorType) -> Value:
    """`value` cast and broadcast to exactly `like`, the type a rewrite must keep.

    >>> import graphc
    >>> conform(graphc.placeholder((3,), "int32"), TensorType((None, 3), "float32"))
    <Value broadcast_to : f32[None,3]>
    """
    if value.dtype != like.dtype:
        value = cast_p.bind(value, dtype=like.dtype)
    if value.shape != like.shape:
        value = broadcast_to_p.bind(value, shape=like.shape)
    return value


def full(t: TensorType, fill: Any) -> Value:
    """A tensor of type `t` with every element `fill`: a broadcast scalar constant.

    >>> full(TensorType((2, 3), "float64"), 1)
    <Value broadcast_to : f64[2,3]>
    """
    return conform(constant(np.asarray(fill, dtype=t.dtype)), t)


def is_constant_like(node: NodeView) -> bool:
    """A constant, or a broadcast of one (what folding and reassociation can combine).

    >>> import graphc
    >>> from graphc.passes.rewrite import RewriteContext
    >>> zeros = graphc.broadcast_to(graphc.constant(0.0), (None, 3))
    >>> is_constant_like(NodeView(zeros, RewriteContext()))
    True
    """
    while node.primitive is broadcast_to_p:
        node = node.operands[0]
    return node.primitive is constant_p


def _sides(prim: Primitive) -> tuple[int, ...]:
    """Operand positions a one-sided rule may match: both for commutative primitives."""
    return (0, 1) if prim.has(P.COMMUTATIVE) else (1,)


def _exact(node: NodeView) -> bool:
    """Float arithmetic rounds and has signed zeros; integer and bool arithmetic does not."""
    return node.fast_math or not dtypes.is_float(node.dtype)


def _is(operand: NodeView, element: Any, node: NodeView) -> bool:
    """`operand` is uniformly `element`, a zero of the same sign unless signs do not matter."""
    value = operand.uniform
    if value is None or not bool(value == element):
        return False
    return _exact(node) or math.copysign(1, float(value)) == math.copysign(1, float(element))


# --- identity and absorbing elements, inverse pairs: declared as data ------------------------

IDENTITIES = [
    (add_p, -0.0),  # x + -0 -> x (x + +0 -> x for integers, or with fast_math)
    (sub_p, 0.0),  # x - 0 -> x
    (mul_p, 1),  # x * 1 -> x
    (div_p, 1),  # x / 1 -> x
    (pow_p, 1),  # x ** 1 -> x
    (and_p, True),  # x and True -> x
    (or_p, False),  # x or False -> x
]

ABSORBING = [
    (mul_p, 0),  # x * 0 -> 0 (floats: fast_math, as inf * 0 and nan * 0 are nan)
    (and_p, False),  # x and False -> False
    (or_p, True),  # x or True -> True
]

INVERSE_PAIRS = [
    (neg_p, neg_p, ()),  # --x -> x
    (not_p, not_p, ()),  # not not x -> x
    (exp_p, log_p, (FAST_MATH,)),  # exp(log x) -> x (log x is nan for x < 0)
    (log_p, exp_p, (FAST_MATH,)),  # log(exp x) -> x (exp x overflows to inf)
]


def _identity_rule(prim: Primitive, element: Any) -> Callable[[NodeView], Value | None]:
    def rule(node: NodeView) -> Value | None:
        for side in _sides(prim):
            if _is(node.operands[side], element, node):
                return conform(node.operands[1 - side].value, node.type)
        return None

    return rule


def _absorbing_rule(prim: Primitive, element: Any) -> Callable[[NodeView], Value | None]:
    def rule(node: NodeView) -> Value | None:
        if not _exact(node):
            return None
        for side in _sides(prim):
            if node.operands[side].is_uniform(element):
                return full(node.type, element)
        return None

    return rule


def _inverse_rule(inner: Primitive) -> Callable[[NodeView], Value | None]:
    def rule(node: NodeView) -> Value | None:
        (x,) = node.operands
        return x.operands[0].value if x.primitive is inner else None

    return rule


for _prim, _element in IDENTITIES:
    rewrite(tracks=[_prim], name=f"{_prim.name}_identity")(_identity_rule(_prim, _element))
for _prim, _element in ABSORBING:
    rewrite(tracks=[_prim], name=f"{_prim.name}_absorbing")(_absorbing_rule(_prim, _element))
for _outer, _inner, _tags in INVERSE_PAIRS:
    rewrite(tracks=[_outer], tags=_tags, name=f"{_outer.name}_of_{_inner.name}")(
        _inverse_rule(_inner)
    )


# --- properties as data -----------------------------------------------------------------------


@rewrite(name="idempotent")
def idempotent(node: NodeView) -> Value | None:  # max(x, x) -> x, x and x -> x, ...
    if not node.primitive.has(P.IDEMPOTENT):
        return None
    a, b = node.value.inputs
    return conform(a, node.type) if a is b else None


@rewrite(name="reassociate_constants")
def reassociate_constants(node: NodeView) -> Value | None:  # (x op c1) op c2 -> x op (c1 op c2)
    prim = node.primitive
    if not (prim.has(P.ASSOCIATIVE) and prim.has(P.COMMUTATIVE)):
        return None
    # Selecting ops (max, min, and, or: the idempotent ones) never round; + and * on floats do.
    if not (_exact(node) or prim.has(P.IDEMPOTENT)):
        return None
    for inner, c2 in (node.operands, node.operands[::-1]):
        if inner.primitive is not prim or not is_constant_like(c2):
            continue
        for x, c1 in (inner.operands, inner.operands[::-1]):
            if is_constant_like(c1) and not is_constant_like(x):
                return conform(prim.bind(x.value, prim.bind(c1.value, c2.value)), node.type)
    return None


# --- signs --------------------------------------------------------------------------------------


@rewrite(tracks=[add_p])
def add_neg(node: NodeView) -> Value | None:  # x + -y -> x - y
    for side in (0, 1):
        y = node.operands[side]
        if y.primitive is neg_p:
            x = node.operands[1 - side].value
            return conform(sub_p.bind(x, y.operands[0].value), node.type)
    return None


@rewrite(tracks=[sub_p])
def sub_neg(node: NodeView) -> Value | None:  # x - -y -> x + y
    x, y = node.operands
    return add_p.bind(x.value, y.operands[0].value) if y.primitive is neg_p else None


@rewrite(tracks=[sub_p])
def zero_minus(node: NodeView) -> Value | None:  # -0 - x -> -x (+0 - x: not for x = +0)
    zero, x = node.operands
    return conform(neg_p.bind(x.value), node.type) if _is(zero, -0.0, node) else None


@rewrite(tracks=[sub_p])
def sub_self(node: NodeView) -> Value | None:  # x - x -> 0 (floats: fast_math, inf - inf is nan)
    x, y = node.value.inputs
    return full(node.type, 0) if x is y and _exact(node) else None


@rewrite(tracks=[div_p], tags=(FAST_MATH,))
def div_self(node: NodeView) -> Value | None:  # x / x -> 1 (not for 0, inf, nan)
    x, y = node.value.inputs
    return full(node.type, 1) if x is y else None


@rewrite(tracks=[mul_p, div_p])
def neg_times_neg(node: NodeView) -> Value | None:  # -x * -y -> x * y, -x / -y -> x / y
    x, y = node.operands
    if x.primitive is neg_p and y.primitive is neg_p:
        return node.primitive.bind(x.operands[0].value, y.operands[0].value)
    return None


@rewrite(tracks=[mul_p])
def times_minus_one(node: NodeView) -> Value | None:  # x * -1 -> -x
    for side in (0, 1):
        if node.operands[side].is_uniform(-1):
            return conform(neg_p.bind(node.operands[1 - side].value), node.type)
    return None


@rewrite(tracks=[abs_p])
def abs_of_sign_change(node: NodeView) -> Value | None:  # |(-x)| -> |x|, ||x|| -> |x|
    (x,) = node.operands
    if x.primitive is neg_p:
        return abs_p.bind(x.operands[0].value)
    return x.value if x.primitive is abs_p else None


# --- powers -------------------------------------------------------------------------------------


@rewrite(tracks=[pow_p])
def pow_small_integer(node: NodeView) -> Value | None:  # x**0 -> 1, x**2 -> x*x, x**-1 -> 1/x
    x, exponent = node.operands
    n = exponent.uniform
    if n is None:
        return None
    if n == 0:  # exact: pow(x, 0) is 1 even for nan
        return full(node.type, 1)
    if n == 2:  # exact: both are the correctly rounded square
        return conform(mul_p.bind(x.value, x.value), node.type)
    if n == -1 and dtypes.is_float(node.dtype):  # exact: both are the correctly rounded 1/x
        return conform(div_p.bind(constant(np.ones((), node.dtype)), x.value), node.type)
    if n in (3, 4) and _exact(node):  # x*x*x rounds twice: exact for integers only
        square = mul_p.bind(x.value, x.value)
        power = mul_p.bind(square, x.value if n == 3 else square)
        return conform(power, node.type)
    return None


@rewrite(tracks=[pow_p], tags=(FAST_MATH,))
def pow_half(node: NodeView) -> Value | None:  # x**0.5 -> sqrt(x) (differs at -0 and -inf)
    x, exponent = node.operands
    if exponent.is_uniform(0.5) and dtypes.is_float(node.dtype):
        return conform(sqrt_p.bind(x.value), node.type)
    return None


# --- choices and conversions ------------------------------------------------------------------


@rewrite(tracks=[select_p])
def select_same(node: NodeView) -> Value | None:  # select(c, x, x) -> x
    _, x, y = node.value.inputs
    return conform(x, node.type) if x is y else None


@rewrite(tracks=[select_p])
def select_known(node: NodeView) -> Value | None:  # select(True, x, y) -> x; (False, ...) -> y
    cond, x, y = node.operands
    if cond.uniform is None:
        return None
    return conform((x if bool(cond.uniform) else y).value, node.type)


@rewrite(tracks=[select_p])
def select_not(node: NodeView) -> Value | None:  # select(not c, x, y) -> select(c, y, x)
    cond, x, y = node.operands
    if cond.primitive is not not_p:
        return None
    return select_p.bind(cond.operands[0].value, y.value, x.value)


LOSSLESS = {
    (dtypes.float32, dtypes.float64),
    (dtypes.int32, dtypes.int64),
    (dtypes.int32, dtypes.float64),
} | {(dtypes.bool_, d) for d in dtypes.SUPPORTED}


@rewrite(tracks=[cast_p])
def cast_of_lossless_cast(node: NodeView) -> Value | None:  # cast(cast(x, wider), t) -> cast(x, t)
    (inner,) = node.operands
    if inner.primitive is not cast_p:
        return None
    x = inner.operands[0].value
    if (x.dtype, inner.dtype) not in LOSSLESS:
        return None
    return conform(x, node.type)


# --- shapes -------------------------------------------------------------------------------------


@rewrite(tracks=[transpose_p])
def transpose_of_transpose(node: NodeView) -> Value | None:  # (x^p)^q -> x^(p o q), x^id -> x
    (x,) = node.operands
    perm = tuple(node.attrs["permutation"])
    if x.primitive is transpose_p:
        inner = x.attrs["permutation"]
        composed = tuple(inner[i] for i in perm)
        return _transpose(x.operands[0].value, composed)
    return x.value if perm == tuple(range(len(perm))) else None


def _transpose(x: Value, perm: tuple[int, ...]) -> Value:
    return x if perm == tuple(range(len(perm))) else transpose_p.bind(x, permutation=perm)


@rewrite(tracks=[reshape_p])
def reshape_of_reshape(node: NodeView) -> Value | None:  # reshape(reshape(x, s), t) -> reshape(x,t)
    (x,) = node.operands
    if x.shape == node.shape:  # reshape(x, x.shape) -> x
        return x.value
    if x.primitive is reshape_p:
        source = x.operands[0].value
        if source.shape == node.shape:
            return source
        return reshape_p.bind(source, new_shape=node.attrs["new_shape"])
    return None


@rewrite(tracks=[broadcast_to_p])
def broadcast_of_broadcast(node: NodeView) -> Value | None:  # bcast(bcast(x, s), t) -> bcast(x, t)
    (x,) = node.operands
    if x.shape == node.shape:  # broadcast_to(x, x.shape) -> x
        return x.value
    if x.primitive is broadcast_to_p:
        return broadcast_to_p.bind(x.operands[0].value, shape=node.attrs["shape"])
    return None


@rewrite(name="elementwise_of_broadcast")
def elementwise_of_broadcast(node: NodeView) -> Value | None:  # f(bcast(x), y) -> bcast(f(x, y))
    # Elementwise ops commute with broadcasting: compute on the small operands, then broadcast
    # (which later elementwise users absorb in turn, e.g. a broadcast 1 in x * 1).
    if not node.primitive.has(P.ELEMENTWISE):
        return None
    operands = node.value.inputs
    unwrapped = [v.inputs[0] if v.primitive is broadcast_to_p else v for v in operands]
    if all(a is b for a, b in zip(unwrapped, operands)):
        return None
    return conform(node.primitive.bind(*unwrapped, **node.attrs), node.type)


# --- the pass -----------------------------------------------------------------------------------


def simplify(graph: Graph, *, fast_math: bool = False, fold_limit: int = FOLD_LIMIT) -> Graph:
    """Apply the algebraic rewrites (and constant folding) to a fixed point.

    Args:
        graph: the graph; it is not modified.
        fast_math: also apply the rewrites tagged "fast_math", which change floating-point
            results (see the module docstring).
        fold_limit: the largest constant (in elements) folding may create.

    >>> import graphc
    >>> x = graphc.placeholder((3,), "float64", name="x")
    >>> g = graphc.Graph([x], graphc.exp(graphc.log(x)) * 1.0)
    >>> len(simplify(g)), len(simplify(g, fast_math=True))
    (3, 1)
    """
    rewrites = select_rewrites(["fold", "canonicalize"], fast_math=fast_math)
    return apply_rewrites(
        graph, rewrites, fast_math=fast_math, fold_limit=fold_limit, pass_name="simplify"
    )


register_pass(
    "simplify",
    simplify,
    "algebraic simplification (exact unless fast_math), with constant folding",
    options=("fast_math", "fold_limit"),
)
