"""Learning-rate schedules, as `keras.optimizers.schedules`: the rate as a function of the step.

The learning rate is a scalar input of the compiled training step, so a schedule is plain
Python: before each step the trainer calls `schedule(iterations)` (the number of steps already
taken) and feeds the result; nothing is recompiled when the rate changes. Formulas, arguments
and defaults are Keras 3's.

>>> schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> [round(schedule(step), 4) for step in (0, 10, 20)]
[0.1, 0.05, 0.025]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from graphc.frontend.utils.serialization import deserialize_keras_object, serialize_keras_object


class LearningRateSchedule:
    """Base class: subclasses define `__call__(step) -> float` and `get_config`.

    >>> class Halving(LearningRateSchedule):
    ...     def __init__(self, initial):
    ...         self.initial = initial
    ...     def __call__(self, step):
    ...         return self.initial / 2 ** step
    ...     def get_config(self):
    ...         return {"initial": self.initial}
    >>> Halving(1.0)(3)
    0.125
    """

    def __call__(self, step: int) -> float:
        raise TypeError(f"Learning rate schedule '{type(self).__name__}' must define __call__")

    def get_config(self) -> dict[str, Any]:
        raise TypeError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in "
            "order to be serializable."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)


def _positive_steps(name: str, value: Any) -> None:
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class _RateDecay(LearningRateSchedule):
    """A rate decayed by `decay_rate` with the progress `step / decay_steps` (floored with
    `staircase`): the arguments, checks and config ExponentialDecay and InverseTimeDecay share."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str | None = None,
    ):
        _positive_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name or type(self).__name__

    def progress(self, step: int) -> float:
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class ExponentialDecay(_RateDecay):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`; with `staircase`, the
    exponent is floored.

    >>> ExponentialDecay(1.0, 10, 0.5, staircase=True)(19)
    0.5
    """

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate * self.decay_rate ** self.progress(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while step <= boundaries[0], `values[i]` while boundaries[i-1] < step <=
    boundaries[i], `values[-1]` after the last boundary.

    >>> schedule = PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
    >>> schedule(100), schedule(101), schedule(500)
    (1.0, 0.5, 0.1)
    """

    def __init__(
        self,
        boundaries: Sequence[float],
        values: Sequence[float],
        name: str = "PiecewiseConstant",
    ):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={list(boundaries)} of length {len(boundaries)}, and "
                f"values={list(values)} of length {len(values)}."
            )
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From `initial_learning_rate` to `end_learning_rate` over `decay_steps` along
    `(1 - step / decay_steps) ** power`; with `cycle`, decay_steps grows to the next multiple.

    >>> PolynomialDecay(1.0, 10, end_learning_rate=0.0)(5)
    0.5
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
        name: str = "PolynomialDecay",
    ):
        _positive_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step: int) -> float:
        decay_steps = float(self.decay_steps)
        if self.cycle:
            decay_steps *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        span = self.initial_learning_rate - self.end_learning_rate
        return span * (1 - p) ** self.power + self.end_learning_rate

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(_RateDecay):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)` (floored with
    `staircase`).

    >>> InverseTimeDecay(1.0, 1, 0.5)(2)
    0.5
    """

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate / (1 + self.decay_rate * self.progress(step))


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the start rate to `alpha` times it over `decay_steps`, after an
    optional linear warmup from `initial_learning_rate` to `warmup_target` over
    `warmup_steps` (then the decay starts from `warmup_target`).

    >>> schedule = CosineDecay(1.0, decay_steps=10, alpha=0.1)
    >>> schedule(0), round(schedule(5), 4), round(schedule(10), 4)
    (1.0, 0.55, 0.1)
    >>> warm = CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=4)
    >>> warm(2), warm(4)
    (0.5, 1.0)
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ):
        _positive_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step: float, start: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: int) -> float:
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return delta * step / self.warmup_steps + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


ALL_OBJECTS: dict[str, Any] = {
    cls.__name__: cls
    for cls in (
        LearningRateSchedule,
        ExponentialDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        InverseTimeDecay,
        CosineDecay,
    )
}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """A schedule as JSON data.

    >>> serialize(ExponentialDecay(0.1, 100, 0.9))["class_name"]
    'ExponentialDecay'
    """
    return serialize_keras_object(schedule)


def deserialize(
    config: dict[str, Any], custom_objects: dict[str, Any] | None = None
) -> LearningRateSchedule:
    """The schedule described by `config` (see `serialize`).

    >>> deserialize(serialize(CosineDecay(0.1, 50))).decay_steps
    50
    """
    return deserialize_keras_object(config, ALL_OBJECTS, custom_objects, "learning rate schedule")
