"""Weight initializers with Keras' names, defaults and fan computations, drawn with numpy.

An initializer is called as `init(shape, dtype)` and returns a numpy array. Unseeded
initializers draw from the frontend generator (`graphc.frontend.utils.set_random_seed`
reseeds it); a seeded one owns a generator made from its seed, so a given seed gives the same
sequence of draws, as in Keras 3.

>>> init = get("glorot_uniform")
>>> w = init((784, 64), "float32")
>>> w.shape, w.dtype, bool(abs(w).max() <= (6 / (784 + 64)) ** 0.5)
((784, 64), dtype('float32'), True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphc import dtypes
from graphc.dtypes import DTypeLike
from graphc.frontend.engine.naming import to_snake_case
from graphc.frontend.utils.random_seed import global_generator
from graphc.frontend.utils.serialization import deserialize_keras_object, serialize_keras_object

# The stddev of a standard normal truncated to [-2, 2]; truncated draws are divided by it.
_TRUNCATED_STDDEV = 0.87962566103423978


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
    """Keras' (fan_in, fan_out): a conv kernel's receptive field size times its channels.

    >>> compute_fans((784, 64)), compute_fans((3, 3, 16, 32))
    ((784, 64), (144, 288))
    """
    shape = tuple(shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
    """Base class: subclasses implement `__call__(shape, dtype=None)` and `get_config()`."""

    def __call__(self, shape: Sequence[int], dtype: DTypeLike | None = None) -> np.ndarray:
        raise TypeError(f"{type(self).__name__} must define __call__(shape, dtype=None)")

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _float_dtype(initializer: Initializer, dtype: DTypeLike | None) -> np.dtype:
    target = dtypes.as_dtype(dtype or "float32")
    if not dtypes.is_float(target):
        raise ValueError(
            f"{type(initializer).__name__}: random initializers need a float dtype, "
            f"got {target.name}"
        )
    return target


class _Seeded(Initializer):
    """Shared by the random initializers: the `seed` argument and its generator."""

    def __init__(self, seed: int | None = None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(
                f"{type(self).__name__}: expected an integer seed. Received: seed={seed!r}"
            )
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    @property
    def generator(self) -> np.random.Generator:
        return self._generator if self._generator is not None else global_generator()

    def truncated_normal(self, shape: Sequence[int], stddev: float) -> np.ndarray:
        """Normal draws beyond two standard deviations are drawn again."""
        values = self.generator.standard_normal(shape)
        outside = np.abs(values) > 2.0
        while outside.any():
            values[outside] = self.generator.standard_normal(int(outside.sum()))
            outside = np.abs(values) > 2.0
        return values * stddev


class Constant(Initializer):
    """Every element equals `value`."""

    def __init__(self, value: float = 0.0):
        self.value = value

    def __call__(self, shape: Sequence[int], dtype: DTypeLike | None = None) -> np.ndarray:
        return np.full(tuple(shape), self.value, dtype=dtypes.as_dtype(dtype or "float32"))

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value}


class Zeros(Constant):
    """All zeros."""

    def __init__(self):
        super().__init__(0.0)

    def get_config(self) -> dict[str, Any]:
        return {}


class Ones(Constant):
    """All ones."""

    def __init__(self):
        super().__init__(1.0)

    def get_config(self) -> dict[str, Any]:
        return {}


class RandomUniform(_Seeded):
    """Uniform on [minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape: Sequence[int], dtype: DTypeLike | None = None) -> np.ndarray:
        target = _float_dtype(self, dtype)
        return self.generator.uniform(self.minval, self.maxval, tuple(shape)).astype(target)

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(_Seeded):
    """Normal with the given mean and standard deviation."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape: Sequence[int], dtype: DTypeLike | None = None) -> np.ndarray:
        target = _float_dtype(self, dtype)
        return self.generator.normal(self.mean, self.stddev, tuple(shape)).astype(target)

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal, with draws more than two standard deviations from the mean drawn again."""

    def __call__(self, shape: Sequence[int], dtype: DTypeLike | None = None) -> np.ndarray:
        target = _float_dtype(self, dtype)
        return (self.truncated_normal(tuple(shape), self.stddev) + self.mean).astype(target)


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


