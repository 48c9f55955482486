"""Differential checks on random graphs, and a minimizer that shrinks a failing graph.

Each check runs one graph two ways that must agree and raises `FuzzFailure` when they do not:

- `compiled`: native code (a drawn `opt_level`, thread count, with or without the graph passes)
  against the numpy interpreter, at batch sizes 0, 1, 3 and 17;
- `optimized`: the exact pass pipelines (levels 0, 1, 2, with verification) against the
  unoptimized graph;
- `derivatives`: forward mode against central finite differences, reverse mode against forward
  mode (`graphc.testing`), and the compiled reverse-mode graph against its interpreter, for a
  graph from `random_graph(rng, differentiable=True)`.

Everything a check draws (options, arguments) comes from its `seed`, so `run_check(name, graph,
seed)` replays a failure exactly. The interpreter is the oracle, and it must not raise either:
IEEE results are values. Float results are compared with a tolerance relative to the largest
finite magnitude of the output (libm and vectorized math differ in the last bits, and sums may
be reassociated); nan must match nan, infinities must match exactly; ints and bools exactly.

`minimize(graph, fails)` removes outputs and nodes while the failure persists, and
`write_reproducer` saves the result as a graph file plus a script that replays the check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from graphc import testing
from graphc.arguments import check_arguments
from graphc.core import Value, input_p, placeholder
from graphc.errors import GraphcError
from graphc.fuzzing import random_arguments
from graphc.graph import Graph

#: Batch sizes the compiled check calls with: empty, one, odd, and past a vector width.
BATCHES = (0, 1, 3, 17)
#: Relative tolerance per float dtype (scaled by the output's largest finite magnitude).
RTOL = {np.dtype("float64"): 1e-7, np.dtype("float32"): 2e-3}


class FuzzFailure(AssertionError):
    """Two ways of running one graph disagree (or one of them raised)."""


#: Float primitives whose results may differ in the last bits between implementations: libm
#: and vectorized math functions, and sums that may be reassociated.
INEXACT = frozenset(
    {"exp", "log", "log1p", "expm1", "sin", "cos", "tan", "tanh", "logistic", "erf", "pow",
     "reduce_sum", "matmul", "conv", "conv_kernel_grad", "reduce_window",
     "select_and_scatter_add", "fused"}
)  # fmt: skip
#: Primitives with jumps: a last-bit difference in their operand can change the result by a
#: whole step (a comparison flips, floor moves by 1, argmax picks another index), and periodic
#: functions, which turn a last-bit difference of a huge argument into any other value.
DISCONTINUOUS = frozenset(
    {"floor", "ceil", "round", "sign", "eq", "ne", "lt", "le", "gt", "ge", "argmax", "argmin",
     "floordiv", "rem", "sin", "cos", "tan", "fused"}
)  # fmt: skip


@dataclass(frozen=True)
class Tolerance:
    """How closely two runs of one graph must agree.

    Attributes:
        rtol: the relative tolerance of the graph's least precise float type (a float64 output
            computed from float32 values carries float32 rounding).
        lenient: per output, whether it lies downstream of a jump applied to an inexact value;
            such an output may differ in a few elements (2, or up to 10%) whatever its dtype.
    """

    rtol: float
    lenient: tuple[bool, ...]


def tolerance(graph: Graph) -> Tolerance:
    """The `Tolerance` for comparing two runs of `graph`.

    >>> import graphc
    >>> x = graphc.placeholder((2,), "float32")
    >>> tolerance(graphc.Graph([x], [graphc.cast(x, "float64"), graphc.floor(graphc.exp(x))]))
    Tolerance(rtol=0.002, lenient=(False, True))
    """
    inexact: dict[int, bool] = {}
    jumped: dict[int, bool] = {}
    for node in graph.order:
        operands = graph.operands(node)
        name = graph.primitive(node).name
        out = graph.type(node).dtype
        fed_inexact = any(inexact[s] for s in operands)
        to_discrete = (
            name == "cast"
            and out.kind != "f"
            and any(graph.type(s).dtype.kind == "f" for s in operands)
        )
        jumped[node] = any(jumped[s] for s in operands) or (
            fed_inexact and (name in DISCONTINUOUS or to_discrete)
        )
        inexact[node] = fed_inexact or jumped[node] or (name in INEXACT and out.kind == "f")
    return Tolerance(
        max(RTOL.get(graph.type(n).dtype, 0.0) for n in graph.order),
        tuple(jumped[n] for n in graph.outputs),
    )


def compare_outputs(
    want: Sequence[np.ndarray],
    got: Sequence[np.ndarray],
    what: str,
    tol: Tolerance | None = None,
    scales: Sequence[float] | None = None,
) -> None:
    """Raise `FuzzFailure` unless `got` matches `want` output by output (see the module doc).

    Float outputs are compared with `RTOL` of their dtype, or `tol.rtol` if it is larger,
    relative to the output's largest finite magnitude or, if larger, its entry of `scales`
    (see `summand_scales`).

    >>> compare_outputs([np.array([1.0, np.nan])], [np.array([1.0, np.nan])], "test")
    >>> compare_outputs([np.array([1, 2])], [np.array([1, 3])], "t")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    graphc.differential.FuzzFailure: t: output 0 differs at (1,) (1 of 2 elements): expected 2, ...
    """
    if len(want) != len(got):
        raise FuzzFailure(f"{what}: expected {len(want)} outputs, got {len(got)}")
    for k, (w, g) in enumerate(zip(want, got)):
        w, g = np.asarray(w), np.asarray(g)
        if w.shape != g.shape or w.dtype != g.dtype:
            raise FuzzFailure(
                f"{what}: output {k} is {g.dtype}{g.shape}, expected {w.dtype}{w.shape}"
            )
        bad = ~_close(w, g, tol.rtol if tol else 0.0, scales[k] if scales else 0.0)
        allowed = max(2, bad.size // 10) if tol and tol.lenient[k] else 0
        if bad.sum() > allowed:
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise FuzzFailure(
                f"{what}: output {k} differs at {index} ({int(bad.sum())} of {bad.size} "
                f"elements): expected {w[index]}, got {g[index]}"
            )


def _close(want: np.ndarray, got: np.ndarray, rtol: float, floor: float = 0.0) -> np.ndarray:
    if want.dtype not in RTOL:
        return want == got
    finite = np.abs(want[np.isfinite(want)])
    scale = max(1.0, floor, float(finite.max()) if finite.size else 0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        near = np.abs(want - got) <= max(rtol, RTOL[want.dtype]) * (np.abs(want) + scale)
    return (want == got) | (np.isnan(want) & np.isnan(got)) | (np.isfinite(want) & near)


#: Primitives that add up many terms: their result may be far smaller than the terms (they
#: cancel), and its rounding error, which depends on the order of the additions, is relative
#: to the terms, not to the result.
SUMS = frozenset(
    {"reduce_sum", "matmul", "conv", "conv_kernel_grad", "reduce_window", "scatter_add",
     "select_and_scatter_add", "fused"}
)  # fmt: skip


def summand_scales(graph: Graph, args: Sequence[np.ndarray]) -> list[float]:
    """Per output, the largest finite magnitude of any term a float sum upstream of it adds.

    A float32 sum of 2**62 - 2**62 + 4 is 4 in one order of additions and -37 in another; both
    are correct to float32's precision of the terms, which is what the comparison must allow.

    >>> import graphc
    >>> x = graphc.placeholder((3,), "float32")
    >>> summand_scales(graphc.Graph([x], [graphc.sum(x), x * 2]), [np.array([1e9, -1e9, 4])])
    [1000000000.0, 0.0]
    """
    values = graph.node_values(*check_arguments(graph.input_types, graph.input_names, args))
    scale: dict[int, float] = {}
    for node in graph.order:
        operands = graph.operands(node)
        here = max((scale[s] for s in operands), default=0.0)
        if graph.primitive(node).name in SUMS:
            for value in (values[s] for s in operands if values[s].dtype.kind == "f"):
                terms = np.abs(value[np.isfinite(value)])
                here = max(here, float(terms.max()) if terms.size else 0.0)
        scale[node] = here
    return [scale[n] for n in graph.outputs]


def _check_rng(seed: int, check: str) -> np.random.Generator:
    """The random stream of one check: apart from `random_graph`'s stream for the same seed,
    so arguments never coincide with the graph's constants by construction."""
    return np.random.default_rng([seed, *check.encode()])


