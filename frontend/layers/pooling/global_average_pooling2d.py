"""`GlobalAveragePooling2D`: global average pooling for images."""

from __future__ import annotations

from graphc.frontend.layers.pooling.base_global_pooling import BaseGlobalPooling
from graphc.primitives.reduce import mean


class GlobalAveragePooling2D(BaseGlobalPooling):
    """Global average pooling for images: each channel becomes the mean over height and width.

    Args:
        data_format: None or "channels_last" ("channels_first" is refused: graphc is NHWC).
        keepdims: keep the reduced axes with size 1; default False.

    Input shape: `(batch_size, height, width, channels)`.
    Output shape: `(batch_size, channels)`, or `(batch_size, 1, 1, channels)` with `keepdims=True`.

    >>> from graphc.frontend.layers import Input
    >>> GlobalAveragePooling2D()(Input((7, 7, 64))).shape
    (None, 64)
    """

    rank = 2
    reduce_fn = staticmethod(mean)
