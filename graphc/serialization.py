"""Saving and loading graphs: `save_graph(graph, path)` and `load_graph(path)`.

A graph file is an archive (see `graphc.archive`) whose `document.json` holds the structure:

    {"format": "graphc.graph", "version": 1, "graphc_version": "0.1.0", "name": null,
     "nodes": [{"id": 0, "op": "input", "attrs": {...}, "type": {"shape": [null, 784],
                "dtype": "float32"}, "name": "x", "inputs": []}, ...],
     "inputs": [0], "outputs": [5], "single_output": true}

Nodes are listed in topological order, so every edge points to an earlier node. Attribute
values are JSON where JSON suffices (ints, finite floats, bools, None, strings; tuples become
lists and come back as tuples); everything else is a tagged object, so the JSON stays standard:
`{"$float": "inf"}`, `{"$dtype": "float32"}`, `{"$type": {"shape": [...], "dtype": ...}}`,
`{"$scalar": ["float32", 0.5]}` (numpy scalars), `{"$array": "<array name>"}` (a constant's
array, stored as an `.npy` member) and `{"$graph": {...}}` (a graph-valued attribute, such as
the body of a fused node).

Loading trusts nothing: the format and version are checked, every primitive name must be known,
ids and edges must be consistent, and every node's type is re-derived with its primitive's
shape rule and compared with the stored one, so a tampered file is refused, not run.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import networkx as nx
import numpy as np

from graphc import dtypes
from graphc._version import __version__
from graphc.archive import read_archive, write_archive
from graphc.core import PRIMITIVES, ConstantArray, input_p
from graphc.errors import SerializationError
from graphc.graph import Graph
from graphc.types import TensorType

FORMAT = "graphc.graph"
VERSION = 1

#: Default cap on the number of nodes in a file (nested graphs included).
MAX_NODES = 1_000_000
#: Attribute values nest at most this deep (tuples of tuples, graphs in graphs).
MAX_DEPTH = 32

_FLOAT_TAGS = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


# --- saving ------------------------------------------------------------------------------------


def save_graph(graph: Graph, path: str | os.PathLike) -> None:
    """Save `graph` to one file at `path`, atomically (see `graphc.archive`).

    >>> import graphc, tempfile, os
    >>> x = graphc.placeholder((None, 2), name="x")
    >>> g = graphc.Graph([x], graphc.exp(x) + 1.0)
    >>> path = os.path.join(tempfile.mkdtemp(), "g.graphc")
    >>> save_graph(g, path)
    >>> load_graph(path).dump() == g.dump()
    True
    """
    arrays: dict[str, np.ndarray] = {}
    document = {
        "format": FORMAT,
        "version": VERSION,
        "graphc_version": __version__,
        **_encode_graph(graph, "", arrays),
    }
    write_archive(path, document, arrays)


def _encode_graph(graph: Graph, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The graph's structure as JSON data; constant arrays go to `arrays` under `prefix`."""
    nodes = []
    for node in graph.order:
        where = f"node {node} ({graph.primitive(node).name})"
        attrs = {
            key: _encode_value(value, f"{prefix}n{node}.{key}", arrays, f"{where} attr {key!r}")
            for key, value in graph.attrs(node).items()
        }
        nodes.append(
            {
                "id": node,
                "op": graph.primitive(node).name,
                "attrs": attrs,
                "type": _encode_type(graph.type(node)),
                "name": graph.node_name(node),
                "inputs": list(graph.operands(node)),
            }
        )
    return {
        "name": graph.name,
        "nodes": nodes,
        "inputs": list(graph.inputs),
        "outputs": list(graph.outputs),
        "single_output": graph.single_output,
    }


def _encode_type(t: TensorType) -> dict[str, Any]:
    return {"shape": list(t.shape), "dtype": t.dtype.name}


def _encode_value(value: Any, key: str, arrays: dict[str, np.ndarray], where: str) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": _float_tag(value)}
    if isinstance(value, tuple):
        return [_encode_value(v, f"{key}.{i}", arrays, where) for i, v in enumerate(value)]
    if isinstance(value, np.dtype):
        return {"$dtype": value.name}
    if isinstance(value, TensorType):
        return {"$type": _encode_type(value)}
    if isinstance(value, ConstantArray):
        arrays[key] = value.array
        return {"$array": key}
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return {"$scalar": [value.dtype.name, _encode_value(value.item(), key, arrays, where)]}
    if isinstance(value, Graph):
        return {"$graph": _encode_graph(value, key + ".", arrays)}
    raise SerializationError(
        f"cannot save {where}: values of type {type(value).__name__} cannot be stored "
        f"(expected ints, floats, bools, None, strings, tuples, dtypes, types, arrays or graphs)"
    )


def _float_tag(value: float) -> str:
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


# --- loading -----------------------------------------------------------------------------------


