"""`LayerNormalization`: normalize each example over its feature axes."""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.frontend import constraints, initializers, regularizers
from graphc.frontend.layers.input_spec import InputSpec
from graphc.frontend.layers.layer import Layer
from graphc.primitives.elementwise import sqrt
from graphc.primitives.reduce import mean
from graphc.primitives.shape import reshape


class LayerNormalization(Layer):
    """Layer normalization (Ba et al., 2016): statistics per example, not per batch.

    `output = gamma * (x - mean) / sqrt(var + epsilon) + beta`, where `mean` and `var`
    (biased) are taken over `axis` for each example separately, so training and inference
    compute the same thing. With `rms_scaling=True` the inputs are only divided by their root
    mean square, `output = gamma * x / sqrt(mean(x ** 2) + epsilon)` (RMSNorm; beta unused).

    Args:
        axis: an int or a list of ints: the axes to normalize over (default -1).
        epsilon: added to the variance; default 1e-3.
        center: whether to add the learned offset `beta`.
        scale: whether to multiply by the learned `gamma`.
        rms_scaling: use RMS normalization instead (see above).
        beta_initializer: default "zeros".
        gamma_initializer: default "ones".
        beta_regularizer: penalty on beta.
        gamma_regularizer: penalty on gamma.
        beta_constraint: projection of beta after updates.
        gamma_constraint: projection of gamma after updates.

    Input shape: arbitrary. Output shape: same as the input. Weights: gamma then beta, of
    shape `[input_shape[a] for a in axis]`.

    >>> from graphc.frontend.layers import Input
    >>> layer = LayerNormalization()
    >>> layer(Input((10, 32))).shape, [w.shape for w in layer.weights]
    ((None, 10, 32), [(32,), (32,)])
    """

    def __init__(
        self,
        axis: int | list[int] = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        rms_scaling: bool = False,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis: int | list[int] = list(axis)
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = axis
        else:
            raise TypeError(
                "Expected an int or a list/tuple of ints for the argument 'axis', but "
                f"received: {axis!r}"
            )
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.rms_scaling = bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -rank <= a < rank or input_shape[a % rank] is None:
                raise ValueError(
                    f"LayerNormalization '{self.name}': axis {a} must be a static axis of the "
                    f"inputs, got input shape {tuple(input_shape)}"
                )
        self._axes = tuple(sorted({a % rank for a in axes}))
        shape = tuple(input_shape[a] for a in self._axes)
        self.gamma = self.beta = None
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(
                shape=shape,
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                name="gamma",
            )
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(
                shape=shape,
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                name="beta",
            )
        self.input_spec = InputSpec(ndim=rank, axes={a: input_shape[a] for a in self._axes})
        self.built = True

    def call(self, inputs: Value) -> Value:
        kept = tuple(d if a in self._axes else 1 for a, d in enumerate(inputs.shape))
        if self.rms_scaling:
            outputs = inputs / sqrt(mean(inputs * inputs, self._axes, keepdims=True) + self.epsilon)
        else:
            centered = inputs - mean(inputs, self._axes, keepdims=True)
            variance = mean(centered * centered, self._axes, keepdims=True)
            outputs = centered / sqrt(variance + self.epsilon)
        if self.gamma is not None:
            outputs = outputs * reshape(self.gamma, kept)
        if self.beta is not None:
            outputs = outputs + reshape(self.beta, kept)
        return outputs

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }
