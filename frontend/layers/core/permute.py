"""`Permute`: permutes the axes of each sample (the batch axis stays first)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.layers.input_spec import InputSpec
from graphc.frontend.layers.layer import Layer
from graphc.primitives.shape import transpose


class Permute(Layer):
    """Permutes the dimensions of the input according to a given pattern.

    Args:
        dims: a permutation of 1..n (1-based; 0 is the batch axis and never moves). `(2, 1)`
            swaps the first two non-batch axes.

    Input shape: `(batch, d1, ..., dn)`. Output shape: the dims reordered by `dims`.

    >>> from graphc.frontend import Input
    >>> Permute((2, 1))(Input((10, 64))).shape
    (None, 64, 10)
    """

    def __init__(self, dims: Sequence[int], **kwargs: Any):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(
                f"Invalid permutation argument `dims` for Permute Layer. The set of indices in "
                f"`dims` must be consecutive and start from 1. Received dims={dims!r}"
            )
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)
        self.supports_masking = True

    def call(self, inputs: Value) -> Value:
        return transpose(inputs, (0, *self.dims))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        input_shape = tuple(input_shape)
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": list(self.dims)}
