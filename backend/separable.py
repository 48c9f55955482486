"""Whether a graph can run on slices of the batch independently (for `threads=k`).

A graph is *batch-separable* when every batch entry of every output depends only on the same
entry of the batched inputs: then k threads can each run the native entry on a slice of the
batch and the results are identical to one call. That holds when:

- every batched value has exactly one batch dimension, at axis 0;
- no node turns a batched operand into an unbatched result (a reduction, `dim_size` or a
  gather over the batch mixes entries);
- each node's primitive is known not to mix entries: elementwise primitives, and the others
  by the rules in `ROW_RULES` (for example `rev` is fine unless it reverses axis 0);
- every output is batched (an unbatched output would be written by every thread).

Anything not known to be safe (such as `random_uniform`, whose numbers depend on the flat
element index) makes the graph run on one thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphc.core import Primitive, Property, constant_p, input_p
from graphc.graph import Graph
from graphc.passes.fusion import fused_p
from graphc.primitives import reduce as rd
from graphc.primitives import shape as sh
from graphc.primitives.conv import conv_p
from graphc.primitives.linalg import matmul_p
from graphc.primitives.window import reduce_window_p
from graphc.types import TensorType


def _always(attrs: Mapping[str, Any], operands: Sequence[TensorType]) -> bool:
    return True


def _not_reversing_batch(attrs: Mapping[str, Any], operands: Sequence[TensorType]) -> bool:
    return not operands[0].is_batched or 0 not in attrs["axes"]


def _not_gathering_batch(attrs: Mapping[str, Any], operands: Sequence[TensorType]) -> bool:
    return not operands[0].is_batched or attrs["axis"] != 0


def _fused_body_separable(attrs: Mapping[str, Any], operands: Sequence[TensorType]) -> bool:
    return is_batch_separable(attrs["body"], require_batched_outputs=False)


#: Non-elementwise primitives with the condition under which a node keeps batch entries apart
#: (given the generic checks above).
ROW_RULES: dict[Primitive, Callable[[Mapping[str, Any], Sequence[TensorType]], bool]] = {
    **{
        prim: _always
        for prim in [
            input_p,
            constant_p,
            sh.reshape_p,
            sh.transpose_p,
            sh.broadcast_to_p,
            sh.slice_p,
            sh.concatenate_p,
            sh.pad_p,
            sh.scatter_add_p,
            rd.reduce_sum_p,
            rd.reduce_max_p,
            rd.reduce_min_p,
            rd.argmax_p,
            rd.argmin_p,
            matmul_p,
            conv_p,
            reduce_window_p,
        ]
    },
    sh.rev_p: _not_reversing_batch,
    sh.take_p: _not_gathering_batch,
    fused_p: _fused_body_separable,
}


def _batch_leading(t: TensorType) -> bool:
    return not t.is_batched or (t.shape[0] is None and t.shape.count(None) == 1)


def is_batch_separable(graph: Graph, *, require_batched_outputs: bool = True) -> bool:
    """True when running the graph on batch slices gives the same result as one run.

    >>> import graphc
    >>> x = graphc.placeholder((None, 3))
    >>> is_batch_separable(graphc.Graph([x], graphc.exp(x) + 1.0))
    True
    """
    for node in graph.order:
        operands = [graph.type(n) for n in graph.operands(node)]
        result = graph.type(node)
        if not all(_batch_leading(t) for t in [*operands, result]):
            return False
        if any(t.is_batched for t in operands) and not result.is_batched:
            return False
        prim = graph.primitive(node)
        if prim.has(Property.ELEMENTWISE):
            continue
        rule = ROW_RULES.get(prim)
        if rule is None or not rule(graph.attrs(node), operands):
            return False
    return not require_batched_outputs or all(t.is_batched for t in graph.output_types)
