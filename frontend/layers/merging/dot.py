"""`Dot`: the dot product of two batches of vectors or matrices, sample by sample."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.errors import ShapeError
from graphc.frontend.layers.merging.base_merge import Merge
from graphc.primitives.elementwise import maximum, sqrt
from graphc.primitives.linalg import matmul
from graphc.primitives.reduce import sum as reduce_sum
from graphc.primitives.shape import reshape, transpose


def l2_normalize(x: Value, axis: int, epsilon: float = 1e-12) -> Value:
    """x / sqrt(max(sum(x**2, axis), epsilon)), Keras' `l2_normalize`."""
    return x / sqrt(maximum(reduce_sum(x * x, axis=axis, keepdims=True), epsilon))


class Dot(Merge):
    """Computes a dot product between the samples of two tensors.

    For inputs of shape `(batch, n)` with `axes=1`, the output is `(batch, 1)`: each sample's
    inner product. For rank-3 inputs `(batch, n, m)` and `(batch, m, k)` with `axes=(2, 1)`,
    the output is the batched matrix product `(batch, n, k)`.

    Args:
        axes: the axis (or pair of axes, one per input) to contract; not the batch axis.
        normalize: L2-normalize both inputs along `axes` first (the output is then the
            cosine similarity).

    Input shape: two tensors of rank 2 or 3. Output shape: as described above.

    >>> import numpy as np
    >>> Dot(axes=1)([np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]])]).tolist()
    [[11.0]]
    """

    num_inputs = 2

    def __init__(self, axes: int | Sequence[int], normalize: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        pair = (axes, axes) if isinstance(axes, int) else tuple(axes)
        if len(pair) != 2 or not all(isinstance(a, int) for a in pair):
            raise ValueError(
                f"Dot: `axes` must be an int or a pair of ints. Received: axes={axes!r}"
            )
        self.axes = axes if isinstance(axes, int) else list(pair)
        self._pair = pair
        self.normalize = bool(normalize)

    def _resolved_axes(self, shapes: Sequence[tuple]) -> tuple[int, int]:
        for shape in shapes:
            if len(shape) not in (2, 3):
                raise ShapeError(
                    f"{self._who()}: Dot supports inputs of rank 2 or 3, got shapes "
                    f"{[tuple(s) for s in shapes]}"
                )
        axes = tuple(a % len(s) for a, s in zip(self._pair, shapes))
        if 0 in axes:
            raise ShapeError(f"{self._who()}: cannot contract the batch axis (axes={self.axes})")
        a, b = shapes
        if a[axes[0]] != b[axes[1]]:
            raise ShapeError(
                f"{self._who()}: dimension incompatibility: {a[axes[0]]} != {b[axes[1]]}; "
                f"layer shapes: {tuple(a)}, {tuple(b)}"
            )
        return axes

    def compute_output_shape(self, input_shape: Sequence[tuple]) -> tuple:
        a, b = (tuple(s) for s in self._check_inputs(input_shape))
        axes = self._resolved_axes([a, b])
        kept = [d for i, d in enumerate(a) if i not in (0, axes[0])]
        kept += [d for i, d in enumerate(b) if i not in (0, axes[1])]
        return (a[0], *kept) if kept else (a[0], 1)

    def merge(self, values: list[Value]) -> Value:
        x, y = values
        ax, ay = self._resolved_axes([x.shape, y.shape])
        if self.normalize:
            x, y = l2_normalize(x, ax), l2_normalize(y, ay)
        # Batched matmul: x as (batch, rows, k) with k last, y as (batch, k, cols).
        x3 = _as_rank3(x, ax, last=True)
        y3 = _as_rank3(y, ay, last=False)
        out = matmul(x3, y3)
        return reshape(out, self.compute_output_shape([x.shape, y.shape]))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _as_rank3(x: Value, axis: int, last: bool) -> Value:
    """Move the contracted axis last (or to position 1) and add a unit axis for rank 2."""
    if x.ndim == 2:
        return reshape(x, (x.shape[0], 1, x.shape[1]) if last else (x.shape[0], x.shape[1], 1))
    other = 3 - axis
    return transpose(x, (0, other, axis) if last else (0, axis, other))


def dot(inputs: Sequence[Any], axes: int | Sequence[int] = -1, **kwargs: Any) -> Any:
    """Functional interface to `Dot`."""
    return Dot(axes=axes, **kwargs)(inputs)
