"""Tensor types: a static shape (with one symbolic batch dimension) and a dtype.

Every dimension is a static non-negative int except the batch dimension, written `None`. All
`None` dimensions of one graph stand for the same runtime size, the batch size, so a model
compiles once and runs at any batch size. Broadcasting follows numpy, with `None` behaving like
a size that is only known to equal itself: `None` broadcasts with `None` and with 1, and a static
size greater than 1 against `None` is an error, because it would only be valid for one batch size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import prod

import numpy as np

from graphc.dtypes import DTypeLike, as_dtype, short_name
from graphc.errors import ShapeError

Dim = int | None
Shape = tuple[Dim, ...]


def as_shape(shape: Sequence[Dim] | int | None) -> Shape:
    """Validate a user-given shape: a sequence of non-negative ints and `None` (the batch dim).

    >>> as_shape([None, 784]), as_shape(3)
    ((None, 784), (3,))
    """
    if type(shape) is tuple and all(d is None or (type(d) is int and d >= 0) for d in shape):
        return shape  # already canonical: every node's type is made from such a tuple
    if shape is None:
        return ()
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError as exc:
        raise ShapeError(f"expected a shape (a sequence of ints and None), got {shape!r}") from exc
    for dim in dims:
        if dim is None:
            continue
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 0:
            raise ShapeError(
                f"expected a shape of non-negative ints and None (the batch dimension), "
                f"got {shape!r}"
            )
    return tuple(None if d is None else int(d) for d in dims)


def format_shape(shape: Shape) -> str:
    return ",".join("None" if d is None else str(d) for d in shape)


@dataclass(frozen=True)
class TensorType:
    """The static type of a value: `shape` (ints, `None` for the batch dim) and `dtype`.

    >>> t = TensorType((None, 784), "float32")
    >>> str(t), t.ndim, t.is_batched, t.concrete_shape(32)
    ('f32[None,784]', 2, True, (32, 784))
    """

    shape: Shape
    dtype: np.dtype

    def __init__(self, shape: Sequence[Dim], dtype: DTypeLike):
        object.__setattr__(self, "shape", as_shape(shape))
        object.__setattr__(self, "dtype", as_dtype(dtype))

    def __str__(self) -> str:
        return f"{short_name(self.dtype)}[{format_shape(self.shape)}]"

    def __repr__(self) -> str:
        return f"TensorType({self})"

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def is_batched(self) -> bool:
        """True when the shape contains the symbolic batch dimension."""
        return None in self.shape

    @property
    def static_size(self) -> int:
        """The number of elements per batch entry (the product of the static dimensions)."""
        return prod(d for d in self.shape if d is not None)

    def concrete_shape(self, batch: int | None) -> tuple[int, ...]:
        """The runtime shape once the batch dimension is known."""
        if self.is_batched and batch is None:
            raise ShapeError(f"type {self} needs a batch size to become concrete")
        return tuple(batch if d is None else d for d in self.shape)

    def with_dtype(self, dtype: DTypeLike) -> TensorType:
        return TensorType(self.shape, dtype)

    def with_shape(self, shape: Sequence[Dim]) -> TensorType:
        return TensorType(shape, self.dtype)


def broadcast_shapes(*shapes: Shape, op: str | Callable[[], str] = "broadcast") -> Shape:
    """numpy broadcasting of static shapes, with `None` as the batch dimension.

    `op` names the operation in the error message; a function giving the name is called only
    then (shape rules run for every node built, and formatting types is not free).

    >>> broadcast_shapes((None, 1, 3), (4, 1), op="add")
    (None, 4, 3)
    """
    if len(shapes) > 1 and all(s == shapes[0] for s in shapes[1:]):
        return tuple(shapes[0])  # the common case of equal shapes, checked first for speed
    ndim = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (ndim - len(s)) + tuple(s) for s in shapes]
    result: list[Dim] = []
    for axis in range(ndim):
        dims = {p[axis] for p in padded} - {1}
        if len(dims) > 1:
            listed = " and ".join(f"[{format_shape(s)}]" for s in shapes)
            sizes = " vs ".join(
                "None" if d is None else str(d)
                for d in sorted(dims, key=lambda d: -1 if d is None else d)
            )
            raise ShapeError(
                f"{op() if callable(op) else op}: cannot broadcast shapes {listed}: axis "
                f"{axis - ndim} is {sizes}"
                + (
                    " (None is the batch dimension, which only broadcasts with None and 1)"
                    if None in dims
                    else ""
                )
            )
        result.append(dims.pop() if dims else 1)
    return tuple(result)
