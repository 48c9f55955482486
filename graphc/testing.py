"""Derivative checks for graphs, for graphc's tests and for users' own ops and models.

`check_jvp` compares forward mode against central finite differences in one random direction;
`check_vjp` checks reverse mode against forward mode through the inner-product identity
<u, J t> = <J^T u, t> for random t and u. Together they test both modes of every rule a graph
uses, at the cost of a few evaluations, whatever the shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphc.autodiff import is_differentiable_type
from graphc.differentiate import jvp, vjp
from graphc.errors import GraphcError
from graphc.graph import Graph


class DerivativeCheckError(GraphcError, AssertionError):
    """A derivative check failed; the message gives both numbers."""


def _random_like(rng: np.random.Generator, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [rng.standard_normal(a.shape).astype(a.dtype) for a in arrays]


def _as_list(result: Any) -> list[np.ndarray]:
    return [np.asarray(r) for r in (result if isinstance(result, list) else [result])]


def _float_args(graph: Graph, args: Sequence[Any]) -> tuple[list[np.ndarray], list[int]]:
    arrays = [np.asarray(a, dtype=t.dtype) for a, t in zip(args, graph.input_types)]
    floats = [i for i, t in enumerate(graph.input_types) if is_differentiable_type(t)]
    return arrays, floats


def check_jvp(
    graph: Graph,
    args: Sequence[Any],
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    seed: int = 0,
) -> None:
    """Forward mode agrees with central differences along a random direction.

    >>> import graphc
    >>> x = graphc.placeholder((3,), "float64")
    >>> check_jvp(graphc.Graph([x], graphc.tanh(x) * x), [[0.1, -0.5, 2.0]])
    """
    rng = np.random.default_rng(seed)
    arrays, floats = _float_args(graph, args)
    directions = _random_like(rng, [arrays[i] for i in floats])
    result = jvp(graph)(*arrays, *directions)
    n_out = len(graph.outputs)
    tangents = result[n_out:]

    def shifted(sign: float) -> list[np.ndarray]:
        moved = [a.copy() for a in arrays]
        for i, d in zip(floats, directions):
            moved[i] = arrays[i] + sign * eps * d
        return _as_list(graph(*moved))

    plus, minus = shifted(+1), shifted(-1)
    for k, (t, p, m) in enumerate(zip(tangents, plus, minus)):
        if not is_differentiable_type(graph.output_types[k]):
            continue
        numeric = (p - m) / (2 * eps)
        if not np.allclose(t, numeric, rtol=rtol, atol=atol, equal_nan=True):
            raise DerivativeCheckError(
                f"jvp of output {k} disagrees with finite differences: max |diff| = "
                f"{np.nanmax(np.abs(t - numeric)):.3g}\njvp:     {t}\nnumeric: {numeric}"
            )


def check_vjp(
    graph: Graph, args: Sequence[Any], *, rtol: float = 1e-6, atol: float = 1e-8, seed: int = 0
) -> None:
    """Reverse mode is the transpose of forward mode: <u, J t> == <J^T u, t>.

    >>> import graphc
    >>> x = graphc.placeholder((2, 3), "float64")
    >>> check_vjp(graphc.Graph([x], graphc.exp(x).sum(axis=0)), [[[1, 2, 3], [4, 5, 6]]])
    """
    rng = np.random.default_rng(seed)
    arrays, floats = _float_args(graph, args)
    directions = _random_like(rng, [arrays[i] for i in floats])
    n_out = len(graph.outputs)
    jvp_result = jvp(graph)(*arrays, *directions)
    outputs, tangents = jvp_result[:n_out], jvp_result[n_out:]
    cotangents = _random_like(rng, outputs)
    for k, t in enumerate(graph.output_types):
        if not is_differentiable_type(t):
            cotangents[k] = np.zeros_like(cotangents[k])
    vjp_result = vjp(graph)(*arrays, *cotangents)
    input_cts = vjp_result[n_out:]
    forward = sum(
        float(np.sum(u * jt))
        for u, jt in zip(cotangents, tangents)
        if np.issubdtype(u.dtype, np.floating)
    )
    reverse = sum(float(np.sum(input_cts[i] * d)) for i, d in zip(floats, directions))
    if not np.isclose(forward, reverse, rtol=rtol, atol=atol):
        raise DerivativeCheckError(
            f"vjp is not the transpose of jvp: <u, J t> = {forward!r} but <J^T u, t> = {reverse!r}"
        )


def check_grads(graph: Graph, args: Sequence[Any], *, seed: int = 0) -> None:
    """Both checks: forward mode against finite differences, reverse mode against forward."""
    check_jvp(graph, args, seed=seed)
    check_vjp(graph, args, seed=seed)
