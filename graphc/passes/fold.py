"""Constant folding: evaluate nodes whose operands are all constants, with the interpreter's rules.

The folded value is computed by the primitive's own numpy implementation, so it is exactly what
the interpreter would compute at run time. Two cases stay unfolded on purpose: results above
`fold_limit` elements (folding must never blow up memory or the saved file) and `broadcast_to`
of a constant (a broadcast scalar is cheap as it is; materialized it could be huge).
"""

from __future__ import annotations

import numpy as np

from graphc.core import Property, Value, constant, constant_p
from graphc.errors import GraphError
from graphc.graph import Graph
from graphc.passes.manager import register_pass
from graphc.passes.rewrite import FOLD_LIMIT, NodeView, apply_rewrites, rewrite, select_rewrites
from graphc.primitives.shape import broadcast_to_p


@rewrite(phase="fold")
def fold_constant(node: NodeView) -> Value | None:  # f(c1, ..., cn) -> c
    prim = node.primitive
    if prim.has(Property.SOURCE) or prim is broadcast_to_p or prim.impl is None:
        return None
    if node.type.is_batched or node.type.static_size > node.context.fold_limit:
        return None
    if not all(v.primitive is constant_p for v in node.value.inputs):
        return None
    arrays = [v.attrs["value"].array for v in node.value.inputs]
    kwargs = dict(node.attrs)
    if prim.needs_out_shape:
        kwargs["out_shape"] = node.shape
    with np.errstate(all="ignore"):  # inf and nan are results here, as in the interpreter
        result = np.asarray(prim.impl(*arrays, **kwargs))
    if result.shape != node.shape or result.dtype != node.dtype:
        raise GraphError(
            f"fold_constants: {prim.name} computed {result.dtype}{result.shape} but its type is "
            f"{node.type}; please report this"
        )
    return constant(result, node.dtype)


def fold_constants(graph: Graph, *, fold_limit: int = FOLD_LIMIT) -> Graph:
    """Replace nodes computed from constants alone by their values (up to `fold_limit` elements).

    >>> import graphc
    >>> x = graphc.placeholder((2,), "float64", name="x")
    >>> g = graphc.Graph([x], x * (graphc.constant([1.0, 2.0]) + 3.0))
    >>> folded = fold_constants(g)
    >>> len(g), len(folded), folded.primitive(folded.operands(folded.outputs[0])[1]).name
    (5, 3, 'constant')
    """
    return apply_rewrites(
        graph, select_rewrites(["fold"]), fold_limit=fold_limit, pass_name="fold_constants"
    )


register_pass(
    "fold", fold_constants, "evaluate nodes whose operands are constants", options=("fold_limit",)
)
