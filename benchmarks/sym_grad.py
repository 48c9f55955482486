"""sym_grad: the gradient of a 40-variable scalar expression, derived, compiled and evaluated.

f(x) = sum_i log(1 + exp(x_i x_{i+1})) + sin(x_i) cos(x_{i+7}), indices modulo 40, float64.

- derive + compile: graphc builds the graph from 40 scalars, derives it (`graphc.grad`, all
  40 partial derivatives in one graph) and either compiles it with LLVM (no disk cache) or
  writes it as Python code (`graphc.lambdify`, no LLVM); sympy runs `diff` for each variable
  and `lambdify`s the 40 results; JAX traces and compiles `jit(grad(f, argnums=0..39))` on
  its first call. The target is measured on graphc's quicker way, `graphc.lambdify`.
  sympy memoizes: deriving the same expression again takes a seventh of the first time. The
  sympy row clears its cache before each repetition (`sympy.core.cache.clear_cache`), as for
  a new expression, since graphc caches nothing either; the "sympy (cached)" row shows the
  repeated derivation for reference.
- evaluate: each callable takes the 40 values as Python floats and returns the 40 partial
  derivatives (the interface sympy's `lambdify` gives).
- evaluate (vector): the same gradient with the variables as one float64[40] array, for
  graphc (`x[i]` indexing) and JAX.
"""

from __future__ import annotations

import functools
import operator
import statistics
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import graphc
from benchmarks.harness import Section, Settings, Target, check_close, measure, time_once

NAME = "sym_grad"
TITLE = "gradient of a 40-variable expression: derive + compile, and evaluate (float64)"
N = 40
DERIVE_TARGET = 0.2  # graphc (derive + compile) / sympy (diff + lambdify)
EVAL_TARGET = 1.0  # graphc evaluation / JAX jit evaluation


def expression(xs: Sequence[Any], log: Any, exp: Any, sin: Any, cos: Any) -> Any:
    """The benchmark's expression, built with any library's functions."""
    n = len(xs)
    terms = [
        log(1 + exp(xs[i] * xs[(i + 1) % n])) + sin(xs[i]) * cos(xs[(i + 7) % n]) for i in range(n)
    ]
    return functools.reduce(operator.add, terms)


def graphc_derive() -> graphc.Graph:
    xs = graphc.scalars(" ".join(f"x{i}" for i in range(N)), dtype="float64")
    f = expression(xs, graphc.log, graphc.exp, graphc.sin, graphc.cos)
    return graphc.grad(graphc.Graph(list(xs), f, name="f"))


def graphc_vector_gradient() -> graphc.Graph:
    x = graphc.placeholder((N,), "float64", name="x")
    f = expression([x[i] for i in range(N)], graphc.log, graphc.exp, graphc.sin, graphc.cos)
    return graphc.grad(graphc.Graph([x], f, name="f"), wrt="x")


def sympy_derive(sympy: Any) -> Callable[..., Any]:
    xs = sympy.symbols(f"x0:{N}")
    f = expression(xs, sympy.log, sympy.exp, sympy.sin, sympy.cos)
    return sympy.lambdify(xs, [sympy.diff(f, x) for x in xs], "math")


def _jax_functions(jax: Any) -> tuple[Callable[..., Any], Callable[..., Any]]:
    jnp = jax.numpy

    def f_scalars(*xs: Any) -> Any:
        return expression(xs, jnp.log, jnp.exp, jnp.sin, jnp.cos)

    def f_vector(x: Any) -> Any:
        return expression([x[i] for i in range(N)], jnp.log, jnp.exp, jnp.sin, jnp.cos)

    scalars = jax.jit(jax.grad(f_scalars, argnums=tuple(range(N))))
    return scalars, jax.jit(jax.grad(f_vector))