class VarianceScaling(_Seeded):
    """Draws scaled so the variance is `scale / n`, n being fan_in, fan_out or their mean.

    `uniform` draws from [-limit, limit] with limit = sqrt(3 * scale / n); the normal
    distributions have stddev sqrt(scale / n) (the truncated one is corrected for truncation).
    """

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
    ):
        super().__init__(seed)
        if scale <= 0.0:
            raise ValueError(f"VarianceScaling: expected a positive scale. Received: scale={scale}")
        if mode not in _MODES:
            raise ValueError(
                f"VarianceScaling: mode must be one of {_MODES}. Received: mode={mode!r}"
            )
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(
                f"VarianceScaling: distribution must be one of {_DISTRIBUTIONS}. "
                f"Received: distribution={distribution!r}"
            )
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape: Sequence[int], dtype: DTypeLike | None = None) -> np.ndarray:
        target = _float_dtype(self, dtype)
        shape = tuple(shape)
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            values = self.truncated_normal(shape, math.sqrt(variance) / _TRUNCATED_STDDEV)
        elif self.distribution == "untruncated_normal":
            values = self.generator.normal(0.0, math.sqrt(variance), shape)
        else:
            limit = math.sqrt(3.0 * variance)
            values = self.generator.uniform(-limit, limit, shape)
        return values.astype(target)

    def get_config(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
        }


def _variance_scaling_preset(name: str, scale: float, mode: str, distribution: str) -> type:
    """A named VarianceScaling whose only argument is the seed (GlorotUniform, HeNormal, ...)."""

    def __init__(self: VarianceScaling, seed: int | None = None) -> None:
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self: VarianceScaling) -> dict[str, Any]:
        return {"seed": self.seed}

    doc = f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})."
    return type(
        name,
        (VarianceScaling,),
        {"__init__": __init__, "get_config": get_config, "__doc__": doc, "__module__": __name__},
    )


GlorotUniform = _variance_scaling_preset("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling_preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _variance_scaling_preset("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _variance_scaling_preset("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _variance_scaling_preset("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _variance_scaling_preset("LecunNormal", 1.0, "fan_in", "truncated_normal")


class Orthogonal(_Seeded):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal draw, times `gain`.

    Shapes of rank > 2 are flattened to (prod(shape[:-1]), shape[-1]) first, as in Keras.
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape: Sequence[int], dtype: DTypeLike | None = None) -> np.ndarray:
        target = _float_dtype(self, dtype)
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: expected a shape of rank >= 2. Received: shape={shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        draw = self.generator.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(draw)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(target)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """`gain` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape: Sequence[int], dtype: DTypeLike | None = None) -> np.ndarray:
        shape = tuple(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity: expected a 2-D shape. Received: shape={shape}")
        return (self.gain * np.eye(*shape)).astype(dtypes.as_dtype(dtype or "float32"))

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


#: Every initializer by its Keras names: snake_case, the class name, and Keras' aliases.
ALL_OBJECTS: dict[str, type] = {}
for _cls in (
    Constant,
    Zeros,
    Ones,
    RandomUniform,
    RandomNormal,
    TruncatedNormal,
    VarianceScaling,
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
    LecunUniform,
    LecunNormal,
    Orthogonal,
    Identity,
):
    ALL_OBJECTS[_cls.__name__] = _cls
    ALL_OBJECTS[to_snake_case(_cls.__name__)] = _cls
ALL_OBJECTS.update({"uniform": RandomUniform, "normal": RandomNormal, "zero": Zeros, "one": Ones})

glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_uniform, he_normal = HeUniform, HeNormal
lecun_uniform, lecun_normal = LecunUniform, LecunNormal
zeros, ones, constant = Zeros, Ones, Constant
random_uniform, random_normal, truncated_normal = RandomUniform, RandomNormal, TruncatedNormal
orthogonal, identity, variance_scaling = Orthogonal, Identity, VarianceScaling


def serialize(initializer: Initializer | Callable | None) -> Any:
    """An initializer as JSON data (a dict with its class name and config).

    >>> serialize(get("zeros"))
    {'class_name': 'Zeros', 'config': {}, 'registered_name': None}
    """
    return serialize_keras_object(initializer)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """The initializer described by `config` (a name or a `serialize` dict)."""
    return deserialize_keras_object(config, ALL_OBJECTS, custom_objects, "initializer")


def get(identifier: Any) -> Any:
    """An initializer from a name, a config dict, an instance or a callable (None stays None).

    >>> get("he_normal")
    HeNormal(seed=None)
    >>> get("glorot")
    Traceback (most recent call last):
    ...
    ValueError: Could not locate initializer 'glorot'. ... Known names: Constant, ...
    """
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")
