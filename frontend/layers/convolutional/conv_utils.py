"""Argument standardization shared by the convolution, pooling and padding layers.

Keras accepts `kernel_size=3` or `(3, 3)`, padding in any case, and `data_format=None`; these
helpers turn such arguments into one canonical form and raise Keras' errors ("The `strides`
argument must be a tuple of 2 integers. Received: strides=(1, 2, 3)") for bad ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphc.types import Dim

DATA_FORMATS = ("channels_last", "channels_first")


def standardize_tuple(value: Any, n: int, name: str, allow_zero: bool = False) -> tuple[int, ...]:
    """An int or a sequence of `n` ints as a tuple of `n` ints (>= 1, or >= 0 if allowed).

    >>> standardize_tuple(3, 2, "kernel_size"), standardize_tuple([1, 2], 2, "strides")
    ((3, 3), (1, 2))
    """
    items = (value,) * n if _is_int(value) else value
    try:
        result = tuple(items)
    except TypeError:
        result = None
    lowest = 0 if allow_zero else 1
    if result is None or len(result) != n or not all(_is_int(v) for v in result):
        raise ValueError(
            f"The `{name}` argument must be a tuple of {n} integers. Received: {name}={value!r}"
        )
    if any(v < lowest for v in result):
        sign = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"The `{name}` argument must be a tuple of {n} integers {sign}. "
            f"Received: {name}={value!r}"
        )
    return tuple(int(v) for v in result)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def standardize_padding(padding: Any, allow_causal: bool = False) -> str:
    """Padding as "valid", "same" (or "causal" for 1-D convolutions), case-insensitive.

    >>> standardize_padding("SAME")
    'same'
    """
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in allowed:
        raise ValueError(
            f"The `padding` argument must be one of {allowed}. Received: padding={padding!r}"
        )
    return mode


def standardize_data_format(data_format: Any, who: str) -> str:
    """Keras' `data_format` argument; graphc layers compute in "channels_last" only.

    None means the Keras default, "channels_last". "channels_first" is refused with a hint,
    since graphc's convolution and pooling primitives are NHWC.

    >>> standardize_data_format(None, "Conv2D")
    'channels_last'
    """
    if data_format is None:
        return "channels_last"
    mode = data_format.lower() if isinstance(data_format, str) else data_format
    if mode not in DATA_FORMATS:
        raise ValueError(
            f"The `data_format` argument must be one of {DATA_FORMATS}. "
            f"Received: data_format={data_format!r}"
        )
    if mode == "channels_first":
        raise ValueError(
            f"{who}: data_format='channels_first' is not supported: graphc layers compute in "
            f"'channels_last' (NHWC) layout. Transpose the inputs (e.g. with layers.Permute) "
            f"and use data_format='channels_last'."
        )
    return mode


def output_length(length: Dim, window: int, padding: str, stride: int, dilation: int = 1) -> Dim:
    """The output length of a strided window over one axis, as Keras computes it.

    >>> output_length(28, 3, "valid", 1), output_length(28, 3, "same", 2)
    (26, 14)
    >>> output_length(10, 3, "causal", 1, dilation=2), output_length(None, 3, "same", 1)
    (10, None)
    """
    if length is None:
        return None
    effective = (window - 1) * dilation + 1
    if padding == "valid":
        if length < effective:
            raise ValueError(
                f"Computed output size would be negative: an axis of length {length} is "
                f"shorter than the window ({window}, {effective} after dilation)"
            )
        return (length - effective) // stride + 1
    return (length - 1) // stride + 1


def channels_last_output_shape(
    input_shape: Sequence[Dim],
    windows: Sequence[int],
    strides: Sequence[int],
    padding: str,
    channels: Dim,
    dilations: Sequence[int] | None = None,
) -> tuple[Dim, ...]:
    """(batch, *spatial outputs, channels) of a channels-last window op (conv or pooling).

    >>> channels_last_output_shape((None, 28, 28, 1), (3, 3), (1, 1), "valid", 32)
    (None, 26, 26, 32)
    """
    dilations = dilations or (1,) * len(windows)
    spatial = tuple(
        output_length(size, window, padding, stride, dilation)
        for size, window, stride, dilation in zip(input_shape[1:-1], windows, strides, dilations)
    )
    return (input_shape[0], *spatial, channels)
