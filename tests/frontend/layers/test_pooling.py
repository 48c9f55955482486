"""Pooling layers against explicit-loop numpy references; shapes and configs as Keras."""

import numpy as np
import pytest
from layer_test_utils import run_layer_test

from graphc.frontend import Input, Model, layers


def same_pads(size, window, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def pool2d_reference(x, pool, strides, padding, reducer):
    """Max or mean of each window; padded elements never count (Keras' "same")."""
    pads = [(0, 0), (0, 0)]
    if padding == "same":
        pads = [same_pads(x.shape[1 + a], pool[a], strides[a]) for a in (0, 1)]
    padded = np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=np.nan)
    out_h = (padded.shape[1] - pool[0]) // strides[0] + 1
    out_w = (padded.shape[2] - pool[1]) // strides[1] + 1
    out = np.zeros((x.shape[0], out_h, out_w, x.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            window = padded[
                :,
                i * strides[0] : i * strides[0] + pool[0],
                j * strides[1] : j * strides[1] + pool[1],
            ]
            out[:, i, j] = (np.nanmax if reducer == "max" else np.nanmean)(window, axis=(1, 2))
    return out


def pool1d_reference(x, pool, stride, padding, reducer):
    return pool2d_reference(x[:, None], (1, pool), (1, stride), padding, reducer)[:, 0]


@pytest.mark.parametrize(
    "reducer, cls", [("max", layers.MaxPooling2D), ("mean", layers.AveragePooling2D)]
)
@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({}, (2, 6, 4, 3), (2, 3, 2, 3)),
        ({"pool_size": 3, "strides": 2}, (2, 7, 7, 2), (2, 3, 3, 2)),
        ({"pool_size": (2, 3), "strides": 2, "padding": "same"}, (2, 5, 5, 2), (2, 3, 3, 2)),
        ({"pool_size": 3, "strides": 1, "padding": "Same"}, (1, 4, 4, 1), (1, 4, 4, 1)),
    ],
)
def test_pooling2d_matches_explicit_loops(reducer, cls, kwargs, input_shape, output_shape):
    pool = kwargs.get("pool_size", 2)
    pool = (pool, pool) if isinstance(pool, int) else pool
    strides = kwargs.get("strides", pool)
    strides = (strides, strides) if isinstance(strides, int) else strides
    padding = kwargs.get("padding", "valid").lower()
    run_layer_test(
        cls,
        kwargs,
        input_shape=input_shape,
        expected_output_shape=output_shape,
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        reference=lambda x, w: pool2d_reference(x, pool, strides, padding, reducer),
    )


@pytest.mark.parametrize(
    "reducer, cls", [("max", layers.MaxPooling1D), ("mean", layers.AveragePooling1D)]
)
@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({}, (2, 9, 3), (2, 4, 3)),
        ({"pool_size": 3, "strides": 2, "padding": "same"}, (2, 8, 2), (2, 4, 2)),
    ],
)
def test_pooling1d_matches_explicit_loops(reducer, cls, kwargs, input_shape, output_shape):
    pool = kwargs.get("pool_size", 2)
    stride = kwargs.get("strides", pool)
    padding = kwargs.get("padding", "valid")
    run_layer_test(
        cls,
        kwargs,
        input_shape=input_shape,
        expected_output_shape=output_shape,
        reference=lambda x, w: pool1d_reference(x, pool, stride, padding, reducer),
    )


@pytest.mark.parametrize(
    "cls, fn, input_shape, axes",
    [
        (layers.GlobalAveragePooling2D, np.mean, (2, 4, 5, 3), (1, 2)),
        (layers.GlobalMaxPooling2D, np.max, (2, 4, 5, 3), (1, 2)),
        (layers.GlobalAveragePooling1D, np.mean, (2, 6, 3), (1,)),
        (layers.GlobalMaxPooling1D, np.max, (2, 6, 3), (1,)),
    ],
)
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_reduces_spatial_axes(cls, fn, input_shape, axes, keepdims):
    if keepdims:
        output_shape = tuple(1 if a in axes else d for a, d in enumerate(input_shape))
    else:
        output_shape = (input_shape[0], input_shape[-1])
    run_layer_test(
        cls,
        {"keepdims": keepdims},
        input_shape=input_shape,
        expected_output_shape=output_shape,
        reference=lambda x, w: fn(x, axis=axes, keepdims=keepdims),
    )


def test_global_average_pooling1d_averages_only_unmasked_steps():
    inputs = Input((4, 2))
    pooled = layers.GlobalAveragePooling1D()(layers.Masking(mask_value=0.0)(inputs))
    assert getattr(pooled.origin, "mask", None) is None
    x = np.array([[[1, 2], [3, 4], [0, 0], [0, 0]], [[5, 7], [0, 0], [1, 1], [0, 0]]], "f4")
    np.testing.assert_allclose(Model(inputs, pooled)(x), [[2, 3], [3, 4]])


def test_max_pooling_strides_default_to_pool_size_and_config_round_trips():
    layer = layers.MaxPooling2D(pool_size=3)
    assert layer(Input((9, 9, 2))).shape == (None, 3, 3, 2)
    config = layer.get_config()
    assert (config["pool_size"], config["strides"], config["padding"]) == ([3, 3], [3, 3], "valid")
    assert config["data_format"] == "channels_last"


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.MaxPooling2D(pool_size=(2, 2, 2)), "pool_size"),
        (lambda: layers.AveragePooling2D(strides=0), "strides"),
        (lambda: layers.MaxPooling1D(padding="causal"), "padding"),
        (lambda: layers.MaxPooling2D(data_format="channels_first"), "channels_last"),
        (lambda: layers.GlobalAveragePooling2D(data_format="channels_first"), "channels_last"),
    ],
)
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_rank_is_refused_naming_the_layer():
    with pytest.raises(ValueError, match="MaxPooling2D 'pool' expected an input of rank 4"):
        layers.MaxPooling2D(name="pool")(Input((8, 8)))


def test_keras_short_aliases_are_the_same_classes():
    from graphc.frontend import layers

    assert layers.MaxPool2D is layers.MaxPooling2D and layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D
    assert layers.Convolution2D is layers.Conv2D and layers.Convolution1D is layers.Conv1D
    assert layers.MaxPool2D(2).get_config()["name"].startswith("max_pooling2d")
