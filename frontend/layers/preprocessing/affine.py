"""Affine resampling of image batches in graph ops, shared by RandomRotation and RandomZoom.

An affine transform maps every *output* pixel (x, y) (column, row) to the *input* point
(a0*x + a1*y + a2, b0*x + b1*y + b2), as TensorFlow's and Keras' `affine_transform` do. The
input is sampled there with bilinear or nearest interpolation; points outside the image are
filled by `fill_mode`, applied to the integer pixel indices the interpolation reads, as Keras 3's
`map_coordinates` does:

- "reflect": (d c b a | a b c d | d c b a), reflecting about the edge of the last pixel;
- "wrap": (a b c d | a b c d | a b c d);
- "nearest": (a a a a | a b c d | d d d d);
- "constant": (k k k k | a b c d | k k k k) with k = `fill_value`.

A transform's coefficients are scalars (one transform for the whole batch) or (N, 1) values
(one transform per image); per-image transforms gather with `graphc.take_along_axis`, which
reads a different pixel index for every image. `random_affine` draws one random transform per
image, as Keras does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

import graphc
from graphc.core import Value, as_value
from graphc.errors import ShapeError

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")
#: (a0, a1, a2, b0, b1, b2): output (x, y) reads input (a0 x + a1 y + a2, b0 x + b1 y + b2).
Affine = Sequence[Value | float]


def fix_indices(index: Value, size: int, fill_mode: str) -> Value:
    """Integer pixel indices (as floats) outside [0, size) mapped back inside by `fill_mode`.

    "constant" leaves them alone: the caller replaces reads outside the image by the fill value.

    >>> i = graphc.constant(np.array([-2.0, -1.0, 0.0, 3.0, 4.0, 5.0], np.float32))
    >>> graphc.Graph([], fix_indices(i, 4, "reflect"))().tolist()
    [1.0, 0.0, 0.0, 3.0, 3.0, 2.0]
    >>> graphc.Graph([], fix_indices(i, 4, "wrap"))().tolist()
    [2.0, 3.0, 0.0, 3.0, 0.0, 1.0]
    """
    if fill_mode == "constant":
        return index
    if fill_mode == "wrap":
        return graphc.remainder(index, float(size))
    if fill_mode == "reflect":
        folded = graphc.remainder(index, float(2 * size))
        return graphc.where(folded >= size, 2 * size - 1 - folded, folded)
    return graphc.minimum(graphc.maximum(index, 0.0), float(size - 1))


def affine_transform(
    images: Value,
    transform: Affine,
    interpolation: str = "bilinear",
    fill_mode: str = "reflect",
    fill_value: float = 0.0,
) -> Value:
    """Resample a float NHWC batch with an affine transform, shared or one per image.

    Args:
        images: (N, H, W, C) float images; N may be the batch dimension.
        transform: the six coefficients (a0, a1, a2, b0, b1, b2): floats or scalar Values for
            one transform of the whole batch, or (N, 1) Values for one transform per image.
        interpolation: "bilinear" or "nearest".
        fill_mode: "reflect", "wrap", "constant" or "nearest" (see the module docstring).
        fill_value: the value read outside the image when `fill_mode="constant"`.

    Returns:
        The (N, H, W, C) transformed images.

    Raises:
        ShapeError: H, W or C is not static.

    >>> x = graphc.placeholder((None, 2, 3, 1))
    >>> shift_right = (1.0, 0.0, -1.0, 0.0, 1.0, 0.0)  # output x reads input x - 1
    >>> f = graphc.Graph([x], affine_transform(x, shift_right, fill_mode="constant"))
    >>> f(np.arange(6.0).reshape(1, 2, 3, 1))[0, :, :, 0].tolist()
    [[0.0, 0.0, 1.0], [0.0, 3.0, 4.0]]
    """
    _, height, width, channels = _static_image_shape(images)
    ys, xs = np.meshgrid(
        np.arange(height, dtype=images.dtype), np.arange(width, dtype=images.dtype), indexing="ij"
    )
    a0, a1, a2, b0, b1, b2 = (graphc.cast(as_value(c), images.dtype) for c in transform)
    src_x = a0 * xs.ravel() + a1 * ys.ravel() + a2
    src_y = b0 * xs.ravel() + b1 * ys.ravel() + b2
    flat = graphc.reshape(images, (images.shape[0], height * width, channels))
    if interpolation == "nearest":
        taps = [(graphc.round(src_y), graphc.round(src_x), None)]
    else:
        y0, x0 = graphc.floor(src_y), graphc.floor(src_x)
        fy, fx = src_y - y0, src_x - x0
        taps = [
            (y0, x0, (1 - fy) * (1 - fx)),
            (y0, x0 + 1, (1 - fy) * fx),
            (y0 + 1, x0, fy * (1 - fx)),
            (y0 + 1, x0 + 1, fy * fx),
        ]
    terms: list[Value] = []
    filled: Value | float = 0.0  # the total weight of reads outside the image ("constant")
    for row, col, weight in taps:
        index = fix_indices(row, height, fill_mode) * width + fix_indices(col, width, fill_mode)
        gathered = _gather_pixels(flat, graphc.cast(index, "int32"))
        if fill_mode == "constant":
            inside = (row >= 0) & (row <= height - 1) & (col >= 0) & (col <= width - 1)
            weight = 1.0 if weight is None else weight
            filled = filled + graphc.where(inside, 0.0, weight)
            weight = graphc.where(inside, weight, 0.0)
        terms.append(gathered if weight is None else gathered * _per_pixel(weight))
    total = sum(terms[1:], terms[0])
    if fill_mode == "constant" and fill_value != 0.0:
        total = total + _per_pixel(filled) * fill_value
    return graphc.reshape(total, images.shape)


def _static_image_shape(images: Value) -> tuple:
    """The (N, H, W, C) shape, refusing a symbolic H, W or C: pixel grids need static sizes."""
    if None in images.shape[1:]:
        raise ShapeError(
            f"affine_transform: the images' height, width and channels must be static, got "
            f"{images.type} (for a single image, add a leading batch axis)"
        )
    return images.shape


def _gather_pixels(flat: Value, index: Value) -> Value:
    """Pixels of (N, H*W, C) images at (H*W,) shared or (N, H*W) per-image flat indices."""
    if index.ndim == 1:
        return graphc.take(flat, index, axis=1)
    per_channel = graphc.reshape(index, (*index.shape, 1))
    return graphc.take_along_axis(flat, per_channel, axis=1)


def _per_pixel(weight: Value) -> Value:
    """A per-pixel (H*W,) or (N, H*W) weight with a trailing axis, to broadcast over channels."""
    return graphc.reshape(weight, (*weight.shape, 1))


def random_affine(
    images: Value,
    seed: Value,
    sample_transform: Callable[[Value], Affine],
    interpolation: str,
    fill_mode: str,
    fill_value: float,
) -> Value:
    """Give each image of the batch its own random affine transform.

    Args:
        images: (N, H, W, C) float images.
        seed: an int64 scalar Value for this call's random numbers.
        sample_transform: maps `u`, two independent uniform [0, 1) numbers per image (`u[0]`
            and `u[1]`, each (N, 1)), to the six coefficients of each image's transform.
        interpolation: "bilinear" or "nearest".
        fill_mode: as `affine_transform`.
        fill_value: as `affine_transform`.

    Returns:
        The (N, H, W, C) transformed images.

    Raises:
        ShapeError: H, W or C is not static.

    >>> x = graphc.placeholder((None, 4, 4, 1))
    >>> identity = lambda u: (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    >>> y = random_affine(x, graphc.constant(np.int64(7)), identity, "bilinear", "reflect", 0.0)
    >>> images = np.random.default_rng(0).random((3, 4, 4, 1), dtype=np.float32)
    >>> bool((graphc.Graph([x], y)(images) == images).all())
    True
    """
    _static_image_shape(images)
    draws = graphc.random_uniform(seed, (images.shape[0], 2), images.dtype)
    per_image = [draws[:, 0:1], draws[:, 1:2]]  # two independent (N, 1) uniforms per image
    return affine_transform(
        images, sample_transform(per_image), interpolation, fill_mode, fill_value
    )
