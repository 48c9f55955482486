"""Reproducible random numbers inside graphs: a counter-based generator.

`random_uniform(seed, shape)` gives element i the value hash(seed, i) scaled into [0, 1), with
the splitmix64 finalizer as the hash. Being counter-based, it needs no state: the same seed
gives the same tensor in the interpreter and in compiled code, on any thread split, and a
training step draws fresh numbers by feeding a new seed (e.g. the step counter) as an input.
Dropout masks and random augmentation are built on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graphc import dtypes
from graphc.autodiff import nondifferentiable
from graphc.core import Primitive, Value, as_value
from graphc.dtypes import DTypeLike
from graphc.errors import DTypeError, ShapeError
from graphc.primitives.cast import cast
from graphc.types import Dim, TensorType, as_shape

__all__ = ["random_uniform", "random_normal"]

GOLDEN_GAMMA = 0x9E3779B97F4A7C15  # splitmix64's increment: 2**64 / golden ratio
MIX_1 = 0xBF58476D1CE4E5B9
MIX_2 = 0x94D049BB133111EB
MANTISSA_BITS = {dtypes.float32: 24, dtypes.float64: 53}


def splitmix64(seed: np.ndarray, counter: np.ndarray) -> np.ndarray:
    """The splitmix64 output for state seed + (counter + 1) * gamma, as uint64 (wrapping)."""
    z = seed.astype(np.uint64) + (counter.astype(np.uint64) + np.uint64(1)) * np.uint64(
        GOLDEN_GAMMA
    )
    z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX_1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX_2)
    return z ^ (z >> np.uint64(31))


# random_uniform(seed; shape, dtype): element i = top mantissa bits of splitmix64(seed, i) / 2**b,
# uniform on [0, 1). `seed` is an int64 scalar operand, so it can change at every call.
random_uniform_p = Primitive("random_uniform", needs_out_shape=True)


@random_uniform_p.def_shape_rule
def _random_uniform_shape_rule(
    seed: TensorType, *, shape: tuple[Dim, ...], dtype: np.dtype
) -> TensorType:
    if seed.shape != () or seed.dtype != dtypes.int64:
        raise DTypeError(f"random_uniform: the seed must be an i64[] scalar, got {seed}")
    if dtype not in MANTISSA_BITS:
        raise DTypeError(f"random_uniform: dtype must be float32 or float64, got {dtype}")
    return TensorType(shape, dtype)


@random_uniform_p.def_impl
def _random_uniform_impl(
    seed: np.ndarray, *, shape: tuple[Dim, ...], dtype: np.dtype, out_shape: tuple[int, ...]
) -> np.ndarray:
    bits = MANTISSA_BITS[dtype]
    counter = np.arange(int(np.prod(out_shape)), dtype=np.uint64)
    with np.errstate(over="ignore"):
        mixed = splitmix64(np.asarray(seed).astype(np.int64).view(np.uint64), counter)
    top = (mixed >> np.uint64(64 - bits)).astype(np.float64)
    return (top * 2.0**-bits).astype(dtype).reshape(out_shape)


nondifferentiable(random_uniform_p, "random numbers do not depend on the inputs' values")


def random_uniform(
    seed: Value | int,
    shape: Sequence[Dim],
    dtype: DTypeLike = "float32",
    minval: float = 0.0,
    maxval: float = 1.0,
) -> Value:
    """Uniform random numbers on [minval, maxval), reproducible from `seed`.

    `shape` may contain None (the batch dimension). The same seed always gives the same
    numbers, in the interpreter and in compiled code.

    >>> import graphc
    >>> g = graphc.Graph([], graphc.random_uniform(42, (3,), "float64"))
    >>> bool(((g() >= 0) & (g() < 1)).all()), bool((g() == g()).all())
    (True, True)
    """
    seed_value = cast(as_value(seed), "int64")
    if seed_value.shape != ():
        raise ShapeError(f"random_uniform: the seed must be a scalar, got {seed_value.type}")
    target = dtypes.as_dtype(dtype)
    u = random_uniform_p.bind(seed_value, shape=as_shape(shape), dtype=target)
    if (minval, maxval) == (0.0, 1.0):
        return u
    return u * (maxval - minval) + minval


def random_normal(
    seed: Value | int,
    shape: Sequence[Dim],
    dtype: DTypeLike = "float32",
    mean: float = 0.0,
    stddev: float = 1.0,
) -> Value:
    """Normal random numbers (Box-Muller on two uniform streams), reproducible from `seed`.

    >>> import graphc
    >>> sample = graphc.Graph([], graphc.random_normal(7, (20000,), "float64"))()
    >>> abs(float(sample.mean())) < 0.05, abs(float(sample.std()) - 1) < 0.05
    (True, True)
    """
    from graphc.primitives.elementwise import cos, log, sqrt

    seed_value = cast(as_value(seed), "int64")
    u1 = random_uniform(seed_value, shape, dtype)
    u2 = random_uniform(seed_value + 0x5DEECE66D, shape, dtype)
    radius = sqrt(-2.0 * log(1.0 - u1))  # 1 - u1 is in (0, 1]: log never sees 0
    return radius * cos(2 * np.pi * u2) * stddev + mean
