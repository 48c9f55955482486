"""Autodiff by graph transformation: `jvp`, `vjp`, `grad`, `jacobian`, `hessian`.

Each transformation takes a `Graph` and returns a new `Graph` built from graphc ops, so a
derivative can be dumped, optimized, compiled, and differentiated again. Three passes over the
original graph do all the work:

- `replay`: rebuild the primal values (the new graph recomputes the original);
- `push_tangents`: forward mode, one tangent per node, in topological order (jvp rules);
- `pull_cotangents`: reverse mode, one accumulated cotangent per node, in reverse order (vjp
  rules), visiting only nodes that depend on a differentiated input.

Only float values are differentiated; integer and bool inputs are constants to autodiff.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from graphc.arguments import check_arguments
from graphc.autodiff import (
    JVP_RULES,
    NONDIFFERENTIABLE,
    VJP_RULES,
    Tangent,
    Zero,
    add_tangents,
    instantiate,
    is_differentiable_type,
)
from graphc.core import Value, constant, input_p, placeholder
from graphc.errors import GraphcError
from graphc.graph import Graph
from graphc.types import TensorType

Wrt = int | str | Sequence[int | str] | None


class DifferentiationError(GraphcError, ValueError):
    """A graph cannot be differentiated as asked (no rule, non-scalar output, integer input)."""


# --- the three passes --------------------------------------------------------------------------


def fresh_inputs(graph: Graph, prefix: str = "") -> list[Value]:
    """New placeholders with the types and names of `graph`'s inputs."""
    return [
        placeholder(t.shape, t.dtype, name=_prefixed(prefix, graph.node_name(n), i))
        for i, (n, t) in enumerate(zip(graph.inputs, graph.input_types))
    ]


def replay(graph: Graph, inputs: Sequence[Value]) -> dict[int, Value]:
    """The graph rebuilt as Values on top of `inputs`: a map from node id to Value.

    Inputs of the graph's own input types give every node its recorded type, so the shape
    rules, which checked these very nodes when the graph was built, are not run again.
    """
    env: dict[int, Value] = dict(zip(graph.inputs, inputs))
    retyped = any(v.type != graph.type(n) for v, n in zip(inputs, graph.inputs))
    for node in graph.order:
        if node not in env:
            operands = [env[s] for s in graph.operands(node)]
            prim, attrs, name = graph.primitive(node), graph.attrs(node), graph.node_name(node)
            if retyped:
                env[node] = prim.bind(*operands, name=name, **attrs)
            else:
                env[node] = Value(prim, operands, attrs, graph.type(node), name=name)
    return env


def push_tangents(
    graph: Graph, env: Mapping[int, Value], input_tangents: Sequence[Tangent]
) -> dict[int, Tangent]:
    """Forward mode: the tangent of every node, given the inputs' tangents."""
    tangents: dict[int, Tangent] = dict(zip(graph.inputs, input_tangents))
    for node in graph.order:
        if node in tangents:
            continue
        out = env[node]
        operand_tangents = [tangents[s] for s in graph.operands(node)]
        if (
            not operand_tangents
            or all(isinstance(t, Zero) for t in operand_tangents)
            or not is_differentiable_type(out.type)
        ):
            tangents[node] = Zero(out.type)
            continue
        rule = _rule(JVP_RULES, graph, node, "forward")
        operands = tuple(env[s] for s in graph.operands(node))
        tangents[node] = rule(operands, tuple(operand_tangents), out, **graph.attrs(node))
    return tangents


def pull_cotangents(
    graph: Graph,
    env: Mapping[int, Value],
    output_cotangents: Mapping[int, Value],
    wrt: Sequence[int],
) -> dict[int, Value]:
    """Reverse mode: the accumulated cotangent of every node between `wrt` and the outputs."""
    relevant = _reachable_from(graph, wrt)
    cotangents: dict[int, Any] = {}
    for node, ct in output_cotangents.items():
        cotangents[node] = add_tangents(cotangents.get(node), ct)
    for node in reversed(graph.order):
        ct = cotangents.get(node)
        prim = graph.primitive(node)
        if (
            ct is None
            or isinstance(ct, Zero)
            or node not in relevant
            or prim is input_p
            or not is_differentiable_type(graph.type(node))
        ):
            continue
        rule = _rule(VJP_RULES, graph, node, "reverse")
        operand_ids = graph.operands(node)
        operands = tuple(env[s] for s in operand_ids)
        operand_cts = rule(ct, operands, env[node], **graph.attrs(node))
        for operand, operand_ct in zip(operand_ids, operand_cts):
            if operand_ct is not None and operand in relevant:
                cotangents[operand] = add_tangents(cotangents.get(operand), operand_ct)
    return cotangents


def _reachable_from(graph: Graph, sources: Sequence[int]) -> set[int]:
    """`sources` and every node that depends on one of them: one walk in topological order
    (a networkx search per source cost 40 walks of the graph for a 40-input gradient)."""
    reached = set(sources)
    for node in graph.order:
        if node not in reached and any(o in reached for o in graph.operands(node)):
            reached.add(node)
    return reached


def _rule(table: dict, graph: Graph, node: int, mode: str) -> Any:
    prim = graph.primitive(node)
    if prim not in table:
        reason = NONDIFFERENTIABLE.get(prim)
        raise DifferentiationError(
            f"{prim.name} (node %{node}) has no {mode}-mode rule"
            + (f": {reason}" if reason else "")
        )
    return table[prim]


# --- public transformations --------------------------------------------------------------------


def jvp(graph: Graph) -> Graph:
    """Forward mode: a graph from (primals..., tangents...) to (outputs..., output tangents...).

    There is one tangent input per float input (integer and bool inputs have none), of the same
    type; the result always returns a list: the primal outputs, then their tangents.

    >>> import graphc
    >>> x1, x2 = graphc.scalars("x1 x2")
    >>> f = graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2))
    >>> value, tangent = graphc.jvp(f)(2.0, 5.0, 1.0, 0.0)
    >>> round(float(tangent), 4)
    5.5
    """
    primals = fresh_inputs(graph)
    tangent_inputs = [
        placeholder(v.shape, v.dtype, name=_prefixed("d", v.name, i))
        for i, v in enumerate(primals)
        if is_differentiable_type(v.type)
    ]
    it = iter(tangent_inputs)
    input_tangents = [next(it) if is_differentiable_type(v.type) else Zero(v.type) for v in primals]
    env = replay(graph, primals)
    tangents = push_tangents(graph, env, input_tangents)
    outputs = [env[n] for n in graph.outputs]
    output_tangents = [instantiate(tangents[n]) for n in graph.outputs]
    return Graph(primals + tangent_inputs, outputs + output_tangents, name=_named("jvp", graph))


def vjp(graph: Graph) -> Graph:
    """Reverse mode: a graph from (primals..., output cotangents...) to (outputs..., input
    cotangents...).

    There is one cotangent input per output, of the output's type; the result returns the
    primal outputs, then one cotangent per input (zeros for integer and bool inputs).

    >>> import graphc
    >>> x1, x2 = graphc.scalars("x1 x2")
    >>> f = graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2))
    >>> value, d1, d2 = graphc.vjp(f)(2.0, 5.0, 1.0)
    >>> round(float(d1), 4), round(float(d2), 4)
    (5.5, 1.7163)
    """
    primals = fresh_inputs(graph)
    cts = [placeholder(t.shape, t.dtype, name=f"ct{i}") for i, t in enumerate(graph.output_types)]
    env = replay(graph, primals)
    differentiable = [n for n in graph.inputs if is_differentiable_type(graph.type(n))]
    cotangents = pull_cotangents(graph, env, _output_map(graph, cts), differentiable)
    outputs = [env[n] for n in graph.outputs]
    input_cts = [_cotangent_or_zeros(cotangents, n, graph.type(n)) for n in graph.inputs]
    return Graph(primals + cts, outputs + input_cts, name=_named("vjp", graph))


