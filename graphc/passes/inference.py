"""Inference rewrites: fold batch normalization into the weights of the preceding matmul or conv.

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

These rewrites change how results round (the scale is applied to the weights before the sum
instead of after it), so they run only in the "inference" phase: `optimize(inference=True)`
or the "inference" pass. The graphs that training differentiates never change.
"""

from __future__ import annotations

import numpy as np

from graphc.core import Property, Value, constant, constant_p
from graphc.graph import Graph
from graphc.passes.algebra import conform, is_constant_like
from graphc.passes.manager import register_pass
from graphc.passes.rewrite import FOLD_LIMIT, NodeView, apply_rewrites, rewrite, select_rewrites
from graphc.primitives.conv import conv_p
from graphc.primitives.elementwise import add_p, div_p, mul_p, neg_p, sub_p
from graphc.primitives.linalg import matmul_p

ANCHORS = (matmul_p, conv_p)
SCALES = (mul_p, div_p)
SHIFTS = (add_p, sub_p)


def _foldable_anchor(node: NodeView) -> bool:
    """A matmul or conv with constant weights whose result nothing else reads."""
    if node.primitive not in ANCHORS or not node.single_user:
        return False
    return node.operands[1].primitive is constant_p


def _channel_vector(scale: NodeView, anchor: NodeView) -> np.ndarray | None:
    """The scale as a vector over the output channels (or a scalar), when it is one."""
    array = scale.constant
    if array is None:
        uniform = scale.uniform
        array = None if uniform is None else np.asarray(uniform, dtype=scale.dtype)
    if array is None or array.ndim > anchor.type.ndim:
        return None
    if array.ndim == 0 or all(d == 1 for d in array.shape[:-1]):
        vector = array.reshape(array.shape[-1:])
        if vector.size in (1, anchor.shape[-1]):
            return vector
    return None


def _pairs(node: NodeView) -> list[tuple[NodeView, NodeView]]:
    """(operand, other operand) to try: both ways round for commutative ops, else as given
    (a divisor or a subtrahend must stay on the right)."""
    a, b = node.operands
    return [(a, b), (b, a)] if node.primitive.has(Property.COMMUTATIVE) else [(a, b)]


@rewrite(tracks=SCALES, phase="inference")
def scale_into_weights(node: NodeView) -> Value | None:  # matmul(x, W) * s -> matmul(x, W * s)
    for anchor, scale in _pairs(node):
        vector = _channel_vector(scale, anchor) if _foldable_anchor(anchor) else None
        if vector is None:
            continue
        x, weights = anchor.value.inputs
        scaled = node.primitive.bind(weights, constant(vector, weights.dtype))
        return conform(anchor.primitive.bind(x, scaled, **anchor.attrs), node.type)
    return None


@rewrite(tracks=SCALES, phase="inference")
def scale_through_bias(node: NodeView) -> Value | None:  # (y + b) * s -> y * s + b * s
    op = node.primitive
    for shifted, scale in _pairs(node):
        if shifted.primitive not in SHIFTS or not shifted.single_user:
            continue
        for anchor, bias in _pairs(shifted):
            if (
                _foldable_anchor(anchor)
                and is_constant_like(bias)
                and _channel_vector(scale, anchor) is not None
            ):
                parts = (op.bind(anchor.value, scale.value), op.bind(bias.value, scale.value))
                return conform(shifted.primitive.bind(*parts), node.type)
    return None


@rewrite(tracks=SHIFTS, phase="inference")
def merge_biases(node: NodeView) -> Value | None:  # (y + b1) - b2 -> y + (b1 - b2)
    for shifted, b2 in _pairs(node):
        if shifted.primitive not in SHIFTS or not is_constant_like(b2):
            continue
        for anchor, b1 in _pairs(shifted):
            if anchor.primitive in ANCHORS and is_constant_like(b1):
                first = b1.value if shifted.primitive is add_p else neg_p.bind(b1.value)
                total = node.primitive.bind(first, b2.value)
                return conform(add_p.bind(anchor.value, total), node.type)
    return None


def specialize_for_inference(graph: Graph, *, fold_limit: int = FOLD_LIMIT) -> Graph:
    """Apply the inference rewrites (and fold the constants they create).

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
    """
    rewrites = select_rewrites(["inference", "fold"])
    return apply_rewrites(
        graph, rewrites, fold_limit=fold_limit, pass_name="specialize_for_inference"
    )


register_pass(
    "inference",
    specialize_for_inference,
    "fold batch-norm scales and shifts into matmul/conv weights (inference graphs only)",
    options=("fold_limit",),
)
