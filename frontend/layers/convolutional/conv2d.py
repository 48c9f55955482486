"""`Conv2D`: 2-D convolution over images (channels last)."""

from __future__ import annotations

from graphc.frontend.layers.convolutional.base_conv import BaseConv
from graphc.primitives.conv import conv2d


class Conv2D(BaseConv):
    """2-D convolution layer: `activation(conv2d(inputs, kernel) + bias)`.

    Each of the `filters` output channels is the cross-correlation of the input with a
    `kernel_size` window spanning all input channels (or the channels of its group).

    Args:
        filters: the number of output channels.
        kernel_size: an int or a pair (height, width) of the window.
        strides: an int or a pair; default 1 (Keras' `(1, 1)`).
        padding: "valid" (no padding) or "same" (output size ceil(input / stride), padded
            as TensorFlow does: the extra row/column goes at the bottom/right); any case.
        data_format: None or "channels_last" ("channels_first" is refused: graphc is NHWC).
        dilation_rate: an int or a pair; default 1. Cannot be combined with strides > 1.
        groups: split the input channels into this many groups, each convolved with
            `filters // groups` filters.
        activation: activation name or function; None means linear.
        use_bias: whether to add a bias vector.
        kernel_initializer: default "glorot_uniform" (fans include the receptive field).
        bias_initializer: default "zeros".
        kernel_regularizer: penalty on the kernel.
        bias_regularizer: penalty on the bias.
        activity_regularizer: penalty on the output.
        kernel_constraint: projection of the kernel after each update.
        bias_constraint: projection of the bias after each update.

    Input shape: `(batch_size, height, width, channels)`.
    Output shape: `(batch_size, new_height, new_width, filters)`; the kernel is
    `(kh, kw, channels // groups, filters)` (HWIO).

    >>> from graphc.frontend.layers import Input
    >>> layer = Conv2D(32, 3, activation="relu")
    >>> layer(Input((28, 28, 1))).shape, layer.count_params()
    ((None, 26, 26, 32), 320)
    """

    rank = 2
    conv_fn = staticmethod(conv2d)
