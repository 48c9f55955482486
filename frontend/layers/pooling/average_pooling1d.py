"""`AveragePooling1D`: average pooling over 1-D windows (temporal data)."""

from __future__ import annotations

from graphc.frontend.layers.pooling.base_pooling import BasePooling
from graphc.primitives.window import avg_pool1d


class AveragePooling1D(BasePooling):
    """Average pooling over 1-D windows (temporal data).

    Each output is the mean of its `pool_size` window.

    Args:
        pool_size: an int or a 1-tuple: the window; default 2.
        strides: an int, a 1-tuple or None (the default: `pool_size`).
        padding: "valid" or "same" (output size ceil(input / stride); windows
            average only their real, unpadded elements, as Keras); any case.
        data_format: None or "channels_last" ("channels_first" is refused: graphc is NHWC).

    Input shape: `(batch_size, steps, features)`.
    Output shape: `(batch_size, pooled_steps, features)`.

    >>> from graphc.frontend.layers import Input
    >>> AveragePooling1D()(Input((10, 4))).shape
    (None, 5, 4)
    """

    rank = 1
    pool_fn = staticmethod(avg_pool1d)
