"""Local rewrites: small functions that replace one node by an equivalent expression.

A rewrite is registered with `@rewrite(tracks=[mul_p], phase="canonicalize", tags=(...))`. It
receives a `NodeView` of one freshly built node (its primitive, attributes, type, operand views,
constant values) and returns a replacement `Value` built with graphc ops, or None when it does
not apply. Each carries a one-line algebra comment, like PyTensor's node rewriters:

    @rewrite(tracks=[neg_p])
    def neg_neg(node):  # --x -> x
        ...

`apply_rewrites` runs a set of rewrites to a fixed point. Each round replays the graph as Values
in topological order and offers every rebuilt node to the rewrites tracking its primitive until
none applies; rounds repeat until one changes nothing. Replaying means the input graph is never
mutated, and a rewrite cannot break another node: it only ever replaces the node it was given.

The engine enforces what every rewrite must keep: the node's exact type (a rewrite that would
change the dtype or shape must insert a cast or broadcast_to itself; the engine raises otherwise)
and the node's user-facing name, which moves to the replacement when the replacement is new.

Phases group rewrites by purpose: "fold" (constant folding) and "canonicalize" (exact algebra);
the multi-node inference rewrites are patterns matched with networkx instead
(`graphc.passes.inference`). The tag "fast_math" marks rewrites that
change floating-point results; they run only when the caller passes `fast_math=True` (a rewrite
exact for some dtypes only checks `node.fast_math` itself).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphc.core import Primitive, Value, constant_p
from graphc.errors import GraphError
from graphc.graph import Graph
from graphc.passes.rebuild import input_values, node_value
from graphc.primitives.shape import broadcast_to_p
from graphc.types import TensorType

PHASES = ("fold", "canonicalize")
FAST_MATH = "fast_math"
#: Elements above which a constant is not folded, so folding never blows up memory.
FOLD_LIMIT = 1 << 20
MAX_ROUNDS = 32  # a rewrite system needing more rounds than this is oscillating
MAX_REWRITES_PER_NODE = 64


@dataclass(frozen=True)
class Rewrite:
    """A registered local rewrite: `fn(node_view) -> Value | None`."""

    name: str
    fn: Callable[[NodeView], Value | None]
    tracks: frozenset[Primitive] | None  # None: offered every node
    phase: str
    tags: frozenset[str]


#: Every registered rewrite, in registration order (the order they are tried in).
REWRITES: list[Rewrite] = []


def rewrite(
    tracks: Iterable[Primitive] | None = None,
    *,
    phase: str = "canonicalize",
    tags: Sequence[str] = (),
    name: str | None = None,
) -> Callable[[Callable[[NodeView], Value | None]], Callable[[NodeView], Value | None]]:
    """Register a local rewrite for nodes of the `tracks` primitives (None: every node).

    >>> from graphc.primitives.elementwise import abs_p
    >>> @rewrite(tracks=[abs_p], name="doc_abs_abs")
    ... def abs_abs(node):  # |(|x|)| -> |x|
    ...     x = node.operands[0]
    ...     return x.value if x.primitive is abs_p else None
    >>> [r.phase for r in REWRITES if r.name == "doc_abs_abs"]
    ['canonicalize']
    >>> unregister("doc_abs_abs")
    """
    if phase not in PHASES:
        raise GraphError(f"rewrite: unknown phase {phase!r}; expected one of {PHASES}")

    def register(fn: Callable[[NodeView], Value | None]) -> Callable[[NodeView], Value | None]:
        label = name or fn.__name__
        if any(r.name == label for r in REWRITES):
            raise GraphError(f"rewrite: a rewrite named {label!r} is already registered")
        tracked = None if tracks is None else frozenset(tracks)
        REWRITES.append(Rewrite(label, fn, tracked, phase, frozenset(tags)))
        return fn

    return register


def unregister(name: str) -> None:
    """Remove a registered rewrite by name (for rewrites registered temporarily, as in tests).

    >>> _ = rewrite(name="doc_nothing")(lambda node: None)
    >>> unregister("doc_nothing")
    >>> [r for r in REWRITES if r.name == "doc_nothing"]
    []
    """
    REWRITES[:] = [r for r in REWRITES if r.name != name]


def select_rewrites(phases: Sequence[str], *, fast_math: bool = False) -> list[Rewrite]:
    """The registered rewrites of `phases`, without the fast-math ones unless asked.

    >>> "exp_of_log" in [r.name for r in select_rewrites(["canonicalize"], fast_math=True)]
    True
    """
    return [r for r in REWRITES if r.phase in phases and (fast_math or FAST_MATH not in r.tags)]


@dataclass
class RewriteContext:
    """What rewrites may consult besides the node: options and the current round's users."""

    fast_math: bool = False
    fold_limit: int = FOLD_LIMIT
    users: dict[int, int] = field(default_factory=dict)  # id(Value) -> users in the round's input
    touched: set[int] = field(default_factory=set)  # ids of Values a rewrite added users to
    known: set[int] = field(default_factory=set)  # ids of Values already in the new graph
    alive: list[Value] = field(default_factory=list)  # keeps those ids from being reused

    def register(self, value: Value, users: int | None = None) -> None:
        """Note `value` as part of the new graph, with its user count when known."""
        self.known.add(id(value))
        self.alive.append(value)
        if users is not None:
            self.users[id(value)] = users


class NodeView:
    """A read-only view of one node for rewrites: what it computes and from what.

    Operands are views too, so a rewrite can look a few nodes up the graph. `constant` and
    `uniform` expose constant values; `single_user` says whether the node's result feeds exactly
    one operand slot, which rewrites that would otherwise duplicate work must check.
    """

    __slots__ = ("value", "context")

    def __init__(self, value: Value, context: RewriteContext):
        self.value = value
        self.context = context

    def __repr__(self) -> str:
        return f"NodeView({self.value!r})"

    @property
    def primitive(self) -> Primitive:
        return self.value.primitive

    @property
    def attrs(self) -> dict[str, Any]:
        return self.value.attrs

    @property
    def type(self) -> TensorType:
        return self.value.type

    @property
    def shape(self) -> tuple:
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def name(self) -> str | None:
        return self.value.name

    @property
    def fast_math(self) -> bool:
        return self.context.fast_math

    @property
    def operands(self) -> tuple[NodeView, ...]:
        return tuple(NodeView(v, self.context) for v in self.value.inputs)

    @property
    def constant(self) -> np.ndarray | None:
        """The array when the node is a constant, else None."""
        return self.value.attrs["value"].array if self.value.primitive is constant_p else None

    @property
    def uniform(self) -> Any:
        """The one value every element has, when the node is a constant whose elements are all
        equal, signs of zeros included, or a broadcast of one; else None. (A nan constant has
        no uniform value: nan != nan.)"""
        value = self.value
        while value.primitive is broadcast_to_p:
            value = value.inputs[0]
        if value.primitive is not constant_p:
            return None
        array = value.attrs["value"].array
        if array.size == 0:
            return None
        first = array.flat[0]
        same = np.all(array == first) and np.all(np.signbit(array) == np.signbit(first))
        return first if bool(same) else None

    def is_uniform(self, number: Any) -> bool:
        """True when every element is known to equal `number` (see `uniform`)."""
        value = self.uniform
        return value is not None and bool(value == number)

    @property
    def single_user(self) -> bool:
        """True when exactly one operand slot in the graph reads this node's result (an output
        of the graph counts as a user). Unknown within a round (for values a rewrite just built
        or reused) counts as False; the next round knows."""
        key = id(self.value)
        return self.context.users.get(key) == 1 and key not in self.context.touched


def apply_rewrites(
    graph: Graph,
    rewrites: Sequence[Rewrite],
    *,
    fast_math: bool = False,
    fold_limit: int = FOLD_LIMIT,
    pass_name: str = "rewrite",
) -> Graph:
    """Apply `rewrites` to a fixed point; return `graph` itself when none applies.

    >>> import graphc
    >>> x = graphc.placeholder((3,), name="x")
    >>> g = graphc.Graph([x], -(-x))
    >>> len(apply_rewrites(g, select_rewrites(["canonicalize"])))
    1
    """
    table = _by_primitive(rewrites)
    for _ in range(MAX_ROUNDS):
        context = RewriteContext(fast_math=fast_math, fold_limit=fold_limit)
        rebuilt = _rewrite_round(graph, table, context, pass_name)
        if rebuilt is None:
            return graph
        graph = rebuilt
    raise GraphError(
        f"{pass_name}: the rewrites did not reach a fixed point after {MAX_ROUNDS} rounds; "
        f"two rewrites probably undo each other"
    )


def _by_primitive(rewrites: Sequence[Rewrite]) -> dict[Primitive | None, list[Rewrite]]:
    table: dict[Primitive | None, list[Rewrite]] = {}
    for r in rewrites:
        for prim in r.tracks if r.tracks is not None else (None,):
            table.setdefault(prim, []).append(r)
    return table


def _rewrite_round(
    graph: Graph,
    table: dict[Primitive | None, list[Rewrite]],
    context: RewriteContext,
    pass_name: str,
) -> Graph | None:
    """One replay of the graph with rewrites; None when no rewrite applied."""
    uses = _user_counts(graph)
    inputs = input_values(graph)
    env: dict[int, Value] = dict(zip(graph.inputs, inputs))
    for node, value in env.items():
        context.register(value, uses[node])
    fired = False
    for node in graph.order:
        if node in env:
            continue
        value = node_value(graph, node, env)
        context.register(value, uses[node])
        new = _rewrite_node(value, table, context, pass_name)
        fired = fired or new is not value
        env[node] = new
    if not fired:
        return None
    outputs = [env[n] for n in graph.outputs]
    return Graph(inputs, outputs[0] if graph.single_output else outputs, name=graph.name)


def _user_counts(graph: Graph) -> dict[int, int]:
    """Operand slots reading each node, plus one per appearance among the graph's outputs."""
    counts = {n: graph.nx.out_degree(n) for n in graph.nx.nodes}
    for n in graph.outputs:
        counts[n] += 1
    return counts


def _rewrite_node(
    value: Value,
    table: dict[Primitive | None, list[Rewrite]],
    context: RewriteContext,
    pass_name: str,
) -> Value:
    """Offer `value` to the rewrites until none applies; return the final replacement."""
    applied: list[str] = []
    while len(applied) < MAX_REWRITES_PER_NODE:
        candidates = table.get(value.primitive, []) + table.get(None, [])
        for r in candidates:
            replacement = r.fn(NodeView(value, context))
            if replacement is None or replacement is value:
                continue
            _check_replacement(r, value, replacement, pass_name)
            value = _adopt(value, replacement, context)
            applied.append(r.name)
            break
        else:
            return value
    raise GraphError(
        f"{pass_name}: node {value!r} was rewritten {MAX_REWRITES_PER_NODE} times without "
        f"settling; the last rewrites were {applied[-4:]}"
    )


def _check_replacement(r: Rewrite, value: Value, replacement: Any, pass_name: str) -> None:
    if not isinstance(replacement, Value):
        raise GraphError(
            f"{pass_name}: rewrite {r.name} returned a {type(replacement).__name__}, "
            f"expected a graphc Value or None"
        )
    if replacement.type != value.type:
        raise GraphError(
            f"{pass_name}: rewrite {r.name} changed the type of a {value.primitive.name} node "
            f"from {value.type} to {replacement.type}; a rewrite must insert a cast or "
            f"broadcast_to to keep it"
        )


def _adopt(old: Value, new: Value, context: RewriteContext) -> Value:
    """Record `new` as the replacement of `old`: move the name, track users for `single_user`."""
    if id(new) in context.known:  # an existing value gains old's users
        context.touched.add(id(new))
        return new
    if old.name is not None and new.name != old.name:
        new = Value(new.primitive, new.inputs, new.attrs, new.type, name=old.name)
    context.register(new, context.users.get(id(old), 0))
    if id(old) in context.touched:
        context.touched.add(id(new))
    stack = list(new.inputs)
    while stack:  # values the replacement reads now have users the round's counts miss
        v = stack.pop()
        if id(v) in context.known:
            context.touched.add(id(v))
            continue
        context.register(v)
        stack.extend(v.inputs)
    return new
