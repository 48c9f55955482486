"""Fusion: groups of elementwise ops, with the matmul/conv or the reductions around them, become
one node.

The `fused` primitive is the contract between this pass and the backend, which lowers each
fused node as one loop nest (a few loops over each row for "rows"), so the group's
intermediates never touch memory:

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
  - "reduce": ONE reduction (`reduce_sum`, `reduce_max`, `reduce_min`) whose operand has the
    broadcast shape of the operands; the output is the reduction, or its keepdims reshape (the
    reduced axes kept as 1s: the same array in memory). Every other non-input node is as in an
    elementwise body and feeds the reduction, so the reduced value is accumulated element by
    element and the elementwise result (`square(y - t)` of a loss) is never stored.
  - "rows": the output has the broadcast shape L of the operands. The reductions all reduce the
    same trailing axes (a *row*) of values of shape L, and each is read only through its
    keepdims reshape, which broadcasts it back along the row; every other non-input node is as
    in an elementwise body. softmax, log_softmax and layer norm are one "rows" node: the
    backend walks each row once per reduction, then once more for the output, while the row
    is in the cache (`plan_rows` says what each walk computes). A full-shape value needed by
    two walks (softmax's exp) is computed once and kept in the output row in between: at most
    one such value, of the output's dtype, so no work is ever done twice.
- Its numpy implementation evaluates the body (the batch size comes from a batched operand, or
  from the output shape), so the interpreter checks fused graphs like any other.

Groups are single-output regions grown from a root towards its operands, in reverse topological
order. A root is the last elementwise op of a chain, or a reduction (or its keepdims reshape),
which grows a "reduce" group. A producer joins when all its users are already in the group (so
nothing computed in the group is needed outside it, and no work is duplicated), except free
nodes (`broadcast_to`, one-element constants), which are copied into every group that reads
them. From an elementwise root, a keepdims reshape joins together with its reduction when both
have no other users, and the reduction's operands are grown in turn (a "rows" group); a group
breaking its kind's contract is tried again without reductions, then without broadcasts, then
without the matmul. Because only the root has users outside its group, a path that leaves the
group starts at the root and cannot come back into it without a cycle in the original graph:
`partition_is_acyclic` checks this with networkx on the contracted graph before rewriting.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from graphc.autodiff import defrules
from graphc.core import Primitive, Property, Value, constant_p, input_p
from graphc.differentiate import pull_cotangents, push_tangents, replay
from graphc.errors import GraphError, ShapeError
from graphc.graph import Graph
from graphc.passes.manager import register_pass
from graphc.passes.rebuild import node_value, rebuild
from graphc.primitives.conv import conv_p
from graphc.primitives.linalg import matmul_p
from graphc.primitives.reduce import reduce_max_p, reduce_min_p, reduce_sum_p
from graphc.primitives.shape import broadcast_to_p, dim_size_p, reshape_p
from graphc.printing import PRINT_RULES
from graphc.symbolic import defsympy_array, to_sympy
from graphc.types import Shape, TensorType, broadcast_shapes, format_shape

KINDS = ("elementwise", "epilogue", "reduce", "rows")
ANCHORS = (matmul_p, conv_p)  # the ops an epilogue can follow
REDUCTIONS = (reduce_sum_p, reduce_max_p, reduce_min_p)  # the ops "reduce"/"rows" bodies hold

#: Most computing nodes in one group. A fused node is one LLVM function, and LLVM's optimizer
#: takes superlinear time in a function's size: a chain of 17,000 ops fused whole took 21 s to
#: optimize and 630 MB, in groups of this size 8 s (linear in the ops from here) and 360 MB.
#: A loop nest of a few hundred ops is bound by arithmetic, not memory, so the extra pass over
#: memory between groups costs little.
MAX_GROUP_SIZE = 256

#: Most reductions in one "rows" group: a row is walked once per reduction, plus once (softmax
#: and layer norm have two). Bounding them bounds the cost of checking a group.
MAX_ROW_REDUCTIONS = 4

#: Most times a rows group is grown again without the values it would compute twice.
MAX_ROW_ATTEMPTS = 4

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
        loop_shape = _operands_shape(operands)
    if kind == "reduce":  # the loop nest runs over the reduction's operand
        reduction, result = reduction_of(body), body.outputs[0]
        nodes = [n for n in nodes if n not in (reduction, result)]
        if any(reduction in body.operands(n) for n in nodes):
            raise GraphError("fused: in a reduce body, only the output may follow the reduction")
        out_shape = body.type(body.operands(reduction)[0]).shape
    elif kind == "rows":  # the reductions and their reshapes are checked by `plan_rows`
        plan_rows(body, loop_shape)
        nodes = [n for n in nodes if body.primitive(n) not in (*REDUCTIONS, reshape_p)]
    for n in nodes:
        if not is_body_node(body.primitive(n), body.type(n)):
            raise GraphError(f"fused: a {kind} body cannot hold {body.primitive(n).name}")
    if out_shape != loop_shape:
        raise GraphError(
            f"fused: a {kind} body must give the shape [{format_shape(loop_shape)}] of its "
            f"loop nest, got [{format_shape(out_shape)}]"
        )


def _operands_shape(operands: Sequence[TensorType]) -> Shape:
    try:
        return broadcast_shapes(*(t.shape for t in operands))
    except ShapeError as exc:
        raise GraphError(f"fused: the operands do not broadcast together: {exc}") from None


def is_body_node(prim: Primitive, t: TensorType) -> bool:
    """Elementwise ops, broadcasts and one-element constants: what a loop nest computes inline.

    >>> is_body_node(matmul_p, TensorType((2, 2), "float32"))
    False
    """
    if prim is constant_p:
        return t.static_size == 1 and not t.is_batched
    return prim is broadcast_to_p or prim.has(Property.ELEMENTWISE)


def kept_shape(shape: Shape, axes: Iterable[int]) -> Shape:
    """`shape` with the reduced `axes` kept as 1s: the shape of a keepdims reduction.

    >>> kept_shape((None, 4, 5), (1, 2))
    (None, 1, 1)
    """
    axes = set(axes)
    return tuple(1 if a in axes else d for a, d in enumerate(shape))


def is_keepdims(graph: Graph, node: int) -> bool:
    """Whether `node` is a reshape of a reduction that keeps the reduced axes as 1s (the same
    array in memory; what `graphc.sum(..., keepdims=True)` builds)."""
    if graph.primitive(node) is not reshape_p:
        return False
    (operand,) = graph.operands(node)
    if graph.primitive(operand) not in REDUCTIONS:
        return False
    source = graph.type(graph.operands(operand)[0]).shape
    return graph.type(node).shape == kept_shape(source, graph.attrs(operand)["axes"])


def reduction_of(body: Graph) -> int:
    """The reduction of a "reduce" body: its output, or the output's keepdims operand.

    Raises:
        GraphError: when the output is neither.
    """
    result = body.outputs[0]
    if is_keepdims(body, result):
        return body.operands(result)[0]
    if body.primitive(result) not in REDUCTIONS:
        names = "/".join(p.name for p in REDUCTIONS)
        raise GraphError(f"fused: a reduce body must end with a {names}, or its keepdims reshape")
    return result


class RowConflict(GraphError):
    """A rows body would compute `nodes` (body node ids) in two walks over a row."""

    def __init__(self, message: str, nodes: Collection[int]):
        super().__init__(message)
        self.nodes = frozenset(nodes)


@dataclass(frozen=True)
class RowPlan:
    """How the backend runs a "rows" body, one row at a time (see `plan_rows`).

    Attributes:
        axes: the reduced axes, the trailing axes of the output shape (a row).
        reductions: in body order; walk i over the row accumulates `reductions[i]`, and one
            last walk computes the output.
        row_nodes: the nodes with one value per row, computed once a row between walks: the
            reductions, their keepdims reshapes and what only depends on those and constants.
        carried: the node computed by walk `carried_walk` and kept in the output row for the
            later walks (None when no value is needed by two walks).
        carried_walk: the walk that computes `carried` (None without one).
    """

    axes: tuple[int, ...]
    reductions: tuple[int, ...]
    row_nodes: frozenset[int]
    carried: int | None
    carried_walk: int | None

    def targets(self, body: Graph) -> list[int]:
        """What each walk computes per element: the reductions' operands, then the output."""
        return [body.operands(r)[0] for r in self.reductions] + [body.outputs[0]]

    def stops(self, body: Graph, walk: int) -> set[int]:
        """The nodes walk `walk` reads instead of computing: inputs, row nodes, and the carried
        value once it is kept in the output row."""
        stops = set(body.inputs) | self.row_nodes
        if self.carried is not None and walk > self.carried_walk:
            stops.add(self.carried)
        return stops


