"""`InputSpec`: what a built layer accepts, checked before each call with a clear error.

A layer sets `self.input_spec` in `build` (Dense: at least 2-D, last axis = the kernel's
input dimension); `Layer.__call__` checks every call against it, so a mismatch is reported as
`Dense 'dense_2' expected last dimension 128, got 64 (input shape (None, 64))` rather than as
a matmul failure deep inside the call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphc import dtypes
from graphc.dtypes import DTypeLike
from graphc.errors import DTypeError, ShapeError
from graphc.types import Dim


class InputSpec:
    """Constraints on one input of a layer; None means "anything".

    Args:
        dtype: the expected dtype.
        shape: the full expected shape; None entries match any size.
        ndim: the exact rank.
        max_ndim: the largest rank accepted.
        min_ndim: the smallest rank accepted.
        axes: {axis: size} for axes whose size must equal a value (negative axes count
            from the end).

    >>> spec = InputSpec(min_ndim=2, axes={-1: 128})
    >>> spec.check("Dense 'd'", (None, 64), "float32")
    Traceback (most recent call last):
    ...
    graphc.errors.ShapeError: Dense 'd' expected last dimension 128, got 64 (input shape (None, 64))
    """

    def __init__(
        self,
        dtype: DTypeLike | None = None,
        shape: Sequence[Dim] | None = None,
        ndim: int | None = None,
        max_ndim: int | None = None,
        min_ndim: int | None = None,
        axes: Mapping[int, int] | None = None,
    ):
        self.dtype = None if dtype is None else dtypes.as_dtype(dtype)
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = dict(axes or {})

    def __repr__(self) -> str:
        fields = {k: v for k, v in vars(self).items() if v not in (None, {})}
        return "InputSpec(" + ", ".join(f"{k}={v!r}" for k, v in fields.items()) + ")"

    def check(self, who: str, shape: Sequence[Dim], dtype: Any) -> None:
        """Raise ShapeError/DTypeError naming `who` if an input of this shape/dtype is refused."""
        shape = tuple(shape)
        received = f"(input shape {_format(shape)})"
        rank = len(shape)
        if self.ndim is not None and rank != self.ndim:
            raise ShapeError(
                f"{who} expected an input of rank {self.ndim}, got rank {rank} {received}"
            )
        if self.min_ndim is not None and rank < self.min_ndim:
            raise ShapeError(
                f"{who} expected an input of rank >= {self.min_ndim}, got rank {rank} {received}"
            )
        if self.max_ndim is not None and rank > self.max_ndim:
            raise ShapeError(
                f"{who} expected an input of rank <= {self.max_ndim}, got rank {rank} {received}"
            )
        for axis, size in self.axes.items():
            if size is None or not -rank <= axis < rank:
                continue
            if shape[axis] != size:
                where = "last dimension" if axis in (-1, rank - 1) else f"axis {axis} of size"
                raise ShapeError(f"{who} expected {where} {size}, got {shape[axis]} {received}")
        if self.shape is not None:
            for want, got in zip(self.shape, shape):
                if want is not None and got is not None and want != got:
                    raise ShapeError(f"{who} expected shape {_format(self.shape)} {received}")
        if self.dtype is not None and dtypes.as_dtype(dtype) != self.dtype:
            raise DTypeError(
                f"{who} expected dtype {self.dtype.name}, got {dtypes.as_dtype(dtype).name}"
            )


def _format(shape: Sequence[Dim]) -> str:
    """A shape as Keras prints it: `(None, 64)`, `(3,)`."""
    return str(tuple(shape))
