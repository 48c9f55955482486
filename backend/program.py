"""`Program`: where every value of a graph lives at run time, decided before any LLVM work.

The native entry receives one array of pointers, in this order:

    inputs (graph input order) | outputs (graph output order) | weights | workspace

Each node gets a *home*: an input's home is its argument; a node that is a graph output is
computed straight into the caller's output array (its first occurrence among the outputs);
a constant with one element is an IR literal; a larger constant is a *weight*, an array owned
by the compiled object and passed by pointer (so millions of weights never become IR text);
every other node lives in a workspace slot. Outputs whose value is computed elsewhere (an
input, a constant, a node listed twice) are filled by a copy kernel at the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphc.backend.extents import Extent, element_count
from graphc.backend.gemm_operands import PANELS, TRANSPOSED, operand_layouts, pack_panels
from graphc.backend.irtypes import itemsize
from graphc.backend.layout import Layout
from graphc.backend.lowering.registry import scratch_type
from graphc.core import constant_p, input_p
from graphc.graph import Graph
from graphc.types import TensorType

#: How many of a fused body's operations its kernel's name lists.
FUSED_NAME_OPS = 4


@dataclass(frozen=True)
class Home:
    """Where a node's value lives: `kind` is input, output, weight, literal or workspace."""

    kind: str
    index: int = 0


#: A memory plan: node -> workspace slot for the intermediates, sharing slots between buffers
#: whose lifetimes do not overlap.
MemoryPlan = Callable[[Graph, list[int]], list[list[int]]]


