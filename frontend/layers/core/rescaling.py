"""`Rescaling`: multiplies inputs by `scale` and adds `offset` (e.g. pixels to [0, 1])."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc.core import Value
from graphc.frontend.layers.layer import Layer
from graphc.primitives.cast import cast


def _number_or_list(value: Any) -> Any:
    array = np.asarray(value)
    return float(array) if array.ndim == 0 else array.tolist()


class Rescaling(Layer):
    """`output = inputs * scale + offset`, computed in the layer's float dtype.

    Args:
        scale: a number, or a per-channel list broadcast against the last axes.
        offset: a number or a per-channel list, default 0.

    Input shape: arbitrary. Output shape: same as the input.

    >>> import numpy as np
    >>> Rescaling(1 / 127.5, offset=-1.0)(np.array([[0, 255]], "uint8")).tolist()
    [[-1.0, 1.0]]
    """

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.scale = _number_or_list(scale)
        self.offset = _number_or_list(offset)
        self.supports_masking = True

    def call(self, inputs: Value) -> Value:
        dtype = self.compute_dtype
        scale = np.asarray(self.scale, dtype) if isinstance(self.scale, list) else self.scale
        offset = np.asarray(self.offset, dtype) if isinstance(self.offset, list) else self.offset
        return cast(inputs, dtype) * scale + offset

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
