"""The training state in model files: compile settings, optimizer state, seed stream.

A compiled model's file carries what `fit` needs to continue exactly where it stopped:

    "compile": model.get_compile_config()   (loss, metrics, loss_weights, ... as JSON),
    "optimizer": {"config": <the optimizer's class and current hyperparameters>,
                  "built": true | false,
                  "variables": [{"name": "adam/iteration", "key": "optimizer/0"}, ...],
                  "seed": <the trainer's dropout seed stream position, or null>}

The optimizer's variables (iteration count, learning rate, slots such as Adam's moments) are
stored in `optimizer.variables` order; loading recompiles the model with
`compile_from_config`, builds the optimizer for the model's trainable weights (as the first
training step would) and restores them with `optimizer.set_weights`. The seed makes dropout
draw the same masks as an uninterrupted run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc.errors import SerializationError
from graphc.frontend.saving.documents import expect_dict, expect_list, fail, is_int, read_array
from graphc.frontend.utils.serialization import custom_object_scope, serialize_keras_object


def encode_training_state(model: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The "compile" and "optimizer" sections of a compiled model ({} if not compiled)."""
    if not model.compiled:
        return {}
    optimizer = model.optimizer
    try:
        config = serialize_keras_object(optimizer)
    except (TypeError, ValueError) as exc:
        raise SerializationError(
            f"cannot save model '{model.name}': its optimizer has no config ({exc}); save "
            f"with include_optimizer=False to leave the training state out"
        ) from exc
    entries = []
    for index, (variable, array) in enumerate(
        zip(optimizer.state_variables(), optimizer.variables)
    ):
        key = f"optimizer/{index}"
        arrays[key] = array
        entries.append({"name": variable.name, "key": key})
    trainer_state = model._trainer_state
    return {
        "compile": model.get_compile_config(),
        "optimizer": {
            "config": config,
            "built": bool(optimizer.built),
            "variables": entries,
            "seed": None if trainer_state is None else trainer_state.seed,
        },
    }


def restore_training_state(
    path: str,
    model: Any,
    document: dict[str, Any],
    arrays: dict[str, np.ndarray],
    used: set[str],
    custom_objects: dict[str, Any] | None,
    compile: bool,
) -> None:
    """Compile `model` as saved and restore its optimizer state (with `compile`); without
    it, the sections are only validated. Arrays read are added to `used`."""
    if "compile" not in document and "optimizer" not in document:
        return
    settings = expect_dict(path, document.get("compile"), "'compile'")
    section = expect_dict(path, document.get("optimizer"), "'optimizer'")
    built, seed = section.get("built"), section.get("seed")
    if not isinstance(built, bool) or not (seed is None or is_int(seed)):
        fail(path, "'optimizer': 'built' must be true or false and 'seed' an int or null")
    state = []
    for index, entry in enumerate(expect_list(path, section, "variables")):
        where = f"'optimizer' variables[{index}]"
        key = expect_dict(path, entry, where).get("key")
        state.append(read_array(path, arrays, key, where, used))
    if not compile:
        return
    with custom_object_scope(custom_objects or {}):
        try:
            model.compile_from_config({**settings, "optimizer": section.get("config")})
        except Exception as exc:  # settings come from the file: any failure is a refusal
            fail(path, f"cannot restore the compile settings: {exc}")
    if built:
        optimizer = model.optimizer
        optimizer.build(model.trainable_weights)
        try:
            optimizer.set_weights(state)
        except (TypeError, ValueError) as exc:
            fail(path, f"the optimizer state does not fit model '{model.name}': {exc}")
    model._trainer_state.seed = seed
