"""The call graph of a functional model: from its output tensors back to its inputs.

`FunctionalGraph(inputs, outputs)` walks back from the outputs through the call history
(`KerasHistory` -> `Node` -> the node's input tensors), as Keras' `map_graph` does. Between
layer calls there may be plain graphc ops applied to symbolic tensors (`x + 1`,
`graphc.exp(y)`, `y[:, 0]`): the walk goes through them, and `run` replays them, so they work
like keras.ops on KerasTensors.

`run(new_inputs, call)` re-runs every layer call in topological order on new Values; this is
how a model is traced (for inference, for a training step, for an eager call), Keras'
`_run_through_graph`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graphc.core import Value, constant_p, input_p
from graphc.errors import GraphError
from graphc.frontend.engine import tree
from graphc.frontend.engine.node import Node, history_of
from graphc.frontend.variables import variable_of

LayerCall = Callable[[Any, tuple, dict], Any]


class FunctionalGraph:
    """The nodes and layers between `inputs` and `outputs`, ordered for replay.

    Attributes:
        inputs, outputs: the flat lists of symbolic tensors given.
        nodes: the layer calls in topological order (InputLayer nodes included).
        layers: the layers by decreasing depth (inputs first), ties in traversal order.
        depth: node -> distance from the outputs, by id of the node.
    """

    def __init__(self, inputs: Sequence[Value], outputs: Sequence[Value], who: str):
        self.who = who
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        for what, values in (("inputs", self.inputs), ("outputs", self.outputs)):
            for index, value in enumerate(values):
                if not isinstance(value, Value):
                    raise TypeError(
                        f"{who}: {what}[{index}] must be a symbolic tensor (from Input or a "
                        f"layer), got {type(value).__name__}"
                    )
        #: Values computed by graphc ops applied directly to symbolic tensors (not layers).
        self.raw_ops: list[Value] = []
        self.nodes, self._parents = self._walk()
        self.depth = self._depths()
        self.layers = self._order_layers()
        self._check_unique_names()

    # --- construction --------------------------------------------------------------------

    def _walk(self) -> tuple[list[Node], dict[int, list[Node]]]:
        """Post-order walk from the outputs: nodes in topological order, and each node's
        parent nodes (the nearest layer calls feeding it, through any raw graphc ops)."""
        input_ids = {id(v) for v in self.inputs}
        order: list[Node] = []
        sources: dict[int, list[Node]] = {}  # value id -> nearest producing nodes
        parents: dict[int, list[Node]] = {}
        done: set[int] = set()
        stack: list[tuple[Any, bool]] = [(v, False) for v in reversed(self.outputs)]
        while stack:
            item, expanded = stack.pop()
            if id(item) in done:
                continue
            if isinstance(item, Node):
                if expanded:
                    done.add(id(item))
                    parents[id(item)] = _unique(
                        [n for v in item.input_tensors for n in sources[id(v)]]
                    )
                    order.append(item)
                else:
                    stack.append((item, True))
                    stack.extend((v, False) for v in reversed(item.input_tensors))
                continue
            node = self._producer(item, input_ids)
            deps: list[Any] = [node] if node is not None else self._raw_operands(item, input_ids)
            if expanded:
                done.add(id(item))
                if node is None and deps:
                    self.raw_ops.append(item)
                sources[id(item)] = (
                    [node]
                    if node is not None
                    else _unique([n for v in deps for n in sources[id(v)]])
                )
            else:
                stack.append((item, True))
                stack.extend((d, False) for d in reversed(deps))
        return order, parents

    def _producer(self, value: Value, input_ids: set[int]) -> Node | None:
        """The layer call that produced `value`, if it is part of this graph."""
        history = history_of(value)
        if history is None or history.node_index is None:
            return None
        node = history.layer._inbound_nodes[history.node_index]
        if node.is_input and id(value) not in input_ids:
            names = ", ".join(repr(v.name) for v in self.inputs)
            raise GraphError(
                f"{self.who}: graph disconnected: the output depends on the input "
                f"{history.layer.name!r} ({value.type}), which is not among the model's inputs "
                f"({names})"
            )
        if id(value) in input_ids and not node.is_input:
            return None
        return node

    def _raw_operands(self, value: Value, input_ids: set[int]) -> list[Value]:
        """The operands to walk through for a Value no layer call produced."""
        if id(value) in input_ids or value.primitive is constant_p:
            return []
        if value.primitive is input_p:
            if variable_of(value) is not None:
                return []
            raise GraphError(
                f"{self.who}: graph disconnected: the output depends on the placeholder "
                f"{value.name!r} ({value.type}), which is neither a model input (make inputs "
                f"with Input()) nor a weight"
            )
        return list(value.inputs)

    def _depths(self) -> dict[int, int]:
        depth: dict[int, int] = {}
        for node in reversed(self.nodes):
            depth.setdefault(id(node), 0)
            for parent in self._parents[id(node)]:
                depth[id(parent)] = max(depth.get(id(parent), 0), depth[id(node)] + 1)
        return depth

    def _order_layers(self) -> list[Any]:
        first_seen: dict[int, int] = {}
        layer_depth: dict[int, int] = {}
        layers: dict[int, Any] = {}
        for index, node in enumerate(self.nodes):
            key = id(node.layer)
            layers[key] = node.layer
            first_seen.setdefault(key, index)
            layer_depth[key] = max(layer_depth.get(key, 0), self.depth[id(node)])
        ordered = sorted(layers, key=lambda k: (-layer_depth[k], first_seen[k]))
        return [layers[k] for k in ordered]

    def _check_unique_names(self) -> None:
        names = [layer.name for layer in self.layers]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(
                    f"{self.who}: the name {name!r} is used {names.count(name)} times in the "
                    f"model. All layer names should be unique."
                )

    # --- queries -------------------------------------------------------------------------

    def parents(self, node: Node) -> list[Node]:
        """The nearest layer calls feeding `node`."""
        return self._parents[id(node)]

    def nodes_of(self, layer: Any) -> list[Node]:
        """The calls of `layer` that belong to this graph, in topological order."""
        return [node for node in self.nodes if node.layer is layer]

    def model_node_index(self, node: Node) -> int:
        """The index of `node` among its layer's calls in this graph (configs refer to it)."""
        return self.nodes_of(node.layer).index(node)

    def sources(self, value: Value) -> list[tuple[Node, int]]:
        """The (node, tensor_index) pairs of the layer outputs `value` is computed from."""
        found: list[tuple[Node, int]] = []
        seen: set[int] = set()
        stack = [value]
        while stack:
            current = stack.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            history = history_of(current)
            if history is not None and history.node_index is not None:
                node = history.layer._inbound_nodes[history.node_index]
                if any(n is node for n in self.nodes):
                    found.append((node, history.tensor_index))
                    continue
            if current.primitive not in (input_p, constant_p):
                stack.extend(reversed(current.inputs))
        return found

    # --- replay --------------------------------------------------------------------------

    def run(self, new_inputs: Sequence[Value], call: LayerCall) -> list[Value]:
        """Re-run every layer call on `new_inputs`; return the new outputs.

        Args:
            new_inputs: one Value per graph input, in order.
            call: `call(layer, args, kwargs) -> outputs`, applying a layer to the new args.
        """
        env: dict[int, Value] = {id(old): new for old, new in zip(self.inputs, new_inputs)}
        for node in self.nodes:
            if node.is_input:
                continue
            args, kwargs = tree.map_structure(
                lambda leaf: _replay(leaf, env) if isinstance(leaf, Value) else leaf,
                (node.call_args, node.call_kwargs),
            )
            outputs = call(node.layer, args, kwargs)
            for old, new in zip(node.output_tensors, tree.flatten(outputs)):
                env[id(old)] = new
        return [_replay(v, env) for v in self.outputs]


def _replay(value: Value, env: dict[int, Value]) -> Value:
    """The new Value for `value`: a replayed layer output, or raw ops rebuilt on them.

    `env` maps ids of old Values to new ones; the old Values stay alive (the graph's nodes
    hold them), so their ids are stable.
    """
    stack: list[tuple[Value, bool]] = [(value, False)]
    while stack:
        current, expanded = stack.pop()
        if id(current) in env:
            continue
        if current.primitive in (input_p, constant_p):
            env[id(current)] = current  # weights and constants are shared
        elif expanded:
            operands = [env[id(v)] for v in current.inputs]
            env[id(current)] = current.primitive.bind(*operands, name=current.name, **current.attrs)
        else:
            stack.append((current, True))
            stack.extend((v, False) for v in reversed(current.inputs))
    return env[id(value)]


def _unique(items: list[Any]) -> list[Any]:
    seen: set[int] = set()
    return [x for x in items if not (id(x) in seen or seen.add(id(x)))]
