import numpy as np
import pytest

import graphc
from graphc.frontend import Input, Model, Sequential, layers, regularizers
from graphc.frontend.engine.trace import TraceContext


class Counter(layers.Layer):
    """A layer with a trainable and a non-trainable weight, updated in training traces."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")

    def call(self, x, training=None):
        if training:
            from graphc.frontend.engine.trace import current_context

            current_context().add_update(self.count, self.count + 1.0)
        return x * self.scale


def frozen_counts(model):
    return (
        sum(w.size for w in model.trainable_weights),
        sum(w.size for w in model.non_trainable_weights),
    )


def test_freeze_and_unfreeze_change_trainable_counts():
    model = Sequential([layers.Input((10,)), layers.Dense(8), layers.Dense(4), layers.Dense(2)])
    total = model.count_params()
    assert frozen_counts(model) == (total, 0)
    for layer in model.layers[:-1]:
        layer.trainable = False
    assert frozen_counts(model) == (4 * 2 + 2, total - 10)
    model.trainable = False
    assert frozen_counts(model) == (0, total) and model.trainable_weights == []
    model.trainable = True
    assert frozen_counts(model) == (total, 0)
    assert all(layer.trainable for layer in model.layers)


def test_freezing_a_nested_model_freezes_its_layers():
    base = Sequential([layers.Input((4,)), layers.Dense(3), layers.Dense(3)], name="base")
    x = Input((4,))
    model = Model(x, layers.Dense(1)(base(x)))
    base.trainable = False
    assert not base.layers[0].trainable and not base.layers[0].kernel.trainable
    assert [w.name for w in model.trainable_weights] == ["dense_2/kernel", "dense_2/bias"]
    assert len(model.non_trainable_weights) == 4


def test_non_trainable_weights_stay_non_trainable_after_unfreezing():
    layer = Counter()
    layer(Input((3,)))
    layer.trainable = False
    layer.trainable = True
    assert [w.name for w in layer.trainable_weights] == ["counter/scale"]
    assert [w.name for w in layer.non_trainable_weights] == ["counter/count"]
    assert [w.name for w in layer.weights] == ["counter/scale", "counter/count"]


def test_eager_training_calls_apply_state_updates():
    layer = Counter()
    x = np.ones((2, 3), "float32")
    layer(x)
    assert float(layer.count.numpy()) == 0.0
    layer(x, training=True)
    layer(x, training=True)
    assert float(layer.count.numpy()) == 2.0


def test_updates_are_recorded_in_the_trace_context():
    layer = Counter()
    x = graphc.placeholder((None, 3))
    with TraceContext(training=True) as ctx:
        layer(x)
    ((variable, new_value),) = ctx.updates
    assert variable is layer.count and new_value.shape == ()


def test_get_and_set_weights_in_keras_order():
    model = Sequential([layers.Input((3,)), layers.Dense(2), layers.Dense(1)])
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(3, 2), (2,), (2, 1), (1,)]
    new = [np.full(s, float(i)) for i, s in enumerate(shapes)]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)


def test_set_weights_errors_are_clear():
    layer = layers.Dense(2)
    layer(Input((3,)))
    with pytest.raises(ValueError, match="weight list of length 1, but the layer was expecting 2"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(
        graphc.ShapeError, match=r"weight shape \(3, 2\) is not compatible .* \(2, 3\)"
    ):
        layer.set_weights([np.zeros((2, 3)), np.zeros(2)])
    np.testing.assert_array_equal(layer.bias.numpy(), 0)
    with pytest.raises(ValueError, match="not built yet"):
        layers.Dense(2).set_weights([np.zeros((3, 2)), np.zeros(2)])


def test_count_params_of_an_unbuilt_layer():
    with pytest.raises(ValueError, match="isn't built"):
        layers.Dense(3).count_params()


def test_losses_collect_regularizers_and_activity_penalties():
    x = Input((2,))
    dense = layers.Dense(
        2,
        kernel_initializer="ones",
        kernel_regularizer=regularizers.L1(0.1),
        activity_regularizer=regularizers.L2(1.0),
    )
    model = Model(x, dense(x))
    assert len(model.losses) == 1  # the weight penalty; activity terms live in traces
    new = graphc.placeholder((None, 2))
    with TraceContext(training=True):
        (out,) = model.trace([new], training=True)
        losses = model.losses
    assert len(losses) == 2
    inputs = [new] + [w.symbol for w in model.weights]
    values = graphc.Graph(inputs, losses)(np.ones((1, 2)), *model.get_weights())
    np.testing.assert_allclose(values, [0.4, 8.0], rtol=1e-6)
    dense.trainable = False
    assert model.losses == []


def test_add_loss_outside_traces():
    layer = layers.Dense(1)
    layer.add_loss(3.0)
    assert len(layer.losses) == 1


def test_variable_assignment_checks():
    layer = layers.Dense(2)
    layer(Input((3,)))
    with pytest.raises(graphc.ShapeError, match="assign expected shape"):
        layer.kernel.assign(np.zeros((2, 2)))
    with pytest.raises(graphc.DTypeError, match="does not convert safely"):
        layer.kernel.assign(np.zeros((3, 2), dtype=complex))
    version = layer.kernel.version
    layer.kernel.assign_add(np.ones((3, 2)))
    assert layer.kernel.version != version
