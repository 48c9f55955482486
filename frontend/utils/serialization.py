"""Objects to configs and back: the registry of custom classes and functions.

A config is plain JSON data: `{"class_name": ..., "config": {...}, "registered_name": ...}`
for objects with `get_config` (layers, initializers, regularizers, constraints), a string for
functions (activations). Deserializing looks a name up, in order, in `custom_objects`, the
active `custom_object_scope`s, the global registry filled by `@register_keras_serializable`,
and the built-in objects of the module asking; nothing is imported or evaluated from a config.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

#: "Package>Name" -> class or function, filled by `register_keras_serializable`.
_REGISTERED: dict[str, Any] = {}
#: The reverse map, by id of the object (classes and functions hash fine, but ids keep the
#: two maps symmetric and never compare objects).
_REGISTERED_NAMES: dict[int, str] = {}
_scopes: list[Mapping[str, Any]] = []


def register_keras_serializable(
    package: str = "Custom", name: str | None = None
) -> Callable[[Any], Any]:
    """Register a custom layer, model, initializer or function for deserialization.

    `Model.from_config`, `models.model_from_json` and `Layer.from_config` then find the class
    under "Package>Name" without `custom_objects`.

    Args:
        package: the namespace of the name.
        name: the registered name; defaults to the class's or function's `__name__`.

    >>> @register_keras_serializable(package="Docs")
    ... def double(x):
    ...     return x * 2
    >>> get_registered_name(double), get_registered_object("Docs>double") is double
    ('Docs>double', True)
    """

    def decorator(obj: Any) -> Any:
        registered = f"{package}>{name or obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"register_keras_serializable: cannot register {obj.__name__}, a class "
                f"without a get_config() method"
            )
        _REGISTERED[registered] = obj
        _REGISTERED_NAMES[id(obj)] = registered
        return obj

    return decorator


def get_registered_name(obj: Any) -> str:
    """The name `obj` is registered under, else its `__name__`."""
    if inspect.isclass(obj):
        obj = _serialized_class(obj)
    return _REGISTERED_NAMES.get(id(obj), obj.__name__)


def _serialized_class(cls: type) -> type:
    """The class a config names for `cls`: itself, or the class it stands for
    (`_serialized_as`: a Model subclass joined with Functional for `Sub(inputs, outputs)`)."""
    return vars(cls).get("_serialized_as", cls)


def get_registered_object(
    name: str,
    custom_objects: Mapping[str, Any] | None = None,
    module_objects: Mapping[str, Any] | None = None,
) -> Any:
    """The class or function called `name`, or None; see the module docstring for the order."""
    for table in (custom_objects or {}, *reversed(_scopes), _REGISTERED, module_objects or {}):
        if name in table:
            return table[name]
    return None


@contextmanager
def custom_object_scope(custom_objects: Mapping[str, Any]) -> Iterator[None]:
    """Make `custom_objects` visible to every deserialization inside the `with` block.

    >>> from graphc.frontend import layers, utils
    >>> class Twice(layers.Layer):
    ...     def call(self, x):
    ...         return x * 2
    >>> with utils.custom_object_scope({"Twice": Twice}):
    ...     layer = layers.deserialize({"class_name": "Twice", "config": {"name": "t"}})
    >>> type(layer).__name__, layer.name
    ('Twice', 't')
    """
    _scopes.append(dict(custom_objects))
    try:
        yield
    finally:
        _scopes.pop()


def serialize_keras_object(obj: Any) -> Any:
    """`obj` as JSON data: None stays None, functions become their (registered) name.

    >>> from graphc.frontend import initializers
    >>> serialize_keras_object(initializers.RandomNormal(stddev=0.1))
    {'class_name': 'RandomNormal', 'config': {'mean': 0.0, 'stddev': 0.1, 'seed': None}, \
'registered_name': None}
    """
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if hasattr(obj, "get_config") and not inspect.isclass(obj):
        cls = _serialized_class(type(obj))
        registered = _REGISTERED_NAMES.get(id(cls))
        return {
            "class_name": cls.__name__,
            "config": obj.get_config(),
            "registered_name": registered,
        }
    if callable(obj):
        return get_registered_name(obj)
    raise TypeError(f"cannot serialize {obj!r} (of type {type(obj).__name__})")


def deserialize_keras_object(
    config: Any,
    module_objects: Mapping[str, Any] | None = None,
    custom_objects: Mapping[str, Any] | None = None,
    printable_module_name: str = "object",
) -> Any:
    """The object described by `config` (see `serialize_keras_object`).

    Strings name functions or classes (a class is instantiated without arguments); dicts
    name a class and its config, rebuilt with `cls.from_config(config)`.
    """
    if config is None:
        return None
    if isinstance(config, str):
        found = get_registered_object(config, custom_objects, module_objects)
        if found is None:
            _unknown(printable_module_name, config, module_objects)
        return found() if inspect.isclass(found) else found
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"could not deserialize {printable_module_name} from {config!r}: expected a name "
            f'or a dict with "class_name" and "config"'
        )
    found = None
    if config.get("registered_name"):
        found = get_registered_object(config["registered_name"], custom_objects, module_objects)
    if found is None:
        found = get_registered_object(config["class_name"], custom_objects, module_objects)
    if found is None:
        _unknown(printable_module_name, config["class_name"], module_objects)
    inner = config.get("config") or {}
    if not inspect.isclass(found):
        return found
    if "custom_objects" in inspect.signature(found.from_config).parameters:
        return found.from_config(inner, custom_objects=custom_objects)
    with custom_object_scope(custom_objects or {}):
        return found.from_config(inner)


def _unknown(what: str, name: str, module_objects: Mapping[str, Any] | None) -> None:
    known = sorted(module_objects or {})
    listing = f" Known names: {', '.join(known)}." if known else ""
    raise ValueError(
        f"Could not locate {what} {name!r}. Make sure custom classes and functions are "
        f"decorated with @register_keras_serializable() or passed in custom_objects.{listing}"
    )
