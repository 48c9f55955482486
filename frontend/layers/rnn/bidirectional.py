"""`Bidirectional`: run an RNN forwards and a copy of it backwards, and merge the outputs."""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.frontend.layers.layer import Layer
from graphc.frontend.utils.serialization import deserialize_keras_object, serialize_keras_object
from graphc.primitives.shape import concatenate, flip

MERGE_MODES = ("sum", "mul", "ave", "concat", None)
_SHARED_ATTRIBUTES = ("stateful", "return_sequences", "return_state")


class Bidirectional(Layer):
    """Bidirectional wrapper for RNNs.

    The wrapped layer is re-created from its config twice: `forward_layer` (named
    "forward_<name>") reads the sequence in order, `backward_layer` ("backward_<name>", with
    `go_backwards` flipped) reads it reversed; with `return_sequences` the backward outputs
    are flipped back in time before merging, so both halves of output t describe timestep t.
    The wrapped layer instance itself is not used (its weights are not shared), as in Keras.

    Args:
        layer: an RNN layer (`LSTM`, `GRU`, `SimpleRNN`, `RNN`), or any layer with
            `go_backwards`, `return_sequences` and `return_state` attributes and a config.
        merge_mode: how the two outputs are combined: "concat" (default), "sum", "mul",
            "ave", or None (return both as a list).
        backward_layer: an explicit layer for the backward direction; it must agree with
            `layer` on `stateful`, `return_sequences` and `return_state` and differ on
            `go_backwards`.

    Call arguments: as the wrapped layer (`mask`, `training`, `initial_state`: the first
    half of the states goes to the forward layer, the second to the backward one).

    Output shape: the wrapped layer's, with the last axis doubled for "concat"; with
    `return_state`, `[output, *forward_states, *backward_states]`.

    >>> from graphc.frontend.layers import Input
    >>> from graphc.frontend.layers.rnn.lstm import LSTM
    >>> layer = Bidirectional(LSTM(10, return_sequences=True))
    >>> layer(Input((5, 8))).shape, layer.count_params()
    ((None, 5, 20), 1520)
    """

    def __init__(
        self,
        layer: Layer,
        merge_mode: str | None = "concat",
        weights: Any = None,
        backward_layer: Layer | None = None,
        **kwargs: Any,
    ):
        if not isinstance(layer, Layer):
            raise ValueError(
                "Please initialize `Bidirectional` layer with a `Layer` instance. "
                f"Received: {layer!r}"
            )
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(
                f"`backward_layer` needs to be a `Layer` instance. Received: {backward_layer!r}"
            )
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                f"Invalid merge mode. Received: {merge_mode!r}. Merge mode should be one of "
                '{"sum", "mul", "ave", "concat", None}'
            )
        super().__init__(**kwargs)
        self.forward_layer = _copy_layer(layer, "forward_", layer.go_backwards)
        if backward_layer is None:
            backward_layer = _copy_layer(layer, "backward_", not layer.go_backwards)
        self.backward_layer = backward_layer
        self._verify_layer_config()
        for direction in (self.forward_layer, self.backward_layer):
            if hasattr(direction, "zero_output_for_mask"):
                # Masked steps must not copy outputs across the time reversal.
                direction.zero_output_for_mask = direction.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = list(weights) if weights else None
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def _verify_layer_config(self) -> None:
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different `go_backwards` value. "
                f"Received: forward_layer.go_backwards={forward.go_backwards}, "
                f"backward_layer.go_backwards={backward.go_backwards}"
            )
        for attribute in _SHARED_ATTRIBUTES:
            if getattr(forward, attribute) != getattr(backward, attribute):
                raise ValueError(
                    "Forward layer and backward layer are expected to have the same value for "
                    f'attribute "{attribute}", got "{getattr(forward, attribute)}" for forward '
                    f'layer and "{getattr(backward, attribute)}" for backward layer'
                )

    def build(self, sequences_shape: tuple, initial_state_shape: Any = None) -> None:
        for direction in (self.forward_layer, self.backward_layer):
            if not direction.built:
                direction.build(sequences_shape)
                direction.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None
        self.built = True

    def call(
        self,
        sequences: Value,
        initial_state: Any = None,
        mask: Any = None,
        training: bool | None = None,
    ) -> Any:
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        kwargs = {"mask": mask, "training": training}
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states: list[Value] = []
        if self.return_state:
            states = [*y[1:], *y_rev[1:]]
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = flip(y_rev, axis=1)
        output = _merge(self.merge_mode, y, y_rev)
        if not self.return_state:
            return output
        return [*output, *states] if self.merge_mode is None else [output, *states]

    def compute_output_shape(self, sequences_shape: tuple, initial_state_shape: Any = None) -> Any:
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        states: list[Any] = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            shape = (*shape[:-1], shape[-1] * 2)
        outputs = [shape, shape] if self.merge_mode is None else [shape]
        if self.return_state:
            return [*outputs, *states, *states]
        return outputs if self.merge_mode is None else shape

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        mask = previous_mask[0] if isinstance(previous_mask, (list, tuple)) else previous_mask
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            count = len(getattr(self.forward_layer, "state_size", []))
            return [*masks, *[None] * (2 * count)]
        return masks if self.merge_mode is None else output_mask

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": serialize_keras_object(self.forward_layer),
            "backward_layer": serialize_keras_object(self.backward_layer),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Bidirectional:
        from graphc.frontend.layers.rnn import known_layer_classes

        config, classes = dict(config), known_layer_classes()
        for key in ("layer", "backward_layer"):
            if config.get(key) is not None:
                config[key] = deserialize_keras_object(config[key], classes, custom_objects, key)
        return cls(**config)


def _copy_layer(layer: Layer, prefix: str, go_backwards: bool) -> Layer:
    """A fresh layer from `layer`'s config, renamed `<prefix><name>` (weights not shared)."""
    config = layer.get_config()
    name = layer.name.removeprefix(prefix)
    config.update(name=prefix + name, go_backwards=go_backwards)
    return type(layer).from_config(config)


def _merge(mode: str | None, y: Value, y_rev: Value) -> Any:
    if mode == "concat":
        return concatenate([y, y_rev], axis=-1)
    if mode == "sum":
        return y + y_rev
    if mode == "ave":
        return (y + y_rev) / 2
    if mode == "mul":
        return y * y_rev
    return [y, y_rev]
