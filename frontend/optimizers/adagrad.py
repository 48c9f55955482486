"""`Adagrad`: per-parameter rates shrinking with the sum of squared gradients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.optimizers.optimizer import Optimizer, SlotState
from graphc.frontend.variables import Variable
from graphc.primitives.elementwise import sqrt


class Adagrad(Optimizer):
    """Adagrad, Keras' update rule: `accumulator += g**2`, then
    `w -= lr * g / sqrt(accumulator + epsilon)`.

    Args:
        learning_rate: a float, a schedule or a callable; default 0.001.
        initial_accumulator_value: the accumulators' starting value (0.1, as Keras).
        epsilon: added inside the square root.
        **kwargs: the base optimizer's arguments.

    >>> import numpy as np
    >>> from graphc.frontend.variables import Variable
    >>> w = Variable(np.array([1.0], np.float32), name="w")
    >>> Adagrad(learning_rate=0.1).apply_gradients([(np.array([0.3], np.float32), w)])
    >>> round(float(w.numpy()[0]), 4)  # 1 - 0.1 * 0.3 / sqrt(0.1 + 0.09)
    0.9312
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        name: str = "adagrad",
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list: Sequence[Variable]) -> None:
        super().build(var_list)
        self.add_optimizer_variables(
            var_list, "accumulator", initializer=self.initial_accumulator_value
        )

    def update_step(
        self, gradient: Value, variable: Value, learning_rate: Value, slots: SlotState
    ) -> Value:
        accumulator = slots["accumulator"] + gradient * gradient
        slots["accumulator"] = accumulator
        return variable - learning_rate * gradient / sqrt(accumulator + self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }
