"""A small convolutional network on Fashion-MNIST: Conv2D and max pooling, then a classifier.

Conv2D(16, 3, relu) -> MaxPooling2D -> Conv2D(32, 3, relu) -> MaxPooling2D -> Flatten ->
Dropout(0.25) -> Dense(10, softmax), trained with Adam on sparse labels. Shows a convolutional
model's summary (output shapes shrink, channels grow), training with a validation split, the
test accuracy, and the per-class accuracy with Fashion-MNIST's class names.

Data: the real Fashion-MNIST when `graphc.frontend.datasets.fashion_mnist.load_data()` finds it
(in `~/.keras/datasets/fashion-mnist/` or `$GRAPHC_DATA_DIR`, downloading it when online; the
first 12,000 training images are used to stay under a minute); otherwise, when the loader raises
`DatasetNotFoundError`, the synthetic images of `mnist_mlp.py`. The script says which it used.

Run: python examples/fashion_mnist_cnn.py            (3 epochs, well under a minute)
     GRAPHC_EXAMPLES_QUICK=1 python examples/fashion_mnist_cnn.py   (small data, 1 epoch)
"""

from __future__ import annotations

import numpy as np
from mnist_mlp import QUICK_SIZES, load_or_generate, quick_requested

from graphc.frontend import Sequential, datasets, layers, utils

#: (training, test) images used in full mode: a fifth of the real data set.
FULL_SIZES = (12000, 2000)


def build_model() -> Sequential:
    """The CNN; 28x28 grey images in, 10 class probabilities out."""
    return Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.25),
            layers.Dense(10, activation="softmax"),
        ],
        name="fashion_cnn",
    )


def main(quick: bool | None = None) -> dict[str, float]:
    """Train and evaluate; return the test loss and accuracy."""
    quick = quick_requested() if quick is None else quick
    utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load_or_generate(
        datasets.fashion_mnist, "Fashion-MNIST", QUICK_SIZES if quick else FULL_SIZES
    )
    x_train = (x_train / 255.0).astype(np.float32)[..., None]  # add the channel axis
    x_test = (x_test / 255.0).astype(np.float32)[..., None]

    model = build_model()
    model.summary()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(
        x_train, y_train, batch_size=64, epochs=1 if quick else 3, validation_split=0.1, verbose=2
    )
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")

    predicted = model.predict(x_test, verbose=0).argmax(axis=1)
    print("per-class test accuracy:")
    for label, name in enumerate(datasets.fashion_mnist.CLASS_NAMES):
        chosen = y_test == label
        if chosen.any():
            share = float(np.mean(predicted[chosen] == label))
            print(f"  {label} {name:<12} {share:.3f}  ({int(chosen.sum())} images)")
    return {"loss": loss, "accuracy": accuracy}


if __name__ == "__main__":
    main()