def plan_rows(body: Graph, loop_shape: Shape | None = None) -> RowPlan:
    """The walks of a "rows" body; `GraphError` when it breaks the contract.

    >>> import graphc
    >>> x = graphc.placeholder((None, 5), name="x")
    >>> body = graphc.Graph([x], graphc.softmax(x))
    >>> plan = plan_rows(body)
    >>> plan.axes, [body.primitive(r).name for r in plan.reductions]
    ((1,), ['reduce_max', 'reduce_sum'])
    >>> body.primitive(plan.carried).name, plan.carried_walk  # exp(x - max), kept for the div
    ('exp', 1)
    """
    result = body.outputs[0]
    shape = body.type(result).shape if loop_shape is None else loop_shape
    reductions = tuple(n for n in body.order if body.primitive(n) in REDUCTIONS)
    if not reductions:
        raise GraphError("fused: a rows body must hold a reduction")
    axes = body.attrs(reductions[0])["axes"]
    trailing = tuple(range(len(shape) - len(axes), len(shape)))
    users = {n: set(body.nx.successors(n)) for n in body.order}
    for r in reductions:
        if body.attrs(r)["axes"] != axes or axes != trailing:
            raise GraphError(
                f"fused: the reductions of a rows body must all reduce the trailing axes "
                f"{trailing} of [{format_shape(shape)}], got {body.attrs(r)['axes']}"
            )
        if body.type(body.operands(r)[0]).shape != shape:
            raise GraphError(
                f"fused: a rows body reduces values of shape [{format_shape(shape)}], got "
                f"{body.type(body.operands(r)[0])}"
            )
        if r == result or not all(is_keepdims(body, u) for u in users[r]):
            raise GraphError("fused: a rows body reads its reductions through keepdims reshapes")
    for n in body.order:
        prim = body.primitive(n)
        if prim is reshape_p and not is_keepdims(body, n):
            raise GraphError("fused: a rows body holds reshapes of its reductions only")
        if prim not in REDUCTIONS and not _broadcasts_to(body.type(n).shape, shape):
            raise GraphError(
                f"fused: every value of a rows body must broadcast to [{format_shape(shape)}], "
                f"got {body.type(n)}"
            )
    row_nodes: set[int] = set()
    for n in body.order:
        prim = body.primitive(n)
        operands = body.operands(n)
        if prim in REDUCTIONS or prim is reshape_p:
            row_nodes.add(n)
        elif prim not in (input_p, constant_p) and all(
            o in row_nodes or body.primitive(o) is constant_p for o in operands
        ):
            row_nodes.add(n)
    plan = RowPlan(axes, reductions, frozenset(row_nodes), None, None)
    repeated = _computed_twice(body, plan)
    if not repeated:
        return plan
    # Keeping a value spares the later walks its ancestors only: the one value that can help
    # is the latest of those computed twice, when all the others are its ancestors.
    dtype = body.type(result).dtype
    candidate = max(repeated, key={n: i for i, n in enumerate(body.order)}.__getitem__)
    twice = repeated
    if body.type(candidate).dtype == dtype:
        targets = enumerate(plan.targets(body))
        first = next(i for i, t in targets if candidate in walk_nodes(body, t, plan.stops(body, i)))
        carried = RowPlan(axes, reductions, frozenset(row_nodes), candidate, first)
        twice = _computed_twice(body, carried)
        if not twice:
            return carried
    names = ", ".join(sorted(body.primitive(n).name for n in repeated))
    raise RowConflict(
        f"fused: a rows body would compute {names} in two walks over a row; it can keep one "
        f"value of the output's dtype ({dtype}) between walks",
        twice,
    )


