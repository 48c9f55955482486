"""`gradients(loss, variables)`: reverse-mode derivatives of a symbolic loss, as graph Values.

This is the graph-building counterpart of a gradient tape: inside a traced `train_step`, the
loss is a Value built from the model's weight symbols, and its gradient is another piece of
the same graph. It uses graphc's autodiff passes on a graph of the loss: `replay` rebuilds the
loss on the *same* placeholders (so the gradient Values connect to the step's inputs) and
`pull_cotangents` walks back only from the loss to the requested weights, so weights that are
not asked for (frozen layers) get no gradient computation at all. The replayed forward pass
duplicates the traced one; the compiler's common-subexpression pass merges the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc import dtypes
from graphc.autodiff import instantiate
from graphc.core import Value, constant, input_p, unwrap_symbolic
from graphc.differentiate import pull_cotangents, replay
from graphc.errors import DTypeError, ShapeError
from graphc.graph import Graph


def placeholders_of(value: Value) -> list[Value]:
    """The graph inputs (placeholders) `value` depends on, each once, in first-seen order."""
    found: list[Value] = []
    seen: set[int] = set()
    stack = [value]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.primitive is input_p:
            found.append(current)
        stack.extend(current.inputs)
    return found


def gradients(loss: Any, variables: Sequence[Any]) -> list[Value | None]:
    """The gradient of a scalar float `loss` Value with respect to each variable.

    Args:
        loss: a scalar float Value.
        variables: frontend Variables (or placeholders) the loss may depend on.

    Returns:
        One Value per variable, shaped like it; None for a variable the loss does not
        depend on (as a gradient tape returns None).

    >>> import graphc, numpy as np
    >>> from graphc.frontend.variables import Variable
    >>> w = Variable(np.array([1.0, 2.0], np.float32), name="w")
    >>> x = graphc.placeholder((None, 2), name="x")
    >>> (g,) = gradients(graphc.sum(x * w * w), [w])
    >>> graphc.Graph([x, w.symbol], g)(np.ones((3, 2), np.float32), w.numpy()).tolist()
    [6.0, 12.0]
    """
    loss = unwrap_symbolic(loss)
    if not isinstance(loss, Value):
        raise TypeError(f"gradients: the loss must be a graph Value, got {type(loss).__name__}")
    if loss.shape != ():
        raise ShapeError(
            f"gradients: the loss must be a scalar, got {loss.type}; reduce it first (e.g. "
            "graphc.mean)"
        )
    if loss.dtype not in dtypes.FLOATS:
        raise DTypeError(f"gradients: the loss must be a float, got {loss.type}")
    sources = placeholders_of(loss)
    graph = Graph(sources, loss)
    env = replay(graph, sources)
    node_of = {id(v): node for v, node in zip(sources, graph.inputs)}
    wrt = [node_of.get(id(unwrap_symbolic(v))) for v in variables]
    cotangents = pull_cotangents(
        graph, env, {graph.outputs[0]: constant(1, loss.dtype)}, [n for n in wrt if n is not None]
    )
    return [None if n is None or n not in cotangents else instantiate(cotangents[n]) for n in wrt]