def load_graph(
    path: str | os.PathLike, *, max_nodes: int = MAX_NODES, **archive_limits: int
) -> Graph:
    """Load a graph saved by `save_graph`, validating everything (see the module docstring).

    `archive_limits` are passed to `graphc.archive.read_archive` (e.g. `max_array_bytes`).

    >>> import graphc, tempfile, os
    >>> x1, x2 = graphc.scalars("x1 x2")
    >>> path = os.path.join(tempfile.mkdtemp(), "f.graphc")
    >>> graphc.Graph([x1, x2], x1 * x2).save(path)
    >>> float(load_graph(path)(3.0, 4.0))
    12.0
    """
    document, arrays = read_archive(path, **archive_limits)
    loader = _Loader(str(path), arrays, max_nodes)
    fmt = document.get("format")
    if fmt != FORMAT:
        loader.fail(f"is not a graphc graph file (its format is {fmt!r}, expected {FORMAT!r})")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        loader.fail(f"has an invalid format version {version!r}")
    if version > VERSION:
        written_by = document.get("graphc_version", "a newer graphc")
        loader.fail(
            f"uses graph format version {version} (written by graphc {written_by}), but this "
            f"graphc ({__version__}) reads version {VERSION}; upgrade graphc to load it"
        )
    graph = loader.graph(document, "", 0)
    unused = sorted(set(arrays) - loader.used_arrays)
    if unused:
        loader.fail(f"holds arrays no node refers to: {unused}")
    return graph


