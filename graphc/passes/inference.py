"""Inference rewrites: remove dropout, fold batch normalization into matmul and conv weights.

A training trace (`model.trace([...], training=True)`) draws dropout masks: the frontend's
`Dropout` emits select(random_uniform(seed) >= rate, x * (1 / (1 - rate)), 0), and the RNN
cells multiply by such a mask, x * select(random_uniform(seed) >= rate, 1 / (1 - rate), 0).
At inference dropout is the identity, so both become x. They are removed only when the shape
is exactly a dropout mask: a `random_uniform` (uniform on [0, 1)) compared `>=` with a constant
rate in (0, 1), selecting the scale 1 / (1 - rate) (to the rounding of the dtype) and a zero,
and a result of x's own type. Anything else built from random numbers is left alone.

At inference, batch normalization after a dense or conv layer is an affine map per output
channel, y * s + b with constant s and b, and the layer's weights are constants too. Scaling
the weights once (W * s) saves a multiplication per output element at every call. The rewrites
work on the algebra the frontend emits, in any of its usual forms:

    matmul(x, W) * s + b           -> matmul(x, W * s) + b
    (matmul(x, W) + b1) * s + b2   -> matmul(x, W * s) + (b1 * s + b2)
    (conv(x, K) - mean) / d + beta -> conv(x, K / d) + (beta - mean / d)

s must be a constant that varies only along the output channel (the last axis, for matmul
and for conv's NHWC output and HWIO kernel) and the weights must be constants (a frozen
model). The matmul/conv must have no other user, or the rewrite would compute it twice.

Every rewrite is a `Pattern` (graphc.passes.patterns), a small graph matched with networkx's
subgraph matcher; the variants of each (mul or div, add or sub, operands of commutative ops in
either order) are declared in loops. The pass repeats rounds of pattern rewrites until one
matches nothing; a rewrite folds the constants it combines at once (W * s, b1 * s + b2), so
the next round sees constant weights and biases again.

These rewrites change results (dropout is gone; folded scales round differently, applied to
the weights before the sum instead of after it), so they run only in the "inference" pass:
`optimize(inference=True)` or `passes=["inference"]`. Graphs that training differentiates
never change.
"""

from __future__ import annotations

import numpy as np

from graphc.core import Primitive, Property, Value, constant, constant_p
from graphc.errors import GraphError
from graphc.graph import Graph
from graphc.passes.algebra import conform
from graphc.passes.fold import fold_constant
from graphc.passes.manager import register_pass
from graphc.passes.patterns import (
    Match,
    Pattern,
    PatternRule,
    constant_array,
    rewrite_matches,
    single_user,
    uniform_value,
)
from graphc.passes.rewrite import FOLD_LIMIT, MAX_ROUNDS, NodeView, RewriteContext
from graphc.primitives.compare import ge_p, select_p
from graphc.primitives.conv import conv_p
from graphc.primitives.elementwise import add_p, div_p, mul_p, neg_p, sub_p
from graphc.primitives.linalg import matmul_p
from graphc.primitives.random import random_uniform_p
from graphc.primitives.shape import broadcast_to_p

ANCHORS = (matmul_p, conv_p)
SCALES = (mul_p, div_p)
SHIFTS = (add_p, sub_p)


def _commutes(prim: Primitive) -> bool:
    return prim.has(Property.COMMUTATIVE)


def _bind(match: Match, prim: Primitive, *operands: Value) -> Value:
    """`prim` applied to `operands`, folded to a constant at once when they are constants (as
    the fold pass would), so the next round sees the folded weights and biases."""
    value = prim.bind(*operands)
    context = RewriteContext(fold_limit=match.options.get("fold_limit", FOLD_LIMIT))
    folded = fold_constant(NodeView(value, context))
    return value if folded is None else folded


# --- dropout ------------------------------------------------------------------------------------


def _is_float_scalar(graph: Graph, node: int) -> bool:
    """A one-element float constant."""
    array = constant_array(graph, node)
    return array is not None and array.size == 1 and array.dtype.kind == "f"


def _is_rate(graph: Graph, node: int) -> bool:
    """A one-element float constant strictly between 0 and 1."""
    return _is_float_scalar(graph, node) and 0.0 < float(constant_array(graph, node).flat[0]) < 1.0


