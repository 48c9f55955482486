"""`Dropout`: randomly zeroes inputs while training, scaling the kept ones by 1 / (1 - rate)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.engine.trace import next_seed
from graphc.frontend.layers.layer import Layer
from graphc.primitives.compare import where
from graphc.primitives.random import random_uniform
from graphc.types import Dim


class Dropout(Layer):
    """Applies dropout: in training, each input unit is set to 0 with probability `rate`.

    Kept units are scaled by `1 / (1 - rate)` so the expected sum is unchanged; at inference
    (`training` false or None) the layer is the identity. Random masks come from the trace's
    seed (`TraceContext.next_seed`), so every training step draws a new mask.

    Args:
        rate: the fraction of units to drop, in [0, 1].
        noise_shape: the shape of the binary mask, broadcast against the inputs; None
            entries take the input's size (e.g. `(None, 1, features)` drops whole features
            across time steps).
        seed: an int mixed into the seeds of this layer's masks.

    Input shape: arbitrary. Output shape: same as the input.

    >>> import numpy as np
    >>> layer = Dropout(0.5)
    >>> x = np.ones((1000, 10), "float32")
    >>> bool((layer(x) == x).all()), sorted(set(layer(x, training=True).ravel().tolist()))
    (True, [0.0, 2.0])
    """

    def __init__(
        self,
        rate: float,
        noise_shape: Sequence[Dim] | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(
                f"Dropout: invalid value received for argument `rate`. Expected a float value "
                f"between 0 and 1. Received: rate={rate!r}"
            )
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.supports_masking = True

    def call(self, inputs: Value, training: bool | None = None) -> Value:
        if not training or self.rate == 0.0:
            return inputs
        if self.rate == 1.0:
            return inputs * 0.0
        seed = next_seed()
        if self.seed is not None:
            seed = seed + self.seed
        shape = (
            inputs.shape
            if self.noise_shape is None
            else tuple(
                given if given is not None else actual
                for given, actual in zip(self.noise_shape, inputs.shape)
            )
        )
        keep = random_uniform(seed, shape, inputs.dtype) >= self.rate
        return where(keep, inputs * (1.0 / (1.0 - self.rate)), 0.0)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        noise_shape = None if self.noise_shape is None else list(self.noise_shape)
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": noise_shape,
            "seed": self.seed,
        }
