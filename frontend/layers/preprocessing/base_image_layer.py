"""`BaseRandomImageLayer`: what RandomFlip, RandomRotation and RandomZoom share.

Like Keras' image preprocessing layers they take channels-last images, batched
(batch, height, width, channels) or single (height, width, channels), output floats of the
layer's dtype, and only transform in training: in inference they are the identity (a cast).
Random numbers come from the training step's seed (`graphc.frontend.engine.trace.next_seed`),
so every step draws new transforms and a seeded training run is reproducible.
"""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.frontend.engine.trace import next_seed
from graphc.frontend.layers.convolutional.conv_utils import standardize_data_format
from graphc.frontend.layers.input_spec import InputSpec
from graphc.frontend.layers.layer import Layer
from graphc.primitives.cast import cast
from graphc.primitives.shape import expand_dims, squeeze


class BaseRandomImageLayer(Layer):
    """Base class: subclasses define `transform(images, seed) -> images` on a float NHWC batch.

    Args:
        seed: an int mixed into the training step's seed, so layers with different seeds
            draw different transforms; None uses the step's seed stream alone.
        data_format: None or "channels_last" ("channels_first" is refused: graphc is NHWC).
        **kwargs: base layer arguments (`name`, `dtype`, ...).
    """

    def __init__(self, seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"{type(self).__name__}: seed must be an int. Received: seed={seed!r}")
        self.seed = seed
        self.data_format = standardize_data_format(data_format, type(self).__name__)
        self.input_spec = InputSpec(min_ndim=3, max_ndim=4)

    def call(self, inputs: Value, training: bool | None = None) -> Value:
        images = cast(inputs, self.compute_dtype)
        if not training:
            return images
        single = images.ndim == 3
        batch = expand_dims(images, 0) if single else images
        seed = next_seed() if self.seed is None else next_seed() + self.seed
        out = self.transform(batch, seed)
        return squeeze(out, 0) if single else out

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed, "data_format": self.data_format}


def check_choice(who: str, name: str, value: Any, allowed: tuple) -> Any:
    """Keras' check of a string option, e.g. `fill_mode`.

    >>> check_choice("RandomZoom", "fill_mode", "wrap", ("reflect", "wrap"))
    'wrap'
    """
    if value not in allowed:
        raise ValueError(f"{who}: unknown `{name}` {value!r}. Expected one of {allowed}.")
    return value


def factor_range(who: str, name: str, factor: Any) -> tuple[float, float]:
    """Keras' `factor` argument: a number f means [-|f|, |f|], a pair (lower, upper) is sorted;
    every bound must lie in [-1, 1].

    >>> factor_range("RandomZoom", "height_factor", 0.2), factor_range("X", "f", (0.3, -0.1))
    ((-0.2, 0.2), (-0.1, 0.3))
    """
    if isinstance(factor, (list, tuple)):
        bounds = tuple(factor)
        if len(bounds) != 2:
            bounds = ()
    elif isinstance(factor, (int, float)) and not isinstance(factor, bool):
        bounds = (-abs(factor), abs(factor))
    else:
        bounds = ()
    if not bounds or not all(
        isinstance(b, (int, float)) and not isinstance(b, bool) and -1.0 <= b <= 1.0 for b in bounds
    ):
        raise ValueError(
            f"{who}: the `{name}` argument should be a number (or a list of two numbers) in "
            f"the range [-1.0, 1.0]. Received: {name}={factor!r}"
        )
    lower, upper = sorted(float(b) for b in bounds)
    return lower, upper
