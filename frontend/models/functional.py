"""`Functional`: the model `Model(inputs, outputs)` builds from a graph of layer calls."""

from __future__ import annotations

from typing import Any

from graphc.core import Value, as_value
from graphc.errors import ShapeError
from graphc.frontend.engine import tree
from graphc.frontend.engine.functional_graph import FunctionalGraph
from graphc.frontend.engine.node import history_of
from graphc.frontend.models import functional_config
from graphc.frontend.models.model import InputSignature, Model
from graphc.primitives.cast import cast
from graphc.types import TensorType


class Functional(Model):
    """A model defined by calling layers on `Input`s: `Model(inputs, outputs, name=None)`.

    Inputs and outputs may be single tensors, lists, or dicts (nested structures too);
    calling the model takes and returns the same structures, except that a one-element list
    of outputs comes back as its single tensor, as in Keras 3 (`unpack_singleton`):
    `Model([x], [y])` returns an array from `predict` and one shape from `output_shape`,
    while `inputs` and `outputs` stay lists. Layers may be shared (one layer called twice
    shares its weights) and the graph may branch and merge (residual connections, several
    heads). Plain graphc ops on symbolic tensors between layers are part of the model too.

    Args:
        inputs: the model's `Input` tensor(s).
        outputs: tensors computed from them.
        name: the model's name (default "functional", "functional_1", ...).
        trainable: False freezes every layer.

    Attributes:
        output_names: the name of the layer giving each output, in `outputs` order (Keras'
            attribute; a graphc op applied directly gives its primitive's name).

    >>> from graphc.frontend import Input, layers
    >>> a, b = Input((4,), name="a"), Input((4,), name="b")
    >>> shared = layers.Dense(3)
    >>> model = Model([a, b], layers.Add()([shared(a), shared(b)]))
    >>> len(model.layers), model.count_params()
    (4, 15)
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None, **kwargs: Any):
        trainable = kwargs.pop("trainable", True)
        super().__init__(name=name, **kwargs)
        self._inputs_struct = _as_structure(inputs)
        self._outputs_struct = _as_structure(outputs)
        flat_inputs = tree.flatten(self._inputs_struct)
        self._graph = FunctionalGraph(flat_inputs, tree.flatten(self._outputs_struct), self._who())
        self._graph_layers = list(self._graph.layers)
        self._signature = InputSignature(
            tree.map_structure(lambda v: TensorType(v.shape, v.dtype), self._inputs_struct),
            [v.name or f"input_{i}" for i, v in enumerate(flat_inputs)],
        )
        self.output_names = [_output_name(v) for v in self._graph.outputs]
        self.built = True
        if not trainable:
            self.trainable = False

    @property
    def layers(self) -> list:
        """The layers in the graph, inputs first, ordered by depth."""
        return list(self._graph_layers)

    @property
    def inputs(self) -> list[Value]:
        return list(self._graph.inputs)

    @property
    def outputs(self) -> list[Value]:
        return list(self._graph.outputs)

    @property
    def input(self) -> Any:
        return self._inputs_struct

    @property
    def input_shape(self) -> Any:
        """The inputs' shapes as a flat list, or one shape for one input (as Keras)."""
        return _unpack_singleton([v.shape for v in self._graph.inputs])

    @property
    def output_shape(self) -> Any:
        """The outputs' shapes as a flat list, or one shape for one output (as Keras).

        >>> from graphc.frontend import Input, layers
        >>> x = Input((4,))
        >>> Model([x], [layers.Dense(2)(x)]).output_shape
        (None, 2)
        """
        return _unpack_singleton([v.shape for v in self._graph.outputs])

    @property
    def output(self) -> Any:
        return self._outputs_struct

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        flat = self._signature.flatten(inputs, self._who())
        flat = [
            self._conform(as_value(value), expected, name)
            for value, expected, name in zip(flat, self._signature.types, self._signature.names)
        ]

        def call_layer(layer: Any, args: tuple, kwargs: dict) -> Any:
            if training is not None:
                kwargs = {**kwargs, "training": training}
            return layer(*args, **kwargs)

        outputs = self._graph.run(flat, call_layer)
        return _unpack_singleton(tree.pack_sequence_as(self._outputs_struct, outputs))

    def _conform(self, value: Value, expected: TensorType, name: str) -> Value:
        """Check a call's input against the model's Input; cast it to the Input's dtype."""
        compatible = value.ndim == expected.ndim and all(
            want is None or want == got for want, got in zip(expected.shape, value.shape)
        )
        if not compatible:
            raise ShapeError(
                f"{self._who()}: input {name!r} expected shape {expected.shape}, got {value.shape}"
            )
        return cast(value, expected.dtype)

    def get_config(self) -> dict[str, Any]:
        """The graph: each layer's config and calls, and which tensors are inputs/outputs."""
        return functional_config.functional_to_config(self)

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Functional:
        """Rebuild the model (new layers, new weights) from `get_config()`'s output."""
        inputs, outputs = functional_config.graph_from_config(config, custom_objects)
        return cls(
            inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True)
        )


def _as_structure(structure: Any) -> Any:
    """Model inputs/outputs: a Value, or lists/tuples/dicts of them (tuples become lists)."""
    if isinstance(structure, tuple):
        return [_as_structure(s) for s in structure]
    if isinstance(structure, list):
        return [_as_structure(s) for s in structure]
    if isinstance(structure, dict):
        return {k: _as_structure(v) for k, v in structure.items()}
    return structure


def _unpack_singleton(structure: Any) -> Any:
    """A one-element list or tuple as its element (Keras' `unpack_singleton`)."""
    if isinstance(structure, (list, tuple)) and len(structure) == 1:
        return structure[0]
    return structure


def _output_name(value: Value) -> str:
    """The name of the layer (or, for a plain graphc op, the primitive) giving an output."""
    history = history_of(value)
    if history is not None:
        return history.layer.name
    primitive = getattr(value, "primitive", None)
    return primitive.name if primitive is not None else value.name or "output"
