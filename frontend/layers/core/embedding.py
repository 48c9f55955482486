"""`Embedding`: turns integer indices into dense vectors of fixed size (a table lookup)."""

from __future__ import annotations

from typing import Any

from graphc import dtypes
from graphc.core import Value
from graphc.frontend import constraints, initializers, regularizers
from graphc.frontend.layers.core.dense import check_positive_int
from graphc.frontend.layers.layer import Layer
from graphc.primitives.cast import cast
from graphc.primitives.compare import not_equal
from graphc.primitives.shape import take


class Embedding(Layer):
    """Maps each index in `[0, input_dim)` to a trainable vector of size `output_dim`.

    Out-of-range indices are clamped to the table (graphc's `take`), never read outside it.

    Args:
        input_dim: the vocabulary size (largest index + 1).
        output_dim: the size of each vector.
        embeddings_initializer: default "uniform" (random uniform in [-0.05, 0.05]).
        embeddings_regularizer: a penalty on the table.
        embeddings_constraint: a projection of the table after updates.
        mask_zero: index 0 is padding: the layer outputs a mask (`inputs != 0`) that
            mask-aware layers downstream (RNNs) use to skip padded steps. Index 0 then
            cannot be a word, so `input_dim` should be vocabulary size + 1.
        input_length: Keras 2's sequence length; sets the input shape `(input_length,)` of
            a Sequential model's first layer.

    Input shape: `(batch, ...)` of integers. Output shape: `(batch, ..., output_dim)`.

    >>> from graphc.frontend import Input
    >>> out = Embedding(10, 4, mask_zero=True)(Input((3,), dtype="int32"))
    >>> out.shape, out.origin.mask.shape, out.origin.mask.dtype
    ((None, 3, 4), (None, 3), dtype('bool'))
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        **kwargs: Any,
    ):
        input_length = kwargs.pop("input_length", None)
        if input_length is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        self.input_dim = check_positive_int("Embedding", "input_dim", input_dim)
        self.output_dim = check_positive_int("Embedding", "output_dim", output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero

    def build(self, input_shape: Any = None) -> None:
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
            name="embeddings",
        )
        self.built = True

    def call(self, inputs: Value) -> Value:
        indices = inputs if inputs.dtype in dtypes.INTEGERS else cast(inputs, "int32")
        return take(self.embeddings, indices, axis=0)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        if not self.mask_zero:
            return None
        return not_equal(inputs, 0)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*tuple(input_shape), self.output_dim)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        }
