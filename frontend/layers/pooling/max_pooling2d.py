"""`MaxPooling2D`: max pooling over 2-D windows."""

from __future__ import annotations

from graphc.frontend.layers.pooling.base_pooling import BasePooling
from graphc.primitives.window import max_pool2d


class MaxPooling2D(BasePooling):
    """Max pooling over 2-D windows.

    Each output is the largest value of its `pool_size` window.

    Args:
        pool_size: an int or a pair (height, width): the window; default 2 (Keras' `(2, 2)`).
        strides: an int, a pair (height, width) or None (the default: `pool_size`).
        padding: "valid" or "same" (output size ceil(input / stride); windows
            never pick a padded element); any case.
        data_format: None or "channels_last" ("channels_first" is refused: graphc is NHWC).

    Input shape: `(batch_size, height, width, channels)`.
    Output shape: `(batch_size, pooled_height, pooled_width, channels)`.

    >>> from graphc.frontend.layers import Input
    >>> MaxPooling2D()(Input((28, 28, 8))).shape
    (None, 14, 14, 8)
    """

    rank = 2
    pool_fn = staticmethod(max_pool2d)
