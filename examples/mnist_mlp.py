"""The Keras beginner's flow on MNIST: define, compile, fit, evaluate, predict, save, load.

The model of TensorFlow's "beginner quickstart": Flatten -> Dense(128, relu) -> Dropout(0.2)
-> Dense(10) (logits), compiled with Adam, `SparseCategoricalCrossentropy(from_logits=True)` and
accuracy. After training it is saved to a `.graphc` file, loaded back with
`graphc.frontend.models.load_model`, and the reloaded model is checked to predict exactly what
the original does.

Data: the real MNIST when `graphc.frontend.datasets.mnist.load_data()` finds it (in
`~/.keras/datasets/mnist.npz` or `$GRAPHC_DATA_DIR`, downloading it when the machine is online);
otherwise, when the loader raises `DatasetNotFoundError`, synthetic digit-like images (one
stroke pattern per class, shifted and noisy), which the same model learns. The script says
which one it used.

Run: python examples/mnist_mlp.py [OUTPUT_DIR]      (5 epochs, well under a minute)
     GRAPHC_EXAMPLES_QUICK=1 python examples/mnist_mlp.py   (a quick check: small data, 1 epoch)
The model file goes to OUTPUT_DIR, or to a temporary folder that is deleted afterwards.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from types import ModuleType

import numpy as np

from graphc.frontend import Sequential, datasets, layers, losses, models, utils

Split = tuple[np.ndarray, np.ndarray]
#: Images used in quick mode (training, test).
QUICK_SIZES = (2000, 500)
#: Images generated when the real data is absent (training, test); the real MNIST is used whole.
SYNTHETIC_SIZES = (20000, 4000)


def quick_requested() -> bool:
    """True when the environment asks for quick mode (`GRAPHC_EXAMPLES_QUICK=1`).

    >>> os.environ["GRAPHC_EXAMPLES_QUICK"] = "1"; quick_requested()
    True
    >>> del os.environ["GRAPHC_EXAMPLES_QUICK"]; quick_requested()
    False
    """
    return os.environ.get("GRAPHC_EXAMPLES_QUICK", "") not in ("", "0")


def draw_stroke(image: np.ndarray, rng: np.random.Generator, margin: int = 6) -> None:
    """Draw a 3-pixel-thick straight stroke between two random points, in place."""
    size = image.shape[0]
    start, end = rng.uniform(margin, size - margin, 2), rng.uniform(margin, size - margin, 2)
    for t in np.linspace(0.0, 1.0, 40):
        r, c = np.round(start + t * (end - start)).astype(int)
        image[r - 1 : r + 2, c - 1 : c + 2] = 1.0


def synthetic_images(
    samples: int, classes: int = 10, seed: int = 0, size: int = 28
) -> tuple[np.ndarray, np.ndarray]:
    """Digit-like uint8 images: each class is a fixed pattern of strokes, shifted and noisy.

    Stands in for MNIST when the real files are absent: the images have MNIST's shape, dtype
    and value range, and the class is learnable from the pixels but not trivially: every image
    is moved by up to 3 pixels, gets a random extra stroke and is covered in noise.

    >>> images, labels = synthetic_images(100, seed=0)
    >>> images.shape, images.dtype, labels.dtype, int(labels.max()) <= 9
    ((100, 28, 28), dtype('uint8'), dtype('uint8'), True)
    """
    rng = np.random.default_rng(1234)  # the class patterns are the same in every split
    templates = np.zeros((classes, size, size), np.float32)
    for template in templates:
        for _ in range(3):
            draw_stroke(template, rng)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, samples)
    shifts = rng.integers(-3, 4, (samples, 2))
    images = np.empty((samples, size, size), np.float32)
    for i, (label, (dr, dc)) in enumerate(zip(labels, shifts)):
        images[i] = np.roll(templates[label], (dr, dc), axis=(0, 1))
        draw_stroke(images[i], rng, margin=2)
    images = 0.8 * images + 0.3 * rng.standard_normal(images.shape, dtype=np.float32)
    pixels = np.clip(images * 255.0, 0, 255).astype(np.uint8)
    return pixels, labels.astype(np.uint8)


def load_or_generate(
    dataset: ModuleType,
    title: str,
    limit: tuple[int, int] | None = None,
    describe: Callable[[str], None] = print,
) -> tuple[Split, Split]:
    """`dataset.load_data()` when its files are available, else synthetic look-alikes.

    Only `DatasetNotFoundError` (the file is missing and cannot be downloaded) falls back to
    synthetic data; a damaged file still raises.

    Args:
        dataset: `graphc.frontend.datasets.mnist` or `.fashion_mnist`.
        title: the data set's name, for the message.
        limit: at most this many (training, test) images; None keeps the whole real data set,
            or generates `SYNTHETIC_SIZES` images.
        describe: told which data is used and how much of it.
    """
    try:
        (x_train, y_train), (x_test, y_test) = dataset.load_data()
        source = f"the real {title} data from {datasets.data_dir()}"
    except datasets.DatasetNotFoundError as exc:
        missing = str(exc).split(" does not exist")[0].split(": ", 1)[-1]
        sizes = limit or SYNTHETIC_SIZES
        x_train, y_train = synthetic_images(sizes[0], seed=1)
        x_test, y_test = synthetic_images(sizes[1], seed=2)
        source = (
            f"synthetic {title}-like images, because {missing} does not exist and cannot be "
            "downloaded (see docs/datasets.md to install the real files)"
        )
    if limit is not None:
        x_train, y_train = x_train[: limit[0]], y_train[: limit[0]]
        x_test, y_test = x_test[: limit[1]], y_test[: limit[1]]
    describe(f"Data: {source}: {len(x_train)} training and {len(x_test)} test images")
    return (x_train, y_train), (x_test, y_test)


def main(quick: bool | None = None, output_dir: str | None = None) -> dict[str, float]:
    """Run the whole flow; return the test loss and accuracy and the largest difference between
    the original's and the reloaded model's predictions (0.0: identical)."""
    quick = quick_requested() if quick is None else quick
    utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load_or_generate(
        datasets.mnist, "MNIST", QUICK_SIZES if quick else None
    )
    x_train, x_test = x_train / 255.0, x_test / 255.0

    model = Sequential(
        [
            layers.Input((28, 28)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(10),
        ],
        name="mnist_mlp",
    )
    model.summary()
    model.compile(
        optimizer="adam",
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=1 if quick else 5, verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=2)
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")

    logits = model.predict(x_test[:5], verbose=0)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    print("predicted classes of the first 5 test images:", logits.argmax(axis=1).tolist())
    print("true classes:                                ", y_test[:5].tolist())
    print("their probabilities:", ", ".join(f"{p:.3f}" for p in probabilities.max(axis=1)))

    with tempfile.TemporaryDirectory() as scratch:
        folder = output_dir or scratch
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "mnist_mlp.graphc")
        model.save(path)
        print(f"saved {os.path.basename(path)} ({os.path.getsize(path):,} bytes)")
        reloaded = models.load_model(path)
    difference = float(
        np.max(np.abs(reloaded.predict(x_test, verbose=0) - model.predict(x_test, verbose=0)))
    )
    print(f"reloaded model: largest prediction difference on {len(x_test)} images: {difference}")
    print("reloaded model predicts identically:", difference == 0.0)
    return {"loss": loss, "accuracy": accuracy, "reload_difference": difference}


if __name__ == "__main__":
    main(output_dir=sys.argv[1] if len(sys.argv) > 1 else None)
