"""Memory planning: when each intermediate buffer is live, and which buffers can share memory.

Nodes run in the graph's topological order. An intermediate buffer (a computed node that is
not a graph output; inputs, outputs and constants live elsewhere and are never reused) is live
from the step that writes it to the last step that reads it, both included, so a node never
writes over an operand it is still reading. Two buffers interfere when their live intervals
overlap; buffers that do not interfere can share a slot. Slots are found by coloring the
interference graph with networkx's `greedy_color`, largest buffers first, so big buffers pick
slots first and small ones fill in.

Sizes depend on the batch size: a batched buffer holds per-element bytes times N (times N again
for each further None axis). The assignment does not: it is valid for every batch size, and a
slot's size at a given batch is the largest of its buffers then. The planned footprint is the
sum of slot sizes, at most the naive sum of all buffer sizes (a slot is no bigger than the sum
of its buffers) and at least the live peak (the most bytes live at any one step).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import networkx as nx

from graphc.core import Property
from graphc.graph import Graph
from graphc.passes.manager import register_pass
from graphc.types import TensorType


@dataclass(frozen=True)
class Buffer:
    """One intermediate: the node writing it, its live interval [start, end] in steps, its type
    and its slot."""

    node: int
    start: int
    end: int
    type: TensorType
    slot: int

    def nbytes(self, batch: int) -> int:
        return prod(self.type.concrete_shape(batch)) * self.type.dtype.itemsize

    def overlaps(self, other: Buffer) -> bool:
        return self.start <= other.end and other.start <= self.end


@dataclass(frozen=True)
class MemoryPlan:
    """Buffers with their live intervals and slots, for a graph's intermediates.

    Attributes:
        buffers: one `Buffer` per intermediate, in the order they are written.
        num_slots: how many distinct slots the buffers share.
    """

    buffers: tuple[Buffer, ...]
    num_slots: int

    def slot_bytes(self, batch: int = 1) -> list[int]:
        """Each slot's size at `batch`: the largest buffer assigned to it."""
        sizes = [0] * self.num_slots
        for b in self.buffers:
            sizes[b.slot] = max(sizes[b.slot], b.nbytes(batch))
        return sizes

    def planned_peak_bytes(self, batch: int = 1) -> int:
        """Bytes the plan allocates for intermediates at `batch`: the sum of slot sizes."""
        return sum(self.slot_bytes(batch))

    def naive_bytes(self, batch: int = 1) -> int:
        """Bytes without reuse: every intermediate in its own buffer."""
        return sum(b.nbytes(batch) for b in self.buffers)

    def live_peak_bytes(self, batch: int = 1) -> int:
        """The most intermediate bytes live at one step: what any plan needs at least."""
        steps = {b.start for b in self.buffers}
        return max(
            (sum(b.nbytes(batch) for b in self.buffers if b.start <= s <= b.end) for s in steps),
            default=0,
        )

    def summary(self, batch: int = 1) -> str:
        """One line: buffers, slots, naive and planned bytes at `batch`."""
        return (
            f"{len(self.buffers)} buffers in {self.num_slots} slots: "
            f"{format_bytes(self.planned_peak_bytes(batch))} planned vs "
            f"{format_bytes(self.naive_bytes(batch))} naive "
            f"(live peak {format_bytes(self.live_peak_bytes(batch))}, batch {batch})"
        )


def plan_memory(graph: Graph) -> MemoryPlan:
    """Liveness of the intermediates and an assignment of them to shared slots.

    >>> import graphc
    >>> x = graphc.placeholder((None, 1000), name="x")
    >>> y = graphc.exp(graphc.sin(graphc.exp(graphc.sin(x))))
    >>> plan = plan_memory(graphc.Graph([x], y))
    >>> plan.num_slots, plan.naive_bytes(batch=8), plan.planned_peak_bytes(batch=8)
    (2, 96000, 64000)
    """
    step = {node: i for i, node in enumerate(graph.order)}
    outputs = set(graph.outputs)
    intervals: dict[int, tuple[int, int]] = {}
    for node in graph.order:
        if graph.primitive(node).has(Property.SOURCE) or node in outputs:
            continue
        reads = [step[user] for user in graph.nx.successors(node)]
        intervals[node] = (step[node], max(reads, default=step[node]))
    slots = _color(graph, intervals)
    buffers = tuple(
        Buffer(node, start, end, graph.type(node), slots[node])
        for node, (start, end) in intervals.items()
    )
    return MemoryPlan(buffers, len(set(slots.values())))


def _color(graph: Graph, intervals: dict[int, tuple[int, int]]) -> dict[int, int]:
    """Slots for the buffers: a greedy coloring of the interval graph, largest buffers first."""
    interference = nx.Graph()
    interference.add_nodes_from(intervals)
    by_start = sorted(intervals, key=lambda n: intervals[n])
    active: list[int] = []
    for node in by_start:  # sweep: a buffer interferes with those still live when it starts
        start, _ = intervals[node]
        active = [a for a in active if intervals[a][1] >= start]
        interference.add_edges_from((a, node) for a in active)
        active.append(node)

    def largest_first(g: nx.Graph, colors: dict) -> list[int]:
        def size(n: int) -> tuple[int, int, int]:
            t = graph.type(n)
            return (-t.shape.count(None), -t.static_size * t.dtype.itemsize, n)

        return sorted(g, key=size)

    return nx.greedy_color(interference, strategy=largest_first)


def format_bytes(n: int) -> str:
    """Bytes in B, KiB, MiB or GiB, one decimal.

    >>> format_bytes(512), format_bytes(96000), format_bytes(3 << 30)
    ('512 B', '93.8 KiB', '3.0 GiB')
    """
    if n < 1024:
        return f"{n} B"
    value = n / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _memory_pass(graph: Graph, *, batch_size: int = 1) -> tuple[MemoryPlan, str]:
    plan = plan_memory(graph)
    return plan, plan.summary(batch_size)


register_pass(
    "memory",
    _memory_pass,
    "plan buffer reuse for intermediates (an analysis: the graph is unchanged)",
    options=("batch_size",),
    analysis=True,
)
