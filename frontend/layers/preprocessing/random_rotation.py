"""`RandomRotation`: rotate images by a random angle during training."""

from __future__ import annotations

import math
from typing import Any

from graphc.core import Value
from graphc.frontend.layers.preprocessing.affine import (
    FILL_MODES,
    INTERPOLATIONS,
    Affine,
    random_affine,
)
from graphc.frontend.layers.preprocessing.base_image_layer import (
    BaseRandomImageLayer,
    check_choice,
    factor_range,
)
from graphc.primitives.elementwise import cos, sin


class RandomRotation(BaseRandomImageLayer):
    """A preprocessing layer which randomly rotates images during training.

    Each image is rotated about its center by an angle drawn uniformly from
    `[lower * 2 pi, upper * 2 pi]` (positive: counter-clockwise), resampled with
    `interpolation`, and points that come from outside the image are filled by `fill_mode`
    (see `graphc.frontend.layers.preprocessing.affine`). In inference the layer returns its
    inputs (as floats).

    Args:
        factor: a float f (angles in [-f, f] turns) or a pair (lower, upper), as fractions
            of a full turn in [-1, 1]. E.g. 0.1 rotates by up to 36 degrees either way.
        fill_mode: "reflect" (default), "wrap", "constant" or "nearest".
        interpolation: "bilinear" (default) or "nearest".
        seed: an int mixed into the training step's seed.
        fill_value: the value outside the image with `fill_mode="constant"`.
        data_format: None or "channels_last".

    Input shape: `(batch, height, width, channels)` or `(height, width, channels)`.
    Output shape: the same.

    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((2, 5, 5, 1)).astype("float32")
    >>> out = RandomRotation(0.25)(images, training=True)
    >>> out.shape, bool(images.min() <= out.min() and out.max() <= images.max())
    ((2, 5, 5, 1), True)
    """

    def __init__(
        self,
        factor: Any,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor
        self._lower, self._upper = factor_range("RandomRotation", "factor", factor)
        self.fill_mode = check_choice("RandomRotation", "fill_mode", fill_mode, FILL_MODES)
        self.interpolation = check_choice(
            "RandomRotation", "interpolation", interpolation, INTERPOLATIONS
        )
        self.fill_value = float(fill_value)

    def transform(self, images: Value, seed: Value) -> Value:
        height, width = images.shape[1], images.shape[2]

        def rotation(u: Value) -> Affine:
            # TensorFlow's rotation about the image center ((width-1)/2, (height-1)/2).
            angle = (self._lower + (self._upper - self._lower) * u[0]) * (2 * math.pi)
            c, s = cos(angle), sin(angle)
            x_offset = ((width - 1) - (c * (width - 1) - s * (height - 1))) / 2
            y_offset = ((height - 1) - (s * (width - 1) + c * (height - 1))) / 2
            return (c, -s, x_offset, s, c, y_offset)

        return random_affine(
            images, seed, rotation, self.interpolation, self.fill_mode, self.fill_value
        )

    def get_config(self) -> dict[str, Any]:
        factor = list(self.factor) if isinstance(self.factor, (list, tuple)) else self.factor
        return {
            **super().get_config(),
            "factor": factor,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "interpolation": self.interpolation,
        }