def _broadcasts_to(shape: Shape, target: Shape) -> bool:
    try:
        return broadcast_shapes(shape, target) == tuple(target)
    except ShapeError:
        return False


def walk_nodes(body: Graph, target: int, stops: Collection[int]) -> set[int]:
    """The nodes a walk evaluates per element to get `target`: its ancestors up to `stops`.

    >>> import graphc
    >>> x = graphc.placeholder((3,), name="x")
    >>> body = graphc.Graph([x], graphc.exp(graphc.sin(x)))
    >>> sorted(body.primitive(n).name for n in walk_nodes(body, body.outputs[0], body.inputs))
    ['exp', 'sin']
    """
    seen: set[int] = set()
    stack = [target]
    while stack:
        node = stack.pop()
        if node in seen or node in stops:
            continue
        seen.add(node)
        stack.extend(body.operands(node))
    return seen


def _computed_twice(body: Graph, plan: RowPlan) -> set[int]:
    """The computing nodes that two walks of `plan` would evaluate."""
    count: dict[int, int] = {}
    for walk, target in enumerate(plan.targets(body)):
        for n in walk_nodes(body, target, plan.stops(body, walk)):
            if body.primitive(n) not in (constant_p, broadcast_to_p):
                count[n] = count.get(n, 0) + 1
    return {n for n, c in count.items() if c > 1}


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
    absorbed = {m for g in groups for m in g.members if m != g.root and m not in g.shared}
    # the batch size of a value fused away is read from a batched input instead
    repointed = {
        (m, u) for m in absorbed for u in graph.nx.successors(m) if graph.primitive(u) is dim_size_p
    }
    blocks = [set(g.members) - g.shared for g in groups]
    if not partition_is_acyclic(graph, blocks, ignored=repointed):
        raise GraphError("fuse: internal error: the fusion groups would form a cycle")
    by_root = {g.root: g for g in groups}

    def emit(node: int, env: Mapping[int, Value]) -> Value:
        group = by_root.get(node)
        if group is not None:
            operands = [env[o] for o in group.operands]
            body = _body(graph, group)
            return fused_p.bind(*operands, body=body, kind=group.kind, name=graph.node_name(node))
        if graph.primitive(node) is dim_size_p and graph.operands(node)[0] in absorbed:
            source = _batch_source(graph)
            axis = graph.type(source).shape.index(None)
            return dim_size_p.bind(env[source], axis=axis, name=graph.node_name(node))
        return node_value(graph, node, env)

    return rebuild(graph, emit)


