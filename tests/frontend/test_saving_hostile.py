"""Model and weights files are untrusted input: every damaged, foreign or tampered file is
refused with a SerializationError naming the file and the problem, and nothing runs."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import graphc
from graphc.archive import read_archive
from graphc.errors import SerializationError
from graphc.frontend import Input, Model, Sequential, layers, models


@pytest.fixture
def saved(tmp_path):
    """A small model with a Lambda, saved; returns its path."""
    x = Input((4,), name="x")
    y = layers.Lambda(graphc.exp, name="lam")(layers.Dense(3, name="d")(x))
    path = tmp_path / "model.graphc"
    Model(x, y, name="m").save(path)
    return path


def rewrite(path, edit_document=None, arrays=None, extra_members=()):
    """Write the archive at `path` again, raw (no checks), with an edited document, replaced
    arrays and extra members."""
    document, stored = read_archive(path)
    if edit_document is not None:
        edit_document(document)
    stored = stored if arrays is None else arrays(stored)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("document.json", json.dumps(document))
        for name, array in stored.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=True)
            zf.writestr(f"arrays/{name}.npy", buffer.getvalue())
        for name, data in extra_members:
            zf.writestr(name, data)


def refused(path, match, **kwargs):
    with pytest.raises(SerializationError, match=match) as info:
        models.load_model(path, **kwargs)
    assert str(path) in str(info.value)
    return info.value


def test_the_fixture_loads(saved):
    assert models.load_model(saved).name == "m"


# --- damaged and foreign files -----------------------------------------------------------------


def test_truncated_file(saved):
    data = saved.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 30):
        saved.write_bytes(data[:cut])
        refused(saved, "not a readable graphc file|truncated")


def test_not_a_zip(saved):
    saved.write_bytes(b"definitely not a zip file" * 10)
    refused(saved, "not a readable graphc file")


def test_corrupted_member(saved):
    data = bytearray(saved.read_bytes())
    start = data.index(b"arrays/weights/0.npy") + 40  # inside the first array's bytes
    data[start : start + 16] = b"\xff" * 16
    saved.write_bytes(bytes(data))
    refused(saved, "Bad CRC-32 for file 'arrays/weights/0.npy'")


def test_bad_json(saved):
    document, arrays = read_archive(saved)
    with zipfile.ZipFile(saved, "w") as zf:
        zf.writestr("document.json", "{not json")
    refused(saved, "document.json is not valid JSON")


def test_wrong_format_and_version(saved, tmp_path):
    rewrite(saved, lambda d: d.update(version=7, graphc_version="9.0"))
    refused(saved, "version 7 .*graphc 9.0.*upgrade graphc")
    rewrite(saved, lambda d: d.update(version="1"))
    refused(saved, "invalid format version '1'")
    rewrite(saved, lambda d: d.update(format="something.else", version=1))
    refused(saved, "not a graphc file of format 'graphc.model'.*'something.else'")


def test_other_graphc_files_say_what_they_are(tmp_path):
    x = graphc.placeholder((None, 2), name="x")
    graphc.Graph([x], x * 2.0).save(tmp_path / "g.graphc")
    refused(tmp_path / "g.graphc", "is a graph file .*graphc.Graph.load")
    model = Sequential([layers.Input((2,)), layers.Dense(1)])
    model.save_weights(tmp_path / "w.graphc")
    refused(tmp_path / "w.graphc", "is a weights file .*load_weights")
    with pytest.raises(SerializationError, match="is a graph file"):
        model.load_weights(tmp_path / "g.graphc")


def test_keras_files_are_refused_with_a_hint(tmp_path):
    keras_file = tmp_path / "model.keras"
    with zipfile.ZipFile(keras_file, "w") as zf:
        zf.writestr("config.json", "{}")
        zf.writestr("metadata.json", "{}")
        zf.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    refused(keras_file, "Keras 3 .keras archive.*set_weights")
    h5 = tmp_path / "model.h5"
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    refused(h5, "HDF5 file")


# --- arrays ------------------------------------------------------------------------------------


def test_pickled_arrays_are_refused(saved):
    def objects(arrays):
        return {**arrays, "weights/0": np.array([{"a": 1}, None], dtype=object)}

    rewrite(saved, arrays=objects)
    refused(saved, "dtype object.*unpickling")


def test_huge_declared_shapes_are_refused_before_reading(saved):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**7, 10**6)}
    )
    rewrite(saved, extra_members=[("arrays/huge.npy", header.getvalue() + bytes(64))])
    refused(saved, "more than the limit")


def test_path_traversal_member_names(saved, tmp_path):
    rewrite(saved, extra_members=[("../../evil.npy", b"x")])
    refused(saved, "unsafe member name '../../evil.npy'")
    assert not (tmp_path.parent / "evil.npy").exists()


def test_unused_and_missing_arrays(saved):
    rewrite(saved, arrays=lambda a: {**a, "stowaway": np.zeros(3)})
    refused(saved, r"arrays nothing in it refers to: \['stowaway'\]")
    rewrite(
        saved, arrays=lambda a: {k: v for k, v in a.items() if k != "stowaway" and k != "weights/1"}
    )
    refused(saved, r"weights\[1\] \('d/bias'\) refers to the array 'weights/1'")


# --- architecture and weights -------------------------------------------------------------------


def test_weights_that_do_not_fit_the_architecture(saved):
    def wider(document):
        document["weights"][0]["shape"] = [4, 5]

    rewrite(saved, wider, arrays=lambda a: {**a, "weights/0": np.zeros((4, 5), "float32")})
    refused(saved, r"do not fit the architecture of model 'm'.*'d/kernel'.*\(4, 3\).*\(4, 5\)")


def test_weight_entry_contradicting_its_array(saved):
    rewrite(saved, lambda d: d["weights"][0].update(shape=[3, 4]))
    refused(saved, r"declared float32\(3, 4\) but its array is float32\(4, 3\)")
    rewrite(saved, lambda d: d["weights"][0].update(shape=[4, 3], dtype="object"))
    refused(saved, "unsupported dtype 'object'")


def test_missing_and_extra_weights(saved):
    rewrite(saved, lambda d: d["weights"].pop())
    refused(saved, "the model has 2 weight.*the file has 1")


def test_unknown_classes_never_import_anything(saved):
    def evil(document):
        document["model_config"]["config"]["layers"][1]["class_name"] = "os.system"

    rewrite(saved, evil)
    refused(saved, "Could not locate layer 'os.system'.*custom_objects")


def test_config_that_cannot_rebuild(saved):
    def broken(document):
        document["model_config"]["config"]["layers"][1]["config"]["units"] = "many"

    rewrite(saved, broken)
    refused(saved, "cannot rebuild the model from its config")
    rewrite(saved, lambda d: d.update(model_config=[1, 2]))
    refused(saved, "'model_config' must be a JSON object")


def test_config_of_a_plain_layer_is_not_a_model(tmp_path):
    path = tmp_path / "m.graphc"
    Sequential([layers.Input((2,)), layers.Dense(1)]).save(path)
    rewrite(
        path,
        lambda d: d.update(
            model_config={"class_name": "Dense", "config": {"units": 1}}, weights=[]
        ),
        arrays=lambda a: {},
    )
    refused(path, "describes a Dense, not a model")


def test_bad_build_section(tmp_path):
    class Sub(Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x)

    model = Sub()
    model.predict(np.ones((1, 3)), verbose=0)
    path = tmp_path / "m.graphc"
    model.save(path)
    rewrite(path, lambda d: d["build"].update(types=[{"shape": [None, "3"], "dtype": "float32"}]))
    refused(path, r"'build' types\[0\]", custom_objects={"Sub": Sub})
    rewrite(
        path,
        lambda d: d["build"].update(
            inputs=[0, 1], types=[{"shape": [None, 3], "dtype": "float32"}]
        ),
    )
    refused(path, "'build' inputs", custom_objects={"Sub": Sub})


# --- Lambda graphs ------------------------------------------------------------------------------


def test_lambda_graph_with_an_unknown_primitive(saved):
    def unknown(document):
        document["lambdas"]["lam"]["traces"][0]["graph"]["nodes"][1]["op"] = "system"

    rewrite(saved, unknown)
    refused(saved, "Lambda 'lam' trace 0: node 1: unknown primitive 'system'")


def test_lambda_graph_with_a_tampered_type(saved):
    def tampered(document):
        document["lambdas"]["lam"]["traces"][0]["graph"]["nodes"][1]["type"]["shape"] = [None, 9]

    rewrite(saved, tampered)
    refused(saved, "stored type .* differs")


def test_lambda_without_a_graph_and_graph_without_a_lambda(saved):
    def renamed(document):
        document["lambdas"]["other"] = document["lambdas"].pop("lam")

    rewrite(saved, renamed)
    refused(saved, "Lambda layer 'lam' but the file holds no graph for it")


def test_lambda_graph_for_no_layer(tmp_path):
    path = tmp_path / "m.graphc"
    x = Input((4,))
    Model(x, layers.Lambda(graphc.exp, name="lam")(x)).save(path)

    def extra(document):
        document["lambdas"]["ghost"] = document["lambdas"]["lam"]

    rewrite(path, extra)
    refused(path, r"graphs for Lambda layers the model does not have: \['ghost'\]")


def test_lambda_templates_and_fields_are_checked(saved):
    def bad_template(document):
        document["lambdas"]["lam"]["traces"][0]["outputs"] = [0, 0]

    rewrite(saved, bad_template)
    refused(saved, r"Lambda 'lam' trace 0 outputs: the structure \[0, 0\] does not describe 1")
    rewrite(saved, lambda d: d["lambdas"]["lam"].update(traces=[]))
    refused(saved, "'traces' must be a non-empty list")
    rewrite(saved, lambda d: d["lambdas"]["lam"].update(traces=[{"training": "yes"}]))
    refused(saved, "Lambda 'lam' trace 0: 'training' must be true, false or null")


def test_the_function_name_in_a_lambda_config_is_never_looked_up(saved):
    def renamed(document):
        config = document["model_config"]["config"]["layers"][2]["config"]
        config["function"] = "builtins.eval"

    rewrite(saved, renamed)
    model = models.load_model(saved)
    assert model.get_layer("lam").function.__name__ == "builtins.eval"
    np.testing.assert_allclose(model.get_layer("lam")(np.zeros((1, 3), "float32")), np.ones((1, 3)))


# --- training state ----------------------------------------------------------------------------


@pytest.fixture
def trained(tmp_path):
    model = Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, verbose=0)
    path = tmp_path / "trained.graphc"
    model.save(path)
    return path


def test_optimizer_state_that_does_not_fit(trained):
    def fewer(document):
        document["optimizer"]["variables"].pop()

    rewrite(trained, fewer, arrays=lambda a: {k: v for k, v in a.items() if k != "optimizer/5"})
    refused(trained, "the optimizer state does not fit model .*expected 6 arrays.*got 5")
    assert models.load_model(trained, compile=False).compiled is False


def test_optimizer_state_of_the_wrong_shape(trained):
    rewrite(trained, arrays=lambda a: {**a, "optimizer/2": np.zeros((2, 3), "float32")})
    refused(trained, "the optimizer state does not fit .*shape")


def test_compile_settings_that_cannot_be_restored(trained):
    rewrite(trained, lambda d: d["compile"].update(bogus=1))
    refused(trained, "cannot restore the compile settings: .*'bogus'")
    rewrite(trained, lambda d: d["optimizer"].update(config={"class_name": "os.system"}))
    refused(trained, "cannot restore the compile settings: .*'os.system'")
    rewrite(trained, lambda d: d["optimizer"].update(seed="x"))
    refused(trained, "'seed' an int or null")
    rewrite(trained, lambda d: d.pop("compile"))
    refused(trained, "'compile' must be a JSON object")


def test_arrays_of_the_other_byte_order_load_as_native(saved):
    expected = models.load_model(saved).predict(np.ones((2, 4)), verbose=0)
    rewrite(saved, arrays=lambda a: {k: v.astype(v.dtype.newbyteorder(">")) for k, v in a.items()})
    model = models.load_model(saved)
    assert all(w.dtype.isnative for w in model.get_weights())
    np.testing.assert_array_equal(model.predict(np.ones((2, 4)), verbose=0), expected)
