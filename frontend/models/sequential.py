"""`Sequential`: a plain stack of layers, each feeding the next."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.engine.caches import structure_changed
from graphc.frontend.engine.functional_graph import FunctionalGraph
from graphc.frontend.engine.node import history_of
from graphc.frontend.engine.trace import no_trace
from graphc.frontend.layers.core.input_layer import InputLayer
from graphc.frontend.layers.layer import Layer
from graphc.frontend.models.model import InputSignature, Model
from graphc.types import Dim


class Sequential(Model):
    """A linear stack of layers.

    The input shape comes from an `Input`/`InputLayer` first layer, from `input_shape=` on
    the first layer (Keras 2 style), or, if neither is given, from the first call on data
    (deferred build). Once the input shape is known the model is built at once, so shape
    errors surface when the offending layer is added.

    Args:
        layers: the layers, in order.
        trainable: False freezes every layer.
        name: the model's name (default "sequential", "sequential_1", ...).

    >>> from graphc.frontend import layers
    >>> model = Sequential([
    ...     layers.Flatten(input_shape=(28, 28)),
    ...     layers.Dense(128, activation="relu"),
    ...     layers.Dropout(0.2),
    ...     layers.Dense(10),
    ... ])
    >>> model.count_params(), model.layers[-1].output.shape
    (101770, (None, 10))
    """

    def __init__(
        self, layers: Sequence[Any] | None = None, trainable: bool = True, name: str | None = None
    ):
        super().__init__(name=name)
        self._sequence: list[Layer] = []
        self._graph: FunctionalGraph | None = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()
        if not trainable:
            self.trainable = False

    @property
    def layers(self) -> list[Layer]:
        """The layers, without the InputLayer (as Keras)."""
        return [layer for layer in self._sequence if not isinstance(layer, InputLayer)]

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Append a layer (or an `Input` tensor, as the first element)."""
        history = history_of(layer) if isinstance(layer, Value) else None
        if history is not None and isinstance(history.layer, InputLayer):
            layer = history.layer
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Only instances of `Layer` can be added to a Sequential model. Received: "
                f"{layer!r} (of type {type(layer).__name__})"
            )
        if isinstance(layer, InputLayer) and self._sequence:
            raise ValueError(
                f"Sequential model '{self.name}': an InputLayer (or Input) can only be the "
                f"first layer"
            )
        before = list(self._sequence)
        if not self._sequence and layer._batch_input_shape is not None:
            self._sequence.append(InputLayer(batch_shape=layer._batch_input_shape))
        self._sequence.append(layer)
        self._invalidate()
        if rebuild:
            try:
                self._maybe_rebuild()
            except Exception:
                self._sequence = before  # a layer that does not fit is not added
                self._invalidate()
                self._maybe_rebuild()
                raise

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer."""
        if not self.layers:
            raise TypeError(f"Sequential model '{self.name}': there are no layers to pop.")
        layer = self._sequence.pop()
        self._invalidate()
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _invalidate(self) -> None:
        self.built = False
        self._graph = None
        self._signature = None
        structure_changed()

    def _maybe_rebuild(self) -> None:
        if self._sequence and isinstance(self._sequence[0], InputLayer) and self.layers:
            self.build()

    def build(self, input_shape: Sequence[Dim] | None = None, dtype: Any = None) -> None:
        """Build for inputs of `input_shape` (batch axis included, e.g. `(None, 784)`)."""
        if not self._sequence or not isinstance(self._sequence[0], InputLayer):
            if input_shape is None:
                raise ValueError(
                    f"Sequential model '{self.name}': you must provide an `input_shape` "
                    f"argument to build it"
                )
            self._sequence.insert(0, InputLayer(batch_shape=tuple(input_shape), dtype=dtype))
        inputs = self._sequence[0].output
        x = inputs
        with no_trace():
            for layer in self.layers:
                x = layer(x)
        if isinstance(x, (list, tuple, dict)):
            raise ValueError(
                f"Sequential model '{self.name}': every layer must return one tensor; the last "
                f"layer returned {type(x).__name__}"
            )
        self._graph = FunctionalGraph([inputs], [x], self._who())
        self._signature = InputSignature(inputs.type, [inputs.name])
        self.built = True

    def _maybe_build(self, inputs: Any) -> None:
        if not isinstance(inputs, Value):
            raise ValueError(
                f"Sequential model '{self.name}' takes one input tensor, got "
                f"{type(inputs).__name__}"
            )
        self.build(inputs.shape, dtype=inputs.dtype)

    def call(self, inputs: Value, training: bool | None = None) -> Value:
        x = inputs
        for layer in self.layers:
            x = layer(x, training=training)
        return x

    @property
    def inputs(self) -> list[Value]:
        return list(self._built_graph().inputs)

    @property
    def outputs(self) -> list[Value]:
        return list(self._built_graph().outputs)

    @property
    def input(self) -> Value:
        return self._built_graph().inputs[0]

    @property
    def output(self) -> Value:
        return self._built_graph().outputs[0]

    def _built_graph(self) -> FunctionalGraph:
        if self._graph is None:
            raise AttributeError(f"Sequential model '{self.name}' has no defined inputs yet.")
        return self._graph

    def get_config(self) -> dict[str, Any]:
        """The layers' configs in order (the InputLayer first, if the input shape is known)."""
        from graphc.frontend.layers.serialization import serialize

        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": [serialize(layer) for layer in self._sequence],
        }

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Sequential:
        """A new Sequential model (new weights) from `get_config()`'s output."""
        from graphc.frontend.layers.serialization import deserialize

        layers = [deserialize(entry, custom_objects) for entry in config.get("layers", [])]
        return cls(layers, trainable=config.get("trainable", True), name=config.get("name"))
