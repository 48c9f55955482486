"""Multi-node rewrite patterns, found with networkx's subgraph matching (VF2).

A local rewrite (`graphc.passes.rewrite`) sees one node and looks up its operands by hand; a
pattern states a whole shape at once, as a small graph, and `match_pattern` finds every place
it occurs with `networkx.algorithms.isomorphism.MultiDiGraphMatcher` (subgraph monomorphisms:
each pattern node maps to a distinct graph node, and each pattern edge to a graph edge):

    p = Pattern("scaled_matmul")
    a = p.leaf("a", matmul_p)                      # a matmul; its operands do not matter
    s = p.leaf("s", constant_p)                    # a constant
    p.op("root", mul_p, a, s, any_order=True)      # mul(a, s) or mul(s, a)

Nodes match on their primitive (one or a tuple; a leaf may allow any) and on exact attributes
when given (`node_match`); edges match on the operand slot (`edge_match`: the graph's edges
are keyed by slot), so sub(x, c) and sub(c, x) are different patterns, except under an op
declared `any_order` (for commutative primitives). An op node also matches the number of
operands exactly. A `where=` predicate `(graph, node) -> bool` checks what the matcher cannot
see (constant values, single use); predicates run after the structural match.

`rewrite_matches(graph, rules)` replaces the root of each match with what the rule builds and
returns a new graph, or the input graph itself when no rule fired; `graphc.passes.inference`
is built on it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from networkx.algorithms.isomorphism import MultiDiGraphMatcher

from graphc.core import Primitive, Value, constant_p
from graphc.errors import GraphError
from graphc.graph import Graph
from graphc.passes.equality import freeze_attrs
from graphc.passes.rebuild import input_values, node_value
from graphc.primitives.shape import broadcast_to_p
from graphc.types import TensorType

#: where(graph, node) -> bool: a check on one matched node that needs the whole graph.
Predicate = Callable[[Graph, int], bool]


class Pattern:
    """A small graph of primitives to find: leaves (anything, or given primitives) and ops
    applied to earlier nodes in operand order. The last op added is the root, the node a
    rewrite replaces.

    Args:
        name: the pattern's name, used in errors and by the rules built on it.

    >>> from graphc.primitives.elementwise import exp_p, neg_p
    >>> p = Pattern("neg_exp")
    >>> p.op("root", neg_p, p.leaf("e", exp_p))
    'root'
    >>> p.root, sorted(p.graph.nodes)
    ('root', ['e', 'root'])
    """

    def __init__(self, name: str):
        self.name = name
        self.graph = nx.MultiDiGraph()
        self.root: str | None = None

    def __repr__(self) -> str:
        return f"Pattern({self.name!r}, root={self.root!r}, nodes={len(self.graph)})"

    def leaf(
        self,
        name: str,
        primitives: Primitive | Sequence[Primitive] | None = None,
        *,
        attrs: dict[str, Any] | None = None,
        where: Predicate | None = None,
    ) -> str:
        """A node whose own operands are not part of the pattern; None matches any node."""
        return self._add(name, primitives, attrs, where, arity=None)

    def op(
        self,
        name: str,
        primitives: Primitive | Sequence[Primitive],
        *operands: str,
        attrs: dict[str, Any] | None = None,
        where: Predicate | None = None,
        any_order: bool = False,
    ) -> str:
        """A node applied to exactly `operands` (earlier pattern nodes), in operand order
        unless `any_order` (for commutative primitives); it becomes the root. An operand given
        twice (mul(e, e)) must be one graph node read twice."""
        for operand in operands:
            if operand not in self.graph:
                raise GraphError(f"Pattern {self.name}: {name} reads {operand!r}, not yet defined")
        self._add(name, primitives, attrs, where, arity=len(operands))
        every = tuple(range(len(operands)))
        for slot, operand in enumerate(operands):
            self.graph.add_edge(operand, name, slots=every if any_order else (slot,))
        self.root = name
        return name

    def _add(
        self,
        name: str,
        primitives: Primitive | Sequence[Primitive] | None,
        attrs: dict[str, Any] | None,
        where: Predicate | None,
        arity: int | None,
    ) -> str:
        if name in self.graph:
            raise GraphError(f"Pattern {self.name}: a node named {name!r} is already defined")
        if isinstance(primitives, Primitive):
            primitives = (primitives,)
        allowed = None if primitives is None else frozenset(primitives)
        frozen = None if attrs is None else freeze_attrs(attrs)
        self.graph.add_node(name, primitives=allowed, attrs=frozen, where=where, arity=arity)
        return name


def match_pattern(graph: Graph, pattern: Pattern) -> list[dict[str, int]]:
    """Every occurrence of `pattern` in `graph`: maps from pattern node names to graph nodes,
    ordered by the root's position in `graph.order` (then by the other nodes).

    >>> import graphc
    >>> from graphc.primitives.elementwise import exp_p, neg_p
    >>> x = graphc.placeholder((3,), name="x")
    >>> g = graphc.Graph([x], [-graphc.exp(x), graphc.exp(-x)])
    >>> p = Pattern("neg_exp")
    >>> _ = p.op("root", neg_p, p.leaf("e", exp_p))
    >>> [{k: g.primitive(n).name for k, n in m.items()} for m in match_pattern(g, p)]
    [{'root': 'neg', 'e': 'exp'}]
    """
    if pattern.root is None:
        raise GraphError(f"Pattern {pattern.name}: it has no op, so no root")
    p = pattern.graph
    stray = set(p) - nx.ancestors(p, pattern.root) - {pattern.root}
    if stray:
        raise GraphError(f"Pattern {pattern.name}: {sorted(stray)} do not feed the root")
    present = {data["primitive"] for _, data in graph.nx.nodes(data=True)}
    for _, data in p.nodes(data=True):  # cheap exit: a primitive the graph lacks
        if data["primitives"] is not None and not data["primitives"] & present:
            return []
    # VF2 picks pattern nodes in their insertion order: start from the root (the most
    # selective node) so the search grows along operand edges from each candidate root.
    ordered = nx.MultiDiGraph()
    ordered.add_nodes_from([(pattern.root, p.nodes[pattern.root])])
    ordered.add_nodes_from(p.nodes(data=True))
    ordered.add_edges_from(p.edges(keys=True, data=True))
    matcher = MultiDiGraphMatcher(
        graph.nx, ordered, node_match=_node_match, edge_match=_edges_match
    )
    position = {n: i for i, n in enumerate(graph.order)}
    found = []
    for mapping in matcher.subgraph_monomorphisms_iter():
        match = {name: node for node, name in mapping.items()}
        if _accepts(graph, p, match):
            found.append(match)
    names = list(ordered.nodes)
    found.sort(key=lambda m: [position[m[name]] for name in names])
    return found


def _node_match(node: dict, pattern_node: dict) -> bool:
    allowed = pattern_node["primitives"]
    if allowed is not None and node["primitive"] not in allowed:
        return False
    wanted = pattern_node["attrs"]
    return wanted is None or freeze_attrs(node["attrs"]) == wanted


def _edges_match(edges: dict, pattern_edges: dict) -> bool:
    """The graph's parallel edges (keyed by operand slot) can carry the pattern's, each to a
    slot it allows."""
    slots = [data["slots"] for data in pattern_edges.values()]
    return any(
        all(key in allowed for key, allowed in zip(keys, slots))
        for keys in itertools.permutations(edges, len(slots))
    )


def _accepts(graph: Graph, pattern: nx.MultiDiGraph, match: dict[str, int]) -> bool:
    for name, data in pattern.nodes(data=True):
        node = match[name]
        if data["arity"] is not None and graph.nx.in_degree(node) != data["arity"]:
            return False
        if data["where"] is not None and not data["where"](graph, node):
            return False
    return True


# --- predicates on graph nodes ----------------------------------------------------------------


def constant_array(graph: Graph, node: int) -> np.ndarray | None:
    """The array of a constant node, else None."""
    return graph.attrs(node)["value"].array if graph.primitive(node) is constant_p else None


def uniform_value(graph: Graph, node: int) -> Any:
    """The one value all elements of a constant (or a broadcast of one) have, signs of zeros
    included, else None (as `NodeView.uniform`)."""
    while graph.primitive(node) is broadcast_to_p:
        node = graph.operands(node)[0]
    array = constant_array(graph, node)
    if array is None or array.size == 0:
        return None
    first = array.flat[0]
    same = np.all(array == first) and np.all(np.signbit(array) == np.signbit(first))
    return first if bool(same) else None


def user_count(graph: Graph, node: int) -> int:
    """Operand slots reading `node`, plus one per appearance among the graph's outputs."""
    return graph.nx.out_degree(node) + graph.outputs.count(node)


