"""`AveragePooling2D`: average pooling over 2-D windows."""

from __future__ import annotations

from graphc.frontend.layers.pooling.base_pooling import BasePooling
from graphc.primitives.window import avg_pool2d


class AveragePooling2D(BasePooling):
    """Average pooling over 2-D windows.

    Each output is the mean of its `pool_size` window.

    Args:
        pool_size: an int or a pair (height, width): the window; default 2 (Keras' `(2, 2)`).
        strides: an int, a pair (height, width) or None (the default: `pool_size`).
        padding: "valid" or "same" (output size ceil(input / stride); windows
            average only their real, unpadded elements, as Keras); any case.
        data_format: None or "channels_last" ("channels_first" is refused: graphc is NHWC).

    Input shape: `(batch_size, height, width, channels)`.
    Output shape: `(batch_size, pooled_height, pooled_width, channels)`.

    >>> from graphc.frontend.layers import Input
    >>> AveragePooling2D()(Input((28, 28, 8))).shape
    (None, 14, 14, 8)
    """

    rank = 2
    pool_fn = staticmethod(avg_pool2d)
