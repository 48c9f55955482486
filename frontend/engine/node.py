"""Call history: a `Node` per layer call on symbolic tensors, `KerasHistory` on each output.

As in Keras, a Node is one call event (the layer, the call's arguments, its outputs), appended
to `layer._inbound_nodes`; each output Value gets `value.origin = KerasHistory(layer,
node_index, tensor_index)`, so a functional model can walk from its outputs back to its inputs.
A layer called twice has two nodes, which is how shared layers make no cycles.

Calls made inside a trace (see `trace.py`) record no Node: their outputs get a history with
`node_index=None`, which still carries the output's mask (Keras' `_keras_mask`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from graphc.core import Value
from graphc.frontend.engine import tree


class KerasHistory(NamedTuple):
    """Where a symbolic tensor comes from: output `tensor_index` of call `node_index` of
    `layer` (None for calls inside a trace), plus the tensor's mask, if any."""

    layer: Any
    node_index: int | None
    tensor_index: int
    mask: Value | None = None


def history_of(value: Any) -> KerasHistory | None:
    """The KerasHistory of a Value, or None for Values no layer produced."""
    origin = getattr(value, "origin", None) if isinstance(value, Value) else None
    return origin if isinstance(origin, KerasHistory) else None


def mask_of(value: Any) -> Value | None:
    """The mask attached to a layer output (Embedding(mask_zero=True), Masking), or None."""
    history = history_of(value)
    return None if history is None else history.mask


def symbolic_leaves(structure: Any) -> list[Value]:
    """The Values among the leaves of a nested structure, in `tree.flatten` order."""
    return [leaf for leaf in tree.flatten(structure) if isinstance(leaf, Value)]


class Node:
    """One call of `layer` on symbolic tensors, recorded in `layer._inbound_nodes`.

    Args:
        layer: the layer called.
        call_args: the positional arguments, nested structures of Values and constants.
        call_kwargs: the keyword arguments as the user gave them.
        outputs: the call's outputs (a Value or a nested structure of Values).
    """

    def __init__(self, layer: Any, call_args: tuple, call_kwargs: dict, outputs: Any):
        self.layer = layer
        self.call_args = call_args
        self.call_kwargs = call_kwargs
        self.outputs = outputs
        self.input_tensors = symbolic_leaves((call_args, call_kwargs))
        self.output_tensors = symbolic_leaves(outputs)
        self.index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)

    @property
    def is_input(self) -> bool:
        """True for the node an InputLayer makes for its placeholder (it has no inputs)."""
        return not self.input_tensors and not self.call_args

    def __repr__(self) -> str:
        return f"<Node {self.layer.name}[{self.index}]>"
