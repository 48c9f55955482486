"""`InputLayer` and `Input`: the entry points of a functional model.

`Input(shape)` returns a graphc placeholder Value of shape `(batch_size, *shape)`, produced by
an InputLayer (its history points there), which is how a functional model finds its inputs.
graphc graphs have exactly one symbolic dimension, the batch, so `shape` itself must be
static: pad variable-length sequences to a fixed length (`utils.pad_sequences`). Inputs are
dense and required: Keras' `sparse`, `ragged` and `optional` are accepted when False (as in
every Keras 3 InputLayer config) and refused when True.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.core import Value, input_p, placeholder
from graphc.errors import ShapeError
from graphc.frontend.engine.node import KerasHistory, Node
from graphc.frontend.layers.layer import Layer
from graphc.types import Dim


class InputLayer(Layer):
    """The layer behind `Input`: it owns the placeholder of a model input.

    Args:
        shape: the per-sample shape (without the batch axis).
        batch_size: a static batch size; None (the default) makes the batch symbolic.
        dtype: the input's dtype (default "float32").
        sparse: must be None or False: graphc has no sparse tensors.
        ragged: must be None or False: graphc has no ragged tensors.
        batch_shape: the full shape including the batch axis, instead of shape/batch_size.
        input_tensor: an existing graphc placeholder to use as the input.
        optional: must be False: every input of a graphc model must be given.
        name: the layer's (and the placeholder's) name.

    Raises:
        ValueError: for `sparse=True`, `ragged=True` or `optional=True`.

    Input shape: none (it is a source). Output shape: `(batch_size, *shape)`.

    >>> layer = InputLayer(shape=(784,), name="pixels")
    >>> layer.output
    <Value 'pixels' input : f32[None,784]>
    """

    def __init__(
        self,
        shape: Sequence[Dim] | None = None,
        batch_size: int | None = None,
        dtype: Any = None,
        sparse: bool | None = None,
        ragged: bool | None = None,
        batch_shape: Sequence[Dim] | None = None,
        input_tensor: Value | None = None,
        optional: bool = False,
        name: str | None = None,
        **kwargs: Any,
    ):
        legacy = kwargs.pop("input_shape", None), kwargs.pop("batch_input_shape", None)
        shape = shape if shape is not None else legacy[0]
        batch_shape = batch_shape if batch_shape is not None else legacy[1]
        super().__init__(name=name, dtype=dtype, **kwargs)
        _refuse_unsupported(self.name, sparse=sparse, ragged=ragged, optional=optional)
        self.batch_shape = _batch_shape(shape, batch_size, batch_shape, input_tensor, self.name)
        if input_tensor is None:
            input_tensor = placeholder(self.batch_shape, self.dtype, name=self.name)
        elif not (isinstance(input_tensor, Value) and input_tensor.primitive is input_p):
            raise TypeError(
                f"InputLayer '{self.name}': input_tensor must be a graphc placeholder, "
                f"got {input_tensor!r}"
            )
        self._placeholder = input_tensor
        self.built = True
        node = Node(self, (), {}, input_tensor)
        input_tensor.origin = KerasHistory(self, node.index, 0)

    @property
    def output(self) -> Value:
        return self._placeholder

    def call(self, *args: Any, **kwargs: Any) -> Value:
        return self._placeholder

    def compute_output_shape(self, input_shape: Any = None) -> tuple[Dim, ...]:
        return self.batch_shape

    def get_config(self) -> dict[str, Any]:
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}


_UNSUPPORTED = {
    "sparse": "graphc has no sparse tensors; give the input as a dense array",
    "ragged": "graphc has no ragged tensors; pad sequences to one length "
    "(utils.pad_sequences) and mask the padding (Embedding(mask_zero=True) or Masking)",
    "optional": "graphc has no optional inputs; every model input must be given",
}


def _refuse_unsupported(name: str, **flags: Any) -> None:
    """Keras' sparse/ragged/optional flags: False (or None) is fine, True is refused."""
    for flag, value in flags.items():
        if value:
            raise ValueError(
                f"Input '{name}': `{flag}=True` is not supported: {_UNSUPPORTED[flag]}. "
                f"Received: {flag}={value!r}"
            )


def _batch_shape(
    shape: Sequence[Dim] | None,
    batch_size: int | None,
    batch_shape: Sequence[Dim] | None,
    tensor: Value | None,
    name: str,
) -> tuple[Dim, ...]:
    if shape is not None and batch_shape is not None:
        raise ValueError(
            f"InputLayer '{name}': give either `shape` or `batch_shape`, not both. "
            f"Received: shape={shape}, batch_shape={batch_shape}"
        )
    if batch_shape is None and shape is None:
        if tensor is None:
            raise ValueError(f"InputLayer '{name}': a `shape` or a `batch_shape` is required")
        return tensor.shape
    if batch_shape is not None:
        full = tuple(batch_shape)
    else:
        if isinstance(shape, int):
            shape = (shape,)
        full = (batch_size, *tuple(shape))
    if any(d is None for d in full[1:]):
        raise ShapeError(
            f"Input '{name}': shape {full[1:]} has None outside the batch axis; graphc graphs "
            f"have one symbolic dimension, the batch, so every other dimension must be a "
            f"static size (pad variable-length sequences, e.g. with utils.pad_sequences)"
        )
    for d in full:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 0):
            raise ShapeError(
                f"Input '{name}': expected a shape of non-negative ints, got {tuple(full[1:])}"
            )
    return full


def Input(  # noqa: N802  (Keras' name)
    shape: Sequence[Dim] | None = None,
    batch_size: int | None = None,
    dtype: Any = None,
    sparse: bool | None = None,
    ragged: bool | None = None,
    batch_shape: Sequence[Dim] | None = None,
    name: str | None = None,
    tensor: Value | None = None,
    optional: bool = False,
) -> Value:
    """A symbolic model input: a placeholder of shape `(batch_size, *shape)`.

    Args:
        shape: the per-sample shape, e.g. `(784,)` or `(28, 28, 1)`.
        batch_size: a static batch size; None (the default) is the symbolic batch.
        dtype: "float32" by default; "int32"/"int64" for token ids.
        sparse: must be None or False: graphc has no sparse tensors.
        ragged: must be None or False: graphc has no ragged tensors.
        batch_shape: the full shape including the batch axis, instead of shape/batch_size.
        name: a name for the input (defaults to "input_layer", "input_layer_1", ...).
        tensor: an existing graphc placeholder to wrap.
        optional: must be False: every input of a graphc model must be given.

    Raises:
        ValueError: for `sparse=True`, `ragged=True` or `optional=True`.

    >>> x = Input(shape=(28, 28), name="image")
    >>> x.shape, x.dtype, x.origin.layer.name
    ((None, 28, 28), dtype('float32'), 'image')
    """
    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        sparse=sparse,
        ragged=ragged,
        batch_shape=batch_shape,
        input_tensor=tensor,
        optional=optional,
        name=name,
    )
    return layer.output
