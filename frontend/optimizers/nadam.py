"""`Nadam`: Adam with Nesterov momentum (Dozat's momentum schedule)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.core import Value, constant
from graphc.frontend.optimizers.optimizer import Optimizer, SlotState
from graphc.frontend.variables import Variable
from graphc.primitives.cast import cast
from graphc.primitives.elementwise import power, sqrt

#: The base of Dozat's momentum schedule, mu_t = beta_1 * (1 - 0.5 * 0.96**t).
_SCHEDULE_DECAY = 0.96


class Nadam(Optimizer):
    """Nadam, Keras' update rule, with t = iterations + 1 and
    `u(t) = beta_1 * (1 - 0.5 * 0.96**t)`:

    once per step `u_product *= u(t)`; per variable `m += (g - m) * (1 - beta_1)`,
    `v += (g**2 - v) * (1 - beta_2)`,
    `m_hat = u(t+1) * m / (1 - u_product * u(t+1)) + (1 - u(t)) * g / (1 - u_product)`,
    `v_hat = v / (1 - beta_2**t)`, `w -= lr * m_hat / (sqrt(v_hat) + epsilon)`.

    Args:
        learning_rate: a float, a schedule or a callable; default 0.001.
        beta_1: decay rate of the first moment.
        beta_2: decay rate of the second moment.
        epsilon: added to sqrt(v_hat).
        **kwargs: the base optimizer's arguments.

    >>> import numpy as np
    >>> from graphc.frontend.variables import Variable
    >>> w = Variable(np.array([1.0], np.float32), name="w")
    >>> opt = Nadam(learning_rate=0.1)
    >>> opt.apply_gradients([(np.array([0.5], np.float32), w)])
    >>> round(float(w.numpy()[0]), 4), round(float(opt.variables[-1]), 4)  # w, u_product
    (0.8937, 0.468)
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        name: str = "nadam",
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list: Sequence[Variable]) -> None:
        super().build(var_list)
        self.add_optimizer_variables(var_list, "momentum")
        self.add_optimizer_variables(var_list, "velocity")
        dtype = var_list[0].dtype if var_list else "float32"
        self.add_shared_variable("u_product", 1.0, dtype)

    def _u(self, t: Value) -> Value:
        return self.beta_1 * (1.0 - 0.5 * power(_SCHEDULE_DECAY, t))

    def shared_updates(self, step: Value) -> dict[str, Value]:
        u_product = self._shared["u_product"].symbol
        return {"u_product": u_product * self._u(cast(step, u_product.dtype))}

    def update_step(
        self, gradient: Value, variable: Value, learning_rate: Value, slots: SlotState
    ) -> Value:
        t = slots.step
        u_t, u_next = self._u(t), self._u(t + 1.0)
        u_product = slots.shared["u_product"]
        # Keras casts the betas to the variable's dtype first, so 1 - beta is rounded there.
        beta_1, beta_2 = (
            constant(self.beta_1, variable.dtype),
            constant(self.beta_2, variable.dtype),
        )
        m = slots["momentum"] + (gradient - slots["momentum"]) * (1 - beta_1)
        v = slots["velocity"] + (gradient * gradient - slots["velocity"]) * (1 - beta_2)
        slots["momentum"], slots["velocity"] = m, v
        m_hat = u_next * m / (1 - u_product * u_next) + (1 - u_t) * gradient / (1 - u_product)
        v_hat = v / (1 - power(self.beta_2, t))
        return variable - m_hat * learning_rate / (sqrt(v_hat) + self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }
