"""`Masking`: marks time steps whose features all equal `mask_value` as padding."""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.frontend.layers.layer import Layer
from graphc.primitives.cast import cast
from graphc.primitives.compare import not_equal
from graphc.primitives.reduce import max as reduce_max


class Masking(Layer):
    """Masks a sequence by using a mask value to skip timesteps.

    A time step (all axes but the last) is masked when every feature equals `mask_value`;
    masked steps are zeroed in the output, and the mask is passed to mask-aware layers
    downstream (RNNs skip those steps).

    Args:
        mask_value: the padding value, default 0.

    Input shape: `(batch, timesteps, features)`. Output shape: the same.

    >>> import numpy as np
    >>> from graphc.frontend import Input
    >>> Masking()(Input((5, 2))).origin.mask.shape
    (None, 5)
    >>> Masking()(np.array([[[1.0, 2.0], [0.0, 0.0]]])).tolist()
    [[[1.0, 2.0], [0.0, 0.0]]]
    """

    def __init__(self, mask_value: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def _keep(self, inputs: Any, keepdims: bool) -> Value:
        return reduce_max(not_equal(inputs, self.mask_value), axis=-1, keepdims=keepdims)

    def call(self, inputs: Value) -> Value:
        return inputs * cast(self._keep(inputs, keepdims=True), inputs.dtype)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Value:
        return self._keep(inputs, keepdims=False)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}
