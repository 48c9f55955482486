"""`SimpleRNN`: the fully-connected RNN, h_t = activation(x_t W + h_{t-1} U + b)."""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.frontend.layers.rnn.builtin_rnn import BuiltinRNN
from graphc.frontend.layers.rnn.rnn_cell import RNNCell, masked
from graphc.primitives.linalg import matmul


class SimpleRNNCell(RNNCell):
    """Cell class for SimpleRNN: one step `h = activation(x @ kernel + bias + h_prev @ U)`.

    The output is the new state. Arguments as `RNNCell` (defaults: activation "tanh",
    kernel "glorot_uniform", recurrent kernel "orthogonal", bias "zeros").

    Weights: kernel `(input_dim, units)`, recurrent_kernel `(units, units)`, bias `(units,)`.

    >>> import graphc
    >>> cell = SimpleRNNCell(4)
    >>> out, states = cell(graphc.placeholder((None, 3)), [graphc.placeholder((None, 4))])
    >>> out.shape, cell.count_params()
    ((None, 4), 32)
    """

    gates = 1

    def step(
        self, projected: Value, states: list[Value], recurrent_mask: Value | None = None
    ) -> tuple[Value, list[Value]]:
        h = self.activation(
            projected + matmul(masked(states[0], recurrent_mask), self.recurrent_kernel)
        )
        return h, [h]


class SimpleRNN(BuiltinRNN):
    """Fully-connected RNN where the output is fed back as the next input.

    `h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`; the output is h.

    Args:
        units: the dimensionality of the output.
        activation: default "tanh"; None means linear.
        use_bias: whether to use a bias.
        kernel_initializer: default "glorot_uniform".
        recurrent_initializer: default "orthogonal".
        bias_initializer: default "zeros".
        kernel_regularizer: penalty on the kernel.
        recurrent_regularizer: penalty on the recurrent kernel.
        bias_regularizer: penalty on the bias.
        activity_regularizer: penalty on the output.
        kernel_constraint: projection of the kernel after updates.
        recurrent_constraint: projection of the recurrent kernel after updates.
        bias_constraint: projection of the bias after updates.
        dropout: fraction of the input units to drop in training.
        recurrent_dropout: fraction of the recurrent units to drop in training.
        seed: mixed into the training step's seed for the dropout masks.
        return_sequences, return_state, go_backwards, stateful, unroll: as `RNN`.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)`, `(batch, timesteps, units)` with `return_sequences`;
    `[output, final_state]` with `return_state`.

    >>> from graphc.frontend.layers import Input
    >>> layer = SimpleRNN(4)
    >>> layer(Input((10, 8))).shape, layer.count_params()
    ((None, 4), 52)
    """

    cell_class = SimpleRNNCell

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
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            cell_args=dict(
                units=units,
                activation=activation,
                use_bias=use_bias,
                kernel_initializer=kernel_initializer,
                recurrent_initializer=recurrent_initializer,
                bias_initializer=bias_initializer,
                kernel_regularizer=kernel_regularizer,
                recurrent_regularizer=recurrent_regularizer,
                bias_regularizer=bias_regularizer,
                kernel_constraint=kernel_constraint,
                recurrent_constraint=recurrent_constraint,
                bias_constraint=bias_constraint,
                dropout=dropout,
                recurrent_dropout=recurrent_dropout,
                seed=seed,
            ),
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
