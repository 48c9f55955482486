import numpy as np
import pytest

import graphc
from graphc.frontend import Input, backend, layers
from graphc.frontend.engine.trace import TraceContext


class Linear(layers.Layer):
    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones", name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

    def call(self, inputs):
        return inputs @ self.w + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_custom_layer_builds_from_the_input_shape():
    layer = Linear(3)
    assert not layer.built and layer.weights == []
    out = layer(Input((4,)))
    assert layer.built and out.shape == (None, 3)
    assert [w.name for w in layer.weights] == ["linear/w", "linear/b"]
    np.testing.assert_allclose(layer(np.ones((2, 4))), np.full((2, 3), 4.0))


def test_names_are_unique_per_class_and_reset_by_clear_session():
    assert [layers.Dense(1).name for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    assert Linear().name == "linear"
    backend.clear_session()
    assert layers.Dense(1).name == "dense"
    with pytest.raises(ValueError, match="without '/'"):
        layers.Dense(1, name="a/b")


def test_call_history_and_properties():
    layer = Linear()
    with pytest.raises(AttributeError, match="never been called"):
        _ = layer.output
    x = Input((4,))
    y = layer(x)
    assert layer.input is x and layer.output is y
    assert layer.input_shape == (None, 4) and layer.output_shape == (None, 2)
    assert y.origin.layer is layer and y.origin.node_index == 0 and y.origin.tensor_index == 0


def test_calls_inside_traces_record_no_nodes():
    layer = Linear()
    layer(Input((4,)))
    with TraceContext(training=False) as ctx:
        out = layer(graphc.placeholder((None, 4)))
    assert len(layer._inbound_nodes) == 1 and out.origin.node_index is None
    assert ctx.calls[0][0] is layer


def test_graphc_errors_in_call_name_the_layer():
    class Broken(layers.Layer):
        def call(self, x):
            return graphc.matmul(x, np.ones((5, 2), "float32"))

    with pytest.raises(graphc.ShapeError, match=r"^Broken 'broken': matmul: contracting"):
        Broken()(Input((3,)))


def test_identity_outputs_get_their_own_history():
    x = Input((3,))
    y = layers.Activation("linear")(x)
    assert y is not x and x.origin.layer.name == "input_layer"
    assert y.origin.layer.name == "activation"


def test_float_inputs_are_cast_to_the_layer_dtype():
    out = Linear()(Input((4,), dtype="float64"))
    assert out.dtype == np.float32
    wide = Linear(dtype="float64")
    assert wide(Input((4,))).dtype == np.float64 and wide.w.dtype == np.float64
    with pytest.raises(ValueError, match="unsupported dtype 'mixed_float16'"):
        Linear(dtype="mixed_float16")


def test_default_compute_output_shape_traces_call():
    assert Linear(5).compute_output_shape((None, 3)) == (None, 5)
    assert layers.Add().compute_output_shape([(2, 3), (2, 3)]) == (2, 3)


def test_eager_calls_accept_lists_and_reuse_traces():
    layer = Linear()
    assert layer([[1.0, 2.0]]).tolist() == [[3.0, 3.0]]
    layer(np.ones((5, 2)))
    assert len([k for k in layer._eager_cache if k != "epoch"]) == 1
    layer.set_weights([np.full((2, 2), 2.0), np.ones(2)])
    assert layer([[1.0, 2.0]]).tolist() == [[7.0, 7.0]]


def test_eager_multi_input_arrays_with_different_batches_stay_static():
    out = layers.Concatenate(axis=0)([np.ones((2, 3)), np.zeros((1, 3))])
    assert out.shape == (3, 3)


def test_training_argument_resolution():
    seen = []

    class Probe(layers.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    probe = Probe()
    probe(Input((2,)))
    probe(Input((2,)), training=True)
    with TraceContext(training=True):
        probe(graphc.placeholder((None, 2)))
    probe(np.ones((1, 2)))
    assert seen == [None, True, True, False]


def test_masks_pass_through_mask_supporting_layers_only():
    ids = Input((3,), dtype="int32")
    embedded = layers.Embedding(4, 2, mask_zero=True)(ids)
    assert layers.Dense(2)(embedded).origin.mask is embedded.origin.mask
    assert layers.Flatten()(embedded).origin.mask is None


def test_explicit_mask_reaches_call():
    received = []

    class Reader(layers.Layer):
        def call(self, x, mask=None):
            received.append(mask)
            return x

    mask = graphc.placeholder((None, 3), "bool")
    Reader()(Input((3,)), mask=mask)
    assert received == [mask]


def test_unknown_and_legacy_keyword_arguments():
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Linear"):
        Linear(bogus=True)
    assert Linear(input_shape=(4,))._batch_input_shape == (None, 4)
    assert Linear(batch_input_shape=(8, 4))._batch_input_shape == (8, 4)


def test_layer_without_call():
    with pytest.raises(TypeError, match="must define call"):
        layers.Layer()(Input((2,)))


def test_variables_assigned_directly_are_tracked():
    from graphc.frontend import Variable

    class Holder(layers.Layer):
        def __init__(self):
            super().__init__()
            self.v = Variable(np.ones(3), name="holder/v", dtype="float32")

        def call(self, x):
            return x * self.v

    holder = Holder()
    assert holder.weights == [holder.v]
    np.testing.assert_allclose(holder(np.ones((1, 3))), [[1.0, 1.0, 1.0]])
