"""`save_model` / `load_model`: a whole model in one file, as Keras' `model.save`.

A model file (format "graphc.model", usually `*.graphc`) is a `graphc.archive` zip: JSON for
the structure, `.npy` members for the numbers, no pickle. Its document holds

    {"format": "graphc.model", "version": 1, "graphc_version": "...",
     "model_config": {"class_name": ..., "config": ..., "registered_name": ...},
     "build": {"inputs": <template>, "types": [{"shape": [null, 784], "dtype": "float32"}]},
     "weights": [{"name", "layer", "shape", "dtype", "key"}, ...],
     "lambdas": {<layer name>: <traced graphs>},
     "compile": {...}, "optimizer": {...}}

`model_config` is Keras' `serialize_keras_object(model)`; `build` is the input signature,
used to build models that `from_config` leaves unbuilt (subclassed models, Sequential models
without an input shape); `weights` are in `model.weights` order; `lambdas` replace the Python
functions of Lambda layers by the graphs they compute (see `lambda_graphs`); `compile` and
`optimizer`, present for compiled models, let training resume (see `training_state`).

Loading checks the whole file before returning a model and never runs code from it: configs
name classes that must be graphc's own, registered with `@register_keras_serializable` or
passed in `custom_objects`, and Lambda functions are replayed graphs.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from graphc.archive import write_archive
from graphc.errors import SerializationError
from graphc.frontend.layers.core.lambda_layer import functions_as_labels
from graphc.frontend.layers.serialization import deserialize
from graphc.frontend.saving import lambda_graphs
from graphc.frontend.saving.documents import (
    MODEL_FORMAT,
    assign_all,
    build_from_signature,
    check_all_used,
    check_save_path,
    decode_weights,
    encode_weights,
    expect_dict,
    fail,
    header,
    read_document,
    read_template,
    structure_template,
    weight_mismatch,
)
from graphc.frontend.saving.training_state import encode_training_state, restore_training_state
from graphc.frontend.utils.serialization import serialize_keras_object
from graphc.serialization import MAX_NODES, _Loader
from graphc.types import TensorType


def save_model(
    model: Any,
    filepath: str | os.PathLike,
    overwrite: bool = True,
    include_optimizer: bool = True,
) -> None:
    """Save the model's architecture, weights, Lambda graphs and, if it is compiled, its
    compile settings and optimizer state to one file, atomically.

    Args:
        model: a `Model` (functional, Sequential, or a subclass with `get_config`).
        filepath: where to write, usually `name.graphc`. Keras' `.keras` and `.h5` names are
            accepted with a warning, so pasted Keras code runs: the file is in graphc's own
            format, which graphc reads back and Keras does not.
        overwrite: False refuses to replace an existing file.
        include_optimizer: False leaves the training state out (the model loads
            uncompiled), as Keras 2's option.

    >>> import os, tempfile, numpy as np
    >>> from graphc.frontend import Sequential, layers
    >>> model = Sequential([layers.Input((3,)), layers.Dense(2)], name="tiny")
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.graphc")
    >>> save_model(model, path)
    >>> again = load_model(path)
    >>> again.name, np.array_equal(again.predict(np.ones((1, 3)), verbose=0),
    ...                            model.predict(np.ones((1, 3)), verbose=0))
    ('tiny', True)
    """
    path = check_save_path(filepath, overwrite)
    try:
        with functions_as_labels():  # the file holds each Lambda's graph, not its function
            config = serialize_keras_object(model)
    except (TypeError, ValueError) as exc:
        raise SerializationError(
            f"cannot save model '{model.name}': its architecture has no config: {exc}"
        ) from exc
    arrays: dict[str, np.ndarray] = {}
    document = {
        **header(MODEL_FORMAT),
        "model_config": config,
        "build": _encode_build(model),
        "weights": encode_weights(model, arrays),
        "lambdas": lambda_graphs.encode_lambdas(model, config, arrays),
    }
    if include_optimizer:
        document.update(encode_training_state(model, arrays))
    write_archive(path, document, arrays)


def _encode_build(model: Any) -> dict[str, Any] | None:
    if not model.built:
        return None
    signature = model.input_signature()
    template, types = structure_template(signature.structure)
    return {
        "inputs": template,
        "types": [{"shape": list(t.shape), "dtype": t.dtype.name} for t in types],
    }


def load_model(
    filepath: str | os.PathLike,
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,
    safe_mode: bool = True,
) -> Any:
    """Load a model saved by `model.save` / `save_model`; it predicts exactly as when saved.

    Args:
        filepath: the model file.
        custom_objects: classes and functions the config names that are not built in or
            registered with `@register_keras_serializable`, by name.
        compile: restore the compile settings and optimizer state, if the file has them.
        safe_mode: accepted for Keras compatibility; loading never runs code from the file
            (Lambda layers replay saved graphs), so both values are safe.

    Raises:
        SerializationError: the file is unreadable, of another format or version, or
            inconsistent (weights that do not fit the architecture, unknown classes, graphs
            with unknown primitives); the message names the file and the problem.
    """
    del safe_mode  # nothing in a graphc model file is code
    path = os.fspath(filepath)
    document, arrays = read_document(path, (MODEL_FORMAT,))
    return model_from_document(path, document, arrays, custom_objects, compile)


def model_from_document(
    path: str,
    document: dict[str, Any],
    arrays: dict[str, np.ndarray],
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,
) -> Any:
    """The model an already-read model document describes (see `load_model`)."""
    from graphc.frontend.models.model import Model

    loader = _Loader(path, arrays, MAX_NODES)  # decodes graphs, tracks the arrays they use
    traces = lambda_graphs.decode_lambdas(path, document.get("lambdas", {}), loader)
    used = loader.used_arrays
    config = expect_dict(path, document.get("model_config"), "'model_config'")
    objects = {**(custom_objects or {}), lambda_graphs.LAMBDA: lambda_graphs.LambdaLoader}
    with lambda_graphs.replaying(traces) as replayed:
        try:
            model = deserialize(config, objects)
        except Exception as exc:  # configs come from files: any failure is a refusal
            fail(path, f"cannot rebuild the model from its config: {exc}")
    if not isinstance(model, Model):
        fail(path, f"'model_config' describes a {type(model).__name__}, not a model")
    unreplayed = sorted(set(traces) - replayed)
    if unreplayed:
        fail(path, f"holds graphs for Lambda layers the model does not have: {unreplayed}")
    if not model.built:
        _build(path, model, document.get("build"))
    stored = decode_weights(path, document, arrays, used)
    problem = weight_mismatch(model.weights, stored)
    if problem is not None:
        fail(path, f"its weights do not fit the architecture of model '{model.name}': {problem}")
    assign_all(zip(model.weights, (w.array for w in stored)))
    restore_training_state(path, model, document, arrays, used, custom_objects, compile)
    check_all_used(path, arrays, used)
    return model


def _build(path: str, model: Any, build: Any) -> None:
    if build is None:
        return  # saved unbuilt: it builds on its first call, as the original would have
    build = expect_dict(path, build, "'build'")
    types = build.get("types")
    if not isinstance(types, list):
        fail(path, "'build': 'types' must be a list")
    decoded = [_tensor_type(path, t, f"'build' types[{i}]") for i, t in enumerate(types)]
    template = read_template(path, build.get("inputs"), len(decoded), "'build' inputs")
    try:
        build_from_signature(model, template, decoded)
    except Exception as exc:  # the config's layers run on the saved shapes: refuse failures
        fail(path, f"cannot build model '{model.name}' for its saved input types: {exc}")


def _tensor_type(path: str, doc: Any, where: str) -> TensorType:
    doc = expect_dict(path, doc, where)
    shape, dtype = doc.get("shape"), doc.get("dtype")
    try:
        if not isinstance(shape, list) or not isinstance(dtype, str):
            raise TypeError(f"expected a shape list and a dtype name, got {doc!r}")
        return TensorType(shape, dtype)
    except (TypeError, ValueError) as exc:
        fail(path, f"{where}: {exc}")
