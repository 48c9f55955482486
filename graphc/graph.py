"""`Graph`: a DAG of Values, numbered and seen as a networkx MultiDiGraph, callable via numpy.

The graph is the unit every transformation takes and returns: autodiff, passes and the backend
all go `Graph -> Graph`. Node ids are ints numbered in a deterministic topological order (inputs
first, then operands before users). Node attributes: `primitive`, `attrs`, `type`, `name`; an
edge `(operand, user, key=k)` says the operand is the user's k-th input.

Calling a graph runs the numpy interpreter, the reference oracle for every other execution path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np

from graphc.arguments import check_arguments, describe_input
from graphc.core import Primitive, Value, input_p
from graphc.errors import GraphcError, GraphError
from graphc.types import TensorType


class Graph:
    """A static computation graph from `inputs` to `outputs`.

    Args:
        inputs: the graph's inputs, in call order (values from `placeholder` or `scalars`).
        outputs: one Value (the graph returns one array) or a list of Values (it returns a list).
        name: an optional name, shown in dumps.

    >>> import graphc
    >>> x1, x2 = graphc.scalars("x1 x2")
    >>> f = graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2))
    >>> round(float(f(2.0, 5.0)), 4)
    11.6521
    """

    def __init__(
        self, inputs: Sequence[Value], outputs: Value | Sequence[Value], *, name: str | None = None
    ):
        single = isinstance(outputs, Value)
        output_values = [outputs] if single else list(outputs)
        if isinstance(inputs, Value):
            inputs = [inputs]
        _check_inputs(inputs)
        _check_outputs(output_values)
        nodes, operands, output_ids = _number(list(inputs), output_values)
        self._init(None, range(len(inputs)), output_ids, single, name)
        # numbered operands first: the ids are the topological order, and the networkx graph
        # is built only when something asks for it (passes do; the interpreter, autodiff and
        # lambdify do not)
        self._nodes = nodes
        self.__dict__["_operand_table"] = dict(enumerate(operands))
        self.__dict__["order"] = list(range(len(nodes)))

    @classmethod
    def from_nx(
        cls,
        graph: nx.MultiDiGraph,
        inputs: Sequence[int],
        outputs: Sequence[int],
        *,
        single_output: bool,
        name: str | None = None,
    ) -> Graph:
        """Wrap an already-built MultiDiGraph (for passes and loaders); it is not copied."""
        self = cls.__new__(cls)
        self._init(graph, tuple(inputs), tuple(outputs), single_output, name)
        return self

    def _init(
        self,
        graph: nx.MultiDiGraph | None,
        inputs: Sequence[int],
        outputs: Sequence[int],
        single_output: bool,
        name: str | None,
    ) -> None:
        self._nodes: list[dict[str, Any]] | None = None
        if graph is not None:
            self.__dict__["nx"] = graph
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)
        self.single_output = single_output
        self.name = name

    # --- structure ---------------------------------------------------------------------------

    @cached_property
    def nx(self) -> nx.MultiDiGraph:
        """The graph as a networkx MultiDiGraph (built on first use for graphs made from
        Values): node attributes `primitive`, `attrs`, `type`, `name`; an edge
        `(operand, user, key=k)` for each operand. From then on the node attributes are read
        from it."""
        assert self._nodes is not None
        graph = nx.MultiDiGraph()
        graph.add_nodes_from(enumerate(self._nodes))
        for node, operands in self._operand_table.items():
            for key, operand in enumerate(operands):
                graph.add_edge(operand, node, key=key)
        self._nodes = None
        return graph

    def _data(self, node: int) -> dict[str, Any]:
        """A node's attributes (`primitive`, `attrs`, `type`, `name`)."""
        return self._nodes[node] if self._nodes is not None else self.nx.nodes[node]

    @cached_property
    def order(self) -> list[int]:
        """Node ids in a deterministic topological order: the lexicographically smallest.

        A graph built from Values numbers operands before users, so its sorted ids are that
        order already (checked edge by edge, much faster than networkx's sort).
        """
        nodes = sorted(self.nx.nodes)
        if all(src < dst for src, dst in self.nx.edges()):
            return nodes
        try:
            return list(nx.lexicographical_topological_sort(self.nx))
        except nx.NetworkXUnfeasible as exc:
            raise GraphError("the graph has a cycle") from exc

    @cached_property
    def _operand_table(self) -> dict[int, tuple[int, ...]]:
        table: dict[int, list[tuple[int, int]]] = {n: [] for n in self.nx.nodes}
        for src, dst, key in self.nx.edges(keys=True):
            table[dst].append((key, src))
        return {n: tuple(src for _, src in sorted(edges)) for n, edges in table.items()}

    def operands(self, node: int) -> tuple[int, ...]:
        """The ids of a node's operands, in operand order."""
        return self._operand_table[node]

    def primitive(self, node: int) -> Primitive:
        return self._data(node)["primitive"]

    def attrs(self, node: int) -> dict[str, Any]:
        return self._data(node)["attrs"]

    def type(self, node: int) -> TensorType:
        return self._data(node)["type"]

    def node_name(self, node: int) -> str | None:
        return self._data(node)["name"]

    @property
    def input_types(self) -> list[TensorType]:
        return [self.type(n) for n in self.inputs]

    @property
    def output_types(self) -> list[TensorType]:
        return [self.type(n) for n in self.outputs]

    @property
    def input_names(self) -> list[str | None]:
        return [self.node_name(n) for n in self.inputs]

    @property
    def is_batched(self) -> bool:
        return any(t.is_batched for t in self.input_types)

    def __len__(self) -> int:
        return len(self._nodes) if self._nodes is not None else self.nx.number_of_nodes()

    def __iter__(self) -> Iterator[int]:
        return iter(self.order)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        ins = ", ".join(str(t) for t in self.input_types)
        outs = ", ".join(str(t) for t in self.output_types)
        return f"<Graph{label} ({ins}) -> ({outs}), {len(self)} nodes>"

    def __str__(self) -> str:
        return self.dump()

    # --- evaluation --------------------------------------------------------------------------

    def __call__(self, *args: Any) -> np.ndarray | list[np.ndarray]:
        """Evaluate with the numpy interpreter; arguments are checked first (see arguments.py)."""
        arrays, batch = check_arguments(self.input_types, self.input_names, args)
        values = self.evaluate(arrays, batch)
        return values[0] if self.single_output else values

    def evaluate(self, arrays: Sequence[np.ndarray], batch: int | None) -> list[np.ndarray]:
        """Run the interpreter on already-checked arrays; return the list of outputs."""
        env = self.node_values(arrays, batch)
        return [env[n] for n in self.outputs]

    def node_values(self, arrays: Sequence[np.ndarray], batch: int | None) -> dict[int, np.ndarray]:
        """Run the interpreter on already-checked arrays; return every node's value."""
        env: dict[int, np.ndarray] = dict(zip(self.inputs, arrays))
        with np.errstate(all="ignore"):  # IEEE results (inf, nan) are the semantics, not errors
            for node in self.order:
                if node not in env:
                    env[node] = self._evaluate_node(node, env, batch)
        return env

    def _evaluate_node(
        self, node: int, env: Mapping[int, np.ndarray], batch: int | None
    ) -> np.ndarray:
        data = self._data(node)
        prim: Primitive = data["primitive"]
        if prim is input_p:
            raise GraphError(f"node %{node} is an input that is not among the graph's inputs")
        expected: TensorType = data["type"]
        kwargs = dict(data["attrs"])
        if prim.needs_out_shape:
            kwargs["out_shape"] = expected.concrete_shape(batch)
        result = np.asarray(prim.impl(*(env[s] for s in self.operands(node)), **kwargs))
        want_shape = expected.concrete_shape(batch)
        if result.shape != want_shape or result.dtype != expected.dtype:
            raise GraphcError(
                f"internal error: {prim.name} (node %{node}) computed {result.dtype}{result.shape}"
                f" but its type is {expected} ({want_shape}); please report this"
            )
        return result

    # --- conversion --------------------------------------------------------------------------

    def to_values(self, inputs: Sequence[Value] | None = None) -> list[Value]:
        """Rebuild the graph as Values (substituting `inputs` for its inputs); return outputs.

        Transformations use this to replay a graph while building a new one.
        """
        if inputs is None:
            inputs = [
                Value(input_p, (), self.attrs(n), self.type(n), name=self.node_name(n))
                for n in self.inputs
            ]
        if len(inputs) != len(self.inputs):
            raise GraphError(f"to_values: expected {len(self.inputs)} inputs, got {len(inputs)}")
        env: dict[int, Value] = dict(zip(self.inputs, inputs))
        for node in self.order:
            if node in env:
                continue
            data = self._data(node)
            operands = [env[s] for s in self.operands(node)]
            env[node] = data["primitive"].bind(*operands, name=data["name"], **data["attrs"])
        return [env[n] for n in self.outputs]

    # --- seeing and saving -------------------------------------------------------------------

    def dump(self) -> str:
        """The graph as text, one node per line in SSA form (see `graphc.printing`)."""
        from graphc.printing import dump_graph

        return dump_graph(self)

    def to_dot(self) -> str:
        """The graph as Graphviz DOT text."""
        from graphc.printing import graph_to_dot

        return graph_to_dot(self)

    def render(self, path: str, format: str | None = None) -> str:
        """Write the graph as an SVG or PNG picture with Graphviz' `dot`; return the path."""
        from graphc.printing import render_graph

        return render_graph(self, path, format=format)

    def save(self, path: str) -> None:
        """Save to one file (JSON structure + numpy arrays, no pickle), written atomically."""
        from graphc.serialization import save_graph

        save_graph(self, path)

    @classmethod
    def load(cls, path: str) -> Graph:
        """Load a graph written by `Graph.save`; never runs code from the file."""
        from graphc.serialization import load_graph

        return load_graph(path)


