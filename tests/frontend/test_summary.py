import pytest

from graphc.frontend import Input, Model, Sequential, layers

MNIST_SUMMARY = """\
Model: "sequential"
_________________________________________________________________
 Layer (type)                Output Shape              Param #
=================================================================
 flatten (Flatten)           (None, 784)               0

 dense (Dense)               (None, 128)               100480

 dropout (Dropout)           (None, 128)               0

 dense_1 (Dense)             (None, 10)                1290

=================================================================
Total params: 101,770
Trainable params: 101,770
Non-trainable params: 0
_________________________________________________________________"""

FUNCTIONAL_SUMMARY = """\
Model: "two"
__________________________________________________________________________________________________
 Layer (type)                Output Shape                 Param #   Connected to
==================================================================================================
 a (InputLayer)              (None, 4)                    0         []

 hidden (Dense)              (None, 4)                    20        ['a[0][0]']

 add (Add)                   (None, 4)                    0         ['hidden[0][0]',
                                                                     'a[0][0]']

 b (InputLayer)              (None, 4)                    0         []

 concatenate (Concatenate)   (None, 8)                    0         ['add[0][0]',
                                                                     'b[0][0]']

 head (Dense)                (None, 2)                    18        ['concatenate[0][0]']

==================================================================================================
Total params: 38
Trainable params: 38
Non-trainable params: 0
__________________________________________________________________________________________________"""


def summary_of(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def stripped(lines):
    return "\n".join(line.rstrip() for line in lines)


def test_sequential_summary_matches_keras_layout():
    model = Sequential(
        [
            layers.Flatten(input_shape=(28, 28)),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(10),
        ]
    )
    lines = summary_of(model)
    assert stripped(lines) == MNIST_SUMMARY
    assert all(len(line) == 65 for line in lines[1:4])


def test_functional_summary_has_connections():
    a, b = Input((4,), name="a"), Input((4,), name="b")
    merged = layers.Add()([layers.Dense(4, name="hidden")(a), a])
    out = layers.Dense(2, name="head")(layers.Concatenate()([merged, b]))
    assert stripped(summary_of(Model([a, b], out, name="two"))) == FUNCTIONAL_SUMMARY


def test_chain_functional_model_uses_the_short_layout():
    x = Input((3,))
    model = Model(x, layers.Dense(2)(layers.Dense(4)(x)))
    lines = summary_of(model)
    assert "Connected to" not in lines[2] and "(None, 3)" in lines[4]


def test_frozen_layers_count_as_non_trainable():
    model = Sequential([layers.Input((784,)), layers.Dense(128), layers.Dense(10)])
    model.layers[0].trainable = False
    lines = summary_of(model, show_trainable=True)
    assert "Trainable params: 1,290" in lines and "Non-trainable params: 100,480" in lines
    assert lines[2].rstrip().endswith("Trainable")
    assert lines[4].rstrip().endswith("N") and lines[6].rstrip().endswith("Y")


def test_line_length_and_positions():
    model = Sequential([layers.Input((2,)), layers.Dense(1)])
    lines = summary_of(model, line_length=40, positions=[20, 34, 40])
    assert lines[1] == "_" * 40 and lines[2].index("Output Shape") == 20


def test_shared_layer_with_different_shapes_is_multiple():
    class Twice(Model):
        def __init__(self):
            super().__init__()
            self.flat = layers.Flatten()

        def call(self, x):
            return self.flat(x), self.flat(x[:, :1])

    model = Twice()
    model.build((None, 2, 3))
    assert "multiple" in summary_of(model)[4]


def test_subclassed_summary_shows_traced_shapes():
    class Tiny(Model):
        def __init__(self):
            super().__init__(name="tiny")
            self.dense = layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    model = Tiny()
    with pytest.raises(ValueError, match="not yet been built"):
        model.summary()
    model.build((None, 5))
    assert summary_of(model)[4].split()[:4] == ["dense", "(Dense)", "(None,", "3)"]
