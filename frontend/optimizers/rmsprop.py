"""`RMSprop`: divide the gradient by a running root mean square of recent gradients."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.optimizers.optimizer import Optimizer, SlotState
from graphc.frontend.variables import Variable
from graphc.primitives.elementwise import sqrt


class RMSprop(Optimizer):
    """RMSprop, Keras' update rule (epsilon inside the square root).

    `velocity = rho * velocity + (1 - rho) * g**2`; centered, also `average = rho * average +
    (1 - rho) * g` and the denominator is `sqrt(velocity - average**2 + epsilon)`, else
    `sqrt(velocity + epsilon)`; `increment = lr * g / denominator`; with momentum
    `m = momentum * m + increment` and `w -= m`, else `w -= increment`.

    Args:
        learning_rate: a float, a schedule or a callable; default 0.001.
        rho: the discounting factor of the squared-gradient average.
        momentum: plain (heavy-ball) momentum; 0 disables it.
        epsilon: added inside the square root.
        centered: normalize by the estimated variance of the gradient.
        **kwargs: the base optimizer's arguments.

    >>> import numpy as np
    >>> from graphc.frontend.variables import Variable
    >>> w = Variable(np.array([10.0], np.float32), name="w")
    >>> RMSprop(learning_rate=0.1).apply_gradients([(np.array([10.0], np.float32), w)])
    >>> round(float(w.numpy()[0]), 4)  # Keras' docstring example: 9.683772
    9.6838
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        name: str = "rmsprop",
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list: Sequence[Variable]) -> None:
        super().build(var_list)
        self.add_optimizer_variables(var_list, "velocity")
        if self.momentum > 0:
            self.add_optimizer_variables(var_list, "momentum")
        if self.centered:
            self.add_optimizer_variables(var_list, "average_gradient")

    def update_step(
        self, gradient: Value, variable: Value, learning_rate: Value, slots: SlotState
    ) -> Value:
        rho = self.rho
        velocity = slots["velocity"] * rho + gradient * gradient * (1 - rho)
        slots["velocity"] = velocity
        if self.centered:
            average = slots["average_gradient"] * rho + gradient * (1 - rho)
            slots["average_gradient"] = average
            denominator = velocity - average * average + self.epsilon
        else:
            denominator = velocity + self.epsilon
        increment = learning_rate * gradient / sqrt(denominator)
        if self.momentum > 0:
            m = slots["momentum"] * self.momentum + increment
            slots["momentum"] = m
            return variable - m
        return variable - increment

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }
