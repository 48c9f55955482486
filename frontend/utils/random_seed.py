"""The frontend's random generator: weight initializers and unseeded random ops draw from it.

`set_random_seed(seed)` reseeds it (and Python's and numpy's global generators, as Keras'
`keras.utils.set_random_seed` does), so building the same model twice gives the same weights.
"""

from __future__ import annotations

import random

import numpy as np

_generator = np.random.default_rng()


def global_generator() -> np.random.Generator:
    """The generator that unseeded initializers and random ops draw from."""
    return _generator


def set_random_seed(seed: int) -> None:
    """Make weight initialization and other frontend randomness reproducible.

    Args:
        seed: a non-negative integer.

    >>> set_random_seed(3)
    >>> a = global_generator().random()
    >>> set_random_seed(3)
    >>> a == global_generator().random()
    True
    """
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(
            f"set_random_seed: expected a non-negative integer. Received: seed={seed!r}"
        )
    _generator = np.random.default_rng(int(seed))
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
