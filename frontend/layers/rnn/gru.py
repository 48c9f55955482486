"""`GRU`: Gated Recurrent Unit (Cho et al., 2014), Keras' gate layout and reset_after."""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.frontend import activations
from graphc.frontend.layers.rnn.builtin_rnn import BuiltinRNN, check_use_cudnn
from graphc.frontend.layers.rnn.rnn_cell import RNNCell, masked, split_gates
from graphc.primitives.linalg import matmul


class GRUCell(RNNCell):
    """Cell class for the GRU layer: one step with gates z (update), r (reset), h (candidate).

    With `x = inputs @ kernel + input_bias` split into `[x_z, x_r, x_h]`:

    - `reset_after=True` (Keras 3's default, cuDNN-compatible): `u = h_prev @ recurrent_kernel
      + recurrent_bias` split into `[u_z, u_r, u_h]`; `z = rec_act(x_z + u_z)`,
      `r = rec_act(x_r + u_r)`, `hh = act(x_h + r * u_h)`. The bias has shape
      `(2, 3 * units)`: row 0 for the inputs, row 1 for the recurrent part.
    - `reset_after=False`: `z`, `r` as above without a recurrent bias, and
      `hh = act(x_h + (r * h_prev) @ recurrent_kernel[:, 2 * units:])`; bias `(3 * units,)`.

    Then `h = z * h_prev + (1 - z) * hh`; the output and the only state are h.

    Args:
        units: the dimensionality of the output and state.
        activation: default "tanh".
        recurrent_activation: the gates' activation; default "sigmoid".
        reset_after: see above; default True.
        **kwargs: the other `RNNCell` arguments.

    >>> import graphc
    >>> cell = GRUCell(4)
    >>> out, (h,) = cell(graphc.placeholder((None, 3)), [graphc.placeholder((None, 4))])
    >>> out.shape, cell.bias.shape
    ((None, 4), (2, 12))
    """

    gates = 3

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
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
        reset_after: bool = True,
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
        self.reset_after = bool(reset_after)

    def bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def input_bias(self) -> Any:
        if self.bias is None or not self.reset_after:
            return self.bias
        return self.bias[0]

    def step(
        self, projected: Value, states: list[Value], recurrent_mask: Value | None = None
    ) -> tuple[Value, list[Value]]:
        (h_prev,) = states
        h_in = masked(h_prev, recurrent_mask)
        units = self.units
        x_z, x_r, x_h = split_gates(projected, units, 3)
        if self.reset_after:
            inner = matmul(h_in, self.recurrent_kernel)
            if self.bias is not None:
                inner = inner + self.bias[1]
            u_z, u_r, u_h = split_gates(inner, units, 3)
        else:
            u_z, u_r = split_gates(matmul(h_in, self.recurrent_kernel[:, : 2 * units]), units, 2)
        z = self.recurrent_activation(x_z + u_z)
        r = self.recurrent_activation(x_r + u_r)
        if self.reset_after:
            candidate = r * u_h
        else:
            candidate = matmul(r * h_in, self.recurrent_kernel[:, 2 * units :])
        h = z * h_prev + (1 - z) * self.activation(x_h + candidate)
        return h, [h]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }


class GRU(BuiltinRNN):
    """Gated Recurrent Unit layer (Cho et al., 2014).

    Runs a `GRUCell` over the timesteps (see it for the equations and the weight layout:
    gates z, r, h; kernel `(input_dim, 3 * units)`, recurrent_kernel `(units, 3 * units)`,
    bias `(2, 3 * units)` with the default `reset_after=True`).

    Args:
        units: the dimensionality of the output.
        activation: default "tanh"; None means linear.
        recurrent_activation: the gates' activation; default "sigmoid".
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
        reset_after: apply the reset gate after the recurrent matmul (default True).
        use_cudnn: "auto", True or False, for Keras compatibility; True is refused since
            graphc never uses cuDNN.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)`, `(batch, timesteps, units)` with `return_sequences`;
    `[output, final_state]` with `return_state`.

    >>> from graphc.frontend.layers import Input
    >>> layer = GRU(32)
    >>> layer(Input((10, 16))).shape, layer.count_params()
    ((None, 32), 4800)
    """

    cell_class = GRUCell

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
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
        seed: int | None = None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        reset_after: bool = True,
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
                kernel_regularizer=kernel_regularizer,
                recurrent_regularizer=recurrent_regularizer,
                bias_regularizer=bias_regularizer,
                kernel_constraint=kernel_constraint,
                recurrent_constraint=recurrent_constraint,
                bias_constraint=bias_constraint,
                dropout=dropout,
                recurrent_dropout=recurrent_dropout,
                reset_after=reset_after,
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
