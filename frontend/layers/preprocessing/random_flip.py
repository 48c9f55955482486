"""`RandomFlip`: flip images horizontally and/or vertically during training."""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.frontend.layers.preprocessing.base_image_layer import (
    BaseRandomImageLayer,
    check_choice,
)
from graphc.primitives.compare import where
from graphc.primitives.random import random_uniform
from graphc.primitives.shape import flip

HORIZONTAL = "horizontal"
VERTICAL = "vertical"
HORIZONTAL_AND_VERTICAL = "horizontal_and_vertical"
MODES = (HORIZONTAL, VERTICAL, HORIZONTAL_AND_VERTICAL)


class RandomFlip(BaseRandomImageLayer):
    """A preprocessing layer which randomly flips images during training.

    Each image is flipped with probability 1/2, independently of the other images. As in
    Keras 3, "horizontal_and_vertical" uses one draw per image: a flipped image is reversed
    along both axes. In inference the layer returns its inputs (as floats).

    Args:
        mode: "horizontal" (left-right), "vertical" (top-bottom) or
            "horizontal_and_vertical" (the default).
        seed: an int mixed into the training step's seed.
        data_format: None or "channels_last".

    Input shape: `(batch, height, width, channels)` or `(height, width, channels)`.
    Output shape: the same.

    >>> import numpy as np
    >>> layer = RandomFlip("horizontal")
    >>> images = np.arange(6.0).reshape(1, 1, 6, 1)
    >>> out = layer(images, training=True)[0, 0, :, 0].tolist()
    >>> out in ([0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0]), layer(images)[0, 0, :, 0].tolist()
    (True, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    """

    def __init__(
        self,
        mode: str = HORIZONTAL_AND_VERTICAL,
        seed: int | None = None,
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = check_choice("RandomFlip", "mode", mode, MODES)

    def transform(self, images: Value, seed: Value) -> Value:
        flips = random_uniform(seed, (images.shape[0], 1, 1, 1), images.dtype) <= 0.5
        axes = {HORIZONTAL: (2,), VERTICAL: (1,), HORIZONTAL_AND_VERTICAL: (1, 2)}[self.mode]
        return where(flips, flip(images, axes), images)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}
