"""Global frontend state, as `keras.backend`: `clear_session`, the float settings and the
number of threads compiled models use."""

from __future__ import annotations

import os

from graphc.frontend.engine.caches import structure_changed
from graphc.frontend.engine.naming import reset_names

_EPSILON = 1e-7


def clear_session() -> None:
    """Reset layer-name counters (the next Dense is "dense" again) and drop traced graphs.

    >>> from graphc.frontend import layers
    >>> clear_session()
    >>> layers.Dense(1).name, layers.Dense(1).name
    ('dense', 'dense_1')
    """
    reset_names()
    structure_changed()


def floatx() -> str:
    """The default float dtype of layers and inputs: "float32"."""
    return "float32"


def epsilon() -> float:
    """The fuzz factor Keras uses to avoid divisions by zero: 1e-7."""
    return _EPSILON


def image_data_format() -> str:
    """The default data format of image layers: "channels_last"."""
    return "channels_last"


# --- threads -----------------------------------------------------------------------------------

#: The environment variable that sets the default number of threads (as OMP_NUM_THREADS does).
THREADS_VARIABLE = "GRAPHC_NUM_THREADS"

_threads: int | None = None  # set_num_threads's value; None: the default


def num_threads() -> int:
    """Threads a model's compiled functions use (`predict`, `evaluate`, `fit`).

    By default every core this process may run on, as TensorFlow and JAX use under Keras,
    or the value of the environment variable GRAPHC_NUM_THREADS; `set_num_threads` overrides
    both. Large kernels share their work between the threads and large batches are split
    between them; the results are bitwise the same for any number of threads.

    >>> set_num_threads(1)
    >>> num_threads()
    1
    >>> set_num_threads(None)  # back to the default
    >>> num_threads() >= 1
    True
    """
    if _threads is not None:
        return _threads
    text = os.environ.get(THREADS_VARIABLE, "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise ValueError(
                f"{THREADS_VARIABLE}={text!r}: expected a positive number of threads, e.g. "
                f"{THREADS_VARIABLE}=2"
            )
        return int(text)
    return available_cores()


def set_num_threads(threads: int | None) -> None:
    """Use `threads` threads in models compiled from now on (None: back to the default, see
    `num_threads`). Functions already compiled keep theirs; a model compiles its functions
    again for a new number at its next `predict`, `evaluate` or `fit`.

    >>> set_num_threads(0)
    Traceback (most recent call last):
    ...
    ValueError: set_num_threads: expected a positive int or None, got 0
    """
    global _threads
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise ValueError(f"set_num_threads: expected a positive int or None, got {threads!r}")
    _threads = threads


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