def grad(graph: Graph, wrt: Wrt = None) -> Graph:
    """The gradient of a scalar-output graph, by reverse mode.

    The result has the same inputs and one output per `wrt` input, shaped like that input.
    `wrt` is an input index or name, or a list of them; None means every float input. A
    single index or name gives a graph with one output; a list (or None) gives a list.

    >>> import graphc
    >>> x = graphc.placeholder((3,), "float64", name="x")
    >>> g = graphc.grad(graphc.Graph([x], graphc.sum(x * x)), wrt="x")
    >>> g([1.0, 2.0, 3.0])
    array([2., 4., 6.])
    """
    indices, single = resolve_wrt(graph, wrt, what="grad")
    output = _scalar_output(graph, "grad")
    primals = fresh_inputs(graph)
    env = replay(graph, primals)
    seed = constant(1, graph.type(output).dtype)
    wrt_nodes = [graph.inputs[i] for i in indices]
    cotangents = pull_cotangents(graph, env, {output: seed}, wrt_nodes)
    grads = [_cotangent_or_zeros(cotangents, n, graph.type(n)) for n in wrt_nodes]
    return Graph(primals, grads[0] if single else grads, name=_named("grad", graph))


def jacobian(graph: Graph, mode: str = "reverse", wrt: Wrt = None) -> Graph:
    """The Jacobian of every output with respect to the `wrt` inputs, forward or reverse mode.

    The result has the graph's inputs; its outputs are the blocks d output_i / d input_j of
    shape `output_i.shape + input_j.shape`, in row-major order (all inputs for output 0, then
    output 1, ...). With one output and one `wrt` input it returns that block alone. Both modes
    give the same numbers; forward mode costs one tangent pass per input element, reverse mode
    one cotangent pass per output element. Shapes must be static (no batch dimension).

    >>> import graphc
    >>> x = graphc.placeholder((2,), "float64", name="x")
    >>> J = graphc.jacobian(graphc.Graph([x], x * x), mode="forward")
    >>> J([3.0, 4.0]).tolist()
    [[6.0, 0.0], [0.0, 8.0]]
    """
    if mode not in ("forward", "reverse"):
        raise DifferentiationError(f"jacobian: mode must be 'forward' or 'reverse', got {mode!r}")
    indices, single_wrt = resolve_wrt(graph, wrt, what="jacobian")
    wrt_nodes = [graph.inputs[i] for i in indices]
    for node in wrt_nodes + list(graph.outputs):
        if graph.type(node).is_batched:
            raise DifferentiationError(
                f"jacobian: {graph.type(node)} has the batch dimension; a Jacobian needs static "
                f"shapes (for a scalar loss over a batch, use graphc.grad)"
            )
    primals = fresh_inputs(graph)
    env = replay(graph, primals)
    if mode == "forward":
        blocks = _forward_jacobian(graph, env, wrt_nodes)
    else:
        blocks = _reverse_jacobian(graph, env, wrt_nodes)
    single = len(wrt_nodes) == 1 and (wrt is None or single_wrt) and graph.single_output
    return Graph(primals, blocks[0] if single else blocks, name=_named(f"jacobian_{mode}", graph))


def hessian(graph: Graph, wrt: Wrt = None) -> Graph:
    """The Hessian of a scalar-output graph, forward-over-reverse (jacobian of the gradient).

    For a function of n scalar inputs the result has one output of shape (n, n); for one
    tensor input x, one output of shape x.shape + x.shape; otherwise the blocks
    d2f / dx_i dx_j in row-major order.

    >>> import graphc
    >>> x1, x2 = graphc.scalars("x1 x2")
    >>> H = graphc.hessian(graphc.Graph([x1, x2], x1 * x1 * x2))
    >>> H(3.0, 5.0).tolist()
    [[10.0, 6.0], [6.0, 0.0]]
    """
    indices, _ = resolve_wrt(graph, wrt, what="hessian")
    _scalar_output(graph, "hessian")
    gradient = grad(graph, wrt=list(indices))
    blocks_graph = jacobian(gradient, mode="forward", wrt=list(indices))
    k = len(indices)
    types = [graph.input_types[i] for i in indices]
    if all(t.shape == () for t in types):
        from graphc.primitives.shape import reshape, stack

        primals = fresh_inputs(graph)
        blocks = blocks_graph.to_values(primals)
        matrix = reshape(stack(blocks), (k, k))
        return Graph(primals, matrix, name=_named("hessian", graph))
    if k == 1:
        primals = fresh_inputs(graph)
        (block,) = blocks_graph.to_values(primals)
        return Graph(primals, block, name=_named("hessian", graph))
    return blocks_graph


