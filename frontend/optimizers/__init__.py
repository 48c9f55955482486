"""Optimizers, as `keras.optimizers`: Keras' update rules, built as graph ops.

Get one by name (`"adam"`, `"SGD"`, case-insensitive) or config with `get`, or construct it.
The update runs inside the compiled training step; see `optimizer.py` for the state layout.

>>> type(get("adam")).__name__, get("sgd").momentum
('Adam', 0.0)
"""

from typing import Any

from graphc.frontend.optimizers import schedules
from graphc.frontend.optimizers.adadelta import Adadelta
from graphc.frontend.optimizers.adagrad import Adagrad
from graphc.frontend.optimizers.adam import Adam
from graphc.frontend.optimizers.adamax import Adamax
from graphc.frontend.optimizers.adamw import AdamW
from graphc.frontend.optimizers.nadam import Nadam
from graphc.frontend.optimizers.optimizer import Optimizer, SlotState
from graphc.frontend.optimizers.rmsprop import RMSprop
from graphc.frontend.optimizers.sgd import SGD
from graphc.frontend.utils.serialization import deserialize_keras_object, serialize_keras_object

_CLASSES = (Optimizer, SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax, Nadam)
#: Built-in optimizers by class name and by lower-case name.
ALL_OBJECTS: dict[str, Any] = {
    **{cls.__name__: cls for cls in _CLASSES},
    **{cls.__name__.lower(): cls for cls in _CLASSES},
}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """An optimizer's class and config as JSON data (its state is not included).

    >>> serialize(SGD(momentum=0.9))["config"]["momentum"]
    0.9
    """
    return serialize_keras_object(optimizer)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Optimizer:
    """The optimizer described by a config (see `serialize`) or a name.

    >>> deserialize({"class_name": "Adam", "config": {"learning_rate": 0.5}}).learning_rate
    0.5
    """
    if isinstance(config, dict) and str(config.get("class_name", "")).lower() in ALL_OBJECTS:
        config = {**config, "class_name": config["class_name"].lower()}
    return deserialize_keras_object(config, ALL_OBJECTS, custom_objects, "optimizer")


def get(identifier: Any) -> Optimizer | None:
    """An Optimizer from a name, a config dict or an instance; None gives None.

    >>> get("RMSprop").name
    'rmsprop'
    >>> get("adamm")
    Traceback (most recent call last):
    ...
    ValueError: Could not locate optimizer 'adamm'. ... Known names: Adadelta, Adagrad, ...
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        obj = deserialize({"class_name": identifier, "config": {}})
    elif isinstance(identifier, dict):
        obj = deserialize(identifier)
    else:
        obj = identifier
    if isinstance(obj, Optimizer):
        return obj
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