def _median_time(fn: Callable[[], Any], times: int) -> tuple[float, Any]:
    runs = [time_once(fn) for _ in range(times)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


def run(settings: Settings) -> Section:
    section = Section(NAME, TITLE)
    jax = settings.peers.get("jax")
    x64 = jax.config.jax_enable_x64 if jax is not None else None
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
    try:
        _run(section, settings, jax)
    finally:
        if jax is not None:
            jax.config.update("jax_enable_x64", x64)
    return section


def _run(section: Section, settings: Settings, jax: Any) -> None:
    compile_repeats = 1 if settings.quick else 3
    # the quick ones (tens of milliseconds), sympy's included, are the median of more runs
    derive_repeats = 1 if settings.quick else 7
    values = [float(v) for v in np.random.default_rng(0).uniform(-1.0, 1.0, N)]
    case = "derive + compile"

    derive_seconds, gradient = _median_time(graphc_derive, derive_repeats)
    compile_seconds, compiled = _median_time(
        lambda: graphc.compile(gradient, cache=False), compile_repeats
    )
    section.add(
        case,
        "graphc",
        "graphc",
        derive_seconds + compile_seconds,
        f"grad {derive_seconds * 1e3:.0f} ms + compile {compile_seconds * 1e3:.0f} ms",
    )
    lambdify_seconds, python_gradient = _median_time(
        lambda: graphc.lambdify(gradient), derive_repeats
    )
    section.add(
        case,
        "graphc.lambdify",
        "graphc",
        derive_seconds + lambdify_seconds,
        f"grad {derive_seconds * 1e3:.1f} ms + lambdify {lambdify_seconds * 1e3:.1f} ms",
    )
    evaluators: dict[str, Callable[[], Any]] = {
        "graphc": lambda: compiled(*values),
        "graphc.lambdify": lambda: python_gradient(*values),
    }
    want = np.array([float(g) for g in gradient(*values)])
    sympy = settings.peers.get("sympy")
    if sympy is not None:

        def sympy_new_expression() -> Callable[..., Any]:
            sympy.core.cache.clear_cache()
            return sympy_derive(sympy)

        sympy_seconds, sympy_gradient = _median_time(sympy_new_expression, derive_repeats)
        section.add(case, "sympy", "peer", sympy_seconds, "diff + lambdify, a new expression")
        cached_seconds, _ = _median_time(lambda: sympy_derive(sympy), derive_repeats)
        section.add(case, "sympy (cached)", "reference", cached_seconds, "the same again")
        evaluators["sympy"] = lambda: sympy_gradient(*values)
    else:
        section.skip(case, "sympy", settings)
    if jax is not None:

        def jax_first_call() -> Any:
            scalars, vector = _jax_functions(jax)
            jax.block_until_ready(scalars(*values))
            return scalars, vector

        jax_seconds, (jax_scalars, jax_vector) = _median_time(jax_first_call, compile_repeats)
        section.add(case, "jax", "peer", jax_seconds, "trace + compile of jit(grad)")
        evaluators["jax"] = lambda: jax.block_until_ready(jax_scalars(*values))
    else:
        section.skip(case, "jax", settings)
    sympy_seconds = section.seconds(case, "sympy")
    section.targets.append(
        Target(
            f"{case}: graphc.lambdify / sympy <= {DERIVE_TARGET}",
            (derive_seconds + lambdify_seconds) / sympy_seconds if sympy_seconds else None,
            DERIVE_TARGET,
        )
    )

    case = "evaluate (40 scalars)"
    for name, call in evaluators.items():
        check_close(f"{NAME} {name}", np.array([float(g) for g in call()]), want, rtol=1e-9)
    for name, seconds in measure(evaluators, settings).items():
        section.add(case, name, "graphc" if name.startswith("graphc") else "peer", seconds)
    for peer in ("sympy", "jax"):
        if peer not in evaluators:
            section.skip(case, peer, settings)
    jax_seconds = section.seconds(case, "jax")
    for name in ("graphc", "graphc.lambdify"):
        section.targets.append(
            Target(
                f"{case}: {name} / JAX jit <= {EVAL_TARGET}",
                section.seconds(case, name) / jax_seconds if jax_seconds else None,
                EVAL_TARGET,
            )
        )

    case = "evaluate (vector x: f64[40])"
    vector = np.array(values)
    compiled_vector = graphc.compile(graphc_vector_gradient())
    vector_calls: dict[str, Callable[[], Any]] = {"graphc": lambda: compiled_vector(vector)}
    if jax is not None:
        device_vector = jax.device_put(vector)
        vector_calls["jax"] = lambda: jax_vector(device_vector).block_until_ready()
    for name, call in vector_calls.items():
        check_close(f"{NAME} vector {name}", np.asarray(call()), want, rtol=1e-9)
    for name, seconds in measure(vector_calls, settings).items():
        section.add(case, name, "graphc" if name == "graphc" else "peer", seconds)
    if jax is None:
        section.skip(case, "jax", settings)
