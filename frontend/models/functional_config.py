"""Functional models to configs and back (Keras 3's format: layers with inbound nodes).

Each layer entry holds the layer's own config plus its calls in the model, each call as its
arguments with every tensor replaced by `{"class_name": "__keras_tensor__", "config":
{"keras_history": [layer_name, node_index, tensor_index]}}` (node indices count the calls
of that layer within the model). Rebuilding creates the layers, then replays the calls in an
order where each call's input tensors exist.
"""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.frontend.engine import tree
from graphc.frontend.engine.node import history_of

TENSOR = "__keras_tensor__"


def functional_to_config(model: Any) -> dict[str, Any]:
    """`model.get_config()` for a Functional model."""
    from graphc.frontend.layers.serialization import serialize

    graph = model._graph
    if graph.raw_ops:
        op = graph.raw_ops[0]
        raise ValueError(
            f"{model._who()} applies the graphc op {op.primitive.name!r} directly to symbolic "
            f"tensors ({op.type}); configs can only describe layers: wrap the computation in a "
            f"Lambda layer with a named function to serialize the model"
        )

    def history(value: Value) -> list[Any]:
        found = history_of(value)
        if found is None or found.node_index is None:
            raise ValueError(f"{model._who()}: tensor {value!r} comes from no layer call")
        node = found.layer._inbound_nodes[found.node_index]
        return [found.layer.name, graph.model_node_index(node), found.tensor_index]

    def encode(leaf: Any) -> Any:
        if isinstance(leaf, Value):
            return {"class_name": TENSOR, "config": {"keras_history": history(leaf)}}
        if leaf is None or isinstance(leaf, (bool, int, float, str)):
            return leaf
        raise ValueError(
            f"{model._who()}: cannot serialize the call argument {leaf!r} "
            f"(of type {type(leaf).__name__})"
        )

    layers = []
    for layer in graph.layers:
        entry = serialize(layer)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {
                "args": _jsonable(tree.map_structure(encode, node.call_args)),
                "kwargs": _jsonable(tree.map_structure(encode, node.call_kwargs)),
            }
            for node in graph.nodes_of(layer)
            if not node.is_input
        ]
        layers.append(entry)
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layers,
        "input_layers": tree.map_structure(history, model._inputs_struct),
        "output_layers": tree.map_structure(history, model._outputs_struct),
    }


def _jsonable(structure: Any) -> Any:
    """Tuples as lists, so the config compares equal to its JSON round trip."""
    if isinstance(structure, (list, tuple)):
        return [_jsonable(s) for s in structure]
    if isinstance(structure, dict):
        return {k: _jsonable(v) for k, v in structure.items()}
    return structure


class _NotReady(Exception):
    """A call's input tensor does not exist yet (its producer has not been replayed)."""


def graph_from_config(
    config: dict[str, Any], custom_objects: dict[str, Any] | None
) -> tuple[Any, Any]:
    """New layers and their calls from a Functional config; returns (inputs, outputs)."""
    from graphc.frontend.layers.serialization import deserialize

    created: dict[str, Any] = {}
    pending: dict[str, list[dict]] = {}
    for entry in config["layers"]:
        created[entry["name"]] = deserialize(entry, custom_objects)
        pending[entry["name"]] = list(entry.get("inbound_nodes", []))

    def tensor(history: list[Any]) -> Value:
        name, node_index, tensor_index = history
        layer = created[name]
        if node_index >= len(layer._inbound_nodes):
            raise _NotReady
        return layer._inbound_nodes[node_index].output_tensors[tensor_index]

    def decode(structure: Any) -> Any:
        if isinstance(structure, dict) and structure.get("class_name") == TENSOR:
            return tensor(structure["config"]["keras_history"])
        if isinstance(structure, list):
            return [decode(s) for s in structure]
        if isinstance(structure, dict):
            return {k: decode(v) for k, v in structure.items()}
        return structure

    while any(pending.values()):
        progressed = False
        for entry in config["layers"]:
            queue = pending[entry["name"]]
            while queue:
                try:
                    args, kwargs = decode(queue[0]["args"]), decode(queue[0]["kwargs"])
                except _NotReady:
                    break
                created[entry["name"]](*args, **kwargs)
                queue.pop(0)
                progressed = True
        if not progressed:
            stuck = sorted(name for name, queue in pending.items() if queue)
            raise ValueError(
                f"cannot rebuild model {config.get('name')!r}: the calls of {stuck} refer to "
                f"tensors no layer produces"
            )
    return _map_histories(config["input_layers"], tensor), _map_histories(
        config["output_layers"], tensor
    )


def _map_histories(structure: Any, tensor: Any) -> Any:
    """Replace each [layer_name, node_index, tensor_index] triple by its tensor."""
    if (
        isinstance(structure, list)
        and len(structure) == 3
        and isinstance(structure[0], str)
        and all(isinstance(i, int) for i in structure[1:])
    ):
        return tensor(structure)
    if isinstance(structure, list):
        return [_map_histories(s, tensor) for s in structure]
    if isinstance(structure, dict):
        return {k: _map_histories(v, tensor) for k, v in structure.items()}
    return structure