class _Loader:
    """Decodes and validates one file's document; errors name the file and the place."""

    def __init__(self, path: str, arrays: Mapping[str, np.ndarray], max_nodes: int):
        self.path = path
        self.arrays = arrays
        self.max_nodes = max_nodes
        self.node_count = 0
        self.used_arrays: set[str] = set()

    def fail(self, problem: str) -> NoReturn:
        raise SerializationError(f"{self.path}: {problem}")

    def expect(self, condition: bool, problem: str) -> None:
        if not condition:
            self.fail(problem)

    def graph(self, doc: Any, where: str, depth: int) -> Graph:
        self.expect(isinstance(doc, dict), f"{where}graph: expected a JSON object")
        nodes = doc.get("nodes")
        self.expect(isinstance(nodes, list), f"{where}'nodes': expected a list")
        self.node_count += len(nodes)
        self.expect(
            self.node_count <= self.max_nodes,
            f"has more than {self.max_nodes} nodes; pass a larger max_nodes if it is trusted",
        )
        g = nx.MultiDiGraph()
        for entry in nodes:
            self.node(g, entry, where, depth)
        inputs = self.id_list(doc.get("inputs"), g, f"{where}'inputs'")
        outputs = self.id_list(doc.get("outputs"), g, f"{where}'outputs'")
        self.expect(bool(outputs), f"{where}'outputs': a graph needs at least one output")
        self.expect(len(set(inputs)) == len(inputs), f"{where}'inputs': an id is listed twice")
        input_nodes = {n for n in g.nodes if g.nodes[n]["primitive"] is input_p}
        self.expect(
            set(inputs) == input_nodes,
            f"{where}'inputs' {inputs} are not exactly the input nodes {sorted(input_nodes)}",
        )
        single = doc.get("single_output")
        self.expect(isinstance(single, bool), f"{where}'single_output': expected true or false")
        self.expect(
            not single or len(outputs) == 1,
            f"{where}'single_output' is true but there are {len(outputs)} outputs",
        )
        name = doc.get("name")
        self.expect(name is None or isinstance(name, str), f"{where}'name': expected a string")
        return Graph.from_nx(g, inputs, outputs, single_output=single, name=name)

    def id_list(self, ids: Any, g: nx.MultiDiGraph, where: str) -> list[int]:
        self.expect(isinstance(ids, list), f"{where}: expected a list of node ids")
        for node in ids:
            self.expect(_is_int(node) and node in g, f"{where}: {node!r} is not a node id")
        return ids

    def node(self, g: nx.MultiDiGraph, entry: Any, where: str, depth: int) -> None:
        self.expect(isinstance(entry, dict), f"{where}nodes: each node must be a JSON object")
        node = entry.get("id")
        self.expect(_is_int(node), f"{where}node id {node!r}: expected an int")
        self.expect(node not in g, f"{where}node {node}: the id is used twice")
        here = f"{where}node {node}"
        op = entry.get("op")
        self.expect(
            isinstance(op, str) and op in PRIMITIVES,
            f"{here}: unknown primitive {op!r}; it may come from a newer graphc or a module "
            f"that is not imported",
        )
        primitive = PRIMITIVES[op]
        here = f"{here} ({op})"
        operands = entry.get("inputs")
        self.expect(
            isinstance(operands, list) and all(_is_int(s) and s in g for s in operands),
            f"{here}: 'inputs' must list ids of earlier nodes, got {operands!r}",
        )
        attrs_doc = entry.get("attrs")
        self.expect(isinstance(attrs_doc, dict), f"{here}: 'attrs' must be a JSON object")
        attrs = {k: self.value(v, f"{here} attr {k!r}", depth) for k, v in attrs_doc.items()}
        stored = self.tensor_type(entry.get("type"), f"{here}: 'type'")
        name = entry.get("name")
        self.expect(name is None or isinstance(name, str), f"{here}: 'name' must be a string")
        derived = self.derived_type(primitive, [g.nodes[s]["type"] for s in operands], attrs, here)
        self.expect(
            isinstance(derived, TensorType) and derived == stored,
            f"{here}: the stored type {stored} differs from {derived}, the type its operands "
            f"and attributes give; the file is inconsistent or was tampered with",
        )
        g.add_node(node, primitive=primitive, attrs=attrs, type=stored, name=name)
        for key, source in enumerate(operands):
            g.add_edge(source, node, key=key)

    def derived_type(
        self, primitive: Any, operands: Sequence[TensorType], attrs: dict[str, Any], here: str
    ) -> TensorType:
        try:
            return primitive.shape_rule(*operands, **attrs)
        except Exception as exc:  # rules were written for sane attrs: any failure is a refusal
            self.fail(f"{here}: its operands or attributes are invalid: {exc}")

    def tensor_type(self, doc: Any, where: str) -> TensorType:
        self.expect(
            isinstance(doc, dict) and set(doc) == {"shape", "dtype"},
            f"{where}: expected {{'shape': [...], 'dtype': ...}}, got {doc!r}",
        )
        shape, dtype = doc["shape"], doc["dtype"]
        self.expect(
            isinstance(shape, list) and all(d is None or _is_int(d) for d in shape),
            f"{where}: the shape must be a list of ints and null, got {shape!r}",
        )
        checked = self.dtype(dtype, where)
        try:
            return TensorType(shape, checked)
        except (ValueError, TypeError) as exc:
            self.fail(f"{where}: {exc}")

    def dtype(self, name: Any, where: str) -> np.dtype:
        self.expect(
            isinstance(name, str) and name in {d.name for d in dtypes.SUPPORTED},
            f"{where}: unsupported dtype {name!r}; expected one of {dtypes.supported_names()}",
        )
        return np.dtype(name)

    def value(self, doc: Any, where: str, depth: int) -> Any:
        self.expect(depth <= MAX_DEPTH, f"{where}: values nest deeper than {MAX_DEPTH} levels")
        if doc is None or isinstance(doc, (bool, int, float, str)):
            return doc
        if isinstance(doc, list):
            return tuple(self.value(v, where, depth + 1) for v in doc)
        self.expect(
            isinstance(doc, dict) and len(doc) == 1 and next(iter(doc)) in _TAGS,
            f"{where}: unknown value {doc!r}",
        )
        ((tag, payload),) = doc.items()
        return _TAGS[tag](self, payload, where, depth + 1)

    def tagged_float(self, payload: Any, where: str, depth: int) -> float:
        self.expect(
            isinstance(payload, str) and payload in _FLOAT_TAGS,
            f"{where}: unknown float {payload!r}",
        )
        return _FLOAT_TAGS[payload]

    def tagged_dtype(self, payload: Any, where: str, depth: int) -> np.dtype:
        return self.dtype(payload, where)

    def tagged_type(self, payload: Any, where: str, depth: int) -> TensorType:
        return self.tensor_type(payload, where)

    def tagged_array(self, payload: Any, where: str, depth: int) -> ConstantArray:
        self.expect(
            isinstance(payload, str) and payload in self.arrays,
            f"{where}: refers to the array {payload!r}, which the file does not hold",
        )
        self.used_arrays.add(payload)
        array = self.arrays[payload]
        if not array.dtype.isnative:  # written on a machine of the other byte order
            array = array.astype(array.dtype.newbyteorder("="))
        return ConstantArray(array)

    def tagged_scalar(self, payload: Any, where: str, depth: int) -> np.generic:
        self.expect(
            isinstance(payload, list) and len(payload) == 2,
            f"{where}: a scalar must be [dtype, value], got {payload!r}",
        )
        dtype = self.dtype(payload[0], where)
        value = self.value(payload[1], where, depth)
        self.expect(
            isinstance(value, (bool, int, float)),
            f"{where}: a scalar's value must be a number, got {payload[1]!r}",
        )
        try:
            return dtype.type(value)
        except (OverflowError, ValueError) as exc:
            self.fail(f"{where}: {value!r} is not a valid {dtype.name}: {exc}")

    def tagged_graph(self, payload: Any, where: str, depth: int) -> Graph:
        return self.graph(payload, f"{where}: ", depth)


_TAGS = {
    "$float": _Loader.tagged_float,
    "$dtype": _Loader.tagged_dtype,
    "$type": _Loader.tagged_type,
    "$array": _Loader.tagged_array,
    "$scalar": _Loader.tagged_scalar,
    "$graph": _Loader.tagged_graph,
}


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)
