"""`plot_model`: a model's layer graph as a picture, as `keras.utils.plot_model` draws it.

One box per layer, titled "name (Type)", optionally with input/output shapes and dtypes, the
activation and whether the layer is trainable; an arrow from each layer to the layers that
read its outputs (through any plain graphc ops in between). A subclassed model has no layer
graph and is drawn as one box, as Keras does. With `expand_nested`, nested functional and
Sequential models are drawn as dashed clusters holding their own layers, and arrows go to
the inner layers that read or produce the tensors.

The DOT text comes from `model_to_dot`; pictures are rendered by Graphviz' `dot` through
`graphc.printing.render_dot`, the same runner `graphc dump -o graph.svg` uses.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from graphc.archive import atomic_output
from graphc.frontend import activations
from graphc.frontend.engine import tree
from graphc.frontend.engine.node import history_of
from graphc.printing import RENDER_FORMATS, render_dot

__all__ = ["model_to_dot", "plot_model"]

_TITLE_COLOR = "#dbeafe"
_NESTED_COLOR = "#fde68a"


def plot_model(
    model: Any,
    to_file: str | os.PathLike = "model.png",
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = True,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
) -> str:
    """Draw the model's layer graph into `to_file` (.png, .svg, or .dot for the DOT text).

    Keras returns an IPython image; this returns the path written, which notebooks can show
    with `IPython.display.Image(path)`. The file is replaced atomically.

    Args:
        model: a built model.
        to_file: the output file; its extension picks the format.
        show_shapes: show each layer's input and output shapes.
        show_dtype: show each layer's input and output dtypes.
        show_layer_names: title boxes "name (Type)" rather than "Type".
        rankdir: "TB" (top to bottom) or "LR" (left to right).
        expand_nested: draw nested models' layers inside a cluster.
        dpi: the resolution of PNG pictures.
        show_layer_activations: show the activation of layers that have one.
        show_trainable: show whether each layer is trainable.

    >>> import os, tempfile
    >>> from graphc.frontend import Sequential, layers
    >>> model = Sequential([layers.Input((4,)), layers.Dense(2, name="out")])
    >>> path = plot_model(model, os.path.join(tempfile.mkdtemp(), "model.dot"))
    >>> "<b>out</b> (Dense)" in open(path).read()
    True
    """
    path = os.fspath(to_file)
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt != "dot" and fmt not in RENDER_FORMATS:
        raise ValueError(
            f"plot_model: cannot tell the format of {path!r} from its extension; expected "
            f".png, .svg or .dot, got {fmt or 'no extension'!r}"
        )
    dot = model_to_dot(
        model,
        show_shapes=show_shapes,
        show_dtype=show_dtype,
        show_layer_names=show_layer_names,
        rankdir=rankdir,
        expand_nested=expand_nested,
        dpi=dpi,
        show_layer_activations=show_layer_activations,
        show_trainable=show_trainable,
    )
    if fmt == "dot":
        with atomic_output(path) as out:
            out.write(dot.encode())
        return path
    return render_dot(dot, path, fmt)


def model_to_dot(
    model: Any,
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = True,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
) -> str:
    """The model's layer graph as Graphviz DOT text (see `plot_model` for the arguments).

    >>> from graphc.frontend import Input, Model, layers
    >>> x = Input((3,), name="x")
    >>> model = Model(x, layers.Dense(1, name="y")(x))
    >>> [line for line in model_to_dot(model).splitlines() if "->" in line]
    ['  n0 -> n1;']
    """
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"plot_model: rankdir must be 'TB', 'LR', 'BT' or 'RL', got {rankdir!r}")
    if not model.built:
        raise ValueError(
            f"plot_model: model '{model.name}' has not been built yet; call it on data or "
            f"build(input_shape) first"
        )
    options = dict(
        show_shapes=show_shapes,
        show_dtype=show_dtype,
        show_layer_names=show_layer_names,
        show_layer_activations=show_layer_activations,
        show_trainable=show_trainable,
    )
    drawing = _Drawing(expand_nested, options)
    lines = [
        f"digraph {_quote(model.name)} {{",
        f"  graph [rankdir={rankdir}, dpi={int(dpi)}, concentrate=true];",
        '  node [shape=plaintext, fontname="Helvetica"];',
        '  edge [color="#4b5563"];',
    ]
    lines += drawing.model(model, "  ")
    lines += [f"  {a} -> {b};" for a, b in drawing.edges]
    lines.append("}")
    return "\n".join(lines)


class _Drawing:
    """Assigns node ids (n0, n1, ... in drawing order) and collects boxes and arrows."""

    def __init__(self, expand_nested: bool, options: dict[str, bool]):
        self.expand_nested = expand_nested
        self.options = options
        self.ids: dict[int, str] = {}
        self.edges: list[tuple[str, str]] = []
        self.clusters = 0

    def node_id(self, layer: Any) -> str:
        return self.ids.setdefault(id(layer), f"n{len(self.ids)}")

    def expanded(self, layer: Any) -> bool:
        return self.expand_nested and _layer_graph(layer) is not None

    def model(self, model: Any, indent: str) -> list[str]:
        """Lines drawing the layers of `model` (one box if it has no layer graph)."""
        graph = _layer_graph(model)
        if graph is None:
            signature = model.input_signature()
            outputs = model.trace(signature.placeholders())
            outputs = outputs[0] if len(outputs) == 1 else outputs
            inputs = tree.pack_sequence_as(signature.structure, signature.types)
            return [self.box(model, indent, inputs, outputs)]
        lines = []
        for layer in graph.layers:
            if self.expanded(layer):
                lines += self.cluster(layer, indent)
            else:
                calls = graph.nodes_of(layer)
                inputs = [node.call_args[0] if node.call_args else None for node in calls]
                outputs = [node.outputs for node in calls]
                lines.append(self.box(layer, indent, _one(inputs), _one(outputs)))
        for node in graph.nodes:
            for position, value in enumerate(node.input_tensors):
                for source, tensor_index in graph.sources(value):
                    for a in self.exits(source.layer, tensor_index):
                        for b in self.entries(node.layer, position):
                            if (a, b) not in self.edges:
                                self.edges.append((a, b))
        return lines

    def cluster(self, layer: Any, indent: str) -> list[str]:
        self.clusters += 1
        title = _quote(f"{layer.name} ({type(layer).__name__})")
        return [
            f"{indent}subgraph cluster_{self.clusters} {{",
            f'{indent}  label={title}; style="rounded,dashed"; fontname="Helvetica";',
            *self.model(layer, indent + "  "),
            f"{indent}}}",
        ]

    def entries(self, layer: Any, position: int) -> list[str]:
        """The box(es) an arrow into input `position` of `layer` points at."""
        if not self.expanded(layer):
            return [self.node_id(layer)]
        inputs = _layer_graph(layer).inputs
        value = inputs[min(position, len(inputs) - 1)]
        return [self.node_id(history_of(value).layer)]

    def exits(self, layer: Any, tensor_index: int) -> list[str]:
        """The box(es) an arrow from output `tensor_index` of `layer` starts at."""
        if not self.expanded(layer):
            return [self.node_id(layer)]
        graph = _layer_graph(layer)
        value = graph.outputs[min(tensor_index, len(graph.outputs) - 1)]
        return [
            node_id
            for source, index in graph.sources(value)
            for node_id in self.exits(source.layer, index)
        ]

    def box(self, layer: Any, indent: str, inputs: Any, outputs: Any) -> str:
        label = _label(layer, inputs, outputs, **self.options)
        return f"{indent}{self.node_id(layer)} [label=<{label}>];"


def _layer_graph(layer: Any) -> Any:
    """The functional graph of a built functional or Sequential model, else None."""
    return getattr(layer, "_graph", None) if hasattr(layer, "layers") else None


def _one(items: list[Any]) -> Any:
    """The shapes of a layer's calls: one call's structure, or "multiple" when they differ."""
    described = {_describe(item, "shape") for item in items}
    return items[0] if len(described) == 1 else _MULTIPLE


_MULTIPLE = object()


def _describe(structure: Any, what: str) -> str:
    """Shapes ("(None, 64)", "[(None, 4), (None, 4)]") or dtypes of a structure of tensors."""
    if structure is _MULTIPLE:
        return "multiple"
    if structure is None:
        return "?"

    def one(leaf: Any) -> str:
        if what == "shape":
            return str(tuple(leaf.shape))
        return leaf.dtype.name

    leaves = tree.flatten(structure)
    if len(leaves) == 1 and not tree.is_nested(structure):
        return one(leaves[0])
    return "[" + ", ".join(one(leaf) for leaf in leaves) + "]"


def _label(
    layer: Any,
    inputs: Any,
    outputs: Any,
    show_shapes: bool,
    show_dtype: bool,
    show_layer_names: bool,
    show_layer_activations: bool,
    show_trainable: bool,
) -> str:
    """An HTML-like Graphviz label: a table with the title row and the requested rows."""
    kind = type(layer).__name__
    if kind == "InputLayer":
        inputs = outputs
    nested = hasattr(layer, "layers")
    title = f"<b>{_escape(layer.name)}</b> ({_escape(kind)})" if show_layer_names else kind
    color = _NESTED_COLOR if nested else _TITLE_COLOR
    rows = [f'<tr><td colspan="2" bgcolor="{color}">{title}</td></tr>']
    for shown, what, header in (
        (show_shapes, "shape", "shape"),
        (show_dtype, "dtype", "dtype"),
    ):
        if shown:
            rows.append(f"<tr><td>Input {header}</td><td>Output {header}</td></tr>")
            rows.append(
                f"<tr><td>{_escape(_describe(inputs, what))}</td>"
                f"<td>{_escape(_describe(outputs, what))}</td></tr>"
            )
    if show_layer_activations and getattr(layer, "activation", None) is not None:
        rows.append(_wide_row(f"Activation: {_activation_name(layer.activation)}"))
    if show_trainable:
        rows.append(_wide_row(f"Trainable: {layer.trainable}"))
    return (
        '<table border="0" cellborder="1" cellspacing="0" cellpadding="4">'
        + "".join(rows)
        + "</table>"
    )


def _wide_row(text: str) -> str:
    return f'<tr><td colspan="2">{_escape(text)}</td></tr>'


def _activation_name(activation: Any) -> str:
    name = activations.serialize(activation)
    return name["class_name"] if isinstance(name, dict) else str(name)


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
