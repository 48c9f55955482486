"""`model.summary()`: Keras' table of layers, output shapes and parameter counts.

The layout is Keras 2's: a "Layer (type) / Output Shape / Param #" table (65 columns), with a
"Connected to" column (98 columns) for functional models whose graph is not a simple chain,
then the total, trainable and non-trainable parameter counts. Output shapes are read from a
trace of the model, so subclassed models show them too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graphc.frontend.engine import tree
from graphc.frontend.engine.trace import TraceContext

HEADER = ["Layer (type)", "Output Shape", "Param #"]
CONNECTED = "Connected to"
TRAINABLE = "Trainable"
LINE_BREAKS = ("),", "},", "],", "',")


def print_summary(
    model: Any,
    line_length: int | None = None,
    positions: Sequence[float] | None = None,
    print_fn: Callable[[str], Any] | None = None,
    show_trainable: bool = False,
) -> None:
    """Print `model`'s summary table line by line through `print_fn` (default `print`).

    >>> from graphc.frontend import Sequential, layers
    >>> model = Sequential([layers.Input((784,)), layers.Dense(64, name="hidden")], name="m")
    >>> model.summary(line_length=50, print_fn=lambda line: print(line.rstrip()))
    Model: "m"
    __________________________________________________
     Layer (type)         Output Shape        Param #
    ==================================================
     hidden (Dense)       (None, 64)          50240
    <BLANKLINE>
    ==================================================
    Total params: 50,240
    Trainable params: 50,240
    Non-trainable params: 0
    __________________________________________________
    """
    print_fn = print_fn or print
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' has not yet been built. Build the model first by calling "
            f"`build()` or by calling the model on a batch of data."
        )
    graph = getattr(model, "_graph", None)
    connected = graph is not None and not _sequential_like(model, graph)
    columns = HEADER + ([CONNECTED] if connected else [])
    line_length = line_length or (98 if connected else 65)
    positions = list(positions or ([0.3, 0.6, 0.7, 1.0] if connected else [0.45, 0.85, 1.0]))
    if show_trainable:
        columns.append(TRAINABLE)
        line_length += 11
        positions = [p * (line_length - 11) / line_length for p in positions] + [1.0]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]

    shapes = _output_shapes(model)
    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    _print_row(columns, positions, print_fn)
    print_fn("=" * line_length)
    for layer in model.layers:
        fields = [
            f"{layer.name} ({type(layer).__name__})",
            shapes.get(id(layer), "?"),
            layer.count_params() if layer.built else 0,
        ]
        if connected:
            fields.append(_connections(graph, layer))
        if show_trainable:
            fields.append("Y" if layer.trainable else "N")
        _print_row(fields, positions, print_fn)
        print_fn(" " * line_length)
    trainable = sum(v.size for v in model.trainable_weights)
    non_trainable = sum(v.size for v in model.non_trainable_weights)
    print_fn("=" * line_length)
    print_fn(f"Total params: {trainable + non_trainable:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {non_trainable:,}")
    print_fn("_" * line_length)


def _sequential_like(model: Any, graph: Any) -> bool:
    """Keras' test: no depth has two calls, no call merges two layers, no layer is reused."""
    if type(model).__name__ == "Sequential":
        return True
    by_depth: dict[int, int] = {}
    for node in graph.nodes:
        depth = graph.depth[id(node)]
        by_depth[depth] = by_depth.get(depth, 0) + 1
        if by_depth[depth] > 1 or len(graph.parents(node)) > 1:
            return False
    return all(len(graph.nodes_of(layer)) <= 1 for layer in graph.layers)


def _output_shapes(model: Any) -> dict[int, str]:
    """Each layer's output shape from one inference trace, by id of the layer."""
    signature = model.input_signature()
    inputs = signature.placeholders()
    with TraceContext(training=False) as ctx:
        model(tree.pack_sequence_as(signature.structure, inputs), training=False)
    found: dict[int, set[str]] = {}
    for layer, outputs in ctx.calls:
        found.setdefault(id(layer), set()).add(_format_shapes(outputs))
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            found[id(layer)] = {str(tuple(layer.batch_shape))}
    return {
        key: (shapes.pop() if len(shapes) == 1 else "multiple") for key, shapes in found.items()
    }


def _format_shapes(outputs: Any) -> str:
    flat = tree.flatten(outputs)
    if len(flat) == 1 and not tree.is_nested(outputs):
        return str(tuple(flat[0].shape))
    return "[" + ", ".join(str(tuple(v.shape)) for v in flat) + "]"


def _connections(graph: Any, layer: Any) -> str:
    """ "['dense[0][0]', 'input_layer[0][0]']": the layer outputs each call of `layer` reads."""
    names = []
    for node in graph.nodes_of(layer):
        for value in node.input_tensors:
            for source, tensor_index in graph.sources(value):
                index = graph.model_node_index(source)
                names.append(f"{source.layer.name}[{index}][{tensor_index}]")
    return str(names) if names else "[]"


def _print_row(fields: Sequence[Any], positions: Sequence[int], print_fn: Callable) -> None:
    """One table row, wrapping long cells onto continuation lines at Keras' break points."""
    left = [str(field) for field in fields]
    while any(left):
        line = ""
        for col, text in enumerate(left):
            start = positions[col - 1] if col > 0 else 0
            space = 2 if col != len(positions) - 1 else 0
            cutoff = positions[col] - start - space
            fit = text[:cutoff]
            breaks = [fit.find(b) + len(b) for b in LINE_BREAKS if fit.find(b) >= 0]
            if breaks:
                cutoff = min(breaks)
                fit = fit[:cutoff]
            if col == 0:
                line += " "
            line += fit + " " * space
            left[col] = text[cutoff:]
            line += " " * (positions[col] - len(line))
        print_fn(line)