def _is_zero(graph: Graph, node: int) -> bool:
    value = uniform_value(graph, node)
    return value is not None and value == 0


def _is_dropout_scale(match: Match) -> bool:
    """The scale is 1 / (1 - rate), as the frontend computes it in double precision and
    rounds to the dtype; the rate constant is rounded too, which moves 1 / (1 - rate) by up
    to rate / (1 - rate) of its rounding error, hence the tolerance."""
    rate, scale = match.constant("rate"), match.constant("scale")
    r = float(rate.flat[0])
    eps = max(float(np.finfo(rate.dtype).eps), float(np.finfo(scale.dtype).eps))
    return bool(np.isclose(float(scale.flat[0]), 1.0 / (1.0 - r), rtol=2 * eps / (1 - r), atol=0))


def _mask(p: Pattern) -> str:
    """random_uniform(seed) >= rate: true with probability 1 - rate."""
    uniform = p.leaf("uniform", random_uniform_p)
    return p.op("keep", ge_p, uniform, p.leaf("rate", constant_p, where=_is_rate))


def _scale(p: Pattern) -> str:
    """1 / (1 - rate), checked against the rate by `_is_dropout_scale`."""
    return p.leaf("scale", constant_p, where=_is_float_scalar)


def _dropout() -> Pattern:  # select(u >= rate, x * (1 / (1 - rate)), 0) -> x
    p = Pattern("dropout")
    keep = _mask(p)
    scaled = p.op("scaled", mul_p, p.leaf("x"), _scale(p), any_order=True)
    p.op("root", select_p, keep, scaled, p.leaf("zero", where=_is_zero))
    return p


def _dropout_mask() -> Pattern:  # x * select(u >= rate, 1 / (1 - rate), 0) -> x
    p = Pattern("dropout_mask")
    keep = _mask(p)
    mask = p.op("mask", select_p, keep, _scale(p), p.leaf("zero", where=_is_zero))
    p.op("root", mul_p, p.leaf("x"), mask, any_order=True)
    return p


def remove_dropout(match: Match) -> Value | None:  # dropout(x) -> x at inference
    x = match["x"]
    if x.type != match.root_type or not _is_dropout_scale(match):
        return None
    return x


# --- batch normalization ----------------------------------------------------------------------


def _foldable_anchor(graph: Graph, node: int) -> bool:
    """A matmul or conv with constant weights whose result nothing else reads."""
    return single_user(graph, node) and graph.primitive(graph.operands(node)[1]) is constant_p


def _constant_like(graph: Graph, node: int) -> bool:
    """A constant, or a broadcast of one (what folding can combine)."""
    while graph.primitive(node) is broadcast_to_p:
        node = graph.operands(node)[0]
    return graph.primitive(node) is constant_p


def _channel_vector(match: Match) -> np.ndarray | None:
    """The scale as a vector over the anchor's output channels (or a scalar), when it is one."""
    graph, scale = match.graph, match.nodes["scale"]
    array = constant_array(graph, scale)
    if array is None:
        uniform = uniform_value(graph, scale)
        array = None if uniform is None else np.asarray(uniform, dtype=graph.type(scale).dtype)
    anchor = graph.type(match.nodes["anchor"])
    if array is None or array.ndim > anchor.ndim:
        return None
    if array.ndim == 0 or all(d == 1 for d in array.shape[:-1]):
        vector = array.reshape(array.shape[-1:])
        if vector.size in (1, anchor.shape[-1]):
            return vector
    return None


def _scaled_anchor() -> list[Pattern]:  # matmul(x, W) * s, matmul(x, W) / s
    patterns = []
    for scale_op in SCALES:
        p = Pattern(f"{scale_op.name}(anchor, scale)")
        anchor = p.leaf("anchor", ANCHORS, where=_foldable_anchor)
        p.op("root", scale_op, anchor, p.leaf("scale"), any_order=_commutes(scale_op))
        patterns.append(p)
    return patterns


def scale_into_weights(match: Match) -> Value | None:  # matmul(x, W) * s -> matmul(x, W * s)
    vector = _channel_vector(match)
    if vector is None:
        return None
    anchor = match["anchor"]
    x, weights = anchor.inputs
    scaled = _bind(match, match.primitive("root"), weights, constant(vector, weights.dtype))
    return conform(anchor.primitive.bind(x, scaled, **anchor.attrs), match.root_type)


