"""Conv1D and Conv2D against explicit-loop numpy convolutions, shapes and Keras' param counts."""

import numpy as np
import pytest
from layer_test_utils import run_layer_test

from graphc.frontend import Input, layers


def same_pads(size, window, stride, dilation):
    """TensorFlow's "same" padding: out = ceil(size / stride), the odd pixel at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (window - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def conv2d_reference(x, kernel, bias, strides, padding, dilation=(1, 1), groups=1):
    """out[n, i, j, o] = sum over the window and the group's channels, with explicit loops."""
    kh, kw, cin, cout = kernel.shape
    if padding == "same":
        pads = [same_pads(x.shape[1 + a], kernel.shape[a], strides[a], dilation[a]) for a in (0, 1)]
        x = np.pad(x, ((0, 0), *pads, (0, 0)))
    n, h, w, _ = x.shape
    out_h = (h - (kh - 1) * dilation[0] - 1) // strides[0] + 1
    out_w = (w - (kw - 1) * dilation[1] - 1) // strides[1] + 1
    per_group = cout // groups
    out = np.zeros((n, out_h, out_w, cout))
    for i in range(out_h):
        for j in range(out_w):
            rows = i * strides[0] + np.arange(kh) * dilation[0]
            cols = j * strides[1] + np.arange(kw) * dilation[1]
            window = x[:, rows][:, :, cols]  # (n, kh, kw, channels)
            for o in range(cout):
                g = o // per_group
                channels = window[..., g * cin : (g + 1) * cin]
                out[:, i, j, o] = np.einsum("nabc,abc->n", channels, kernel[..., o])
    return out + (0.0 if bias is None else bias)


def conv1d_reference(x, kernel, bias, stride, padding, dilation=1):
    """A 1-D convolution as a 2-D one of height 1; "causal" pads (k - 1) * dilation on the left."""
    if padding == "causal":
        x = np.pad(x, ((0, 0), ((kernel.shape[0] - 1) * dilation, 0), (0, 0)))
        padding = "valid"
    out = conv2d_reference(
        x[:, None], kernel[None], bias, (1, stride), padding, dilation=(1, dilation)
    )
    return out[:, 0]


def relu(z):
    return np.maximum(z, 0.0)


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({"filters": 3, "kernel_size": 3}, (2, 6, 5, 2), (2, 4, 3, 3)),
        (
            {"filters": 4, "kernel_size": (3, 2), "strides": 2, "padding": "same"},
            (2, 7, 6, 3),
            (2, 4, 3, 4),
        ),
        ({"filters": 2, "kernel_size": 3, "dilation_rate": 2}, (1, 7, 7, 1), (1, 3, 3, 2)),
        ({"filters": 4, "kernel_size": 2, "groups": 2}, (2, 4, 4, 6), (2, 3, 3, 4)),
        (
            {"filters": 3, "kernel_size": 3, "padding": "SAME", "activation": "relu"},
            (2, 5, 5, 2),
            (2, 5, 5, 3),
        ),
    ],
)
def test_conv2d_matches_explicit_loops(kwargs, input_shape, output_shape):
    def reference(x, weights):
        kernel, bias = weights
        out = conv2d_reference(
            x.astype(np.float64),
            kernel,
            bias,
            _pair(kwargs.get("strides", 1)),
            kwargs.get("padding", "valid").lower(),
            _pair(kwargs.get("dilation_rate", 1)),
            kwargs.get("groups", 1),
        )
        return relu(out) if kwargs.get("activation") == "relu" else out

    run_layer_test(
        layers.Conv2D,
        kwargs,
        input_shape=input_shape,
        expected_output_shape=output_shape,
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=0,
        reference=reference,
        rtol=1e-4,
        atol=1e-5,
    )


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({"filters": 3, "kernel_size": 3}, (2, 8, 2), (2, 6, 3)),
        ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 7, 3), (2, 4, 2)),
        (
            {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
            (2, 9, 2),
            (2, 9, 2),
        ),
    ],
)
def test_conv1d_matches_explicit_loops(kwargs, input_shape, output_shape):
    def reference(x, weights):
        kernel, bias = weights
        return conv1d_reference(
            x.astype(np.float64),
            kernel,
            bias,
            kwargs.get("strides", 1),
            kwargs.get("padding", "valid"),
            kwargs.get("dilation_rate", 1),
        )

    run_layer_test(
        layers.Conv1D,
        kwargs,
        input_shape=input_shape,
        expected_output_shape=output_shape,
        expected_num_trainable_weights=2,
        reference=reference,
        rtol=1e-4,
        atol=1e-5,
    )


def test_causal_output_never_sees_the_future():
    layer = layers.Conv1D(1, 3, padding="causal", kernel_initializer="ones", use_bias=False)
    x = np.zeros((1, 6, 1), np.float32)
    x[0, 4, 0] = 1.0
    out = layer(x)[0, :, 0]
    np.testing.assert_array_equal(out, [0, 0, 0, 0, 1, 1])


def test_keras_parameter_counts_and_kernel_layout():
    conv = layers.Conv2D(32, 3)
    assert conv(Input((28, 28, 1))).shape == (None, 26, 26, 32)
    assert conv.count_params() == 320
    assert conv.kernel.shape == (3, 3, 1, 32) and conv.bias.shape == (32,)
    grouped = layers.Conv2D(8, (3, 5), groups=4, use_bias=False)
    grouped(Input((10, 10, 12)))
    assert grouped.kernel.shape == (3, 5, 3, 8) and grouped.count_params() == 360
    conv1d = layers.Conv1D(16, 5)
    assert conv1d(Input((100, 8))).shape == (None, 96, 16)
    assert conv1d.count_params() == 5 * 8 * 16 + 16


def test_config_has_every_argument_in_canonical_form():
    config = layers.Conv2D(4, 3, padding="Same", name="c").get_config()
    assert config["kernel_size"] == [3, 3] and config["strides"] == [1, 1]
    assert config["padding"] == "same" and config["data_format"] == "channels_last"
    assert config["dilation_rate"] == [1, 1] and config["groups"] == 1
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert layers.Conv2D.from_config(config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"filters": 0, "kernel_size": 3}, "filters"),
        ({"filters": 4, "kernel_size": 0}, "kernel_size"),
        ({"filters": 4, "kernel_size": (3, 3, 3)}, "kernel_size"),
        ({"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "dilation_rate"),
        ({"filters": 5, "kernel_size": 3, "groups": 2}, "divisible"),
        ({"filters": 4, "kernel_size": 3, "padding": "causal"}, "padding"),
        ({"filters": 4, "kernel_size": 3, "padding": "full"}, "padding"),
        ({"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, "channels_last"),
    ],
)
def test_bad_arguments_are_refused_as_keras(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.Conv2D(**kwargs)


def test_bad_inputs_are_refused_naming_the_layer():
    with pytest.raises(ValueError, match="input channels"):
        layers.Conv2D(4, 3, groups=2)(Input((8, 8, 3)))
    with pytest.raises(ValueError, match="rank 4"):
        layers.Conv2D(4, 3)(Input((8, 8)))
    with pytest.raises(ValueError, match="negative"):
        layers.Conv2D(4, 5)(Input((3, 3, 1)))
    conv = layers.Conv2D(4, 3, name="conv")
    conv(Input((8, 8, 3)))
    with pytest.raises(ValueError, match="Conv2D 'conv' expected last dimension 3, got 5"):
        conv(Input((8, 8, 5)))
