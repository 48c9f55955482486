"""Image augmentation layers: RandomFlip, RandomRotation, RandomZoom (identity in inference)."""

from graphc.frontend.layers.preprocessing.random_flip import RandomFlip
from graphc.frontend.layers.preprocessing.random_rotation import RandomRotation
from graphc.frontend.layers.preprocessing.random_zoom import RandomZoom

__all__ = ["RandomFlip", "RandomRotation", "RandomZoom"]
