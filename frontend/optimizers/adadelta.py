"""`Adadelta`: Adagrad's successor, with running averages of squared gradients and updates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.optimizers.optimizer import Optimizer, SlotState
from graphc.frontend.variables import Variable
from graphc.primitives.elementwise import sqrt


class Adadelta(Optimizer):
    """Adadelta, Keras' update rule.

    `acc_g = rho * acc_g + (1 - rho) * g**2`;
    `delta = -sqrt(acc_delta + eps) * g / sqrt(acc_g + eps)`;
    `acc_delta = rho * acc_delta + (1 - rho) * delta**2`; `w += lr * delta`.

    Args:
        learning_rate: a float, a schedule or a callable; default 0.001 (Keras' default; the
            original paper's form is 1.0).
        rho: the decay rate.
        epsilon: added inside the square roots.
        **kwargs: the base optimizer's arguments.

    >>> import numpy as np
    >>> from graphc.frontend.variables import Variable
    >>> w = Variable(np.array([1.0], np.float32), name="w")
    >>> Adadelta(learning_rate=1.0).apply_gradients([(np.array([1.0], np.float32), w)])
    >>> round(float(w.numpy()[0]), 6)  # 1 - sqrt(1e-7) / sqrt(0.05 + 1e-7)
    0.998586
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        rho: float = 0.95,
        epsilon: float = 1e-7,
        name: str = "adadelta",
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list: Sequence[Variable]) -> None:
        super().build(var_list)
        self.add_optimizer_variables(var_list, "accumulated_grad")
        self.add_optimizer_variables(var_list, "accumulated_delta_var")

    def update_step(
        self, gradient: Value, variable: Value, learning_rate: Value, slots: SlotState
    ) -> Value:
        rho, eps = self.rho, self.epsilon
        accumulated_grad = slots["accumulated_grad"] * rho + gradient * gradient * (1 - rho)
        slots["accumulated_grad"] = accumulated_grad
        delta = -(sqrt(slots["accumulated_delta_var"] + eps) * gradient) / sqrt(
            accumulated_grad + eps
        )
        slots["accumulated_delta_var"] = slots["accumulated_delta_var"] * rho + delta * delta * (
            1 - rho
        )
        return variable + learning_rate * delta

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
