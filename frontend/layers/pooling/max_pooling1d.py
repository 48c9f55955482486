"""`MaxPooling1D`: max pooling over 1-D windows (temporal data)."""

from __future__ import annotations

from graphc.frontend.layers.pooling.base_pooling import BasePooling
from graphc.primitives.window import max_pool1d


class MaxPooling1D(BasePooling):
    """Max pooling over 1-D windows (temporal data).

    Each output is the largest value of its `pool_size` window.

    Args:
        pool_size: an int or a 1-tuple: the window; default 2.
        strides: an int, a 1-tuple or None (the default: `pool_size`).
        padding: "valid" or "same" (output size ceil(input / stride); windows
            never pick a padded element); any case.
        data_format: None or "channels_last" ("channels_first" is refused: graphc is NHWC).

    Input shape: `(batch_size, steps, features)`.
    Output shape: `(batch_size, pooled_steps, features)`.

    >>> from graphc.frontend.layers import Input
    >>> MaxPooling1D()(Input((10, 4))).shape
    (None, 5, 4)
    """

    rank = 1
    pool_fn = staticmethod(max_pool1d)