def _scaled_shift() -> list[Pattern]:  # (matmul(x, W) + b) * s, (conv(x, K) - m) / d, ...
    patterns = []
    for scale_op in SCALES:
        for shift_op in SHIFTS:
            p = Pattern(f"{scale_op.name}({shift_op.name}(anchor, bias), scale)")
            anchor = p.leaf("anchor", ANCHORS, where=_foldable_anchor)
            bias = p.leaf("bias", where=_constant_like)
            shifted = p.op(
                "shifted", shift_op, anchor, bias, where=single_user, any_order=_commutes(shift_op)
            )
            p.op("root", scale_op, shifted, p.leaf("scale"), any_order=_commutes(scale_op))
            patterns.append(p)
    return patterns


def scale_through_bias(match: Match) -> Value | None:  # (y + b) * s -> y * s + b * s
    if _channel_vector(match) is None:
        return None
    op, scale = match.primitive("root"), match["scale"]
    parts = (op.bind(match["anchor"], scale), _bind(match, op, match["bias"], scale))
    return conform(match.primitive("shifted").bind(*parts), match.root_type)


def _shifted_shift() -> list[Pattern]:  # (matmul(x, W) + b1) - b2, ...
    patterns = []
    for outer in SHIFTS:
        for inner in SHIFTS:
            p = Pattern(f"{outer.name}({inner.name}(anchor, b1), b2)")
            anchor = p.leaf("anchor", ANCHORS)
            b1 = p.leaf("b1", where=_constant_like)
            shifted = p.op("shifted", inner, anchor, b1, any_order=_commutes(inner))
            b2 = p.leaf("b2", where=_constant_like)
            p.op("root", outer, shifted, b2, any_order=_commutes(outer))
            patterns.append(p)
    return patterns


def merge_biases(match: Match) -> Value | None:  # (y + b1) - b2 -> y + (b1 - b2)
    b1 = match["b1"]
    first = b1 if match.primitive("shifted") is add_p else _bind(match, neg_p, b1)
    total = _bind(match, match.primitive("root"), first, match["b2"])
    return conform(add_p.bind(match["anchor"], total), match.root_type)


RULES: list[PatternRule] = [
    *(PatternRule("remove_dropout", p, remove_dropout) for p in (_dropout(), _dropout_mask())),
    *(PatternRule("scale_into_weights", p, scale_into_weights) for p in _scaled_anchor()),
    *(PatternRule("scale_through_bias", p, scale_through_bias) for p in _scaled_shift()),
    *(PatternRule("merge_biases", p, merge_biases) for p in _shifted_shift()),
]


def specialize_for_inference(graph: Graph, *, fold_limit: int = FOLD_LIMIT) -> Graph:
    """Remove dropout and fold batch normalization (and the constants that creates); return
    `graph` itself when no inference rewrite applies.

    >>> import graphc, numpy as np
    >>> x = graphc.placeholder((None, 2), "float64", name="x")
    >>> w = graphc.constant(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> y = (x @ w + np.array([0.5, 0.5])) * np.array([2.0, 10.0]) + 1.0
    >>> g = graphc.Graph([x], y)
    >>> h = specialize_for_inference(g)
    >>> [h.primitive(n).name for n in h.order]
    ['input', 'constant', 'matmul', 'constant', 'add']
    >>> np.allclose(g(np.ones((3, 2))), h(np.ones((3, 2))))
    True
    >>> kept = graphc.where(graphc.random_uniform(7, (None, 2), "float64") >= 0.5, x * 2.0, 0.0)
    >>> print(specialize_for_inference(graphc.Graph([x], kept)).dump())
    graph(%0 x: f64[None,2]) {
      return %0
    }
    """
    options = {"fold_limit": fold_limit}
    for _ in range(MAX_ROUNDS):
        rewritten = rewrite_matches(
            graph, RULES, pass_name="specialize_for_inference", options=options
        )
        if rewritten is graph:
            return graph
        graph = rewritten
    raise GraphError(
        f"specialize_for_inference: the rewrites did not settle after {MAX_ROUNDS} rounds"
    )


register_pass(
    "inference",
    specialize_for_inference,
    "remove dropout; fold batch-norm scales and shifts into matmul/conv weights "
    "(inference graphs only)",
    options=("fold_limit",),
)