def numeric_grad(
    graph: Graph, at: Sequence[Any] | Mapping[str, Any], wrt: Wrt = None, eps: float | None = None
) -> np.ndarray | list[np.ndarray]:
    """The gradient of a scalar-output graph by central finite differences, for checking.

    Evaluates the graph with the interpreter at `at` (a list in input order, or a dict by input
    name), in the graph's own precision. Only float inputs are perturbed (by default all of
    them, as for `grad`); integer and bool inputs are passed as given and get no derivative.
    The step is `eps * max(1, |x|)` per element; by default eps is the cube root of the
    machine epsilon of that input's dtype (about 6e-6 for float64, 5e-3 for float32), the
    usual optimum for central differences. The difference quotient divides by the step
    actually taken after rounding to the input's dtype. Accuracy is about 1e-10 relative for
    float64 graphs and 1e-4 for float32. Each gradient has its input's dtype.

    >>> import graphc
    >>> x1, x2 = graphc.scalars("x1 x2")
    >>> f = graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2))
    >>> [round(float(g), 4) for g in graphc.numeric_grad(f, {"x1": 2.0, "x2": 5.0})]
    [5.5, 1.7163]
    """
    indices, single = resolve_wrt(graph, wrt, what="numeric_grad")
    output = _scalar_output(graph, "numeric_grad")
    point = check_arguments(graph.input_types, graph.input_names, resolve_at(graph, at))[0]
    position = graph.outputs.index(output)

    def evaluate(arrays: list[np.ndarray]) -> float:
        return float(graph.evaluate(arrays, None)[position])

    grads = []
    for i in indices:
        x = point[i]
        step = np.cbrt(np.finfo(x.dtype).eps) if eps is None else eps
        g = np.zeros(x.shape, np.float64)
        for index in np.ndindex(x.shape):
            h = step * max(1.0, abs(float(x[index])))
            plus, minus = list(point), list(point)
            plus[i], minus[i] = x.copy(), x.copy()
            plus[i][index] += h
            minus[i][index] -= h
            taken = float(plus[i][index]) - float(minus[i][index])  # h after rounding, twice
            g[index] = (evaluate(plus) - evaluate(minus)) / taken
        grads.append(g.astype(x.dtype))
    return grads[0] if single else grads


# --- helpers -----------------------------------------------------------------------------------


def resolve_wrt(graph: Graph, wrt: Wrt, *, what: str) -> tuple[list[int], bool]:
    """Input indices to differentiate with respect to, and whether one was named alone."""
    names = graph.input_names
    if wrt is None:
        indices = [i for i, t in enumerate(graph.input_types) if is_differentiable_type(t)]
        if not indices:
            raise DifferentiationError(f"{what}: the graph has no float input to differentiate")
        return indices, False
    single = isinstance(wrt, (int, str))
    items = [wrt] if single else list(wrt)
    indices = []
    for item in items:
        if isinstance(item, str):
            if item not in names:
                raise DifferentiationError(
                    f"{what}: no input named {item!r}; inputs are {[n for n in names if n]}"
                )
            index = names.index(item)
        elif isinstance(item, int) and -len(names) <= item < len(names):
            index = item % len(names)
        else:
            raise DifferentiationError(
                f"{what}: wrt must name inputs by index (0..{len(names) - 1}) or name, got {item!r}"
            )
        t = graph.input_types[index]
        if not is_differentiable_type(t):
            raise DifferentiationError(
                f"{what}: cannot differentiate with respect to input {index} "
                f"({names[index] or 'unnamed'}: {t}); only float inputs have derivatives"
            )
        indices.append(index)
    return indices, single