def _as_list(result: Any) -> list[np.ndarray]:
    return list(result) if isinstance(result, list) else [result]


def _interpret(graph: Graph, args: Sequence[np.ndarray], what: str) -> list[np.ndarray]:
    values = _node_values(graph, args, what)
    return [values[n] for n in graph.outputs]


def _node_values(graph: Graph, args: Sequence[np.ndarray], what: str) -> dict[int, np.ndarray]:
    """Every node's value from the interpreter (the oracle)."""
    try:
        return graph.node_values(*check_arguments(graph.input_types, graph.input_names, args))
    except Exception as exc:  # the oracle must not fail on valid arguments
        raise FuzzFailure(f"{what}: the interpreter raised {type(exc).__name__}: {exc}") from exc


def _guarded(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run `fn(*args, **kwargs)`, a step that must not raise; any exception is the failure
    being looked for."""
    try:
        return fn(*args, **kwargs)
    except FuzzFailure:
        raise
    except Exception as exc:
        raise FuzzFailure(f"{what} raised {type(exc).__name__}: {exc}") from exc


# --- the checks ----------------------------------------------------------------------------


def check_compiled(graph: Graph, seed: int) -> bool:
    """Native code agrees with the interpreter at every batch size in `BATCHES`."""
    from graphc.backend import compile_graph

    rng = _check_rng(seed, "compiled")
    options = {
        "opt_level": int(rng.integers(0, 4)),
        "threads": int(rng.choice([1, 1, 2, 3])),
        "run_passes": bool(rng.random() < 0.75),
    }
    what = f"compiled with {options}"
    compiled = _guarded(f"compile with {options}", compile_graph, graph, cache=False, **options)
    for batch in BATCHES:
        args = random_arguments(graph, rng, batch)
        want = _interpret(graph, args, f"{what}, batch {batch}")
        got = _as_list(_guarded(f"{what}, batch {batch}: the call", compiled, *args))
        scales = summand_scales(graph, args)
        compare_outputs(want, got, f"{what}, batch {batch}", tolerance(graph), scales)
    return True


def check_optimized(graph: Graph, seed: int) -> bool:
    """Every exact pass level (0, 1, 2) keeps the interpreter's results."""
    from graphc.passes import optimize

    rng = _check_rng(seed, "optimized")
    for level in (0, 1, 2):
        optimized = _guarded(f"optimize level {level}", optimize, graph, level, verify=True)
        for batch in (0, 3):
            args = random_arguments(graph, rng, batch)
            what = f"optimize level {level}, batch {batch}"
            want, got = _interpret(graph, args, what), _interpret(optimized, args, what)
            compare_outputs(want, got, what, tolerance(graph))
    return True


def check_derivatives(graph: Graph, seed: int) -> bool:
    """jvp == finite differences, vjp == jvp transposed, compiled vjp == interpreted vjp.

    Returns False (skipped) when the graph has no float input or a float value in it (an
    output or an intermediate) is not finite at the drawn point: a tangent through an infinite
    intermediate is inf * 0 = nan, which finite differences of the finite output do not see.
    A finite-difference mismatch must repeat at a second direction and a smaller step to
    count: a step that crosses a jump of floor or a comparison is not a bug.
    """
    from graphc.autodiff import is_differentiable_type
    from graphc.backend import compile_graph
    from graphc.differentiate import vjp

    if not any(is_differentiable_type(t) for t in graph.input_types):
        return False
    rng = _check_rng(seed, "derivatives")
    args = random_arguments(graph, rng, int(rng.integers(1, 4)), specials=False)
    values = _node_values(graph, args, "derivatives")
    if not all(np.isfinite(v).all() for v in values.values() if v.dtype.kind == "f"):
        return False
    outputs = [values[n] for n in graph.outputs]
    try:
        testing.check_jvp(graph, args, seed=seed)
    except testing.DerivativeCheckError:
        try:
            testing.check_jvp(graph, args, seed=seed + 1, eps=1e-7, rtol=1e-4, atol=1e-5)
        except testing.DerivativeCheckError as exc:
            raise FuzzFailure(f"forward mode vs finite differences: {exc}") from exc
    except Exception as exc:
        raise FuzzFailure(f"forward mode raised {type(exc).__name__}: {exc}") from exc
    try:
        testing.check_vjp(graph, args, seed=seed)
    except testing.DerivativeCheckError as exc:
        raise FuzzFailure(f"reverse mode vs forward mode: {exc}") from exc
    except Exception as exc:
        raise FuzzFailure(f"reverse mode raised {type(exc).__name__}: {exc}") from exc
    reverse = vjp(graph)
    cotangents = [rng.standard_normal(o.shape).astype(o.dtype) for o in outputs]
    cotangents = [c if c.dtype.kind == "f" else np.zeros_like(c) for c in cotangents]
    full = [*args, *cotangents]
    want = _interpret(reverse, full, "vjp graph")
    compiled = _guarded("compiling the vjp graph", lambda: compile_graph(reverse, cache=False))
    got = _guarded("calling the compiled vjp graph", lambda: _as_list(compiled(*full)))
    compare_outputs(want, got, "compiled vjp graph", tolerance(reverse))
    return True


CHECKS: dict[str, Callable[[Graph, int], bool]] = {
    "compiled": check_compiled,
    "optimized": check_optimized,
    "derivatives": check_derivatives,
}


def run_check(name: str, graph: Graph, seed: int) -> bool:
    """Run the check called `name` (a key of `CHECKS`); True if it ran, False if skipped.

    >>> import graphc
    >>> x = graphc.placeholder((None, 2), "float64", name="x")
    >>> run_check("optimized", graphc.Graph([x], graphc.exp(x) * 1.0), seed=0)
    True
    """
    if name not in CHECKS:
        raise GraphcError(f"unknown check {name!r}; expected one of {sorted(CHECKS)}")
    return CHECKS[name](graph, seed)


def fails(name: str, graph: Graph, seed: int) -> bool:
    """Whether the check fails on `graph` (a skipped check does not fail)."""
    try:
        run_check(name, graph, seed)
    except FuzzFailure:
        return True
    return False


# --- minimizing ----------------------------------------------------------------------------


def minimize(graph: Graph, still_fails: Callable[[Graph], bool], max_tries: int = 400) -> Graph:
    """A smaller graph on which `still_fails` is still true (greedy, to a local minimum).

    Tries, largest cut first: keeping one output, cutting the graph at any intermediate node
    (which becomes the only output), bypassing a node by one of its operands of the same type,
    and dropping unused inputs; keeps every change that still fails, until none does.

    >>> import graphc
    >>> x = graphc.placeholder((None,), "float64", name="x")
    >>> g = graphc.Graph([x], graphc.sin(graphc.exp(x) - 1.0) * 2.0)
    >>> small = minimize(g, lambda h: any(h.primitive(n).name == "exp" for n in h.order))
    >>> [small.primitive(n).name for n in small.order]
    ['input', 'exp']
    """
    tries = 0
    improved = True
    while improved and tries < max_tries:
        improved = False
        for candidate in _candidates(graph):
            tries += 1
            if len(candidate) < len(graph) and still_fails(candidate):
                graph, improved = candidate, True
                break
            if tries >= max_tries:
                break
    return graph


def _candidates(graph: Graph) -> list[Graph]:
    inputs = list(graph.inputs)
    computed = [n for n in graph.order if graph.primitive(n) is not input_p]
    cuts: list[tuple[list[int], dict[int, int]]] = []
    if len(graph.outputs) > 1:
        cuts += [([n], {}) for n in graph.outputs]
    cuts += [([n], {}) for n in computed if n not in graph.outputs]
    for n in reversed(computed):
        cuts += [
            (list(graph.outputs), {n: s})
            for s in dict.fromkeys(graph.operands(n))
            if graph.type(s) == graph.type(n)
        ]
    results = []
    for outputs, substitute in cuts:
        rebuilt = _rebuild(graph, inputs, outputs, substitute)
        if rebuilt is not None:
            results.append(rebuilt)
    used = [n for n in inputs if graph.nx.out_degree(n) or n in graph.outputs]
    if len(used) < len(inputs):
        rebuilt = _rebuild(graph, used, list(graph.outputs), {})
        if rebuilt is not None:
            results.append(rebuilt)
    return sorted(results, key=len)


def _rebuild(
    graph: Graph, inputs: list[int], outputs: list[int], substitute: dict[int, int]
) -> Graph | None:
    """Replay `graph` with node `n` replaced by `substitute[n]`; None if that is not a graph."""
    env: dict[int, Value] = {
        n: placeholder(graph.type(n).shape, graph.type(n).dtype, name=graph.node_name(n))
        for n in inputs
    }
    for node in graph.order:
        if node in env or graph.primitive(node) is input_p:
            continue
        if node in substitute:
            env[node] = env[substitute[node]]
            continue
        operands = [env.get(s) for s in graph.operands(node)]
        if any(v is None for v in operands):
            continue  # depends on a dropped input
        data = graph.nx.nodes[node]
        env[node] = data["primitive"].bind(*operands, name=data["name"], **data["attrs"])
    targets = [env.get(substitute.get(n, n)) for n in outputs]
    if any(v is None for v in targets):
        return None
    single = graph.single_output or len(targets) == 1
    try:
        return Graph([env[n] for n in inputs], targets[0] if single else targets)
    except GraphcError:
        return None


def write_reproducer(
    directory: str | Path, check: str, graph: Graph, seed: int, message: str
) -> Path:
    """Save `graph` as `<check>-<seed>.graphc` and a script `<check>-<seed>.py` that replays it.

    The script raises `FuzzFailure` while the bug is there and prints "passed" once fixed.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"{check}-{seed}"
    graph.save(stem.with_suffix(".graphc"))
    quoted = "\n".join(line.rstrip() for line in message.replace('"""', "'''").splitlines())
    script = f'''"""Fuzz failure: the {check!r} check, seed {seed}.

{quoted}

The graph (saved next to this file):

{graph.dump()}
"""

from pathlib import Path

import graphc
from graphc import differential

graph = graphc.Graph.load(Path(__file__).with_suffix(".graphc"))
differential.run_check({check!r}, graph, {seed})
print("passed: the check no longer fails")
'''
    path = stem.with_suffix(".py")
    path.write_text(script)
    return path
