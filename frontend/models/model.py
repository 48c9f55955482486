"""`Model`: a layer with inputs and outputs that can be traced, inspected and run.

Three ways to make one, as in Keras:

- functional: `Model(inputs, outputs)` (returns a `Functional`, see functional.py);
- `Sequential([...])` (sequential.py);
- subclassing: `class MyModel(Model)` with `__init__` creating layers and `call` using
  them; the model is built on first use (a call on data, `build(input_shape)`, `predict`).

Whatever the kind, `trace(inputs, training)` re-runs the model's computation on new Values
(the training step uses it inside a `TraceContext`), `graph` is the inference graph with the
current weights as constants, and `predict` runs that graph compiled, in batches.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import graphc
from graphc.core import Value, constant, placeholder
from graphc.errors import InputError
from graphc.frontend.backend import num_threads
from graphc.frontend.engine import tree
from graphc.frontend.engine.caches import structure_epoch
from graphc.frontend.engine.eager import as_array_leaves, graph_dtype
from graphc.frontend.engine.trace import TraceContext, current_context, no_trace
from graphc.frontend.layers.layer import Layer, _map_shapes
from graphc.frontend.saving.mixin import SavingMixin
from graphc.frontend.trainer import Trainer
from graphc.frontend.trainer.progbar import Progbar
from graphc.frontend.utils.serialization import serialize_keras_object
from graphc.frontend.variables import variables_in
from graphc.graph import Graph
from graphc.types import TensorType, format_shape


class InputSignature:
    """What a model takes: a structure of TensorTypes (as the model's inputs are nested) and
    one name per input, in flattened order."""

    def __init__(self, structure: Any, names: Sequence[str]):
        self.structure = structure
        self.types: list[TensorType] = tree.flatten(structure)
        self.names = list(names)

    def placeholders(self) -> list[Value]:
        return [placeholder(t.shape, t.dtype, name=n) for t, n in zip(self.types, self.names)]

    def flatten(self, data: Any, who: str) -> list[Any]:
        """`data` (one tensor, a list, or a dict keyed like the inputs or by input name) as a
        flat list in input order."""
        structure = self.structure
        if isinstance(data, dict):
            if isinstance(structure, dict) and set(structure) <= set(data):
                return tree.flatten({key: data[key] for key in structure})
            if set(self.names) <= set(data):
                return [data[name] for name in self.names]
            expected = sorted(structure) if isinstance(structure, dict) else self.names
            raise InputError(
                f"{who}: expected a dict with keys {expected}, got keys {sorted(data)}"
            )
        flat = tree.flatten(data) if isinstance(data, (list, tuple)) else [data]
        if len(flat) != len(self.types):
            raise InputError(
                f"{who} expects {len(self.types)} input(s) "
                f"({', '.join(f'{n}: {t}' for n, t in zip(self.names, self.types))}), "
                f"got {len(flat)}"
            )
        return flat


class Model(Trainer, SavingMixin, Layer):
    """A model: layers with a defined computation from inputs to outputs.

    `Model(inputs, outputs, name=None)` builds a functional model; subclass `Model` and
    define `call` for a subclassed model.

    >>> from graphc.frontend import Input, Model, layers
    >>> x = Input((784,))
    >>> model = Model(x, layers.Dense(10)(layers.Dense(64, activation="relu")(x)))
    >>> type(model).__name__, model.count_params()
    ('Functional', 50890)
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Model:
        functional = _functional_class()
        if (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs) and not issubclass(
            cls, functional
        ):
            # Model(inputs, outputs) is a Functional; so is a subclass built that way (Keras'
            # pattern for overriding train_step): its instance's class derives from both
            cls = functional if cls is Model else functional_subclass(cls)
            return functional.__new__(cls, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args: Any, **kwargs: Any):
        if args:
            raise TypeError(
                f"{type(self).__name__}: a subclassed model takes keyword arguments only "
                f"(name=, trainable=, dtype=); got positional arguments {args!r}"
            )
        super().__init__(**kwargs)
        self._signature: InputSignature | None = None
        self._in_build = False
        self._inference: dict[str, Any] = {}

    # --- structure -----------------------------------------------------------------------

    @property
    def layers(self) -> list[Layer]:
        """The model's layers, in order."""
        return self._layers

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by position in `layers`.

        >>> from graphc.frontend import Sequential, layers
        >>> model = Sequential([layers.Input((4,)), layers.Dense(2, name="head")])
        >>> model.get_layer("head") is model.get_layer(index=0)
        True
        """
        if index is not None and name is not None:
            raise ValueError(
                f"Provide only a layer name or a layer index. Received: index={index}, name={name}."
            )
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only has "
                    f"{len(self.layers)} layers."
                )
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"No such layer: {name}. Existing layers are: "
                f"{[layer.name for layer in self.layers]}."
            )
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    @property
    def inputs(self) -> list[Value]:
        raise AttributeError(
            f"Model '{self.name}' is a subclassed model: it has no symbolic inputs (call it on "
            f"data or use model.trace)"
        )

    @property
    def outputs(self) -> list[Value]:
        raise AttributeError(
            f"Model '{self.name}' is a subclassed model: it has no symbolic outputs"
        )

    # --- building ------------------------------------------------------------------------

    def build(self, input_shape: Any = None) -> None:
        """Build a subclassed model for inputs of `input_shape` (batch axis included, e.g.
        `(None, 784)`; a list or dict of shapes for several inputs) by calling it on
        placeholders."""
        if self._in_build:
            self.built = True
            return
        if input_shape is None:
            raise ValueError(f"{self._who()}: build() needs an `input_shape`")
        values = _map_shapes(lambda s: placeholder(s, self.compute_dtype), input_shape)
        if type(self).build is not Model.build:
            # Reached through super().build() from an overriding build, which has run.
            self._signature = _signature_of(values)
            self.built = True
        with no_trace():
            self(values)

    def _maybe_build(self, inputs: Any) -> None:
        self._signature = _signature_of(inputs)
        if type(self).build is not Model.build:
            self._in_build = True
            try:
                self.build(tree.map_structure(lambda v: tuple(v.shape), inputs))
            finally:
                self._in_build = False
        self.built = True

    def input_signature(self) -> InputSignature:
        """The types and names of the model's inputs (the model must be built)."""
        if self._signature is None:
            raise ValueError(
                f"{self._who()} has not been built yet: call it on data, call "
                f"build(input_shape), or give it an input shape (Input or input_shape=)"
            )
        return self._signature

    def _build_from_data(self, data: Any) -> None:
        """Deferred build from the first batch of data (`predict` or training on an unbuilt
        model): a symbolic call on placeholders shaped like the data, batch axis symbolic."""
        values = tree.map_structure(
            lambda a: placeholder(
                (None, *np.shape(a)[1:]), graph_dtype(np.asarray(a).dtype, self.compute_dtype)
            ),
            data,
        )
        with no_trace():
            self(values)

    # --- tracing -------------------------------------------------------------------------

    def trace(self, inputs: Sequence[Value], training: bool = False) -> list[Value]:
        """Re-run the model's computation on new input Values; return the output Values.

        Inside an active `TraceContext` (the training step's), random ops draw from its seed
        and state updates and losses are recorded there; otherwise a context with the given
        `training` flag is used.

        Args:
            inputs: one Value per model input, in `input_signature()` order.
            training: whether layers run in training mode.

        Returns:
            The outputs, flattened (`tree.flatten` order of the model's output structure).

        >>> import graphc
        >>> from graphc.frontend import Sequential, layers
        >>> model = Sequential([layers.Input((3,)), layers.Dense(2)])
        >>> x = graphc.placeholder((None, 3))
        >>> [y.shape for y in model.trace([x])]
        [(None, 2)]
        """
        signature = self.input_signature()
        packed = tree.pack_sequence_as(signature.structure, list(inputs))
        if current_context() is not None:
            return tree.flatten(self(packed, training=training))
        with TraceContext(training):
            return tree.flatten(self(packed, training=training))

    def _inference_function(self) -> dict[str, Any]:
        """The inference trace with weights as inputs, rebuilt when the structure changes."""
        cached = self._inference
        if cached.get("epoch") == structure_epoch() and cached.get("signature") is (
            self._signature
        ):
            return cached
        signature = self.input_signature()
        inputs = signature.placeholders()
        packed = tree.pack_sequence_as(signature.structure, inputs)
        with TraceContext(training=False):
            outputs = self(packed, training=False)
        flat = tree.flatten(outputs)
        variables = variables_in(flat)
        cached.clear()
        cached.update(
            epoch=structure_epoch(),
            signature=self._signature,
            graph=Graph(inputs + [v.symbol for v in variables], flat, name=self.name),
            variables=variables,
            structure=outputs,
        )
        return cached

    @property
    def graph(self) -> Graph:
        """The inference graph (training=False) with the weights as constants.

        It reflects the weights at the time it is read: read it again after training or
        `set_weights` to get a graph with the new numbers.

        >>> from graphc.frontend import Sequential, layers
        >>> model = Sequential(
        ...     [layers.Input((3,), name="x"),
        ...      layers.Dense(2, use_bias=False, kernel_initializer="ones", name="proj")],
        ...     name="tiny",
        ... )
        >>> print(model.graph.dump())
        graph tiny(%0 x: f32[None,3]) {
          %1 = constant [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]] : f32[3,2]  # proj/kernel
          %2 = matmul %0, %1 : f32[None,2]
          return %2
        }
        """
        function = self._inference_function()
        key = tuple(v.version for v in function["variables"])
        if function.get("constants_key") != key:
            signature = self.input_signature()
            inputs = signature.placeholders()
            weights = [constant(v.numpy(), name=v.name) for v in function["variables"]]
            outputs = function["graph"].to_values(inputs + weights)
            single = len(outputs) == 1
            function["constants_graph"] = Graph(
                inputs, outputs[0] if single else outputs, name=self.name
            )
            function["constants_key"] = key
            function.pop("runner", None)
        return function["constants_graph"]

    def _runner(self) -> Callable[..., Any]:
        """`graph`, compiled for inference (batch normalization folded into the weights) on
        `backend.num_threads()` threads when `graphc.compile` exists; cached until weights
        or the number of threads change."""
        graph = self.graph
        function = self._inference
        threads = num_threads()
        cached = function.get("runner")  # (threads, runner)
        if cached is None or cached[0] != threads:
            runner = (
                graphc.compile(graph, inference=True, threads=threads)
                if hasattr(graphc, "compile")
                else graph
            )
            function["runner"] = cached = (threads, runner)
        return cached[1]

    # --- running -------------------------------------------------------------------------

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto") -> Any:
        """Outputs for the input samples `x`, computed in batches by the compiled graph.

        Args:
            x: an array (one input), a list of arrays, or a dict keyed like the model's
                inputs or by input name.
            batch_size: samples per batch (default 32); the last batch may be smaller.
            verbose: 0 is silent; 1 or "auto" shows Keras' progress bar, 2 one line at the end.

        Returns:
            An array per output, in the model's output structure.

        >>> import numpy as np
        >>> from graphc.frontend import Sequential, layers
        >>> model = Sequential([layers.Input((3,)), layers.Dense(2, kernel_initializer="ones")])
        >>> model.predict(np.ones((5, 3)), verbose=0).tolist()[0]
        [3.0, 3.0]
        """
        batch_size = 32 if batch_size is None else batch_size
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"predict: batch_size must be a positive int, got {batch_size!r}")
        data = as_array_leaves(x)
        if not self.built:
            self._build_from_data(data)
        signature = self.input_signature()
        arrays = [np.asarray(a) for a in signature.flatten(data, f"{self._who()}.predict")]
        samples = _check_arrays(arrays, signature, f"{self._who()}.predict")
        runner = self._runner()
        steps = -(-samples // batch_size)
        quiet = verbose in (0, False, "silent")
        bar = None if quiet else Progbar(steps, verbose=1 if verbose == "auto" else int(verbose))
        batches = []
        for step, begin in enumerate(range(0, samples, batch_size), start=1):
            result = runner(*(a[begin : begin + batch_size] for a in arrays))
            batches.append(result if isinstance(result, list) else [result])
            if bar is not None:
                bar.update(step)
        outputs = [np.concatenate(parts, axis=0) for parts in zip(*batches)]
        return tree.pack_sequence_as(self._inference["structure"], outputs)

    # --- inspection and config -----------------------------------------------------------

    def summary(
        self,
        line_length: int | None = None,
        positions: Sequence[float] | None = None,
        print_fn: Callable[[str], Any] | None = None,
        show_trainable: bool = False,
    ) -> None:
        """Print the layers, their output shapes and parameter counts, and the totals.

        Args:
            line_length: total width (default 65, or 98 with the "Connected to" column).
            positions: right edges of the columns, as fractions of the width or absolute.
            print_fn: called with each line (default `print`).
            show_trainable: add a column saying whether each layer is trainable.
        """
        from graphc.frontend.models.summary import print_summary

        print_summary(self, line_length, positions, print_fn, show_trainable)

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Model:
        """A model from `get_config()`'s output: a functional config (one with
        "input_layers") rebuilds a Functional model; otherwise `cls(**config)`."""
        functional = _functional_class()
        if "input_layers" in config and not issubclass(cls, functional):
            target = functional if cls is Model else functional_subclass(cls)
            return target.from_config(config, custom_objects)
        return cls(**config)

    def to_json(self, **kwargs: Any) -> str:
        """The model's architecture (no weights) as JSON; `models.model_from_json` reads it.

        Args:
            **kwargs: passed to `json.dumps` (e.g. `indent=2`).
        """
        return json.dumps(serialize_keras_object(self), **kwargs)


@functools.cache
def functional_subclass(cls: type) -> type:
    """`cls` (a Model subclass) joined with Functional, for `cls(inputs, outputs)`: the
    subclass's methods (train_step, ...) come first, then Functional's, then Model's. It
    keeps `cls`'s name, so configs and summaries name the user's class."""
    return type(
        cls.__name__,
        (cls, _functional_class()),
        {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "_serialized_as": cls},
    )


def _functional_class() -> type:
    from graphc.frontend.models.functional import Functional

    return Functional


def _signature_of(inputs: Any) -> InputSignature:
    structure = tree.map_structure(lambda v: TensorType(v.shape, v.dtype), inputs)
    flat = tree.flatten(inputs)
    if isinstance(inputs, dict):
        names = [key for key in sorted(inputs)] if len(flat) == len(inputs) else None
    else:
        names = None
    if names is None:
        names = [f"input_{i}" if len(flat) > 1 else "input" for i in range(len(flat))]
    return InputSignature(structure, names)


def _check_arrays(arrays: list[np.ndarray], signature: InputSignature, who: str) -> int:
    """Validate the arrays against the input types; return the number of samples."""
    samples: int | None = None
    for index, (array, expected, name) in enumerate(zip(arrays, signature.types, signature.names)):
        label = f"input {index} ({name!r})"
        want = expected.shape
        if array.ndim != len(want) or any(
            w is not None and w != g for w, g in zip(want[1:], array.shape[1:])
        ):
            raise InputError(
                f"{who}: {label} expected shape ({format_shape(want)}), got {array.shape}"
            )
        if array.dtype.kind not in "biuf":
            raise InputError(f"{who}: {label} expected numbers, got an array of {array.dtype}")
        if samples is not None and array.shape[0] != samples:
            raise InputError(
                f"{who}: all inputs must have the same number of samples; {label} has "
                f"{array.shape[0]}, input 0 has {samples}"
            )
        samples = array.shape[0]
    if not samples:
        raise InputError(f"{who}: got 0 samples; expected at least one")
    return samples
