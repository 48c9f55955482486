"""`BatchNormalization`: normalize with batch statistics in training, moving ones otherwise."""

from __future__ import annotations

from typing import Any

from graphc.core import Value
from graphc.frontend import constraints, initializers, regularizers
from graphc.frontend.engine.trace import current_context
from graphc.frontend.layers.input_spec import InputSpec
from graphc.frontend.layers.layer import Layer
from graphc.primitives.cast import cast
from graphc.primitives.elementwise import sqrt
from graphc.primitives.reduce import mean, sum
from graphc.primitives.shape import broadcast_to, reshape


class BatchNormalization(Layer):
    """Layer that normalizes its inputs per feature (Ioffe & Szegedy, 2015).

    `output = gamma * (x - mean) / sqrt(var + epsilon) + beta`, per index of `axis`:

    - in training (`training=True`, inside a training step, and the layer is trainable),
      `mean` and `var` are the statistics of the current batch over every axis but `axis`
      (the biased variance), and the moving statistics are updated as
      `moving = moving * momentum + batch_stat * (1 - momentum)` after the step;
    - otherwise (inference, or a frozen layer, as in Keras 3 fine-tuning) the moving
      statistics are used.

    Args:
        axis: the feature axis (default -1, the channels of channels-last data).
        momentum: momentum of the moving averages; default 0.99.
        epsilon: added to the variance to avoid dividing by zero; default 1e-3.
        center: whether to add the learned offset `beta`.
        scale: whether to multiply by the learned `gamma`.
        beta_initializer: default "zeros".
        gamma_initializer: default "ones".
        moving_mean_initializer: default "zeros".
        moving_variance_initializer: default "ones".
        beta_regularizer: penalty on beta.
        gamma_regularizer: penalty on gamma.
        beta_constraint: projection of beta after updates.
        gamma_constraint: projection of gamma after updates.
        synchronized: accepted for Keras compatibility (graphc trains on one device, so
            the statistics are always those of the whole batch).

    Call arguments:
        inputs: a tensor of any rank >= 1.
        training: whether to normalize with batch statistics (and update the moving ones).
        mask: optional bool tensor broadcastable to the inputs without the feature axis
            (e.g. `(batch, steps)`); batch statistics then use only unmasked entries.

    Input shape: arbitrary. Output shape: same as the input. Weights, in order: gamma, beta
    (trainable), moving_mean, moving_variance (non-trainable), each of shape
    `(input_shape[axis],)`.

    >>> from graphc.frontend.layers import Input
    >>> layer = BatchNormalization()
    >>> layer(Input((8, 8, 16))).shape, layer.count_params(), len(layer.trainable_weights)
    ((None, 8, 8, 16), 64, 2)
    """

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        synchronized: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Expected an int value for argument `axis`. Received: axis={axis!r}")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.synchronized = bool(synchronized)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        if not -rank <= self.axis < rank:
            raise ValueError(
                f"BatchNormalization '{self.name}': axis {self.axis} is out of range for "
                f"inputs of shape {tuple(input_shape)}"
            )
        self._feature_axis = self.axis % rank
        features = input_shape[self._feature_axis]
        if features is None:
            raise ValueError(
                f"BatchNormalization '{self.name}': the feature axis {self.axis} must be "
                f"static, got input shape {tuple(input_shape)}"
            )
        shape = (features,)
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape,
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                name="gamma",
            )
        if self.center:
            self.beta = self.add_weight(
                shape=shape,
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                name="beta",
            )
        self.moving_mean = self.add_weight(
            shape=shape,
            initializer=self.moving_mean_initializer,
            trainable=False,
            name="moving_mean",
        )
        self.moving_variance = self.add_weight(
            shape=shape,
            initializer=self.moving_variance_initializer,
            trainable=False,
            name="moving_variance",
        )
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: features})
        self.built = True

    def call(self, inputs: Value, training: bool | None = None, mask: Value | None = None) -> Value:
        def per_feature(v: Any) -> Value:
            return reshape(cast(v, inputs.dtype), _kept(inputs, self._feature_axis))

        if training and self.trainable:
            mean_, variance = self._moments(inputs, mask)
            self._update_moving_statistics(mean_, variance)
            mean_, variance = per_feature(mean_), per_feature(variance)
        else:
            mean_, variance = per_feature(self.moving_mean), per_feature(self.moving_variance)
        inv = 1.0 / sqrt(variance + self.epsilon)
        if self.gamma is not None:
            inv = inv * per_feature(self.gamma)
        outputs = (inputs - mean_) * inv
        if self.beta is not None:
            outputs = outputs + per_feature(self.beta)
        return outputs

    def _moments(self, inputs: Value, mask: Value | None) -> tuple[Value, Value]:
        """Per-feature mean and biased variance of the batch (of its unmasked entries)."""
        axes = tuple(a for a in range(inputs.ndim) if a != self._feature_axis)
        if mask is None:
            mean_ = mean(inputs, axis=axes)
            deviation = inputs - reshape(mean_, _kept(inputs, self._feature_axis))
            return mean_, mean(deviation * deviation, axis=axes)
        weights = cast(mask, inputs.dtype)
        weights = reshape(weights, (*weights.shape, *(1,) * (inputs.ndim - weights.ndim)))
        weights = broadcast_to(weights, inputs.shape)
        count = sum(weights, axis=axes)
        mean_ = sum(inputs * weights, axis=axes) / count
        deviation = inputs - reshape(mean_, _kept(inputs, self._feature_axis))
        return mean_, sum(deviation * deviation * weights, axis=axes) / count

    def _update_moving_statistics(self, mean_: Value, variance: Value) -> None:
        ctx = current_context()
        if ctx is None:  # a symbolic call outside any trace: nothing runs, nothing to update
            return
        for moving, batch_stat in ((self.moving_mean, mean_), (self.moving_variance, variance)):
            ctx.add_update(moving, moving * self.momentum + batch_stat * (1.0 - self.momentum))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
        }


def _kept(inputs: Value, axis: int) -> tuple:
    """The shape of a per-feature statistic broadcast back against the inputs."""
    return tuple(d if a == axis else 1 for a, d in enumerate(inputs.shape))
