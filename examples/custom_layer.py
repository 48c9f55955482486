"""A custom layer: weights in `build`, graphc ops in `call`, a config, and saving it.

`RBFFeatures` maps each input point to its similarity to `units` learned centres,
exp(-||x - c||^2 / (2 sigma^2)), with one learned width per centre: a radial-basis-function
layer, which Keras does not ship. It is written as Keras custom layers are:

- `build(input_shape)` creates the weights with `add_weight` once the input size is known
  (centres: trainable; widths: trainable, kept positive by a `NonNeg` constraint);
- `call(inputs)` computes with graphc ops on the symbolic inputs (`graphc.sum`, `graphc.exp`,
  broadcasting, `@`), which autodiff differentiates for training;
- `get_config()` returns the constructor arguments, so the layer can be rebuilt;
- `@utils.register_keras_serializable(package="examples")` makes the class known by name.

A model using it, with a custom activation function `soft_clip` (not registered) in a hidden
Dense layer, learns to tell points inside a ring from points outside (a task a linear model
cannot do) and is saved. Loading it finds `RBFFeatures` through the registry, but needs
`custom_objects={"soft_clip": soft_clip}` for the function: without it, loading is refused
with a message naming the missing function; with it, the reloaded model predicts exactly what
the original does.

Run: python examples/custom_layer.py [OUTPUT_DIR]       (20 epochs, a few seconds)
     GRAPHC_EXAMPLES_QUICK=1 python examples/custom_layer.py   (small data, 1 epoch)
The model file goes to OUTPUT_DIR, or to a temporary folder that is deleted afterwards.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

import numpy as np

import graphc
from graphc.errors import SerializationError
from graphc.frontend import Input, Model, layers, models, utils


@utils.register_keras_serializable(package="examples")
class RBFFeatures(layers.Layer):
    """Similarities exp(-||x - c_j||^2 / (2 sigma_j^2)) to `units` learned centres c_j."""

    def __init__(self, units: int, initial_width: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.units = units
        self.initial_width = initial_width

    def build(self, input_shape: tuple) -> None:
        self.centres = self.add_weight(
            shape=(input_shape[-1], self.units),
            initializer="random_uniform",
            name="centres",
        )
        self.widths = self.add_weight(
            shape=(self.units,),
            initializer=graphc.frontend.initializers.Constant(self.initial_width),
            constraint="non_neg",
            name="widths",
        )

    def call(self, inputs):
        # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, without a (batch, features, units) tensor
        squared = (
            graphc.sum(inputs * inputs, axis=-1, keepdims=True)
            - 2.0 * (inputs @ self.centres)
            + graphc.sum(self.centres * self.centres, axis=0)
        )
        return graphc.exp(-squared / (2.0 * self.widths * self.widths + 1e-6))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, "initial_width": self.initial_width}


def soft_clip(x):
    """2 tanh(x / 2): like tanh, with outputs in (-2, 2)."""
    return 2.0 * graphc.tanh(x / 2.0)


def make_ring(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points in [-2, 2]^2, labelled 1 when their distance from the origin is in [0.8, 1.5].

    >>> points, labels = make_ring(1000, seed=0)
    >>> points.shape, 0.2 < float(labels.mean()) < 0.5
    ((1000, 2), True)
    """
    rng = np.random.default_rng(seed)
    points = rng.uniform(-2.0, 2.0, (samples, 2)).astype(np.float32)
    radius = np.hypot(points[:, 0], points[:, 1])
    return points, ((radius > 0.8) & (radius < 1.5)).astype(np.float32)


def build_model() -> Model:
    inputs = Input((2,), name="point")
    features = RBFFeatures(16, initial_width=0.5, name="rbf")(inputs)
    hidden = layers.Dense(8, activation=soft_clip, name="hidden")(features)
    outputs = layers.Dense(1, activation="sigmoid", name="in_ring")(hidden)
    return Model(inputs, outputs, name="ring_classifier")


def main(quick: bool | None = None, output_dir: str | None = None) -> dict[str, float]:
    """Train, save and reload; return the test loss and accuracy and the largest difference
    between the original's and the reloaded model's predictions (0.0: identical)."""
    if quick is None:
        quick = os.environ.get("GRAPHC_EXAMPLES_QUICK", "") not in ("", "0")
    utils.set_random_seed(0)
    x_train, y_train = make_ring(400 if quick else 4000, seed=1)
    x_test, y_test = make_ring(400 if quick else 1000, seed=2)

    model = build_model()
    rbf = model.get_layer("rbf")
    print("RBFFeatures config:", rbf.get_config())
    print("its weights:", [(w.name, w.shape) for w in rbf.weights])
    model.summary()
    model.compile(
        optimizer=graphc.frontend.optimizers.Adam(0.02),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x_train, y_train, batch_size=32, epochs=1 if quick else 20, verbose=0)
    losses = history.history["loss"]
    print(f"trained {len(losses)} epochs: loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")
    widths = rbf.widths.numpy()
    print(f"learned widths: min {widths.min():.3f}, max {widths.max():.3f} (all >= 0)")

    results = {"loss": loss, "accuracy": accuracy}
    expected = model.predict(x_test, verbose=0)
    with tempfile.TemporaryDirectory() as scratch:
        folder = output_dir or scratch
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "ring_classifier.graphc")
        model.save(path)
        print(f"saved {os.path.basename(path)}; the config names the layer", end=" ")
        print(repr(utils.get_registered_name(RBFFeatures)))
        try:
            models.load_model(path)
        except SerializationError as exc:
            reason = str(exc).split(": ", 1)[1].split(". Make sure")[0]
            print(f"load_model without custom_objects: SerializationError: ...{reason}")
        reloaded = models.load_model(path, custom_objects={"soft_clip": soft_clip})
    difference = float(np.max(np.abs(reloaded.predict(x_test, verbose=0) - expected)))
    print(
        f"reloaded with custom_objects: layer 'rbf' is {type(reloaded.get_layer('rbf')).__name__},"
        f" predicts identically: {difference == 0.0} (largest difference {difference})"
    )
    results["reload_difference"] = difference
    return results


if __name__ == "__main__":
    main(output_dir=sys.argv[1] if len(sys.argv) > 1 else None)
