"""BatchNormalization and LayerNormalization against their numpy formulas."""

import numpy as np
import pytest
from layer_test_utils import run_layer_test

import graphc
from graphc.frontend import Input, layers
from graphc.frontend.engine.trace import TraceContext

EPS = 1e-3


def bn_inference(x, weights, axis=-1, epsilon=EPS):
    gamma, beta, mean, var = weights
    shape = [1] * x.ndim
    shape[axis] = -1
    r = lambda v: v.reshape(shape)  # noqa: E731
    return (x - r(mean)) / np.sqrt(r(var) + epsilon) * r(gamma) + r(beta)


def test_batch_norm_inference_uses_moving_statistics():
    run_layer_test(
        layers.BatchNormalization,
        {},
        input_shape=(4, 3),
        expected_output_shape=(4, 3),
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=2,
        reference=bn_inference,
    )


def test_batch_norm_inference_with_trained_statistics_on_images():
    rng = np.random.default_rng(1)
    layer = layers.BatchNormalization()
    layer(Input((5, 5, 3)))
    weights = [rng.normal(size=3), rng.normal(size=3), rng.normal(size=3), rng.random(3) + 0.5]
    layer.set_weights(weights)
    x = rng.normal(size=(2, 5, 5, 3)).astype("f4")
    np.testing.assert_allclose(layer(x), bn_inference(x, weights), rtol=1e-5, atol=1e-5)


def test_batch_norm_training_uses_batch_statistics_and_updates_moving_ones():
    rng = np.random.default_rng(2)
    layer = layers.BatchNormalization(momentum=0.9)
    x = (rng.normal(size=(8, 4, 3)) * 3 + 2).astype("f4")
    layer(Input((4, 3)))
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    layer.set_weights([gamma, beta, np.zeros(3), np.ones(3)])
    out = layer(x, training=True)
    mean, var = x.mean(axis=(0, 1)), x.var(axis=(0, 1))
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + EPS) * gamma + beta, atol=1e-4)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.9 + 0.1 * var, rtol=1e-5)


def test_batch_norm_records_its_updates_in_a_training_trace():
    layer = layers.BatchNormalization()
    x = graphc.placeholder((None, 6))
    with TraceContext(training=True) as ctx:
        layer(x)
    assert [variable for variable, _ in ctx.updates] == [layer.moving_mean, layer.moving_variance]
    with TraceContext(training=False) as ctx:
        layer(x)
    assert ctx.updates == []


def test_frozen_batch_norm_runs_in_inference_mode_even_when_training():
    rng = np.random.default_rng(3)
    layer = layers.BatchNormalization(trainable=False)
    x = rng.normal(size=(5, 2)).astype("f4")
    layer(Input((2,)))
    weights = [np.ones(2), np.zeros(2), np.array([1.0, -1.0]), np.array([4.0, 9.0])]
    layer.set_weights(weights)
    np.testing.assert_allclose(layer(x, training=True), bn_inference(x, weights), rtol=1e-5)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), [1.0, -1.0])
    assert layer.count_params() == 8 and layer.trainable_weights == []


def test_batch_norm_on_another_axis_and_without_center_or_scale():
    layer = layers.BatchNormalization(axis=1, center=False, scale=False)
    assert layer(Input((3, 4))).shape == (None, 3, 4)
    assert [w.name.split("/")[-1] for w in layer.weights] == ["moving_mean", "moving_variance"]
    x = np.random.default_rng(4).normal(size=(6, 3, 4)).astype("f4")
    mean, var = x.mean(axis=(0, 2), keepdims=True), x.var(axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(layer(x, training=True), (x - mean) / np.sqrt(var + EPS), atol=1e-4)


def test_batch_norm_training_statistics_skip_masked_steps():
    layer = layers.BatchNormalization(center=False, scale=False)
    x = np.array([[[1.0], [3.0], [100.0]], [[5.0], [-50.0], [7.0]]], "f4")
    mask = np.array([[True, True, False], [True, False, True]])
    out = layer(x, training=True, mask=mask)
    kept = np.array([1.0, 3.0, 5.0, 7.0])
    expected = (x - kept.mean()) / np.sqrt(kept.var() + EPS)
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_batch_norm_parameter_counts_and_config():
    layer = layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name="bn")
    layer(Input((7, 7, 32)))
    assert layer.count_params() == 4 * 32 and len(layer.trainable_weights) == 2
    assert [w.name for w in layer.weights] == [
        "bn/gamma",
        "bn/beta",
        "bn/moving_mean",
        "bn/moving_variance",
    ]
    config = layer.get_config()
    assert (config["axis"], config["momentum"], config["epsilon"]) == (-1, 0.9, 1e-5)
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        layers.BatchNormalization(axis=3)(Input((4, 2)))
    with pytest.raises(TypeError, match="axis"):
        layers.BatchNormalization(axis=[1, 2])


def ln_reference(axes, rms=False):
    def reference(x, weights):
        if rms:
            (gamma,) = weights
            return x / np.sqrt(np.mean(x * x, axis=axes, keepdims=True) + EPS) * gamma
        gamma, beta = weights
        centered = x - x.mean(axis=axes, keepdims=True)
        normed = centered / np.sqrt(centered.var(axis=axes, keepdims=True) + EPS)
        return normed * gamma + beta

    return reference


def test_layer_norm_matches_numpy():
    run_layer_test(
        layers.LayerNormalization,
        {},
        input_shape=(3, 4, 5),
        expected_output_shape=(3, 4, 5),
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=0,
        reference=ln_reference(-1),
    )


def test_layer_norm_over_several_axes_with_trained_weights():
    rng = np.random.default_rng(5)
    layer = layers.LayerNormalization(axis=[1, 2])
    layer(Input((3, 4)))
    weights = [rng.normal(size=(3, 4)), rng.normal(size=(3, 4))]
    layer.set_weights(weights)
    x = rng.normal(size=(2, 3, 4)).astype("f4")
    np.testing.assert_allclose(layer(x), ln_reference((1, 2))(x, weights), rtol=1e-4, atol=1e-5)
    # Training and inference compute the same thing.
    np.testing.assert_allclose(layer(x, training=True), layer(x))


def test_layer_norm_rms_scaling_and_no_weights():
    run_layer_test(
        layers.LayerNormalization,
        {"rms_scaling": True},
        input_shape=(3, 6),
        expected_output_shape=(3, 6),
        expected_num_trainable_weights=1,
        reference=ln_reference(-1, rms=True),
    )
    bare = layers.LayerNormalization(center=False, scale=False)
    bare(Input((6,)))
    assert bare.weights == []
    with pytest.raises(ValueError, match="axis 2"):
        layers.LayerNormalization(axis=2)(Input((6,)))
