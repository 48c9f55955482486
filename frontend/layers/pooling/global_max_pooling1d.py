"""`GlobalMaxPooling1D`: global max pooling for temporal data."""

from __future__ import annotations

from graphc.frontend.layers.pooling.base_global_pooling import BaseGlobalPooling
from graphc.primitives.reduce import max


class GlobalMaxPooling1D(BaseGlobalPooling):
    """Global max pooling for temporal data: each channel becomes the maximum over the steps.

    Args:
        data_format: None or "channels_last" ("channels_first" is refused: graphc is NHWC).
        keepdims: keep the reduced axes with size 1; default False.

    Input shape: `(batch_size, steps, features)`.
    Output shape: `(batch_size, features)`, or `(batch_size, 1, features)` with `keepdims=True`.

    >>> from graphc.frontend.layers import Input
    >>> GlobalMaxPooling1D()(Input((10, 16))).shape
    (None, 16)
    """

    rank = 1
    reduce_fn = staticmethod(max)
