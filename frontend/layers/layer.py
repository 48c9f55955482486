"""`Layer`, the base class of every layer and model, with Keras' semantics.

A layer owns weights (`add_weight` in `build`), computes with graphc ops in `call`, and is
called like a function:

- on symbolic Values (from `Input` or other layers), `__call__` builds the layer from the
  input shapes if needed, checks the inputs against `input_spec`, runs `call` on the Values,
  records the call as a `Node` and attaches a `KerasHistory` (with the output's mask) to each
  output: that is how functional models are defined;
- on numpy arrays, it traces the call once per input signature and evaluates the graph
  (see `graphc.frontend.engine.eager`).

Sub-layers and weights are found by looking at the layer's attributes (layers, Variables,
and lists, tuples and dicts of them), in assignment order, as Keras tracks them.

>>> import graphc
>>> from graphc.frontend import Input
>>> class Scale(Layer):
...     def build(self, input_shape):
...         self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")
...     def call(self, x):
...         return x * self.w
>>> layer = Scale(name="scale")
>>> y = layer(Input((3,)))
>>> y.shape, [w.name for w in layer.weights], layer.count_params()
((None, 3), ['scale/w'], 3)
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from graphc import dtypes
from graphc.core import Value, input_p, placeholder, unwrap_symbolic
from graphc.errors import GraphcError, ShapeError
from graphc.frontend import constraints, initializers, regularizers
from graphc.frontend.engine import tree
from graphc.frontend.engine.caches import structure_changed
from graphc.frontend.engine.eager import eager_call
from graphc.frontend.engine.naming import to_snake_case, unique_name
from graphc.frontend.engine.node import KerasHistory, Node, mask_of, symbolic_leaves
from graphc.frontend.engine.trace import TraceContext, current_context
from graphc.frontend.layers.input_spec import InputSpec
from graphc.frontend.variables import Variable
from graphc.primitives.cast import cast, cast_p
from graphc.types import Dim

#: Keyword arguments every layer accepts for Keras 2 compatibility: the input shape of the
#: first layer of a Sequential model.
LEGACY_KWARGS = ("input_shape", "input_dim", "batch_input_shape", "batch_size")

#: Engine attributes that may hold layers but are not sub-layers.
_UNTRACKED = frozenset({"_inbound_nodes", "_eager_cache", "_init_args", "_inference"})


class Layer:
    """The base class of layers (and models): weights, build, call, config.

    Args:
        activity_regularizer: a regularizer applied to the layer's outputs during training.
        trainable: whether the layer's weights are updated by training.
        dtype: the dtype of weights and computation (default "float32").
        autocast: cast float inputs to the layer's dtype (Keras' autocasting).
        name: the layer's name; by default the snake-cased class name, made unique
            ("dense", "dense_1", ...).
        **kwargs: only Keras 2's `input_shape`, `input_dim`, `batch_input_shape` and
            `batch_size` (the input shape of the first layer of a Sequential model).
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Layer:
        obj = super().__new__(cls)
        # The constructor arguments, for the automatic get_config of custom layers.
        try:
            bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
            arguments = dict(bound.arguments)
            arguments.pop(next(iter(arguments)))  # self
            for name, param in inspect.signature(cls.__init__).parameters.items():
                if param.kind is inspect.Parameter.VAR_KEYWORD and name in arguments:
                    arguments.update(arguments.pop(name))
            obj._init_args = arguments
        except TypeError:
            obj._init_args = None
        return obj

    def __init__(
        self,
        *,
        activity_regularizer: Any = None,
        trainable: bool = True,
        dtype: Any = None,
        autocast: bool = True,
        name: str | None = None,
        **kwargs: Any,
    ):
        unknown = sorted(set(kwargs) - set(LEGACY_KWARGS))
        if unknown:
            raise TypeError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                f"{ {k: kwargs[k] for k in unknown} }"
            )
        if name is not None and (not isinstance(name, str) or "/" in name or not name):
            raise ValueError(
                f"Argument `name` must be a non-empty string without '/'. Received: name={name!r}"
            )
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._dtype = _standardize_dtype(dtype, type(self).__name__)
        self._trainable = bool(trainable)
        self.autocast = bool(autocast)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.built = False
        self.supports_masking = False
        self.input_spec: InputSpec | list[InputSpec] | None = None
        self._trainable_variables: list[Variable] = []
        self._non_trainable_variables: list[Variable] = []
        self._inbound_nodes: list[Node] = []
        self._eager_cache: dict[Any, Any] = {}
        self._losses_outside_trace: list[Value] = []
        self._batch_input_shape = _legacy_input_shape(kwargs)

    # --- identity ------------------------------------------------------------------------

    @property
    def dtype(self) -> str:
        """The dtype of the layer's weights and computation, as a string."""
        return self._dtype

    @property
    def compute_dtype(self) -> str:
        return self._dtype

    @property
    def variable_dtype(self) -> str:
        return self._dtype

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    # --- sub-layers and weights ----------------------------------------------------------

    def _tracked(self) -> Iterator[Any]:
        """Layers and Variables among the attributes, in assignment order, no duplicates."""
        seen: set[int] = {id(self)}
        for attr, value in vars(self).items():
            if attr in _UNTRACKED:
                continue
            for item in _layers_and_variables(value):
                if id(item) not in seen:
                    seen.add(id(item))
                    yield item

    @property
    def _layers(self) -> list[Layer]:
        """The direct sub-layers."""
        return [item for item in self._tracked() if isinstance(item, Layer)]

    def _flatten_layers(self, include_self: bool = True) -> list[Layer]:
        """This layer and all nested sub-layers, depth first, each once."""
        found: list[Layer] = []
        seen: set[int] = set()
        stack: list[Layer] = [self]
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            found.append(layer)
            stack.extend(reversed(layer._layers))
        return found if include_self else found[1:]

    @property
    def weights(self) -> list[Variable]:
        """All weights: this layer's (trainable-created first, as Keras), then sub-layers'."""
        found: list[Variable] = []
        for layer in self._flatten_layers():
            found += layer._trainable_variables + layer._non_trainable_variables
            found += [v for v in layer._tracked() if isinstance(v, Variable)]
        return _unique(found)

    @property
    def trainable_weights(self) -> list[Variable]:
        """The weights training updates: none when the layer is frozen."""
        if not self.trainable:
            return []
        return [v for v in self.weights if v.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        """The weights training leaves alone: all of them when the layer is frozen."""
        if not self.trainable:
            return self.weights
        return [v for v in self.weights if not v.trainable]

    @property
    def variables(self) -> list[Variable]:
        return self.weights

    @property
    def trainable_variables(self) -> list[Variable]:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[Variable]:
        return self.non_trainable_weights

    @property
    def trainable(self) -> bool:
        """Settable. Freezing (False) makes this layer's and all nested layers' weights
        non-trainable; unfreezing restores the weights that were created trainable."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        for layer in self._flatten_layers():
            layer._trainable = value
            for variable in layer._trainable_variables:
                variable.trainable = value
        structure_changed()

    def add_weight(
        self,
        shape: Sequence[int] | None = None,
        initializer: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
        name: str | None = None,
    ) -> Variable:
        """Create a weight of this layer, in `build` usually.

        Args:
            shape: the weight's shape (static ints).
            initializer: name, instance or callable `(shape, dtype) -> array`; default
                "glorot_uniform" for float weights, "zeros" otherwise.
            dtype: defaults to the layer's dtype.
            trainable: whether training updates it.
            regularizer: a penalty added to `losses` (name, instance or callable).
            constraint: a projection applied after optimizer updates.
            name: the short name; the Variable is named "<layer>/<name>".

        Returns:
            The Variable, also listed in `weights`.
        """
        shape = tuple(int(d) for d in (shape or ()))
        dtype = dtypes.as_dtype(dtype or self.dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtypes.is_float(dtype) else "zeros"
        init = initializers.get(initializer)
        count = len(self._trainable_variables) + len(self._non_trainable_variables)
        short = name or ("variable" if count == 0 else f"variable_{count}")
        variable = Variable(
            np.asarray(init(shape, dtype)),
            name=f"{self.name}/{short}",
            trainable=trainable,
            dtype=dtype,
        )
        variable.regularizer = regularizers.get(regularizer)
        variable.constraint = constraints.get(constraint)
        if trainable:
            self._trainable_variables.append(variable)
            variable.trainable = self.trainable
        else:
            self._non_trainable_variables.append(variable)
        return variable

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights' numbers, in `weights` order (Keras' order)."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Replace the weights' numbers; count, shapes and dtypes are checked before any
        weight changes."""
        params = self.weights
        if len(weights) != len(params):
            hint = "" if self.built else " (the layer is not built yet: call it on data first)"
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight list "
                f"of length {len(weights)}, but the layer was expecting {len(params)} "
                f"weights{hint}."
            )
        arrays = [np.asarray(w) for w in weights]
        for variable, array in zip(params, arrays):
            if array.shape != variable.shape:
                raise ShapeError(
                    f"Layer '{self.name}' weight shape {variable.shape} is not compatible with "
                    f"provided weight shape {array.shape} (weight {variable.name!r})."
                )
        for variable, array in zip(params, arrays):
            variable.assign(array)

    def count_params(self) -> int:
        """The number of scalars in all weights."""
        if not self.built and not self.weights:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                f"built. You can build it manually via: `layer.build(input_shape)`."
            )
        return int(sum(v.size for v in self.weights))

    # --- losses --------------------------------------------------------------------------

    def add_loss(self, loss: Any) -> None:
        """Add a loss term (a scalar Value) computed in `call`; training adds it to the loss."""
        from graphc.core import as_value

        value = as_value(loss)
        ctx = current_context()
        if ctx is not None:
            ctx.add_loss(self, value)
        else:
            self._losses_outside_trace.append(value)

    @property
    def losses(self) -> list[Value]:
        """Regularization penalties of the trainable weights, plus terms added in calls
        (those of the active trace when there is one), for this layer and its sub-layers."""
        layers = self._flatten_layers()
        penalties = [v.regularizer(v) for v in self.trainable_weights if v.regularizer]
        ctx = current_context()
        if ctx is not None:
            ids = {id(layer) for layer in layers}
            return penalties + [value for layer, value in ctx.losses if id(layer) in ids]
        return penalties + [value for layer in layers for value in layer._losses_outside_trace]

    # --- build and call ------------------------------------------------------------------

    def build(self, input_shape: Any) -> None:
        """Create the weights for inputs of this shape (override in layers with weights)."""
        self.built = True

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """The computation, in graphc ops on Values (override in every layer)."""
        raise TypeError(f"{type(self).__name__} must define call(self, inputs, ...)")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args:
            if "inputs" not in kwargs:
                raise TypeError(f"{type(self).__name__} '{self.name}' was called without inputs")
            args = (kwargs.pop("inputs"),)
        if any(isinstance(unwrap_symbolic(leaf), Value) for leaf in tree.flatten(args)):
            return self._symbolic_call(args, kwargs)
        return eager_call(self, args, kwargs)

    def _symbolic_call(self, args: tuple, kwargs: dict) -> Any:
        ctx = current_context()
        call_kwargs, mask = self._resolve_call_kwargs(args[0], kwargs, ctx)
        call_args = self._autocast_inputs(args)
        try:
            if not self.built:
                self._maybe_build(call_args[0])
            self._check_input_spec(call_args[0])
            outputs = self.call(*call_args, **call_kwargs)
        except GraphcError as exc:
            if getattr(exc, "layer", None) is not None:
                raise
            raise _named_error(self, exc) from exc
        return self._finish_outputs(args, kwargs, outputs, mask, ctx)

    def _resolve_call_kwargs(
        self, inputs: Any, kwargs: dict, ctx: TraceContext | None
    ) -> tuple[dict, Any]:
        """Keras' rules: `training` from the call, else the trace; the mask from the call,
        else from the inputs' histories. Returns the kwargs for `call` and the input mask."""
        spec = _call_spec(type(self))
        call_kwargs = dict(kwargs)
        training = call_kwargs.pop("training", None)
        if training is None and ctx is not None:
            training = ctx.training
        if spec.has_training and training is not None:
            call_kwargs["training"] = bool(training)
        mask = call_kwargs.pop("mask", None)
        if mask is None:
            masks = tree.map_structure(mask_of, inputs)
            mask = masks if any(m is not None for m in tree.flatten(masks)) else None
        if spec.has_mask and mask is not None:
            call_kwargs["mask"] = mask
        return call_kwargs, mask

    def _autocast_inputs(self, args: tuple) -> tuple:
        target = np.dtype(self.compute_dtype)
        if not self.autocast or not dtypes.is_float(target):
            return args

        def convert(leaf: Any) -> Any:
            if isinstance(leaf, Value) and dtypes.is_float(leaf.dtype) and leaf.dtype != target:
                return cast(leaf, target)
            return leaf

        return tree.map_structure(convert, args)

    def _maybe_build(self, inputs: Any) -> None:
        shapes = tree.map_structure(lambda v: tuple(getattr(v, "shape", ())), inputs)
        self.build(shapes)
        self.built = True

    def _check_input_spec(self, inputs: Any) -> None:
        if self.input_spec is None:
            return
        specs = self.input_spec if isinstance(self.input_spec, list) else [self.input_spec]
        values = [unwrap_symbolic(v) for v in tree.flatten(inputs)]
        if len(specs) > 1 and len(specs) != len(values):
            raise ShapeError(
                f"{self._who()} expects {len(specs)} input(s), but it received {len(values)} "
                f"input tensors"
            )
        for spec, value in zip(specs, values):
            if spec is not None and isinstance(value, Value):
                spec.check(self._who(), value.shape, value.dtype)

    def _finish_outputs(
        self, args: tuple, kwargs: dict, outputs: Any, mask: Any, ctx: TraceContext | None
    ) -> Any:
        """Make outputs fresh Values, compute their masks, record the call, set histories."""
        input_ids = {id(v) for v in symbolic_leaves((args, kwargs))}

        def fresh(out: Any) -> Value:
            out = unwrap_symbolic(out)
            if not isinstance(out, Value):
                raise TypeError(
                    f"{self._who()}: call() must return graphc Values (or lists, tuples and "
                    f"dicts of them), got {type(out).__name__}"
                )
            if id(out) in input_ids or out.origin is not None or out.primitive is input_p:
                return _copy(out)
            return out

        outputs = tree.map_structure(fresh, outputs)
        flat = tree.flatten(outputs)
        out_masks = self.compute_mask(args[0], mask) if self.supports_masking else None
        flat_masks = tree.flatten(out_masks) if out_masks is not None else [None]
        if len(flat_masks) != len(flat):
            flat_masks = flat_masks[:1] * len(flat)
        if self.activity_regularizer is not None and ctx is not None:
            for out in flat:  # penalties of the outputs of this trace (Keras 3 skips symbolic)
                self.add_loss(self.activity_regularizer(out))
        if ctx is None:
            node_index: int | None = Node(self, args, kwargs, outputs).index
        else:
            node_index = None
            ctx.calls.append((self, outputs))
        for index, (out, out_mask) in enumerate(zip(flat, flat_masks)):
            out.origin = KerasHistory(self, node_index, index, out_mask)
        return outputs

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        """The mask of the outputs; by default the inputs' mask passes through."""
        return previous_mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shape(s) for inputs of `input_shape`, found by tracing `call`."""
        values = _map_shapes(lambda s: placeholder(s, self.compute_dtype), input_shape)
        with TraceContext(training=False):
            outputs = self(values)
        return tree.map_structure(lambda v: v.shape, outputs)

    def _who(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    # --- call history --------------------------------------------------------------------

    def _node_attribute(self, attribute: str, what: str) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(
                f"The layer {self.name} has never been called on symbolic inputs and thus has "
                f"no defined {what}."
            )
        return getattr(self._inbound_nodes[0], attribute)

    @property
    def input(self) -> Any:
        """The symbolic input(s) of the layer's first call."""
        args = self._node_attribute("call_args", "input")
        return args[0] if args else self._inbound_nodes[0].outputs

    @property
    def output(self) -> Any:
        """The symbolic output(s) of the layer's first call."""
        return self._node_attribute("outputs", "output")

    @property
    def input_shape(self) -> Any:
        return tree.map_structure(lambda v: v.shape, self.input)

    @property
    def output_shape(self) -> Any:
        return tree.map_structure(lambda v: v.shape, self.output)

    # --- config --------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as JSON data; `from_config` rebuilds the layer.

        Layers defining `get_config` merge their arguments into this base config. A custom
        layer without one gets its constructor arguments automatically, when they are plain
        JSON data (numbers, strings, lists, dicts).
        """
        config: dict[str, Any] = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self.dtype,
        }
        if type(self).get_config is not Layer.get_config:
            return config
        arguments = dict(self._init_args or {})
        for key in ("name", "trainable", "dtype"):
            arguments.pop(key, None)
        try:
            json.dumps(arguments)
        except TypeError as exc:
            raise TypeError(
                f"{self._who()} has constructor arguments that are not plain JSON data "
                f"({exc}); define get_config() (and from_config() if needed) to serialize it"
            ) from exc
        params = inspect.signature(type(self).__init__).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            config = {k: v for k, v in config.items() if k in params}
        return {**config, **arguments}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """A new layer from `get_config()`'s output (weights are not part of a config)."""
        return cls(**config)


