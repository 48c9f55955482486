"""`Adam`: adaptive moment estimation, with the optional AMSGrad variant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.optimizers.optimizer import Optimizer, SlotState
from graphc.frontend.variables import Variable
from graphc.primitives.elementwise import maximum, power, sqrt


class Adam(Optimizer):
    """Adam, Keras' update rule, with t = iterations + 1:

    `m += (g - m) * (1 - beta_1)`; `v += (g**2 - v) * (1 - beta_2)`;
    `alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`;
    `w -= alpha * m / (sqrt(v) + epsilon)` (with AMSGrad, `v` is replaced by its running
    maximum `v_hat`).

    Args:
        learning_rate: a float, a schedule or a callable; default 0.001.
        beta_1: decay rate of the first moment.
        beta_2: decay rate of the second moment.
        epsilon: Keras' "epsilon hat", added to sqrt(v).
        amsgrad: use AMSGrad.
        **kwargs: the base optimizer's arguments.

    >>> import numpy as np
    >>> from graphc.frontend.variables import Variable
    >>> w = Variable(np.array([1.0], np.float32), name="w")
    >>> Adam(learning_rate=0.1).apply_gradients([(np.array([0.5], np.float32), w)])
    >>> round(float(w.numpy()[0]), 4)  # the first Adam step moves by about lr
    0.9
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        name: str = "adam",
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list: Sequence[Variable]) -> None:
        super().build(var_list)
        self.add_optimizer_variables(var_list, "momentum")
        self.add_optimizer_variables(var_list, "velocity")
        if self.amsgrad:
            self.add_optimizer_variables(var_list, "velocity_hat")

    def update_step(
        self, gradient: Value, variable: Value, learning_rate: Value, slots: SlotState
    ) -> Value:
        t = slots.step
        alpha = learning_rate * sqrt(1 - power(self.beta_2, t)) / (1 - power(self.beta_1, t))
        m = slots["momentum"] + (gradient - slots["momentum"]) * (1 - self.beta_1)
        v = slots["velocity"] + (gradient * gradient - slots["velocity"]) * (1 - self.beta_2)
        slots["momentum"], slots["velocity"] = m, v
        if self.amsgrad:
            v = maximum(slots["velocity_hat"], v)
            slots["velocity_hat"] = v
        return variable - m * alpha / (sqrt(v) + self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }
