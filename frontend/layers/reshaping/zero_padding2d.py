"""`ZeroPadding2D`: rows and columns of zeros around images."""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.frontend.layers.convolutional.conv_utils import (
    standardize_data_format,
    standardize_tuple,
)
from graphc.frontend.layers.input_spec import InputSpec
from graphc.frontend.layers.layer import Layer
from graphc.primitives.shape import pad


class ZeroPadding2D(Layer):
    """Zero-padding layer for 2-D input (e.g. pictures).

    Adds rows of zeros at the top and bottom and columns of zeros at the left and right of
    each image.

    Args:
        padding: an int (the same padding on all four sides), a pair of ints
            `(symmetric_height_pad, symmetric_width_pad)`, or a pair of pairs
            `((top_pad, bottom_pad), (left_pad, right_pad))`; default `(1, 1)`.
        data_format: None or "channels_last" ("channels_first" is refused: graphc is NHWC).

    Input shape: `(batch_size, rows, cols, channels)`.
    Output shape: `(batch_size, padded_rows, padded_cols, channels)`.

    >>> from graphc.frontend.layers import Input
    >>> ZeroPadding2D(((1, 0), (2, 3)))(Input((4, 4, 3))).shape
    (None, 5, 9, 3)
    """

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.padding = _standardize_padding(padding)
        self.data_format = standardize_data_format(data_format, "ZeroPadding2D")
        self.input_spec = InputSpec(ndim=4)

    def call(self, inputs: Value) -> Value:
        return pad(inputs, ((0, 0), *self.padding, (0, 0)))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        batch, rows, cols, channels = input_shape
        (top, bottom), (left, right) = self.padding
        return (
            batch,
            None if rows is None else rows + top + bottom,
            None if cols is None else cols + left + right,
            channels,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "padding": [list(pair) for pair in self.padding],
            "data_format": self.data_format,
        }


def _standardize_padding(padding: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras' three spellings of the padding as ((top, bottom), (left, right))."""
    if isinstance(padding, int) and not isinstance(padding, bool):
        if padding < 0:
            raise ValueError(f"`padding` must be >= 0. Received: padding={padding}.")
        return ((padding, padding), (padding, padding))
    if hasattr(padding, "__len__"):
        if len(padding) != 2:
            raise ValueError(f"`padding` should have two elements. Received: padding={padding}.")
        rows = standardize_tuple(padding[0], 2, "1st entry of padding", allow_zero=True)
        cols = standardize_tuple(padding[1], 2, "2nd entry of padding", allow_zero=True)
        return (rows, cols)  # type: ignore[return-value]
    raise ValueError(
        "`padding` should be either an int, a tuple of 2 ints (symmetric_height_pad, "
        "symmetric_width_pad), or a tuple of 2 tuples of 2 ints ((top_pad, bottom_pad), "
        f"(left_pad, right_pad)). Received: padding={padding}."
    )
