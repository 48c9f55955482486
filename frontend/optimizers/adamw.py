"""`AdamW`: Adam with decoupled weight decay."""

from __future__ import annotations

from typing import Any

from graphc.frontend.optimizers.adam import Adam


class AdamW(Adam):
    """Adam plus decoupled weight decay: before each Adam update, `w -= w * weight_decay * lr`
    (Loshchilov & Hutter), as Keras 3 applies it.

    Args:
        learning_rate: a float, a schedule or a callable; default 0.001.
        weight_decay: the decay factor (required; default 0.004).
        beta_1, beta_2, epsilon, amsgrad: as `Adam`.
        **kwargs: the base optimizer's arguments.

    >>> import numpy as np
    >>> from graphc.frontend.variables import Variable
    >>> w = Variable(np.array([2.0], np.float32), name="w")
    >>> AdamW(learning_rate=0.1, weight_decay=0.5).apply_gradients(
    ...     [(np.array([0.0], np.float32), w)])
    >>> round(float(w.numpy()[0]), 4)  # 2 - 2 * 0.5 * 0.1; a zero gradient moves nothing else
    1.9
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        name: str = "adamw",
        **kwargs: Any,
    ):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            name=name,
            weight_decay=weight_decay,
            **kwargs,
        )
