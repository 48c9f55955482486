"""`RNNCell`: the weights, dropout and config shared by SimpleRNNCell, LSTMCell and GRUCell.

Every built-in cell reads its input through one kernel of shape (input_dim, gates * units) and
its previous output through a recurrent kernel of shape (units, gates * units), in Keras' layout.
The input part of a step does not depend on the state, so the RNN layer computes it for all
timesteps at once (`project_inputs`, one matmul over the whole sequence) and only the recurrent
part (`step`) is unrolled over time.

Dropout follows Keras: in training, one input mask and one recurrent mask are drawn per
sequence (per call) and reused at every timestep, scaled by 1 / (1 - rate). (Keras' LSTM and
GRU draw one recurrent mask per gate when `recurrent_dropout` > 0; graphc shares one mask
across the gates, the same regularizer up to that correlation.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc.core import Value
from graphc.frontend import activations, constraints, initializers, regularizers
from graphc.frontend.engine.trace import next_seed
from graphc.frontend.layers.layer import Layer
from graphc.primitives.compare import where
from graphc.primitives.linalg import matmul
from graphc.primitives.random import random_uniform


def dropout_mask(rate: float, like: Value, seed: int | None) -> Value:
    """A Keras dropout mask for `like`'s examples and last axis: 0 or 1 / (1 - rate).

    The mask has shape (batch, 1, ..., 1, features), so it broadcasts over every middle axis
    (the timesteps): one mask per sequence, as Keras' RNN cells use.

    >>> import graphc
    >>> x = graphc.placeholder((None, 5, 1000))
    >>> m = graphc.Graph([x], dropout_mask(0.25, x, seed=None))(np.zeros((2, 5, 1000), "f4"))
    >>> m.shape, [round(v, 4) for v in np.unique(m).tolist()], bool(0.2 < (m == 0).mean() < 0.3)
    ((2, 1, 1000), [0.0, 1.3333], True)
    """
    shape = (like.shape[0], *(1,) * (like.ndim - 2), like.shape[-1])
    seed_value = next_seed() if seed is None else next_seed() + seed
    keep = random_uniform(seed_value, shape, like.dtype) >= rate
    return where(keep, np.asarray(1.0 / (1.0 - rate), like.dtype), np.asarray(0.0, like.dtype))


class RNNCell(Layer):
    """Base class of the built-in cells: weights, dropout masks, `call` and config.

    Subclasses set `gates` (how many blocks of `units` columns the kernels have) and define
    `step(projected, states, recurrent_mask) -> (output, new_states)`, the recurrent part of
    one timestep given the projected input `inputs @ kernel + input_bias`.

    Args:
        units: the dimensionality of the output and of each state.
        activation: the activation of the candidate / output; None means linear.
        use_bias: whether the cell has a bias.
        kernel_initializer: for the input kernel; default "glorot_uniform".
        recurrent_initializer: for the recurrent kernel; default "orthogonal".
        bias_initializer: default "zeros".
        kernel_regularizer: penalty on the kernel.
        recurrent_regularizer: penalty on the recurrent kernel.
        bias_regularizer: penalty on the bias.
        kernel_constraint: projection of the kernel after updates.
        recurrent_constraint: projection of the recurrent kernel after updates.
        bias_constraint: projection of the bias after updates.
        dropout: fraction of the input units to drop in training (clipped to [0, 1]).
        recurrent_dropout: fraction of the recurrent units to drop in training.
        seed: mixed into the training step's seed for this cell's dropout masks.
    """

    gates: int = 1

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(
                "Received an invalid value for argument `units`, expected a positive integer, "
                f"got {units!r}."
            )
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self.state_size: int | list[int] = units
        self.output_size = units

    # --- weights -------------------------------------------------------------------------

    def bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def bias_init(self) -> Any:
        """The initializer of the bias (LSTM overrides it for `unit_forget_bias`)."""
        return self.bias_initializer

    def build(self, input_shape: tuple) -> None:
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"{self._who()}: the feature axis of the inputs must be static, got input "
                f"shape {tuple(input_shape)}"
            )
        self.kernel = self.add_weight(
            shape=(input_dim, self.gates * self.units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.gates * self.units),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
            name="recurrent_kernel",
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self.bias_shape(),
                initializer=self.bias_init(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        self.built = True

    def input_bias(self) -> Any:
        """The bias added to the input projection (GRU with reset_after splits its bias)."""
        return self.bias

    # --- computation ---------------------------------------------------------------------

    def project_inputs(self, inputs: Value, training: bool | None = None) -> Value:
        """`inputs @ kernel + input_bias` for a step (batch, features) or a whole sequence
        (batch, timesteps, features), with input dropout in training."""
        if training and 0.0 < self.dropout < 1.0:
            inputs = inputs * dropout_mask(self.dropout, inputs, self.seed)
        projected = matmul(inputs, self.kernel)
        bias = self.input_bias()
        return projected if bias is None else projected + bias

    def recurrent_mask(self, states: list[Value], training: bool | None = None) -> Value | None:
        """The recurrent dropout mask for this call (None when not dropping)."""
        if training and 0.0 < self.recurrent_dropout < 1.0:
            return dropout_mask(self.recurrent_dropout, states[0], self.seed)
        return None

    def call(
        self, inputs: Value, states: Any, training: bool | None = None
    ) -> tuple[Value, list[Value]]:
        """One timestep, as Keras cells: `(output, new_states)` from inputs (batch, features)
        and the list of states."""
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        projected = self.project_inputs(inputs, training)
        return self.step(projected, states, self.recurrent_mask(states, training))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


def masked(state: Value, mask: Value | None) -> Value:
    """`state * mask` when a recurrent dropout mask is active.

    >>> import graphc
    >>> h = graphc.placeholder((None, 4))
    >>> masked(h, None) is h, masked(h, graphc.placeholder((None, 4))).shape
    (True, (None, 4))
    """
    return state if mask is None else state * mask


def split_gates(z: Value, units: int, count: int) -> list[Value]:
    """The `count` blocks of `units` columns of z (batch, count * units), in order.

    >>> import graphc
    >>> [g.shape for g in split_gates(graphc.placeholder((None, 12)), 3, 4)]
    [(None, 3), (None, 3), (None, 3), (None, 3)]
    """
    return [z[:, k * units : (k + 1) * units] for k in range(count)]
