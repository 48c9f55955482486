import numpy as np
import pytest

import graphc
from graphc.frontend import Input, Model, Sequential, layers


class MLP(Model):
    def __init__(self, hidden=16, classes=3, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(hidden, activation="relu")
        self.dropout = layers.Dropout(0.5)
        self.out = layers.Dense(classes, activation="softmax")

    def call(self, inputs, training=False):
        return self.out(self.dropout(self.hidden(inputs), training=training))


def three_versions():
    subclassed = MLP()
    subclassed.build((None, 8))
    sequential = Sequential(
        [
            layers.Input((8,)),
            layers.Dense(16, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(3, activation="softmax"),
        ]
    )
    x = Input((8,))
    h = layers.Dense(16, activation="relu")(x)
    functional = Model(x, layers.Dense(3, activation="softmax")(layers.Dropout(0.5)(h)))
    weights = subclassed.get_weights()
    sequential.set_weights(weights)
    functional.set_weights(weights)
    return subclassed, sequential, functional


def test_functional_sequential_and_subclassed_agree():
    models = three_versions()
    x = np.random.default_rng(0).standard_normal((10, 8)).astype("float32")
    reference = models[0].predict(x, verbose=0)
    for model in models:
        assert model.count_params() == 8 * 16 + 16 + 16 * 3 + 3
        np.testing.assert_allclose(model.predict(x, verbose=0), reference, rtol=1e-6)
        np.testing.assert_allclose(model(x), reference, rtol=1e-6)
        assert [w.shape for w in model.get_weights()] == [(8, 16), (16,), (16, 3), (3,)]


def test_layers_are_tracked_in_assignment_order():
    model = MLP()
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dropout", "Dense"]
    assert model.weights == [] and not model.built


def test_built_on_first_call_with_data():
    model = MLP(hidden=4)
    out = model(np.ones((2, 5), "float32"))
    assert out.shape == (2, 3) and model.built
    assert model.count_params() == 5 * 4 + 4 + 4 * 3 + 3
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-6)


def test_traced_once_per_signature():
    model = MLP()
    model(np.ones((2, 5)))
    model(np.ones((7, 5)))
    traces = [key for key in model._eager_cache if key != "epoch"]
    assert len(traces) == 1


def test_training_flag_reaches_inner_layers():
    model = MLP(hidden=64)
    x = np.ones((1, 5), "float32")
    np.testing.assert_array_equal(model(x), model(x))
    new = graphc.placeholder((None, 5))
    (out,) = model.trace([new], training=True)
    graph = graphc.Graph([new] + [w.symbol for w in model.weights], out)
    assert "random_uniform" in {graph.primitive(n).name for n in graph.order}


def test_lists_of_layers_are_tracked():
    class Stack(Model):
        def __init__(self):
            super().__init__()
            self.blocks = [layers.Dense(4) for _ in range(3)]

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    model = Stack()
    model.build((None, 4))
    assert len(model.layers) == 3 and model.count_params() == 3 * 20


def test_multiple_inputs_as_a_list():
    class TwoTowers(Model):
        def __init__(self):
            super().__init__()
            self.left, self.right = layers.Dense(2), layers.Dense(2)

        def call(self, inputs):
            a, b = inputs
            return self.left(a) + self.right(b)

    model = TwoTowers()
    out = model.predict([np.ones((3, 4)), np.ones((3, 5))], verbose=0)
    assert out.shape == (3, 2) and model.count_params() == 10 + 12


def test_subclassed_model_in_a_functional_model():
    inner = MLP()
    x = Input((8,))
    model = Model(x, inner(x))
    assert model.predict(np.ones((2, 8)), verbose=0).shape == (2, 3)


def test_positional_arguments_are_refused():
    class Bad(Model):
        def __init__(self):
            super().__init__("name")

    with pytest.raises(TypeError, match="keyword arguments only"):
        Bad()


def test_unbuilt_model_has_no_signature():
    with pytest.raises(ValueError, match="has not been built yet"):
        MLP().input_signature()
    with pytest.raises(AttributeError, match="subclassed model"):
        _ = MLP().inputs


def test_weight_order_is_creation_order_not_call_order():
    class Reversed(Model):
        def __init__(self):
            super().__init__()
            self.first = layers.Dense(2, name="first")
            self.second = layers.Dense(2, name="second")

        def call(self, x):
            return self.first(self.second(x))

    model = Reversed()
    model.predict(np.ones((1, 2)), verbose=0)
    assert [w.name for w in model.weights] == [
        "first/kernel",
        "first/bias",
        "second/kernel",
        "second/bias",
    ]


def test_deferred_build_from_dict_data_keeps_structure_and_dtypes():
    class Lookup(Model):
        def __init__(self):
            super().__init__()
            self.embed = layers.Embedding(10, 3)

        def call(self, inputs):
            return self.embed(inputs["ids"]) * inputs["weight"][:, :, None]

    model = Lookup()
    out = model.predict({"ids": np.array([[1, 2]]), "weight": np.array([[1.0, 0.0]])}, verbose=0)
    assert out.shape == (1, 2, 3) and np.all(out[0, 1] == 0)
    ids_type = model.input_signature().structure["ids"]
    assert ids_type.dtype == np.int64 and ids_type.shape == (None, 2)


def test_overriding_build_and_calling_super_builds_once():
    class WithBuild(Model):
        def __init__(self):
            super().__init__()
            self.builds = 0

        def build(self, input_shape):
            self.builds += 1
            self.dense = layers.Dense(2)
            super().build(input_shape)

        def call(self, x):
            return self.dense(x)

    direct = WithBuild()
    direct.build((None, 3))
    assert direct.builds == 1 and direct.count_params() == 8
    lazy = WithBuild()
    assert lazy(np.ones((1, 4))).shape == (1, 2) and lazy.builds == 1
