"""`LSTM`: Long Short-Term Memory (Hochreiter & Schmidhuber, 1997), Keras' gate layout."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc.core import Value
from graphc.frontend import activations, initializers
from graphc.frontend.layers.rnn.builtin_rnn import BuiltinRNN, check_use_cudnn
from graphc.frontend.layers.rnn.rnn_cell import RNNCell, masked, split_gates
from graphc.primitives.linalg import matmul


class LSTMCell(RNNCell):
    """Cell class for the LSTM layer: one step with gates i, f, c, o (Keras' order).

    With `z = x @ kernel + h_prev @ recurrent_kernel + bias` split into four blocks of
    `units` columns `[z_i, z_f, z_c, z_o]`:
    `i = rec_act(z_i)`, `f = rec_act(z_f)`, `c = f * c_prev + i * act(z_c)`,
    `o = rec_act(z_o)`, `h = o * act(c)`; the output is h and the states are [h, c].

    Args:
        units: the dimensionality of the output and states.
        activation: default "tanh".
        recurrent_activation: the gates' activation; default "sigmoid".
        unit_forget_bias: initialize the forget gate's bias to 1 (and the rest with
            `bias_initializer`); default True.
        **kwargs: the other `RNNCell` arguments.

    Weights: kernel `(input_dim, 4 * units)`, recurrent_kernel `(units, 4 * units)`, bias
    `(4 * units,)`.

    >>> import graphc
    >>> cell = LSTMCell(4)
    >>> h0, c0 = graphc.placeholder((None, 4)), graphc.placeholder((None, 4))
    >>> out, (h, c) = cell(graphc.placeholder((None, 3)), [h0, c0])
    >>> out.shape, c.shape, cell.bias.numpy().tolist()[:8]
    ((None, 4), (None, 4), [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    """

    gates = 4

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
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
        kwargs.pop("implementation", None)  # Keras' kernel-fusion switch; one graph here
        super().__init__(
            units,
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
            **kwargs,
        )
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [units, units]

    def bias_init(self) -> Any:
        if not self.unit_forget_bias:
            return self.bias_initializer
        units, init = self.units, self.bias_initializer

        def forget_gate_ones(shape: Any, dtype: Any = None) -> np.ndarray:
            ones = initializers.get("ones")
            return np.concatenate(
                [init((units,), dtype), ones((units,), dtype), init((2 * units,), dtype)]
            )

        return forget_gate_ones

    def step(
        self, projected: Value, states: list[Value], recurrent_mask: Value | None = None
    ) -> tuple[Value, list[Value]]:
        h_prev, c_prev = states
        z = projected + matmul(masked(h_prev, recurrent_mask), self.recurrent_kernel)
        z_i, z_f, z_c, z_o = split_gates(z, self.units, 4)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_prev + i * self.activation(z_c)
        h = self.recurrent_activation(z_o) * self.activation(c)
        return h, [h, c]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


class LSTM(BuiltinRNN):
    """Long Short-Term Memory layer (Hochreiter & Schmidhuber, 1997).

    Runs an `LSTMCell` over the timesteps (see it for the equations and the weight layout:
    gates i, f, c, o; kernel `(input_dim, 4 * units)`, recurrent_kernel `(units, 4 * units)`,
    bias `(4 * units,)`). graphc has no cuDNN: the same equations are compiled for the CPU.

    Args:
        units: the dimensionality of the output.
        activation: default "tanh"; None means linear.
        recurrent_activation: the gates' activation; default "sigmoid".
        use_bias: whether to use a bias.
        kernel_initializer: default "glorot_uniform".
        recurrent_initializer: default "orthogonal".
        bias_initializer: default "zeros".
        unit_forget_bias: add 1 to the forget gate's bias at initialization; default True.
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
        use_cudnn: "auto", True or False, for Keras compatibility; True is refused since
            graphc never uses cuDNN.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)`, `(batch, timesteps, units)` with `return_sequences`;
    `[output, final_memory_state, final_carry_state]` with `return_state`.

    >>> from graphc.frontend.layers import Input
    >>> layer = LSTM(32)
    >>> layer(Input((10, 16))).shape, layer.count_params()
    ((None, 32), 6272)
    """

    cell_class = LSTMCell

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ):
        self.use_cudnn = check_use_cudnn(use_cudnn)
        super().__init__(
            cell_args=dict(
                units=units,
                activation=activation,
                recurrent_activation=recurrent_activation,
                use_bias=use_bias,
                kernel_initializer=kernel_initializer,
                recurrent_initializer=recurrent_initializer,
                bias_initializer=bias_initializer,
                unit_forget_bias=unit_forget_bias,
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

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "use_cudnn": self.use_cudnn}
