"""`GlobalAveragePooling1D`: global average pooling for temporal data, mask-aware."""

from __future__ import annotations

from graphc.core import Value
from graphc.frontend.layers.pooling.base_global_pooling import BaseGlobalPooling
from graphc.primitives.cast import cast
from graphc.primitives.reduce import mean, sum
from graphc.primitives.shape import expand_dims


class GlobalAveragePooling1D(BaseGlobalPooling):
    """Global average pooling for temporal data: each feature becomes its mean over the steps.

    With a mask (from `Embedding(mask_zero=True)` or `Masking`), only unmasked steps are
    averaged, as Keras does; the output carries no mask.

    Args:
        data_format: None or "channels_last" ("channels_first" is refused: graphc is NHWC).
        keepdims: keep the steps axis with size 1; default False.

    Input shape: `(batch_size, steps, features)`.
    Output shape: `(batch_size, features)`, or `(batch_size, 1, features)` with
    `keepdims=True`.

    >>> from graphc.frontend.layers import Input
    >>> GlobalAveragePooling1D()(Input((10, 16))).shape
    (None, 16)
    """

    rank = 1
    reduce_fn = staticmethod(mean)

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs: Value, mask: Value | None = None) -> Value:
        if mask is None:
            return super().call(inputs)
        weights = expand_dims(cast(mask, inputs.dtype), 2)
        total = sum(inputs * weights, axis=1, keepdims=self.keepdims)
        return total / sum(weights, axis=1, keepdims=self.keepdims)

    def compute_mask(self, inputs: Value, previous_mask: Value | None = None) -> None:
        return None