class Program:
    """The buffer plan of a graph: homes, weights, literals, workspace layout, copies.

    Args:
        graph: the graph to compile.
        memory_plan: optional `plan(graph, nodes) -> slots` grouping workspace nodes into
            shared slots; without one, each intermediate has its own slot.
    """

    def __init__(self, graph: Graph, memory_plan: MemoryPlan | None = None):
        self.graph = graph
        self.homes: dict[int, Home] = {}
        self.weights: list[tuple[int, np.ndarray]] = []
        self.literals: dict[int, Any] = {}
        self.kernels: list[int] = []
        self.copies: list[tuple[int, int]] = []  # (output index, node whose value it gets)
        self.scratch: dict[int, tuple[Home, TensorType]] = {}
        # transposed views and packed weights of matmul operands (backend.gemm_operands)
        self.layouts = operand_layouts(graph)
        views = {n: graph.operands(n)[0] for n, kind in self.layouts.items() if kind == TRANSPOSED}
        for index, node in enumerate(graph.inputs):
            self.homes[node] = Home("input", index)
        for index, node in enumerate(graph.outputs):
            if node not in self.homes and graph.primitive(node) is not constant_p:
                self.homes[node] = Home("output", index)
            else:
                self.copies.append((index, node))
        intermediates: list[int] = []
        for node in graph.order:
            prim = graph.primitive(node)
            if prim is input_p:
                continue
            if prim is constant_p:
                self._place_constant(node)
                continue
            if node not in views:
                self.kernels.append(node)
            if node not in self.homes:
                intermediates.append(node)
        slots = memory_plan(graph, intermediates) if memory_plan else [[n] for n in intermediates]
        slots = _without_views(slots, views)
        for slot, nodes in enumerate(slots):
            for node in nodes:
                self.homes[node] = Home("workspace", slot)
        for view, source in views.items():  # a view is its source's buffer
            self.homes[view] = self.homes[source]
        sizes = [[self.nbytes(n) for n in nodes] for nodes in slots]
        for node in self.kernels:
            needed = scratch_type(graph.primitive(node), graph.attrs(node), graph.type(node))
            if needed is not None:
                self.scratch[node] = (Home("workspace", len(sizes)), needed)
                sizes.append([type_nbytes(needed)])
        self.layout = Layout(sizes)

    def _place_constant(self, node: int) -> None:
        array = self.graph.attrs(node)["value"].array
        if array.size == 1:
            self.literals[node] = array.reshape(()).item()
            self.homes[node] = Home("literal")
        else:
            self.homes[node] = Home("weight", len(self.weights))
            if self.layouts.get(node) == PANELS:  # packed once, here, for the GEMM
                array = pack_panels(array)
            self.weights.append((node, np.ascontiguousarray(array)))

    def nbytes(self, node: int) -> Extent:
        """The byte size of a node's value, as an Extent of the batch."""
        return type_nbytes(self.graph.type(node))

    def describe(self) -> str:
        """The plan as text: homes, copies and slot sizes (the generated code hard-wires them,
        so they are part of the cache key).

        >>> import graphc
        >>> x = graphc.placeholder((None, 2), name="x")
        >>> print(Program(graphc.Graph([x], graphc.exp(x) * 2.0)).describe())
        homes %0=input0 %1=workspace0 %2=literal0 %3=output0
        copies []
        slots [8*N]
        """
        homes = " ".join(f"%{n}={h.kind}{h.index}" for n, h in sorted(self.homes.items()))
        slots = " | ".join(", ".join(str(t) for t in tenants) for tenants in self.layout.slots)
        return f"homes {homes}\ncopies {self.copies}\nslots [{slots}]"

    @property
    def n_inputs(self) -> int:
        return len(self.graph.inputs)

    @property
    def n_outputs(self) -> int:
        return len(self.graph.outputs)

    @property
    def n_args(self) -> int:
        """Length of the entry's pointer array: inputs, outputs, weights, workspace."""
        return self.n_inputs + self.n_outputs + len(self.weights) + 1

    def arg_slot(self, home: Home) -> int:
        """Position of an input, output or weight in the entry's pointer array."""
        base = {"input": 0, "output": self.n_inputs, "weight": self.n_inputs + self.n_outputs}
        return base[home.kind] + home.index

    @property
    def workspace_slot(self) -> int:
        return self.n_args - 1

    def value_name(self, node: int) -> str:
        """A readable IR name for a node's value: its graph name, else `n<id>`."""
        return ir_identifier(self.graph.node_name(node)) or f"n{node}"

    def kernel_name(self, node: int) -> str:
        """`k<id>_<primitive>[_<name>]`, e.g. `k3_matmul_dense_1`.

        A fused kernel also lists the first operations of its body: `k3_fused_matmul_add`.
        """
        parts = [f"k{node}", self.graph.primitive(node).name]
        body = self.graph.attrs(node).get("body")
        if isinstance(body, Graph):
            ops = [body.primitive(n).name for n in body.order]
            ops = [op for op in dict.fromkeys(ops) if op not in ("input", "constant")]
            parts += ops[:FUSED_NAME_OPS]
        name = ir_identifier(self.graph.node_name(node))
        return "_".join(parts + ([name] if name else []))


def _without_views(slots: list[list[int]], views: dict[int, int]) -> list[list[int]]:
    """The slots without the views (they have no buffer of their own); a view's source gets a
    slot of its own, so it lives until the view's last reader."""
    sources = set(views.values())
    kept = [[n for n in nodes if n not in views and n not in sources] for nodes in slots]
    own = [[n] for nodes in slots for n in nodes if n in sources]
    return [nodes for nodes in kept if nodes] + own


def type_nbytes(t: TensorType) -> Extent:
    """The byte size of a value of type `t`, as an Extent of the batch."""
    return element_count(t.shape) * itemsize(t.dtype)


def ir_identifier(name: str | None) -> str:
    """A node name made into a plain IR identifier (letters, digits, `_` and `.`).

    >>> ir_identifier("dense_1/kernel:0"), ir_identifier(None)
    ('dense_1_kernel_0', '')
    """
    if not name:
        return ""
    return re.sub(r"[^A-Za-z0-9_.]", "_", name)
