import numpy as np
import pytest

from graphc.frontend import Sequential, backend, layers, utils


def test_backend_settings():
    assert backend.floatx() == "float32" and backend.epsilon() == 1e-7
    assert backend.image_data_format() == "channels_last"


def test_set_random_seed_makes_models_reproducible():
    def weights():
        backend.clear_session()
        utils.set_random_seed(42)
        model = Sequential([layers.Input((3,)), layers.Dense(4), layers.Embedding(5, 2)])
        return model.get_weights()

    for a, b in zip(weights(), weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="non-negative integer"):
        utils.set_random_seed(-1)


def test_register_keras_serializable():
    @utils.register_keras_serializable(package="Pkg", name="Renamed")
    class Thing(layers.Layer):
        def call(self, x):
            return x

    assert utils.get_registered_name(Thing) == "Pkg>Renamed"
    assert utils.get_registered_object("Pkg>Renamed") is Thing
    assert utils.serialize_keras_object(Thing())["registered_name"] == "Pkg>Renamed"

    with pytest.raises(ValueError, match="without a get_config"):
        utils.register_keras_serializable()(type("Plain", (), {}))


def test_deserialize_errors():
    with pytest.raises(ValueError, match="Could not locate thing 'Nope'"):
        utils.deserialize_keras_object(
            {"class_name": "Nope", "config": {}}, printable_module_name="thing"
        )
    with pytest.raises(ValueError, match='expected a name or a dict with "class_name"'):
        utils.deserialize_keras_object(3)
    with pytest.raises(TypeError, match="cannot serialize"):
        utils.serialize_keras_object(object())


def test_pad_sequences_is_exported():
    assert utils.pad_sequences([[1, 2], [3]]).shape == (2, 2)
