"""`Merge`: the base of layers that combine a list of tensors (Add, Multiply, Concatenate...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.errors import ShapeError
from graphc.frontend.layers.layer import Layer
from graphc.primitives.elementwise import logical_and
from graphc.types import broadcast_shapes


class Merge(Layer):
    """Combines a list of inputs elementwise with `merge(inputs)`; shapes broadcast (numpy).

    Subclasses define `merge(values) -> Value`. The output mask is the AND of the inputs'
    masks (a step is valid only where every input is valid).
    """

    #: The exact number of inputs the layer takes, or None for "one or more".
    num_inputs: int | None = None

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check_inputs(self, inputs: Any) -> list:
        single_shape = isinstance(inputs, tuple) and all(
            d is None or isinstance(d, int) for d in inputs
        )
        if not isinstance(inputs, (list, tuple)) or not inputs or single_shape:
            raise ValueError(
                f"{self._who()}: a merge layer should be called on a list of inputs. "
                f"Received: inputs={inputs!r}"
            )
        if self.num_inputs is not None and len(inputs) != self.num_inputs:
            raise ValueError(
                f"{self._who()}: a `{type(self).__name__}` layer should be called on exactly "
                f"{self.num_inputs} inputs. Received: {len(inputs)} inputs"
            )
        return list(inputs)

    def build(self, input_shape: Sequence[tuple]) -> None:
        self._check_inputs(input_shape)
        self.compute_output_shape(input_shape)
        self.built = True

    def call(self, inputs: Sequence[Value]) -> Value:
        return self.merge(self._check_inputs(inputs))

    def merge(self, values: list[Value]) -> Value:
        raise TypeError(f"{type(self).__name__} must define merge(values)")

    def compute_output_shape(self, input_shape: Sequence[tuple]) -> tuple:
        shapes = [tuple(s) for s in self._check_inputs(input_shape)]
        try:
            return broadcast_shapes(*shapes, op=type(self).__name__)
        except ShapeError as exc:
            raise ShapeError(
                f"{self._who()}: inputs have incompatible shapes. Received shapes "
                f"{', '.join(map(str, shapes))}"
            ) from exc

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Value | None:
        if previous_mask is None:
            return None
        masks = [m for m in previous_mask if m is not None]
        if not masks:
            return None
        combined = masks[0]
        for mask in masks[1:]:
            combined = logical_and(combined, mask)
        return combined