def find_fusion_groups(graph: Graph) -> list[FusionGroup]:
    """The groups `fuse` would make, roots in topological order.

    >>> import graphc
    >>> x = graphc.placeholder((None, 4), name="x")
    >>> w = graphc.placeholder((4, 3), name="w")
    >>> g = graphc.Graph([x, w], [graphc.relu(x @ w + 1.0), graphc.sum(graphc.exp(x), axis=1)])
    >>> [group.kind for group in find_fusion_groups(g)]
    ['epilogue', 'reduce']
    """
    step = {node: i for i, node in enumerate(graph.order)}
    present = {graph.primitive(n) for n in graph.order}
    taken: set[int] = set()
    groups: list[FusionGroup] = []
    for root in reversed(graph.order):
        if root in taken:
            continue
        if _is_compute(graph, root):
            group = _best_group(graph, root, step, taken, present)
        elif _reduce_root(graph, root, taken) is not None:
            group = _grow(graph, root, step, taken, True, False, False)
            if group is None and broadcast_to_p in present:
                group = _grow(graph, root, step, taken, False, False, False)
        else:
            continue
        if group is not None:
            groups.append(group)
            taken |= set(group.members) - group.shared
    return groups[::-1]


def partition_is_acyclic(
    graph: Graph, blocks: Sequence[Collection[int]], ignored: Collection[tuple[int, int]] = ()
) -> bool:
    """True when contracting each block of nodes to one node leaves the graph acyclic.

    A fusion group is safe exactly when its contraction is: no path leaves it and re-enters.
    The `ignored` edges (u, v) are left out (`fuse` points them elsewhere).

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
        if (u, v) in ignored:
            continue
        bu = ("block", block_of[u]) if u in block_of else ("node", u)
        bv = ("block", block_of[v]) if v in block_of else ("node", v)
        if bu != bv:
            contracted.add_edge(bu, bv)
    return nx.is_directed_acyclic_graph(contracted)


def _is_compute(graph: Graph, node: int) -> bool:
    prim = graph.primitive(node)
    return prim.has(Property.ELEMENTWISE) and not prim.has(Property.SOURCE)


def _users(graph: Graph, node: int) -> set[int]:
    """The nodes reading `node`'s values. A `dim_size` (mean's count over the batch axis) reads
    only the batch size, which `fuse` then takes from a batched input: it does not keep
    `node` out of a group."""
    users = set(graph.nx.successors(node))
    readers = {u for u in users if graph.primitive(u) is not dim_size_p}
    return readers if readers == users or _batch_source(graph) is not None else users


def _batch_source(graph: Graph) -> int | None:
    """The first batched input: every `None` dimension of the graph is its batch size."""
    return next((n for n in graph.inputs if graph.type(n).is_batched), None)


def _reduce_root(graph: Graph, node: int, taken: Collection[int]) -> int | None:
    """The reduction a "reduce" group rooted at `node` computes: `node` itself, or the
    reduction `node` is the keepdims reshape of (when nothing else reads that reduction)."""
    if graph.primitive(node) in REDUCTIONS:
        return node
    if not is_keepdims(graph, node):
        return None
    (reduction,) = graph.operands(node)
    alone = _users(graph, reduction) == {node} and reduction not in graph.outputs
    return reduction if alone and reduction not in taken else None


#: (broadcasts, matmul/conv, reductions) allowed, in the order `_best_group` tries them at an
#: elementwise root: a "rows" group, then an epilogue or elementwise group.
LADDER = (
    (True, False, True),
    (False, False, True),
    (True, True, False),
    (False, True, False),
    (True, False, False),
    (False, False, False),
)


def _best_group(
    graph: Graph,
    root: int,
    step: Mapping[int, int],
    taken: set[int],
    present: Collection[Primitive],
) -> FusionGroup | None:
    """The largest valid group at an elementwise `root`: reductions, broadcasts and an anchor
    are dropped, in `LADDER`'s order, when keeping them would break the contract (e.g. a
    broadcast widening the output, or two values a rows body would compute twice). Steps that
    cannot differ from another one, for lack of such nodes in the graph (`present`), are
    skipped."""
    reduces = any(p in present for p in REDUCTIONS)
    anchors = any(p in present for p in ANCHORS)
    for allow_broadcast, allow_anchor, allow_reduce in LADDER:
        if (allow_reduce and not reduces) or (allow_anchor and not anchors):
            continue
        if not allow_broadcast and broadcast_to_p not in present:
            continue
        if allow_reduce:
            group = _rows_group(graph, root, step, taken, allow_broadcast)
        else:
            group = _grow(graph, root, step, taken, allow_broadcast, allow_anchor, False)
        if group is not None:
            return group
    return None


def _rows_group(
    graph: Graph, root: int, step: Mapping[int, int], taken: set[int], allow_broadcast: bool
) -> FusionGroup | None:
    """The rows group grown from `root`, if a valid one holds a reduction. Values the group
    would compute in two walks are left out of it, and it is grown again: in
    `layer_norm(x + y)` the sum `x + y`, read by the mean's and the variance's walks, becomes
    an operand (computed by its own group) and the rest stays one rows node."""
    excluded: set[int] = set()
    for _ in range(MAX_ROW_ATTEMPTS):
        group = _grow(graph, root, step, taken, allow_broadcast, False, True, excluded)
        if group is None:
            return None
        try:
            check_body(_body(graph, group), [graph.type(o) for o in group.operands], "rows")
        except RowConflict as conflict:
            ids = [*group.operands, *group.members]  # body node id -> graph node
            more = {ids[n] for n in conflict.nodes} - excluded
            if not more:
                return None
            excluded |= more
        except GraphError:  # e.g. a broadcast widening the output
            return None
        else:
            return group
    return None


def _grow(
    graph: Graph,
    root: int,
    step: Mapping[int, int],
    taken: set[int],
    allow_broadcast: bool,
    allow_anchor: bool,
    allow_reduce: bool,
    excluded: Collection[int] = (),
) -> FusionGroup | None:
    """The group grown from `root` with what the flags allow, never taking the `excluded`
    nodes; None when it has fewer than two computing nodes or breaks its kind's contract.
    With `allow_reduce`, only a group holding a reduction (a "rows" group) is returned, and
    `_rows_group` checks it. A reduction root grows a "reduce" group."""
    outputs = set(graph.outputs)
    members = {root}
    shared: set[int] = set()
    anchor: int | None = None
    reduced = _reduce_root(graph, root, taken) if not _is_compute(graph, root) else None
    reductions: list[int] = [] if reduced is None else [reduced]
    members |= set(reductions)
    row_shape = graph.type(root).shape
    blocked: set[int] = set()  # the anchor's operands: they must stay body inputs
    size = len(members)  # computing members so far
    heap = [(-step[o], o) for o in graph.operands(reduced if reduced is not None else root)]
    heapq.heapify(heap)
    while heap:  # latest first, so every user of a candidate inside the group is decided already
        _, node = heapq.heappop(heap)
        if node in members or node in blocked or node in taken or node in excluded:
            continue
        prim = graph.primitive(node)
        if prim is constant_p:
            if is_body_node(prim, graph.type(node)):
                members.add(node)
                shared.add(node)
            continue
        users = _users(graph, node)
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
        elif prim is reshape_p and allow_reduce and reduced is None:
            reduction = _row_reduction(graph, node, row_shape, reductions)
            if not exclusive or reduction is None or reduction in taken:
                continue
            if len(reductions) >= MAX_ROW_REDUCTIONS:
                continue
            if size + 2 > MAX_GROUP_SIZE:
                continue
            size += 2
            members |= {node, reduction}
            reductions.append(reduction)
            for operand in graph.operands(reduction):
                heapq.heappush(heap, (-step[operand], operand))
            continue
        elif not (exclusive and _is_compute(graph, node)) or size >= MAX_GROUP_SIZE:
            continue
        size += 1
        members.add(node)
        for operand in graph.operands(node):
            heapq.heappush(heap, (-step[operand], operand))
    computing = [m for m in members if graph.primitive(m) is not constant_p]
    if len(computing) < 2 or (allow_reduce and not reductions):
        return None
    order = sorted(members, key=lambda m: (m != anchor, step[m]))
    operands = tuple(dict.fromkeys(o for m in order for o in graph.operands(m) if o not in members))
    if reduced is not None:
        kind = "reduce"
    elif reductions:
        kind = "rows"
    else:
        kind = "elementwise" if anchor is None else "epilogue"
    group = FusionGroup(root, tuple(order), frozenset(shared), operands, kind)
    if kind == "rows":
        return group
    if kind == "reduce":
        try:
            check_body(_body(graph, group), [graph.type(o) for o in operands], kind)
        except GraphError:  # e.g. a broadcast widening the reduced value
            return None
        return group
    out_shape = graph.type(root).shape
    if anchor is not None:
        fits = out_shape == graph.type(anchor).shape
    else:
        fits = out_shape == broadcast_shapes(*(graph.type(o).shape for o in operands))
    return group if fits else None


def _row_reduction(
    graph: Graph, node: int, row_shape: Shape, reductions: Sequence[int]
) -> int | None:
    """The reduction `node` keeps the dims of, when a rows group of shape `row_shape` can take
    both: it reduces the trailing axes (those of the group's other reductions) of a value of
    that shape, and nothing else reads it."""
    if not is_keepdims(graph, node):
        return None
    (reduction,) = graph.operands(node)
    axes = graph.attrs(reduction)["axes"]
    source = graph.type(graph.operands(reduction)[0]).shape
    trailing = tuple(range(len(row_shape) - len(axes), len(row_shape)))
    if source != row_shape or axes != trailing or reduction in graph.outputs:
        return None
    if reductions and graph.attrs(reductions[0])["axes"] != axes:
        return None
    return reduction if _users(graph, reduction) == {node} else None


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


register_pass(
    "fuse",
    fuse,
    "fuse elementwise ops, matmul/conv epilogues and reductions into fused nodes",
)
