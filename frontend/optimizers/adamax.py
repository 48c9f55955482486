"""`Adamax`: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.optimizers.optimizer import Optimizer, SlotState
from graphc.frontend.variables import Variable
from graphc.primitives.elementwise import abs, maximum, power


class Adamax(Optimizer):
    """Adamax, Keras' update rule, with t = iterations + 1:

    `m += (g - m) * (1 - beta_1)`; `u = max(beta_2 * u, |g|)`;
    `w -= lr * m / ((1 - beta_1**t) * (u + epsilon))`.

    Args:
        learning_rate: a float, a schedule or a callable; default 0.001.
        beta_1: decay rate of the first moment.
        beta_2: decay rate of the infinity norm.
        epsilon: added to u.
        **kwargs: the base optimizer's arguments.

    >>> import numpy as np
    >>> from graphc.frontend.variables import Variable
    >>> w = Variable(np.array([1.0], np.float32), name="w")
    >>> Adamax(learning_rate=0.1).apply_gradients([(np.array([2.0], np.float32), w)])
    >>> round(float(w.numpy()[0]), 4)  # 1 - 0.1 * 0.2 / (0.1 * 2)
    0.9
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        name: str = "adamax",
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list: Sequence[Variable]) -> None:
        super().build(var_list)
        self.add_optimizer_variables(var_list, "momentum")
        self.add_optimizer_variables(var_list, "norm")

    def update_step(
        self, gradient: Value, variable: Value, learning_rate: Value, slots: SlotState
    ) -> Value:
        m = slots["momentum"] + (gradient - slots["momentum"]) * (1 - self.beta_1)
        u = maximum(slots["norm"] * self.beta_2, abs(gradient))
        slots["momentum"], slots["norm"] = m, u
        correction = 1 - power(self.beta_1, slots.step)
        return variable - learning_rate * m / (correction * (u + self.epsilon))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }
