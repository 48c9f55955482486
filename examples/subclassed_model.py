"""A subclassed Model: layers created in `__init__`, the forward pass written in `call()`.

`SpiralNet` subclasses `graphc.frontend.Model` the way Keras models are subclassed: the layers
are attributes (also inside a list, which is tracked too), `call(inputs, training)` chains them
with a residual connection and a Python loop, and Dropout is active only when `training` is
True. The model classifies points of three interleaved spirals, a task no linear model solves.
Shows:

- the model built on first use (traced once into a graph) and its summary;
- `compile` / `fit` / `evaluate` on the subclass exactly as on a Sequential model;
- saving it (the class is registered with `@utils.register_keras_serializable` and
  `get_config` returns its constructor arguments) and loading it back, with identical
  predictions.

Run: python examples/subclassed_model.py [OUTPUT_DIR]     (30 epochs, a few seconds)
     GRAPHC_EXAMPLES_QUICK=1 python examples/subclassed_model.py   (small data, 1 epoch)
The model file goes to OUTPUT_DIR, or to a temporary folder that is deleted afterwards.
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

import numpy as np

from graphc.frontend import Model, layers, models, utils


@utils.register_keras_serializable(package="examples")
class SpiralNet(Model):
    """An MLP with `blocks` residual blocks of `width` units and a softmax classifier."""

    def __init__(self, classes: int = 3, width: int = 64, blocks: int = 2, **kwargs: Any):
        super().__init__(**kwargs)
        self.classes, self.width, self.blocks = classes, width, blocks
        self.embed = layers.Dense(width, activation="relu")
        self.hidden = [layers.Dense(width, activation="relu") for _ in range(blocks)]
        self.dropout = layers.Dropout(0.1)
        self.classifier = layers.Dense(classes, activation="softmax")

    def call(self, inputs, training=False):
        x = self.embed(inputs)
        for dense in self.hidden:
            x = x + dense(x)  # a residual connection, written as plain arithmetic
        return self.classifier(self.dropout(x, training=training))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "classes": self.classes,
            "width": self.width,
            "blocks": self.blocks,
        }


def make_spirals(samples: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points on `classes` interleaved spiral arms, with noise along and across the arms.

    >>> points, labels = make_spirals(6, 3, seed=0)
    >>> points.shape, points.dtype, sorted(set(labels.tolist())) <= [0, 1, 2]
    ((6, 2), dtype('float32'), True)
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, samples)
    radius = rng.uniform(0.1, 1.0, samples)
    angle = 7.0 * radius + labels * (2 * np.pi / classes) + rng.normal(0, 0.3, samples)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    points += rng.normal(0, 0.05, points.shape)
    return points.astype(np.float32), labels.astype(np.int32)


def main(quick: bool | None = None, output_dir: str | None = None) -> dict[str, float]:
    """Train, evaluate, save and reload; return the test accuracy and the largest difference
    between the original's and the reloaded model's predictions (0.0: identical)."""
    if quick is None:
        quick = os.environ.get("GRAPHC_EXAMPLES_QUICK", "") not in ("", "0")
    utils.set_random_seed(0)
    x_train, y_train = make_spirals(300 if quick else 3000, 3, seed=1)
    x_test, y_test = make_spirals(300 if quick else 1000, 3, seed=2)

    model = SpiralNet(name="spiral_net")
    print("output of the unbuilt model on 2 points:", model(x_test[:2]).shape)
    model.summary()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=1 if quick else 30, verbose=0)
    losses = history.history["loss"]
    print(f"trained {len(losses)} epochs: loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")

    with tempfile.TemporaryDirectory() as scratch:
        folder = output_dir or scratch
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "spiral_net.graphc")
        model.save(path)
        reloaded = models.load_model(path)
    print(f"reloaded: {type(reloaded).__name__} with config {reloaded.get_config()}")
    expected = model.predict(x_test, verbose=0)
    difference = float(np.max(np.abs(reloaded.predict(x_test, verbose=0) - expected)))
    print(
        f"reloaded model predicts identically: {difference == 0.0} (largest difference "
        f"{difference})"
    )
    return {"loss": loss, "accuracy": accuracy, "reload_difference": difference}


if __name__ == "__main__":
    main(output_dir=sys.argv[1] if len(sys.argv) > 1 else None)
