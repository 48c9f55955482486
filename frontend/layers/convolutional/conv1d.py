"""`Conv1D`: 1-D convolution over sequences (channels last)."""

from __future__ import annotations

from graphc.frontend.layers.convolutional.base_conv import BaseConv
from graphc.primitives.conv import conv1d


class Conv1D(BaseConv):
    """1-D convolution layer (temporal convolution): `activation(conv1d(x, kernel) + bias)`.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a 1-tuple: the window length.
        strides: an int or a 1-tuple; default 1.
        padding: "valid", "same" or "causal" (Keras: `(kernel_size - 1) * dilation_rate`
            zeros on the left only, so output t never sees inputs after t); any case.
        data_format: None or "channels_last" ("channels_first" is refused).
        dilation_rate: an int or a 1-tuple; default 1. Cannot be combined with strides > 1.
        groups: split the input channels into this many groups.
        activation: activation name or function; None means linear.
        use_bias: whether to add a bias vector.
        kernel_initializer: default "glorot_uniform".
        bias_initializer: default "zeros".
        kernel_regularizer: penalty on the kernel.
        bias_regularizer: penalty on the bias.
        activity_regularizer: penalty on the output.
        kernel_constraint: projection of the kernel after each update.
        bias_constraint: projection of the bias after each update.

    Input shape: `(batch_size, steps, channels)`.
    Output shape: `(batch_size, new_steps, filters)`; the kernel is
    `(kernel_size, channels // groups, filters)`.

    >>> from graphc.frontend.layers import Input
    >>> layer = Conv1D(8, 5, padding="causal", dilation_rate=2)
    >>> layer(Input((100, 4))).shape, layer.count_params()
    ((None, 100, 8), 168)
    """

    rank = 1
    conv_fn = staticmethod(conv1d)
