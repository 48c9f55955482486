"""Fusion: groups of elementwise ops (and the epilogue of a matmul or conv) become one node.

The `fused` primitive is the contract between this pass and the backend, which lowers each
fused node as one loop nest, so the group's intermediates never touch memory:

- operands: the group's external inputs, each once.
- attrs `body`: a `graphc.Graph` whose inputs correspond one-to-one (same order, same types) to
  the operands, with a single output: the fused node's value. Body nodes keep their primitives,
  attributes and user-facing names.
- attrs `kind`:
  - "elementwise": every non-input body node is an ELEMENTWISE primitive, a `broadcast_to`, or
    a constant with one element; the output shape is the broadcast of the operands' shapes.
  - "epilogue": in `body.order`, the first non-input node is ONE `matmul` or `conv` whose
    operands are body inputs; every other non-input node is as in an elementwise body (they
    consume the matmul/conv result, body inputs, constants or each other); the output shape is
    the matmul/conv's output shape (bias add and activation after the product).
- Its numpy implementation evaluates the body (the batch size comes from a batched operand, or
  from the output shape), so the interpreter checks fused graphs like any other.

Groups are single-output regions grown from a root, the last elementwise op of a chain, towards
its operands, in reverse topological order. A producer joins when all its users are already in
the group (so nothing computed in the group is needed outside it, and no work is duplicated),
except free nodes (`broadcast_to`, one-element constants), which are copied into every group
that reads them. Because only the root has users outside its group, a path that leaves the group
starts at the root and cannot come back into it without a cycle in the original graph:
`partition_is_acyclic` checks this with networkx on the contracted graph before rewriting.
Reductions stay their own nodes: softmax becomes fused pieces around its max and sum.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from graphc.autodiff import defrules
from graphc.core import Primitive, Property, Value, constant_p, input_p
from graphc.differentiate import pull_cotangents, push_tangents, replay
from graphc.errors import GraphError
from graphc.graph import Graph
from graphc.passes.manager import register_pass
from graphc.passes.rebuild import node_value, rebuild
from graphc.primitives.conv import conv_p
from graphc.primitives.linalg import matmul_p
from graphc.primitives.shape import broadcast_to_p
from graphc.printing import PRINT_RULES
from graphc.symbolic import defsympy_array, to_sympy
from graphc.types import TensorType, broadcast_shapes, format_shape

KINDS = ("elementwise", "epilogue")
ANCHORS = (matmul_p, conv_p)  # the ops an epilogue can follow

#: Most computing nodes in one group. A fused node is one LLVM function, and LLVM's optimizer
#: takes superlinear time in a function's size: a chain of 17,000 ops fused whole took 21 s to
#: optimize and 630 MB, in groups of this size 8 s (linear in the ops from here) and 360 MB.
#: A loop nest of a few hundred ops is bound by arithmetic, not memory, so the extra pass over
#: memory between groups costs little.
MAX_GROUP_SIZE = 256

# fused(*operands; body, kind): the body graph applied to the operands, as one loop nest.
fused_p = Primitive("fused", needs_out_shape=True)


@fused_p.def_shape_rule
def _fused_shape_rule(*operands: TensorType, body: Graph, kind: str) -> TensorType:
    check_body(body, operands, kind)
    return body.type(body.outputs[0])


@fused_p.def_impl
def _fused_impl(
    *arrays: np.ndarray, body: Graph, kind: str, out_shape: tuple[int, ...]
) -> np.ndarray:
    batch = _batch_size(body, arrays, out_shape)
    return body.evaluate([np.asarray(a) for a in arrays], batch)[0]


def _batch_size(body: Graph, arrays: Sequence[np.ndarray], out_shape: tuple[int, ...]) -> Any:
    for t, array in zip(body.input_types, arrays):
        if t.is_batched:
            return np.shape(array)[t.shape.index(None)]
    out = body.output_types[0]
    return out_shape[out.shape.index(None)] if out.is_batched else None


def _fused_jvp(primals: tuple, tangents: tuple, out: Value, *, body: Graph, kind: str) -> Any:
    # The tangent of the body, inlined: fusion is undone where a derivative is taken.
    env = replay(body, primals)
    return push_tangents(body, env, tangents)[body.outputs[0]]


def _fused_vjp(ct: Value, primals: tuple, out: Value, *, body: Graph, kind: str) -> tuple:
    env = replay(body, primals)
    cts = pull_cotangents(body, env, {body.outputs[0]: ct}, list(body.inputs))
    return tuple(cts.get(n) for n in body.inputs)


defrules(fused_p, jvp=_fused_jvp, vjp=_fused_vjp)


def _fused_sympy(
    sp: Any, *arrays: np.ndarray, body: Graph, kind: str, out_shape: tuple[int, ...]
) -> np.ndarray:
    # The body's expression of the operands' expressions.
    result = to_sympy(body, list(arrays))
    elements = result.tolist() if isinstance(result, sp.NDimArray) else result
    return np.asarray(elements, dtype=object).reshape(out_shape)


defsympy_array(fused_p, _fused_sympy)

LABEL_OPS = 8  # a fused node's dump lists at most this many of its body's ops


def _fused_label(attrs: Mapping[str, Any]) -> str:
    # fused[kind=elementwise, nodes=5: sub exp mul add tanh]; the body itself: attrs["body"].dump()
    body: Graph = attrs["body"]
    inputs = set(body.inputs)
    nodes = [n for n in body.order if n not in inputs]
    ops = [body.primitive(n).name for n in nodes if body.primitive(n) is not constant_p]
    listed = " ".join(ops[:LABEL_OPS]) + (" ..." if len(ops) > LABEL_OPS else "")
    return f"fused[kind={attrs['kind']}, nodes={len(nodes)}: {listed}]"


PRINT_RULES[fused_p] = _fused_label


def check_body(body: Any, operands: Sequence[TensorType], kind: str) -> None:
    """Raise `GraphError` unless `body` and `kind` meet the fused contract for `operands`.

    >>> import graphc
    >>> x = graphc.placeholder((None, 3), name="x")
    >>> check_body(graphc.Graph([x], graphc.exp(x)), [x.type], "epilogue")
    Traceback (most recent call last):
    ...
    graphc.errors.GraphError: fused: an epilogue body must start with a matmul or conv
    """
    if not isinstance(body, Graph) or len(body.outputs) != 1 or not body.single_output:
        raise GraphError(f"fused: the body must be a Graph with a single output, got {body!r}")
    if body.input_types != list(operands):
        listed = ", ".join(str(t) for t in operands)
        expected = ", ".join(str(t) for t in body.input_types)
        raise GraphError(f"fused: the body takes ({expected}) but the operands are ({listed})")
    if kind not in KINDS:
        raise GraphError(f"fused: kind must be one of {KINDS}, got {kind!r}")
    inputs = set(body.inputs)
    nodes = [n for n in body.order if n not in inputs]
    out_shape = body.type(body.outputs[0]).shape
    if kind == "epilogue":
        if not nodes or body.primitive(nodes[0]) not in ANCHORS:
            raise GraphError("fused: an epilogue body must start with a matmul or conv")
        anchor, nodes = nodes[0], nodes[1:]
        if not set(body.operands(anchor)) <= inputs:
            raise GraphError("fused: the matmul/conv of an epilogue must read body inputs only")
        loop_shape = body.type(anchor).shape
    else:
        loop_shape = broadcast_shapes(*(t.shape for t in operands))
    for n in nodes:
        if not is_body_node(body.primitive(n), body.type(n)):
            raise GraphError(f"fused: a {kind} body cannot hold {body.primitive(n).name}")
    if out_shape != loop_shape:
        raise GraphError(
            f"fused: a {kind} body must give the shape [{format_shape(loop_shape)}] of its "
            f"loop nest, got [{format_shape(out_shape)}]"
        )


def is_body_node(prim: Primitive, t: TensorType) -> bool:
    """Elementwise ops, broadcasts and one-element constants: what a loop nest computes inline.

    >>> is_body_node(matmul_p, TensorType((2, 2), "float32"))
    False
    """
    if prim is constant_p:
        return t.static_size == 1 and not t.is_batched
    return prim is broadcast_to_p or prim.has(Property.ELEMENTWISE)


@dataclass(frozen=True)
class FusionGroup:
    """A group to fuse: its root (the single output), its members in body order, the members
    also computed outside (free nodes copied in), its external operands, and its kind."""

    root: int
    members: tuple[int, ...]
    shared: frozenset[int]
    operands: tuple[int, ...]
    kind: str


def fuse(graph: Graph) -> Graph:
    """Replace fusion groups by `fused` nodes; `graph` itself when nothing fuses.

    >>> import graphc
    >>> x = graphc.placeholder((None, 4), name="x")
    >>> g = graphc.Graph([x], graphc.tanh(graphc.exp(x) * 2.0 + 1.0))
    >>> fused = fuse(g)
    >>> len(g), len(fused), fused.attrs(fused.outputs[0])["kind"]
    (7, 2, 'elementwise')
    """
    groups = find_fusion_groups(graph)
    if not groups:
        return graph
    if not partition_is_acyclic(graph, [set(g.members) - g.shared for g in groups]):
        raise GraphError("fuse: internal error: the fusion groups would form a cycle")
    by_root = {g.root: g for g in groups}

    def emit(node: int, env: Mapping[int, Value]) -> Value:
        group = by_root.get(node)
        if group is None:
            return node_value(graph, node, env)
        operands = [env[o] for o in group.operands]
        body = _body(graph, group)
        return fused_p.bind(*operands, body=body, kind=group.kind, name=graph.node_name(node))

    return rebuild(graph, emit)


def find_fusion_groups(graph: Graph) -> list[FusionGroup]:
    """The groups `fuse` would make, roots in topological order.

    >>> import graphc
    >>> x = graphc.placeholder((None, 4), name="x")
    >>> w = graphc.placeholder((4, 3), name="w")
    >>> g = graphc.Graph([x, w], graphc.relu(x @ w + 1.0))
    >>> [group.kind for group in find_fusion_groups(g)]
    ['epilogue']
    """
    step = {node: i for i, node in enumerate(graph.order)}
    taken: set[int] = set()
    groups: list[FusionGroup] = []
    for root in reversed(graph.order):
        if root in taken or not _is_compute(graph, root):
            continue
        group = _best_group(graph, root, step, taken)
        if group is not None:
            groups.append(group)
            taken |= set(group.members) - group.shared
    return groups[::-1]


def partition_is_acyclic(graph: Graph, blocks: Sequence[Collection[int]]) -> bool:
    """True when contracting each block of nodes to one node leaves the graph acyclic.

    A fusion group is safe exactly when its contraction is: no path leaves it and re-enters.

    >>> import graphc
    >>> x = graphc.placeholder((3,), name="x")
    >>> a = graphc.exp(x)
    >>> g = graphc.Graph([x], a + graphc.sum(a))
    >>> nodes = {g.primitive(n).name: n for n in g.order}
    >>> partition_is_acyclic(g, [{nodes["exp"], nodes["add"]}])
    False
    """
    block_of = {n: i for i, block in enumerate(blocks) for n in block}
    contracted = nx.DiGraph()
    contracted.add_nodes_from(("block", i) for i in range(len(blocks)))
    for u, v in graph.nx.edges():
        bu = ("block", block_of[u]) if u in block_of else ("node", u)
        bv = ("block", block_of[v]) if v in block_of else ("node", v)
        if bu != bv:
            contracted.add_edge(bu, bv)
    return nx.is_directed_acyclic_graph(contracted)


def _is_compute(graph: Graph, node: int) -> bool:
    prim = graph.primitive(node)
    return prim.has(Property.ELEMENTWISE) and not prim.has(Property.SOURCE)


def _best_group(
    graph: Graph, root: int, step: Mapping[int, int], taken: set[int]
) -> FusionGroup | None:
    """The largest valid group at `root`: broadcasts and an anchor are dropped, in that order,
    when keeping them would break the contract (e.g. a broadcast widening the output)."""
    for allow_broadcast, allow_anchor in ((True, True), (False, True), (True, False), (False,) * 2):
        group = _grow(graph, root, step, taken, allow_broadcast, allow_anchor)
        if group is not None:
            return group
    return None


def _grow(
    graph: Graph,
    root: int,
    step: Mapping[int, int],
    taken: set[int],
    allow_broadcast: bool,
    allow_anchor: bool,
) -> FusionGroup | None:
    outputs = set(graph.outputs)
    members = {root}
    shared: set[int] = set()
    anchor: int | None = None
    blocked: set[int] = set()  # the anchor's operands: they must stay body inputs
    size = 1  # computing members so far (the root)
    heap = [(-step[o], o) for o in graph.operands(root)]
    heapq.heapify(heap)
    while heap:  # latest first, so every user of a candidate inside the group is decided already
        _, node = heapq.heappop(heap)
        if node in members or node in blocked or node in taken:
            continue
        prim = graph.primitive(node)
        if prim is constant_p:
            if is_body_node(prim, graph.type(node)):
                members.add(node)
                shared.add(node)
            continue
        users = set(graph.nx.successors(node))
        exclusive = node not in outputs and users <= members and not users & shared
        if prim is broadcast_to_p:
            if not allow_broadcast:
                continue
            if not exclusive:
                shared.add(node)
        elif prim in ANCHORS:
            if not (allow_anchor and anchor is None and exclusive):
                continue
            anchor = node
            blocked |= set(graph.operands(node))
            members.add(node)
            continue
        elif not (exclusive and _is_compute(graph, node)) or size >= MAX_GROUP_SIZE:
            continue
        size += 1
        members.add(node)
        for operand in graph.operands(node):
            heapq.heappush(heap, (-step[operand], operand))
    computing = [m for m in members if graph.primitive(m) is not constant_p]
    if len(computing) < 2:
        return None
    order = sorted(members, key=lambda m: (m != anchor, step[m]))
    operands = tuple(dict.fromkeys(o for m in order for o in graph.operands(m) if o not in members))
    kind = "elementwise" if anchor is None else "epilogue"
    out_shape = graph.type(root).shape
    if anchor is not None:
        fits = out_shape == graph.type(anchor).shape
    else:
        fits = out_shape == broadcast_shapes(*(graph.type(o).shape for o in operands))
    if not fits:
        return None
    return FusionGroup(root, tuple(order), frozenset(shared), operands, kind)


def _body(graph: Graph, group: FusionGroup) -> Graph:
    """The group as a graph: its operands become inputs 0..k-1, then members in body order."""
    body = nx.MultiDiGraph()
    ids: dict[int, int] = {}
    for operand in group.operands:
        t = graph.type(operand)
        ids[operand] = len(ids)
        body.add_node(ids[operand], primitive=input_p, attrs={"type": t}, type=t, name=None)
    for member in group.members:
        ids[member] = len(ids)
        body.add_node(ids[member], **graph.nx.nodes[member])
        for key, operand in enumerate(graph.operands(member)):
            body.add_edge(ids[operand], ids[member], key=key)
    return Graph.from_nx(body, range(len(group.operands)), [ids[group.root]], single_output=True)


register_pass("fuse", fuse, "fuse elementwise ops and matmul/conv epilogues into fused nodes")