def _check_inputs(inputs: Sequence[Value]) -> None:
    seen: set[int] = set()
    for index, value in enumerate(inputs):
        if not isinstance(value, Value) or value.primitive is not input_p:
            what = (
                f"the output of {value.primitive.name}"
                if isinstance(value, Value)
                else f"a {type(value).__name__}"
            )
            raise GraphError(
                f"Graph: inputs[{index}] is {what}, not an input; make inputs "
                f"with graphc.placeholder or graphc.scalars"
            )
        if id(value) in seen:
            raise GraphError(f"Graph: {describe_input(index, value.name)} is listed twice")
        seen.add(id(value))


def _check_outputs(outputs: Sequence[Value]) -> None:
    if not outputs:
        raise GraphError("Graph: expected at least one output")
    for index, value in enumerate(outputs):
        if not isinstance(value, Value):
            raise GraphError(
                f"Graph: outputs[{index}] is a {type(value).__name__}, not a Value; "
                f"wrap constants with graphc.constant"
            )


def _number(
    inputs: list[Value], outputs: list[Value]
) -> tuple[list[dict[str, Any]], list[tuple[int, ...]], tuple[int, ...]]:
    """Number the reachable DAG (inputs first, then operands before users): each node's
    attributes, each node's operand ids, and the outputs' ids."""
    ids: dict[int, int] = {id(v): i for i, v in enumerate(inputs)}
    ordered: list[Value] = list(inputs)
    for root in outputs:
        stack: list[tuple[Value, bool]] = [(root, False)]
        while stack:  # iterative post-order: deep graphs must not hit the recursion limit
            value, expanded = stack.pop()
            if id(value) in ids:
                continue
            if expanded:
                ids[id(value)] = len(ordered)
                ordered.append(value)
                continue
            if value.primitive is input_p:
                raise GraphError(
                    f"Graph: an output depends on the input {value.name or '(unnamed)'!r} "
                    f"({value.type}), which is not among the graph's inputs"
                )
            stack.append((value, True))
            stack.extend([(operand, False) for operand in reversed(value.inputs)])
    if any(v.type.is_batched for v in ordered) and not any(v.type.is_batched for v in inputs):
        raise GraphError(
            "Graph: some value has a batch dimension (None) but no input has one, "
            "so its size could never be known"
        )
    nodes = [
        {"primitive": v.primitive, "attrs": v.attrs, "type": v.type, "name": v.name}
        for v in ordered
    ]
    operands = [tuple(ids[id(operand)] for operand in v.inputs) for v in ordered]
    return nodes, operands, tuple(ids[id(v)] for v in outputs)
