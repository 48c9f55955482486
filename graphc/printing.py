"""Seeing graphs: the text dump, Graphviz DOT, and rendered SVG/PNG pictures.

The dump is the form people read in error reports, tests and `graphc dump`, so it is stable:
nodes are renumbered `%0, %1, ...` in `graph.order` with the inputs first in call order, so the
text does not depend on node ids, and attributes print in sorted key order. One line per node,
in SSA form:

    %3 = reduce_sum[axes=(1,)] %2 : f32[None]  # user-facing name, if any

`PRINT_RULES` lets a primitive replace the default `op[attrs]` label (constants print their
value); like the other per-primitive tables, it is keyed by primitive and filled by its owner.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from graphc import dtypes
from graphc.archive import atomic_output
from graphc.core import ConstantArray, Primitive, constant_p, input_p
from graphc.errors import GraphcError, MissingDependencyError
from graphc.graph import Graph
from graphc.types import TensorType

#: `rule(attrs) -> label`: the text printed for a node before its operands, e.g. "constant 2.0".
PrintRule = Callable[[Mapping[str, Any]], str]

#: Per-primitive label overrides used by `dump_graph` and `graph_to_dot`.
PRINT_RULES: dict[Primitive, PrintRule] = {}

#: Constants with at most this many elements print their values inline.
INLINE_ELEMENTS = 8

#: DOT labels longer than this are cut, so one long attribute cannot swamp the picture.
DOT_LABEL_WIDTH = 48

RENDER_FORMATS = ("svg", "png")


# --- attribute and constant formatting ---------------------------------------------------------


def format_value(value: Any) -> str:
    """An attribute value as printed in dumps: Python-like, dtypes and types in short form.

    >>> import numpy as np
    >>> format_value((1, (0, 2))), format_value(np.dtype("float32")), format_value(float("-inf"))
    ('(1, (0, 2))', 'f32', '-inf')
    """
    if isinstance(value, tuple):
        inner = ", ".join(format_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, np.dtype):
        return dtypes.short_name(value) if value in dtypes.SUPPORTED else str(value)
    if isinstance(value, TensorType):
        return str(value)
    if isinstance(value, ConstantArray):
        return format_array(value.array)
    if isinstance(value, Graph):  # e.g. the body of a fused node, printed nested
        return dump_graph(value).replace("\n", "\n    ")
    if isinstance(value, np.generic):
        return str(value)
    return repr(value)


def format_attrs(attrs: Mapping[str, Any]) -> str:
    """`[k=v, k2=v2]` in sorted key order, or "" when there are no attributes.

    >>> format_attrs({"keepdims": False, "axes": (1,)})
    '[axes=(1,), keepdims=False]'
    """
    if not attrs:
        return ""
    return "[" + ", ".join(f"{k}={format_value(attrs[k])}" for k in sorted(attrs)) + "]"


def format_array(array: np.ndarray) -> str:
    """Small arrays as a nested list, bigger ones as their type in angle brackets.

    >>> import numpy as np
    >>> format_array(np.float64(2.0)), format_array(np.array([1, 2], "int32"))
    ('2.0', '[1, 2]')
    >>> format_array(np.zeros((784, 10), "float32"))
    '<f32[784,10]>'
    """
    array = np.asarray(array)
    if array.size > INLINE_ELEMENTS:
        return f"<{TensorType(array.shape, array.dtype)}>"
    return _nested(array)


def _nested(array: np.ndarray) -> str:
    if array.ndim == 0:
        return str(array[()])
    return "[" + ", ".join(_nested(row) for row in array) + "]"


def node_label(primitive: Primitive, attrs: Mapping[str, Any]) -> str:
    """The text before a node's operands: its print rule's, or `op[attrs]` by default."""
    rule = PRINT_RULES.get(primitive)
    return rule(attrs) if rule is not None else primitive.name + format_attrs(attrs)


def _constant_label(attrs: Mapping[str, Any]) -> str:
    return f"constant {format_array(attrs['value'].array)}"


PRINT_RULES[constant_p] = _constant_label


# --- the text dump -----------------------------------------------------------------------------


def numbering(graph: Graph) -> dict[int, int]:
    """Node id -> printed number: inputs first in call order, then `graph.order`.

    Both the dump and the DOT output use it, so `%3` means the same node in both.
    """
    inputs = set(graph.inputs)
    ordered = list(graph.inputs) + [n for n in graph.order if n not in inputs]
    return {node: index for index, node in enumerate(ordered)}


def dump_graph(graph: Graph) -> str:
    """The graph as text: a signature line, one SSA line per node, and a `return` line.

    >>> import graphc
    >>> x = graphc.placeholder((None, 3), name="x")
    >>> print(dump_graph(graphc.Graph([x], graphc.exp(x) * 2.0, name="scaled")))
    graph scaled(%0 x: f32[None,3]) {
      %1 = exp %0 : f32[None,3]
      %2 = constant 2.0 : f32[]
      %3 = mul %1, %2 : f32[None,3]
      return %3
    }
    """
    number = numbering(graph)
    params = ", ".join(_input_text(graph, n, number[n]) for n in graph.inputs)
    title = f"graph {graph.name}" if graph.name else "graph"
    lines = [f"{title}({params}) {{"]
    inputs = set(graph.inputs)
    for node in number:  # in printed order: `numbering` builds the dict in that order
        if node not in inputs:
            lines.append("  " + _node_text(graph, node, number))
    lines.append("  return " + ", ".join(f"%{number[n]}" for n in graph.outputs))
    lines.append("}")
    return "\n".join(lines)


def _input_text(graph: Graph, node: int, index: int) -> str:
    name = graph.node_name(node)
    return f"%{index} {name}: {graph.type(node)}" if name else f"%{index}: {graph.type(node)}"


def _node_text(graph: Graph, node: int, number: Mapping[int, int]) -> str:
    text = f"%{number[node]} = {node_label(graph.primitive(node), graph.attrs(node))}"
    operands = ", ".join(f"%{number[s]}" for s in graph.operands(node))
    if operands:
        text += " " + operands
    text += f" : {graph.type(node)}"
    name = graph.node_name(node)
    return text + f"  # {name}" if name else text


# --- Graphviz ----------------------------------------------------------------------------------


def graph_to_dot(graph: Graph) -> str:
    """The graph as Graphviz DOT text: inputs and outputs stand out, edges carry operand slots.

    Nodes are called `n<k>` after their dump number `%k`, so the text is deterministic.

    >>> import graphc
    >>> x, y = graphc.scalars("x y")
    >>> print(graph_to_dot(graphc.Graph([x, y], x - y)))
    digraph {
      node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];
      edge [fontname="Helvetica", fontsize=10, fontcolor="#6b7280"];
      n0 [label="%0 x\\nf64[]", shape=ellipse, fillcolor="#dbeafe"];
      n1 [label="%1 y\\nf64[]", shape=ellipse, fillcolor="#dbeafe"];
      n2 [label="%2 sub\\nf64[]\\nreturn 0", peripheries=2, fillcolor="#fde68a"];
      n0 -> n2 [label="0"];
      n1 -> n2 [label="1"];
    }
    """
    number = numbering(graph)
    nodes = list(number)
    inputs = set(graph.inputs)
    returns: dict[int, list[int]] = {}
    for position, node in enumerate(graph.outputs):
        returns.setdefault(node, []).append(position)
    lines = [
        f"digraph {_dot_string(graph.name)} {{" if graph.name else "digraph {",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10, fontcolor="#6b7280"];',
    ]
    for node in nodes:
        attrs = _dot_node_attrs(graph, node, number, node in inputs, returns)
        lines.append(f"  n{number[node]} [{attrs}];")
    for node in nodes:
        operands = graph.operands(node)
        for slot, source in enumerate(operands):
            edge = f"  n{number[source]} -> n{number[node]}"
            lines.append(edge + (f' [label="{slot}"];' if len(operands) > 1 else ";"))
    lines.append("}")
    return "\n".join(lines)


def _dot_node_attrs(
    graph: Graph,
    node: int,
    number: Mapping[int, int],
    is_input: bool,
    returns: Mapping[int, list[int]],
) -> str:
    name = graph.node_name(node)
    if is_input:
        head = f"%{number[node]} {name}" if name else f"%{number[node]}"
    else:
        label = node_label(graph.primitive(node), graph.attrs(node)).replace("\n", " ")
        if len(label) > DOT_LABEL_WIDTH:
            label = label[: DOT_LABEL_WIDTH - 3] + "..."
        head = f"%{number[node]} {label}" + (f"\n{name}" if name else "")
    parts = [head, str(graph.type(node))]
    if node in returns:
        parts.append("return " + ", ".join(str(p) for p in returns[node]))
    attrs = [f"label={_dot_string(chr(10).join(parts))}"]
    if is_input:
        attrs += ["shape=ellipse", 'fillcolor="#dbeafe"']
    elif graph.primitive(node) is constant_p:
        attrs += ["shape=note", 'fillcolor="#f3f4f6"']
    elif graph.primitive(node) is input_p:  # an input node the graph does not list: flag it
        attrs += ['fillcolor="#fecaca"']
    if node in returns:
        attrs += ["peripheries=2", 'fillcolor="#fde68a"']
    return ", ".join(attrs)


def _dot_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def render_graph(graph: Graph, path: str | Path, format: str | None = None) -> str:
    """Draw the graph with Graphviz' `dot` into an SVG or PNG file; return the path written.

    The format comes from the file extension unless given. The file is replaced atomically,
    so a failed run never leaves a half-written picture behind.

    Raises:
        MissingDependencyError: Graphviz' `dot` is not installed (the message says how to
            install it, and that `graph.to_dot()` gives the DOT text without it).
        GraphcError: an unknown picture format, or `dot` failed.

    >>> import graphc, tempfile, os, shutil
    >>> x = graphc.placeholder((3,), name="x")
    >>> out = os.path.join(tempfile.mkdtemp(), "g.svg")
    >>> shutil.which("dot") is None or render_graph(graphc.Graph([x], -x), out) == out
    True
    """
    return render_dot(
        graph_to_dot(graph),
        path,
        format,
        caller="Graph.render",
        instead="get the DOT text with graph.to_dot() (or `graphc dump FILE --format dot`)",
    )


def render_dot(
    dot: str,
    path: str | Path,
    format: str | None = None,
    *,
    caller: str = "plot_model",
    instead: str = "write the DOT text: pass a .dot file name for plot_model's to_file",
) -> str:
    """Run Graphviz' `dot` on DOT text, writing an SVG or PNG file atomically; return the path.

    Shared by graph pictures (`Graph.render`) and model pictures
    (`graphc.frontend.utils.plot_model`). `caller` starts the error messages and `instead`
    ends the one for a missing Graphviz with what the caller can do without it; the defaults
    word them for plot_model.

    Raises:
        MissingDependencyError: Graphviz' `dot` is not on PATH.
        GraphcError: an unknown picture format, or `dot` failed.

    >>> import tempfile, os, shutil
    >>> out = os.path.join(tempfile.mkdtemp(), "d.svg")
    >>> shutil.which("dot") is None or render_dot("digraph { a -> b }", out) == out
    True
    """
    path = str(path)
    fmt = (format or Path(path).suffix.lstrip(".")).lower()
    if fmt not in RENDER_FORMATS:
        raise GraphcError(
            f"{caller}: cannot tell the picture format of {path!r}; expected a .svg or .png "
            f"file name or format='svg'/'png', got {fmt or 'no extension'!r}"
        )
    program = shutil.which("dot")
    if program is None:
        raise MissingDependencyError(
            f"{caller}: drawing a picture needs Graphviz' `dot` program, which is not on PATH; "
            f"install Graphviz (apt-get install graphviz / brew install graphviz / "
            f"conda install graphviz); meanwhile {instead}"
        )
    result = subprocess.run([program, f"-T{fmt}"], input=dot.encode(), capture_output=True)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise GraphcError(
            f"{caller}: Graphviz' dot failed (exit code {result.returncode}): "
            f"{message[0] if message else 'no message'}"
        )
    with atomic_output(path) as out:
        out.write(result.stdout)
    return path
