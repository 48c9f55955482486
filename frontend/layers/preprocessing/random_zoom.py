"""`RandomZoom`: zoom images in or out by a random amount during training."""

from __future__ import annotations

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


class RandomZoom(BaseRandomImageLayer):
    """A preprocessing layer which randomly zooms images during training.

    Each image is scaled about its center: output pixel x reads input
    `zx * (x - cx) + cx` (same for y), with `zx = 1 + w` and `zy = 1 + h` for factors
    drawn uniformly from `width_factor`'s and `height_factor`'s ranges. A positive factor
    zooms out (shows more of the image), a negative one zooms in; points from outside the
    image are filled by `fill_mode`. In inference the layer returns its inputs (as floats).

    Args:
        height_factor: a float f (range [-f, f]) or a pair (lower, upper), in [-1, 1].
            E.g. (0.2, 0.3) zooms out by 20% to 30%, (-0.3, -0.2) zooms in.
        width_factor: the same for the width; None (default) keeps the aspect ratio by
            using the height's factor.
        fill_mode: "reflect" (default), "wrap", "constant" or "nearest".
        interpolation: "bilinear" (default) or "nearest".
        seed: an int mixed into the training step's seed.
        fill_value: the value outside the image with `fill_mode="constant"`.
        data_format: None or "channels_last".

    Input shape: `(batch, height, width, channels)` or `(height, width, channels)`.
    Output shape: the same.

    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((2, 6, 6, 3)).astype("float32")
    >>> RandomZoom(0.1)(images, training=True).shape
    (2, 6, 6, 3)
    """

    def __init__(
        self,
        height_factor: Any,
        width_factor: Any = None,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = factor_range("RandomZoom", "height_factor", height_factor)
        self._width_range = None
        if width_factor is not None:
            self._width_range = factor_range("RandomZoom", "width_factor", width_factor)
        self.fill_mode = check_choice("RandomZoom", "fill_mode", fill_mode, FILL_MODES)
        self.interpolation = check_choice(
            "RandomZoom", "interpolation", interpolation, INTERPOLATIONS
        )
        self.fill_value = float(fill_value)

    def transform(self, images: Value, seed: Value) -> Value:
        height, width = images.shape[1], images.shape[2]

        def zoom(u: Value) -> Affine:
            low, high = self._height_range
            zy = 1.0 + low + (high - low) * u[0]
            if self._width_range is None:
                zx = zy
            else:
                low, high = self._width_range
                zx = 1.0 + low + (high - low) * u[1]
            return (zx, 0.0, (width - 1) / 2 * (1 - zx), 0.0, zy, (height - 1) / 2 * (1 - zy))

        return random_affine(
            images, seed, zoom, self.interpolation, self.fill_mode, self.fill_value
        )

    def get_config(self) -> dict[str, Any]:
        def plain(factor: Any) -> Any:
            return list(factor) if isinstance(factor, (list, tuple)) else factor

        return {
            **super().get_config(),
            "height_factor": plain(self.height_factor),
            "width_factor": plain(self.width_factor),
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "interpolation": self.interpolation,
        }
