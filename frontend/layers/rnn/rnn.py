"""`RNN`: run a cell over the timesteps of a sequence, unrolled into the graph.

graphc graphs have static shapes except the batch, so the number of timesteps is known when
the layer is called and the loop is unrolled: one copy of the cell's step per timestep (Keras'
`unroll=True`). Masked timesteps (from `Embedding(mask_zero=True)` or `Masking`) are skipped as
in Keras 3: the states keep their previous values, and the output at a masked step is the
previous output (`states[0]`), or zeros with `zero_output_for_mask=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphc import dtypes
from graphc.core import Value
from graphc.frontend.engine import tree
from graphc.frontend.layers.input_spec import InputSpec
from graphc.frontend.layers.layer import Layer
from graphc.frontend.layers.rnn.rnn_cell import RNNCell
from graphc.frontend.utils.serialization import deserialize_keras_object, serialize_keras_object
from graphc.primitives.cast import cast
from graphc.primitives.compare import where
from graphc.primitives.shape import broadcast_to, stack

Step = Callable[[Value, list[Value]], tuple[Value, list[Value]]]


class RNN(Layer):
    """Base class of recurrent layers: a cell applied at every timestep.

    Args:
        cell: an RNN cell: a layer with `call(inputs, states) -> (output, new_states)` and a
            `state_size` attribute (an int or a list of ints, one per state), such as
            `SimpleRNNCell`, `LSTMCell` or `GRUCell`.
        return_sequences: return the output at every timestep instead of the last one.
        return_state: also return the final states: `[output, *states]`.
        go_backwards: process the sequence from the last timestep to the first; with
            `return_sequences` the outputs come in processing order (reversed), as Keras.
        stateful: not supported (graphc graphs are pure functions of their inputs); pass the
            previous final states as `initial_state` instead.
        unroll: accepted for Keras compatibility; graphc always unrolls (the number of
            timesteps is static).
        zero_output_for_mask: output zeros (instead of the previous output) at masked steps.

    Call arguments:
        sequences: a (batch, timesteps, features) tensor; timesteps must be static.
        initial_state: a tensor or a list of tensors (batch, state_size), one per state;
            zeros by default.
        mask: a (batch, timesteps) bool tensor: False marks timesteps to skip.
        training: enables the cell's dropout.

    Output shape: `(batch, units)`, or `(batch, timesteps, units)` with `return_sequences`;
    with `return_state`, a list `[output, *states]`, each state `(batch, state_size)`.

    >>> from graphc.frontend.layers import Input
    >>> from graphc.frontend.layers.rnn.lstm import LSTMCell
    >>> RNN(LSTMCell(4), return_sequences=True)(Input((10, 8))).shape
    (None, 10, 4)
    """

    def __init__(
        self,
        cell: Any,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ):
        if not callable(getattr(cell, "call", None)) or getattr(cell, "state_size", None) is None:
            raise ValueError(
                "Argument `cell` should have a `call` method and a `state_size` attribute "
                f"(an int, or a list of ints, one per state). Received: cell={cell!r}"
            )
        if stateful:
            raise ValueError(
                f"{type(self).__name__}: stateful=True is not supported: graphc graphs are pure "
                "functions of their inputs. Return the final states (return_state=True) and "
                "pass them as initial_state=... to the next call instead."
            )
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.input_spec = InputSpec(ndim=3)

    @property
    def state_size(self) -> list[int]:
        size = self.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    @property
    def output_size(self) -> int:
        return getattr(self.cell, "output_size", None) or self.state_size[0]

    def build(self, sequences_shape: tuple, initial_state_shape: Any = None) -> None:
        if len(sequences_shape) != 3 or sequences_shape[1] is None:
            raise ValueError(
                f"{self._who()} expects inputs of shape (batch, timesteps, features) with a "
                f"static number of timesteps, got {tuple(sequences_shape)}"
            )
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build((sequences_shape[0], *sequences_shape[2:]))
            self.cell.built = True
        self.built = True

    def call(
        self,
        sequences: Value,
        initial_state: Any = None,
        mask: Value | None = None,
        training: bool | None = None,
    ) -> Value | list[Value]:
        states = self._initial_states(sequences, initial_state)
        inputs, step = self._stepper(sequences, states, training)
        mask = _as_bool_mask(mask)
        steps = range(sequences.shape[1])
        outputs: list[Value] = []
        for t in reversed(steps) if self.go_backwards else steps:
            output, new_states = step(inputs[:, t], states)
            if mask is not None:
                keep = mask[:, t : t + 1]
                skipped = 0.0 if self.zero_output_for_mask else states[0]
                output = where(keep, output, skipped)
                new_states = [where(keep, new, old) for new, old in zip(new_states, states)]
            states = list(new_states)
            outputs.append(output)
        output = stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return [output, *states] if self.return_state else output

    def _stepper(
        self, sequences: Value, states: list[Value], training: bool | None
    ) -> tuple[Value, Step]:
        """The per-timestep inputs and the step function for this call.

        Built-in cells project the whole sequence through their input kernel at once and draw
        their dropout masks once per call; any other cell is called at every timestep."""
        cell = self.cell
        if isinstance(cell, RNNCell):
            recurrent_mask = cell.recurrent_mask(states, training)

            def builtin_step(x: Value, s: list[Value]) -> tuple[Value, list[Value]]:
                return cell.step(x, s, recurrent_mask)

            return cell.project_inputs(sequences, training), builtin_step

        def step(x: Value, s: list[Value]) -> tuple[Value, list[Value]]:
            output, new_states = cell.call(x, s)
            return output, list(tree.flatten(new_states))

        return sequences, step

    def _initial_states(self, sequences: Value, initial_state: Any) -> list[Value]:
        if initial_state is None:
            zero = cast(0.0, sequences.dtype)
            return [broadcast_to(zero, (sequences.shape[0], size)) for size in self.state_size]
        states = [cast(s, sequences.dtype) for s in tree.flatten(initial_state)]
        if len(states) != len(self.state_size):
            raise ValueError(
                f"{self._who()} expects {len(self.state_size)} initial state(s), got {len(states)}"
            )
        return states

    def compute_output_shape(self, sequences_shape: tuple, initial_state_shape: Any = None) -> Any:
        batch, steps = sequences_shape[0], sequences_shape[1]
        if self.return_sequences:
            output = (batch, steps, self.output_size)
        else:
            output = (batch, self.output_size)
        if self.return_state:
            return [output, *((batch, size) for size in self.state_size)]
        return output

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        mask = tree.flatten(previous_mask)[0] if previous_mask is not None else None
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
            "cell": serialize_keras_object(self.cell),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> RNN:
        from graphc.frontend.layers.rnn import known_layer_classes

        config = dict(config)
        cell = deserialize_keras_object(
            config.pop("cell"), known_layer_classes(), custom_objects, "RNN cell"
        )
        return cls(cell, **config)


def _as_bool_mask(mask: Any) -> Value | None:
    """A (batch, timesteps) mask as bool (Keras accepts 0/1 masks too)."""
    if mask is None:
        return None
    mask = tree.flatten(mask)[0]
    return mask if mask.dtype == dtypes.bool_ else mask != 0
