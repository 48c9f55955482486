"""`layers.serialize` / `layers.deserialize`: any layer or model to a config and back."""

from __future__ import annotations

import inspect
from typing import Any

from graphc.frontend.utils.serialization import deserialize_keras_object, serialize_keras_object


def builtin_layer_classes() -> dict[str, type]:
    """Every layer and model class graphc.frontend defines, by class name."""
    from graphc.frontend import layers, models
    from graphc.frontend.layers.layer import Layer

    found: dict[str, type] = {}
    for namespace in (layers, models):
        for name, obj in vars(namespace).items():
            if inspect.isclass(obj) and issubclass(obj, Layer):
                found[name] = obj
    return found


def serialize(layer: Any) -> dict[str, Any]:
    """A layer (or model) as `{"class_name", "config", "registered_name"}`.

    >>> from graphc.frontend import layers
    >>> serialize(layers.Dense(3, name="d"))["config"]["units"]
    3
    """
    return serialize_keras_object(layer)


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Any:
    """A new layer (or model) from `serialize`'s output; custom classes are found in
    `custom_objects`, the active `custom_object_scope`, or the registry of
    `register_keras_serializable`.

    >>> from graphc.frontend import layers
    >>> deserialize(serialize(layers.Dense(3, name="d"))).units
    3
    """
    return deserialize_keras_object(config, builtin_layer_classes(), custom_objects, "layer")
