"""The trace context: what a layer needs to know while a model is being traced into a graph.

A model is traced (its layers re-run on placeholder Values) for inference, for a training
step, and for eager calls on arrays. Layers whose behaviour depends on that (Dropout, random
augmentation, BatchNormalization) ask the active `TraceContext`:

- `training`: the Python bool the trace was started with;
- `next_seed()`: a distinct int64 scalar Value per random op, derived from the trace's seed
  (an input of the training graph, fed a new number at every step), for
  `graphc.random_uniform(seed, shape)`;
- `add_update(variable, new_value)`: a state update (moving averages) that the training step
  returns as extra outputs and assigns after the step;
- `add_loss(layer, value)`: an activity regularization or `Layer.add_loss` term.

Layer calls made while a context is active record no Nodes in the layers' call histories: the
functional structure of a model is defined once, when the user calls layers on `Input`s, and
traces only replay it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from graphc.core import Value, as_value, constant
from graphc.primitives.cast import cast

if TYPE_CHECKING:
    from graphc.frontend.variables import Variable

# Seeds for successive random ops: seed * A + (i + 1) * C (mod 2**64), the multiplier and
# increment of Knuth's MMIX linear congruential generator, so streams of one trace differ.
_SEED_MULTIPLIER = 6364136223846793005
_SEED_INCREMENT = 1442695040888963407

_state = threading.local()


def _stack() -> list[TraceContext | None]:
    if not hasattr(_state, "stack"):
        _state.stack = []
    return _state.stack


def _wrap_int64(n: int) -> int:
    """n modulo 2**64, as a signed int64 (graph integer arithmetic wraps the same way)."""
    n &= (1 << 64) - 1
    return n - (1 << 64) if n >= 1 << 63 else n


class TraceContext:
    """The state of one trace; enter it with `with` around the layer calls.

    Args:
        training: whether layers run in training mode (dropout active, batch statistics).
        seed: an int64 scalar Value (usually a graph input) that random ops derive their seeds
            from; None uses a fixed seed drawn from the frontend's random generator (reseed it
            with `graphc.frontend.utils.set_random_seed`).

    >>> import graphc
    >>> with TraceContext(training=True, seed=graphc.placeholder((), "int64")) as ctx:
    ...     a, b = ctx.next_seed(), ctx.next_seed()
    >>> a.dtype, a.shape, a is b, current_context() is None
    (dtype('int64'), (), False, True)
    """

    def __init__(self, training: bool, seed: Value | None = None):
        self.training = bool(training)
        self.seed = seed
        self.updates: list[tuple[Variable, Value]] = []
        self.losses: list[tuple[Any, Value]] = []
        #: Every layer call of the trace, in order: (layer, outputs). Summaries read shapes here.
        self.calls: list[tuple[Any, Any]] = []
        self._seed_count = 0

    def __enter__(self) -> TraceContext:
        _stack().append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _stack().pop()

    def next_seed(self) -> Value:
        """A fresh int64 scalar seed Value for the next random op of this trace."""
        if self.seed is None:
            from graphc.frontend.utils.random_seed import global_generator

            self.seed = constant(np.int64(global_generator().integers(0, 2**62)))
        self._seed_count += 1
        base = cast(self.seed, "int64")
        return base * _wrap_int64(_SEED_MULTIPLIER) + _wrap_int64(
            self._seed_count * _SEED_INCREMENT
        )

    def add_update(self, variable: Variable, new_value: Any) -> None:
        """Record that `variable` takes `new_value` after a training step."""
        value = cast(as_value(new_value), variable.dtype)
        if value.shape != variable.shape:
            raise ValueError(
                f"add_update: variable {variable.name!r} has shape {variable.shape}, "
                f"got an update of shape {value.shape}"
            )
        self.updates.append((variable, value))

    def add_loss(self, layer: Any, value: Value) -> None:
        """Record a loss term contributed by `layer` during this trace."""
        self.losses.append((layer, value))


def current_context() -> TraceContext | None:
    """The innermost active trace context, or None outside traces (or inside `no_trace`)."""
    stack = _stack()
    return stack[-1] if stack else None


@contextmanager
def no_trace() -> Iterator[None]:
    """Suspend the active trace: layer calls inside record Nodes again.

    Used when a model builds its functional structure (Sequential's deferred build) while it
    is being traced for its first call.

    >>> with TraceContext(training=False):
    ...     with no_trace():
    ...         print(current_context())
    None
    """
    _stack().append(None)
    try:
        yield
    finally:
        _stack().pop()


def next_seed() -> Value:
    """A seed for one random op: from the active trace, or a fixed one outside traces.

    Layers that draw random numbers (Dropout, augmentation) call this instead of reaching for
    `current_context()` so they also work when called with `training=True` outside a model.

    >>> with TraceContext(training=True) as ctx:
    ...     seed = next_seed()
    >>> seed.dtype
    dtype('int64')
    """
    ctx = current_context()
    if ctx is None:
        ctx = TraceContext(training=True)
    return ctx.next_seed()
