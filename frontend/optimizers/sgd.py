"""`SGD`: gradient descent, with optional (Nesterov) momentum."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphc.core import Value
from graphc.frontend.optimizers.optimizer import Optimizer, SlotState
from graphc.frontend.variables import Variable


class SGD(Optimizer):
    """Gradient descent with momentum, Keras' update rule.

    Without momentum `w -= lr * g`. With momentum, `velocity = momentum * velocity - lr * g`,
    then `w += velocity`, or with `nesterov=True`, `w += momentum * velocity - lr * g`.

    Args:
        learning_rate: a float, a schedule or a callable; default 0.01.
        momentum: in [0, 1]; 0 is plain gradient descent (no slot is created).
        nesterov: use Nesterov momentum.
        **kwargs: the base optimizer's arguments (weight_decay, clipnorm, clipvalue,
            global_clipnorm, name).

    >>> import numpy as np
    >>> from graphc.frontend.variables import Variable
    >>> w = Variable(np.array([1.0], np.float32), name="w")
    >>> opt = SGD(learning_rate=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.apply_gradients([(np.array([1.0], np.float32), w)])
    >>> round(float(w.numpy()[0]), 4)  # 1 - 0.1 - (0.9 * 0.1 + 0.1)
    0.71
    """

    def __init__(
        self,
        learning_rate: Any = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        name: str = "SGD",
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if (
            isinstance(momentum, bool)
            or not isinstance(momentum, (int, float))
            or not (0 <= momentum <= 1)
        ):
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def build(self, var_list: Sequence[Variable]) -> None:
        super().build(var_list)
        if self.momentum != 0:
            self.add_optimizer_variables(var_list, "momentum")

    def update_step(
        self, gradient: Value, variable: Value, learning_rate: Value, slots: SlotState
    ) -> Value:
        if self.momentum == 0:
            return variable - gradient * learning_rate
        m = slots["momentum"] * self.momentum - gradient * learning_rate
        slots["momentum"] = m
        if self.nesterov:
            return variable + (m * self.momentum - gradient * learning_rate)
        return variable + m

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