def single_user(graph: Graph, node: int) -> bool:
    """Exactly one operand slot (or one output position) reads `node`."""
    return user_count(graph, node) == 1


# --- rewriting matches --------------------------------------------------------------------------


class Match:
    """One occurrence of a pattern, as a rule's `build` sees it: the graph nodes bound to the
    pattern's names, the Values already rebuilt for them in the new graph, and the options
    given to `rewrite_matches`.

    Attributes:
        graph: the graph being rewritten (read only).
        nodes: pattern node name -> graph node.
        root: the graph node to replace.
        options: what the pass passed to `rewrite_matches` (e.g. `fold_limit`).
    """

    __slots__ = ("graph", "nodes", "root", "options", "_env")

    def __init__(
        self,
        graph: Graph,
        nodes: dict[str, int],
        root: int,
        env: Mapping[int, Value],
        options: Mapping[str, Any],
    ):
        self.graph = graph
        self.nodes = nodes
        self.root = root
        self.options = options
        self._env = env

    def __getitem__(self, name: str) -> Value:
        """The new graph's Value for the pattern node `name`."""
        return self._env[self.nodes[name]]

    def constant(self, name: str) -> np.ndarray | None:
        """The array when the graph node bound to `name` is a constant, else None."""
        return constant_array(self.graph, self.nodes[name])

    def primitive(self, name: str) -> Primitive:
        return self.graph.primitive(self.nodes[name])

    @property
    def root_type(self) -> TensorType:
        """The type the replacement must have."""
        return self.graph.type(self.root)


@dataclass(frozen=True)
class PatternRule:
    """A rewrite of `pattern`'s root: `build(match) -> Value | None` (None: keep the node).
    The replacement must have the root's exact type."""

    name: str
    pattern: Pattern
    build: Callable[[Match], Value | None]


def rewrite_matches(
    graph: Graph,
    rules: Sequence[PatternRule],
    *,
    pass_name: str,
    options: Mapping[str, Any] | None = None,
) -> Graph:
    """Replace the root of every match of `rules` in one rebuild of `graph`; return `graph`
    itself when no rule fired.

    Each root is offered to its matches in the order of `rules`; the first replacement wins.
    Replacements are built from the new graph's Values, so a match may read nodes another
    match replaced. A new replacement takes the root's user-facing name, and a replacement of
    the wrong type is an error naming the rule. `options` are handed to the rules.

    >>> import graphc
    >>> from graphc.primitives.elementwise import exp_p, neg_p
    >>> p = Pattern("neg_exp")
    >>> _ = p.op("root", neg_p, p.leaf("e", exp_p))
    >>> rule = PatternRule("neg_exp_to_exp_neg", p, lambda m: graphc.exp(-m["e"].inputs[0]))
    >>> x = graphc.placeholder((3,), name="x")
    >>> print(rewrite_matches(graphc.Graph([x], -graphc.exp(x)), [rule], pass_name="doc").dump())
    graph(%0 x: f32[3]) {
      %1 = neg %0 : f32[3]
      %2 = exp %1 : f32[3]
      return %2
    }
    """
    options = {} if options is None else options
    offers: dict[int, list[tuple[PatternRule, dict[str, int]]]] = {}
    for rule in rules:
        for match in match_pattern(graph, rule.pattern):
            offers.setdefault(match[rule.pattern.root], []).append((rule, match))
    if not offers:
        return graph
    inputs = input_values(graph)
    env: dict[int, Value] = dict(zip(graph.inputs, inputs))
    existing = {id(v) for v in inputs}  # the Values of the new graph so far (env keeps them)
    fired = False
    for node in graph.order:
        if node in env:
            continue
        value = None
        for rule, match in offers.get(node, ()):
            value = rule.build(Match(graph, match, node, env, options))
            if value is not None:
                value = _adopt(graph, node, value, id(value) in existing, rule, pass_name)
                fired = True
                break
        env[node] = value if value is not None else node_value(graph, node, env)
        existing.add(id(env[node]))
    if not fired:
        return graph
    outputs = [env[n] for n in graph.outputs]
    return Graph(inputs, outputs[0] if graph.single_output else outputs, name=graph.name)


def _adopt(
    graph: Graph, node: int, value: Any, existing: bool, rule: PatternRule, where: str
) -> Value:
    """Check a replacement's type and give a new one the root's name (a Value already in the
    new graph, as x for dropout, keeps its own name rather than being copied)."""
    if not isinstance(value, Value):
        raise GraphError(
            f"{where}: rule {rule.name} returned a {type(value).__name__}, expected a Value"
        )
    if value.type != graph.type(node):
        raise GraphError(
            f"{where}: rule {rule.name} changed the type of a {graph.primitive(node).name} node "
            f"from {graph.type(node)} to {value.type}"
        )
    name = graph.node_name(node)
    if name is None or value.name == name or existing:
        return value
    return Value(value.primitive, value.inputs, value.attrs, value.type, name=name)
