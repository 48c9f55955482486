"""`Lambda`: wraps a Python function of Values as a layer; the function is traced into ops."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import graphc
from graphc.core import Value
from graphc.frontend import activations
from graphc.frontend.layers.layer import Layer
from graphc.frontend.utils.serialization import deserialize_keras_object, serialize_keras_object


def _builtin_functions() -> dict[str, Callable]:
    """Functions a config may name without registration: graphc's ops and the activations."""
    found = {
        name: fn
        for name, fn in vars(graphc).items()
        if callable(fn) and not inspect.isclass(fn) and not name.startswith("_")
    }
    return {**found, **activations.ALL_OBJECTS}


#: True while a model file is written: it stores each Lambda's traced graph and uses the
#: function's name only as a label, so anonymous functions need no name there.
_functions_as_labels: ContextVar[bool] = ContextVar("graphc_lambda_labels", default=False)


@contextmanager
def functions_as_labels() -> Iterator[None]:
    """Inside the block, `Lambda.get_config` labels anonymous functions instead of refusing."""
    token = _functions_as_labels.set(True)
    try:
        yield
    finally:
        _functions_as_labels.reset(token)


class Lambda(Layer):
    """Wraps an arbitrary function of symbolic tensors as a layer.

    The function is called on the layer's input Values, so it is traced into graph ops like
    any layer (`Lambda(lambda x: x ** 2)` becomes a `pow` node). To serialize a model with a
    Lambda, give it a named function that is registered with `register_keras_serializable`,
    passed in `custom_objects`, or one of graphc's ops; `model.save` also takes anonymous
    lambdas, since a model file stores the graph the function traces to.

    Args:
        function: called as `function(inputs, **arguments)` (plus `mask=`/`training=` when
            its signature has them).
        output_shape: the per-sample output shape (a tuple, or a function of the input
            shape); by default it is found by tracing the function.
        mask: an output mask, or a function `(inputs, mask) -> mask`.
        arguments: extra keyword arguments for the function.

    Input shape: arbitrary. Output shape: the function's.

    >>> import numpy as np
    >>> Lambda(lambda x: x * 2.0 + 1.0)(np.array([[1.0, 2.0]])).tolist()
    [[3.0, 5.0]]
    """

    def __init__(
        self,
        function: Callable[..., Any],
        output_shape: Any = None,
        mask: Any = None,
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: `function` must be callable. Received: {function!r}")
        self.function = function
        self.output_shape_arg = output_shape
        self.mask = mask
        self.arguments = dict(arguments or {})
        self.supports_masking = mask is not None
        params = inspect.signature(function).parameters
        self._fn_has_mask = "mask" in params
        self._fn_has_training = "training" in params

    def call(self, inputs: Any, mask: Any = None, training: bool | None = None) -> Any:
        kwargs = dict(self.arguments)
        if self._fn_has_mask:
            kwargs["mask"] = mask
        if self._fn_has_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        if callable(self.mask):
            return self.mask(inputs, previous_mask)
        return self.mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self.output_shape_arg is None:
            return super().compute_output_shape(input_shape)
        if callable(self.output_shape_arg):
            return self.output_shape_arg(input_shape)
        return (tuple(input_shape)[0], *self.output_shape_arg)

    def get_config(self) -> dict[str, Any]:
        labelled = ("function", "output_shape") if _functions_as_labels.get() else ()
        for what, fn in (
            ("function", self.function),
            ("output_shape", self.output_shape_arg),
            ("mask", self.mask),
        ):
            if callable(fn) and getattr(fn, "__name__", "") == "<lambda>" and what not in labelled:
                raise ValueError(
                    f"{self._who()}: the `{what}` is an anonymous function, which a config "
                    f"cannot name; use a named function registered with "
                    f"@register_keras_serializable (or passed in custom_objects when loading), "
                    f"or save the whole model with model.save(), which stores the traced graph"
                )
        if isinstance(self.mask, Value):
            raise ValueError(f"{self._who()}: cannot serialize a symbolic `mask`")
        output_shape = self.output_shape_arg
        return {
            **super().get_config(),
            "function": serialize_keras_object(self.function),
            "output_shape": (
                serialize_keras_object(output_shape)
                if callable(output_shape)
                else None
                if output_shape is None
                else list(output_shape)
            ),
            "mask": serialize_keras_object(self.mask) if callable(self.mask) else None,
            "arguments": self.arguments,
        }

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Lambda:
        config = dict(config)
        builtins = _builtin_functions()
        for key in ("function", "output_shape", "mask"):
            if isinstance(config.get(key), str):
                config[key] = deserialize_keras_object(
                    config[key], builtins, custom_objects, "function"
                )
        return cls(**config)
