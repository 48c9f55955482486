"""Global frontend state, as `keras.backend`: `clear_session` and the float settings."""

from __future__ import annotations

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