def resolve_at(graph: Graph, at: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
    """Input values in call order, from a list or a dict keyed by input name."""
    if isinstance(at, Mapping):
        names = graph.input_names
        missing = [n for n in names if n not in at]
        unknown = [k for k in at if k not in names]
        if missing or unknown:
            raise DifferentiationError(
                f"point: expected values for inputs {names}; missing {missing}, unknown {unknown}"
            )
        return [at[n] for n in names]
    return list(at)


def _scalar_output(graph: Graph, what: str) -> int:
    if len(graph.outputs) != 1:
        raise DifferentiationError(
            f"{what}: needs a graph with one output, got {len(graph.outputs)}"
        )
    output = graph.outputs[0]
    t = graph.type(output)
    if t.shape != () or not is_differentiable_type(t):
        raise DifferentiationError(
            f"{what}: needs a scalar float output, got {t}; reduce it first (e.g. graphc.sum or "
            f"graphc.mean)"
        )
    return output


def _output_map(graph: Graph, cts: Sequence[Value]) -> dict[int, Value]:
    """Output node -> cotangent, adding up cotangents of an output listed twice."""
    result: dict[int, Value] = {}
    for node, ct in zip(graph.outputs, cts):
        result[node] = add_tangents(result.get(node), ct)
    return result


def _cotangent_or_zeros(cotangents: Mapping[int, Any], node: int, t: TensorType) -> Value:
    ct = cotangents.get(node)
    return instantiate(Zero(t) if ct is None else ct)


def _basis(t: TensorType, flat_index: int) -> Value:
    """The one-hot tangent/cotangent selecting element `flat_index` of a tensor of type t."""
    array = np.zeros(t.shape, t.dtype)
    array.flat[flat_index] = 1
    return constant(array)


def _assemble(
    rows: list[Value | Zero],
    lead: tuple[int, ...],
    trail: tuple[int, ...],
    t: TensorType,
    lead_first: bool,
) -> Value:
    """Stack per-element derivatives into one block of shape out.shape + in.shape."""
    from graphc.primitives.shape import reshape, stack, transpose

    shape = lead + trail
    if all(isinstance(r, Zero) for r in rows) or not rows:
        return instantiate(Zero(TensorType(shape if lead_first else trail + lead, t.dtype)))
    stacked = reshape(stack([instantiate(r) for r in rows]), shape)
    if lead_first:
        return stacked
    perm = tuple(range(len(lead), len(shape))) + tuple(range(len(lead)))
    return transpose(stacked, perm)


def _forward_jacobian(graph: Graph, env: Mapping[int, Value], wrt: Sequence[int]) -> list[Value]:
    columns: dict[tuple[int, int], list[Tangent]] = {}
    for j in wrt:
        t_in = graph.type(j)
        for e in range(t_in.static_size):
            seeds = [_basis(t_in, e) if n == j else Zero(graph.type(n)) for n in graph.inputs]
            tangents = push_tangents(graph, env, seeds)
            for o in graph.outputs:
                columns.setdefault((o, j), []).append(tangents[o])
    blocks = []
    for o in graph.outputs:
        t_out = graph.type(o)
        for j in wrt:
            t_in = graph.type(j)
            blocks.append(
                _assemble(columns[(o, j)], t_in.shape, t_out.shape, t_out, lead_first=False)
            )
    return blocks


def _reverse_jacobian(graph: Graph, env: Mapping[int, Value], wrt: Sequence[int]) -> list[Value]:
    blocks = []
    for o in graph.outputs:
        t_out = graph.type(o)
        rows: dict[int, list[Any]] = {j: [] for j in wrt}
        for e in range(t_out.static_size):
            cotangents = pull_cotangents(graph, env, {o: _basis(t_out, e)}, wrt)
            for j in wrt:
                ct = cotangents.get(j)
                rows[j].append(Zero(graph.type(j)) if ct is None else ct)
        for j in wrt:
            blocks.append(
                _assemble(rows[j], t_out.shape, graph.type(j).shape, t_out, lead_first=True)
            )
    return blocks


def _prefixed(prefix: str, name: str | None, index: int) -> str | None:
    if name is None:
        return f"{prefix}{index}" if prefix else None
    return f"{prefix}{name}"


def _named(what: str, graph: Graph) -> str:
    return f"{what}({graph.name})" if graph.name else what
