"""`save_weights` / `load_weights`: a model's weights alone, as Keras' `.weights.h5` files.

A weights file (format "graphc.weights") is an archive whose document lists the weights in
`model.weights` order, each with the top-level layer that owns it (see `documents`). Loading
follows Keras:

- `by_name=False` (default): the layers with weights are paired in order; the file and the
  model must have as many such layers, and paired layers the same number of weights with
  the same shapes;
- `by_name=True`: each model layer takes the weights of the file's layer with its name;
  layers the file does not have keep their weights;
- `skip_mismatch=True`: a layer whose weights do not fit is skipped with a warning instead
  of failing the load.

Everything is checked before any weight changes, so a failed load leaves the model as it was.
`load_weights` also reads full model files (written by `model.save`).
"""

from __future__ import annotations

import os
import warnings
from itertools import groupby
from typing import Any

import numpy as np

from graphc.archive import write_archive
from graphc.frontend.saving.documents import (
    MODEL_FORMAT,
    WEIGHTS_FORMAT,
    StoredWeight,
    assign_all,
    check_all_used,
    check_save_path,
    decode_weights,
    encode_weights,
    fail,
    header,
    read_document,
    weight_mismatch,
    weight_owners,
)


def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Write the model's weights to `filepath`, atomically.

    Args:
        model: a built model (or layer).
        filepath: where to write; by convention a `.weights.graphc` file.
        overwrite: False refuses to replace an existing file.

    >>> import os, tempfile
    >>> from graphc.frontend import Sequential, layers
    >>> model = Sequential([layers.Input((3,)), layers.Dense(2)])
    >>> path = os.path.join(tempfile.mkdtemp(), "m.weights.graphc")
    >>> save_weights(model, path)
    >>> model.set_weights([w * 0 for w in model.get_weights()])
    >>> load_weights(model, path); float(abs(model.get_weights()[0]).sum()) > 0
    True
    """
    path = check_save_path(filepath, overwrite)
    _require_built(model, "save_weights")
    arrays: dict[str, np.ndarray] = {}
    document = {**header(WEIGHTS_FORMAT), "weights": encode_weights(model, arrays)}
    write_archive(path, document, arrays)


def load_weights(
    model: Any, filepath: str | os.PathLike, by_name: bool = False, skip_mismatch: bool = False
) -> None:
    """Load weights saved by `save_weights` (or `model.save`) into a built model.

    Args:
        model: the model to update.
        filepath: a weights file or a model file.
        by_name: match layers by name instead of by position.
        skip_mismatch: skip, with a warning, layers whose weights do not fit.

    Raises:
        SerializationError: the file is unreadable, or (without `skip_mismatch`) its weights
            do not fit the model; the message names the layer and the shapes.
    """
    path = os.fspath(filepath)
    _require_built(model, "load_weights")
    document, arrays = read_document(path, (WEIGHTS_FORMAT, MODEL_FORMAT))
    used: set[str] = set()
    stored = decode_weights(path, document, arrays, used)
    if document["format"] == WEIGHTS_FORMAT:
        check_all_used(path, arrays, used)
    file_groups = [(layer, list(ws)) for layer, ws in groupby(stored, key=lambda w: w.layer)]
    model_groups = weight_owners(model)
    if by_name:
        by_layer = dict(file_groups)
        pairs = [
            (name, variables, name, by_layer[name])
            for name, variables in model_groups
            if name in by_layer
        ]
    else:
        if len(file_groups) != len(model_groups):
            fail(
                path,
                f"holds weights for {len(file_groups)} layer(s) "
                f"{[name for name, _ in file_groups]}, but model '{model.name}' has "
                f"{len(model_groups)} layer(s) with weights {[name for name, _ in model_groups]}",
            )
        pairs = [(m[0], m[1], f[0], f[1]) for m, f in zip(model_groups, file_groups)]
    assign_all(_checked_pairs(path, pairs, skip_mismatch))


def _checked_pairs(
    path: str,
    pairs: list[tuple[str, list[Any], str, list[StoredWeight]]],
    skip_mismatch: bool,
) -> list[tuple[Any, np.ndarray]]:
    """(variable, array) for every layer whose weights fit; the others fail or are skipped."""
    assignments = []
    for name, variables, file_name, stored in pairs:
        problem = weight_mismatch(variables, stored)
        if problem is None:
            assignments += [(v, w.array) for v, w in zip(variables, stored)]
            continue
        source = "" if file_name == name else f" from the file's layer '{file_name}'"
        message = f"cannot load the weights of layer '{name}'{source}: {problem}"
        if not skip_mismatch:
            fail(path, message)
        warnings.warn(f"{path}: {message}; skipping it (skip_mismatch=True)", stacklevel=3)
    return assignments


def _require_built(model: Any, what: str) -> None:
    if not model.built:
        raise ValueError(
            f"{model._who()}: {what} needs a built model (its weights do not exist yet); call "
            f"it on data or call build(input_shape) first"
        )
