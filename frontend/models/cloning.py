"""Models from configs and JSON, and `clone_model` (same architecture, new weights)."""

from __future__ import annotations

import json
from typing import Any

from graphc.frontend.layers.serialization import deserialize, serialize
from graphc.frontend.models.keras_config import from_keras_config


def model_from_config(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Any:
    """A model from `{"class_name": ..., "config": ...}` (what `to_json` encodes); configs
    Keras 3 wrote are read too (see `keras_config.from_keras_config`)."""
    return deserialize(from_keras_config(config), custom_objects)


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """A model (new weights) from `model.to_json()`'s output, graphc's or Keras 3's.

    >>> from graphc.frontend import Sequential, layers
    >>> model = Sequential([layers.Input((3,)), layers.Dense(2)], name="small")
    >>> copy = model_from_json(model.to_json())
    >>> copy.name, [type(layer).__name__ for layer in copy.layers]
    ('small', ['Dense'])
    """
    return model_from_config(json.loads(json_string), custom_objects)


def clone_model(model: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """A new model with the same architecture and freshly initialized weights.

    Copy the weights too with `clone.set_weights(model.get_weights())`.
    """
    return deserialize(serialize(model), custom_objects)