# --- helpers -----------------------------------------------------------------------------------


def _layers_and_variables(value: Any) -> Iterator[Any]:
    if isinstance(value, (Layer, Variable)):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _layers_and_variables(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _layers_and_variables(item)


def _unique(items: list[Any]) -> list[Any]:
    seen: set[int] = set()
    return [x for x in items if not (id(x) in seen or seen.add(id(x)))]


def _standardize_dtype(dtype: Any, who: str) -> str:
    if dtype is None:
        return "float32"
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name", dtype)
    try:
        return dtypes.as_dtype(dtype).name
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{who}: unsupported dtype {dtype!r}; expected one of {dtypes.supported_names()}"
        ) from exc


def _legacy_input_shape(kwargs: dict[str, Any]) -> tuple[Dim, ...] | None:
    """Keras 2's input_shape / input_dim / batch_input_shape as a full batch shape."""
    batch_size = kwargs.get("batch_size")
    if kwargs.get("batch_input_shape") is not None:
        return tuple(kwargs["batch_input_shape"])
    if kwargs.get("input_shape") is not None:
        return (batch_size, *tuple(kwargs["input_shape"]))
    if kwargs.get("input_dim") is not None:
        return (batch_size, kwargs["input_dim"])
    return None


class _CallSpec:
    def __init__(self, has_training: bool, has_mask: bool):
        self.has_training = has_training
        self.has_mask = has_mask


@functools.cache
def _call_spec(cls: type) -> _CallSpec:
    params = inspect.signature(cls.call).parameters
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return _CallSpec("training" in params or var_kw, "mask" in params)


def _copy(value: Value) -> Value:
    """A new Value equal to `value`: a layer output must not be another tensor's object."""
    if value.primitive is input_p:
        return cast_p.bind(value, dtype=value.dtype)
    return Value(value.primitive, value.inputs, value.attrs, value.type, name=value.name)


def _named_error(layer: Layer, exc: GraphcError) -> GraphcError:
    message = str(exc)
    who = layer._who()
    error = type(exc)(message if message.startswith(who) else f"{who}: {message}")
    error.layer = layer
    return error


def _is_shape(shape: Any) -> bool:
    return isinstance(shape, (tuple, list)) and all(
        d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool)) for d in shape
    )


def _map_shapes(fn: Any, structure: Any) -> Any:
    """Apply `fn` to each shape of a structure of shapes (a shape is a tuple of ints/None)."""
    if _is_shape(structure):
        return fn(tuple(structure))
    if isinstance(structure, dict):
        return {k: _map_shapes(fn, v) for k, v in structure.items()}
    return [_map_shapes(fn, s) for s in structure]
