"""Image classification from folders, with data augmentation and dropout against overfitting.

The Keras image-classification tutorial (tf_flowers) in small: one folder of images per class
is read with `utils.image_dataset_from_directory`, split into training and validation subsets,
and a CNN with augmentation layers is trained on it. Instead of downloading the flower photos,
the script draws its own "flowers" with Pillow into a temporary folder: three classes of
shapes (daisy: a ring of petals, rose: filled circles, tulip: a cup on a stem), in random
colours, sizes and positions, on a noisy background.

Shows:

- `image_dataset_from_directory(dir, validation_split=0.2, subset="training" / "validation",
  seed=123, image_size=(32, 32), batch_size=16)` and what it reports (files, classes);
- a model starting with `Rescaling(1/255)` and the augmentation layers `RandomFlip`,
  `RandomRotation`, `RandomZoom` (active in training only), then Conv2D / MaxPooling2D blocks,
  `Dropout` and Dense layers;
- `fit(train_ds, validation_data=val_ds, ...)` on the datasets, and the training curves saved
  with `utils.plot_history(history, to_file=...)`.

Pillow is needed to draw and read the images (`pip install "graphc[images]"`); matplotlib is
an optional extra for the plot (`pip install "graphc[plot]"`): without it the script says so
and skips the plot.

Run: python examples/flowers_augmentation.py [OUTPUT_DIR]     (25 epochs, under a minute)
     GRAPHC_EXAMPLES_QUICK=1 python examples/flowers_augmentation.py   (fewer images, 2 epochs)
The images are drawn in a temporary folder that is deleted afterwards; the plot
(`history.png`) goes to OUTPUT_DIR, or to that temporary folder.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

import graphc
from graphc.frontend import Sequential, layers, losses, utils

CLASSES = ("daisy", "rose", "tulip")
IMAGE_SIZE = 32


def draw_flowers(root: str, per_class: int, seed: int = 0, size: int = 48) -> None:
    """Write `per_class` PNG images of each class into `root/<class>/`."""
    try:
        from PIL import Image, ImageDraw  # an optional extra: imported only when drawing
    except ImportError as exc:
        raise ImportError(
            "this example draws its images with Pillow, which is not installed: pip install "
            '"graphc[images]"'
        ) from exc

    rng = np.random.default_rng(seed)
    for name in CLASSES:
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(per_class):
            background = rng.integers(0, 90, (size, size, 3), dtype=np.uint8)
            image = Image.fromarray(background)
            pen = ImageDraw.Draw(image)
            colour = tuple(int(c) for c in rng.integers(120, 256, 3))
            cx, cy = rng.integers(size // 3, 2 * size // 3, 2)
            r = int(rng.integers(size // 6, size // 3))
            if name == "daisy":  # petals around an empty centre
                for angle in np.linspace(0, 2 * np.pi, 8, endpoint=False) + rng.uniform(0, 1):
                    px, py = cx + 0.7 * r * np.cos(angle), cy + 0.7 * r * np.sin(angle)
                    pen.ellipse([px - r / 4, py - r / 4, px + r / 4, py + r / 4], fill=colour)
            elif name == "rose":  # a filled disc with a darker core
                pen.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
                pen.ellipse([cx - r / 3, cy - r / 3, cx + r / 3, cy + r / 3], fill=(90, 0, 30))
            else:  # tulip: a cup above a stem
                pen.line([cx, cy, cx, size - 2], fill=(40, 160, 40), width=3)
                pen.polygon([(cx - r, cy - r), (cx + r, cy - r), (cx, cy + r // 2)], fill=colour)
            image.save(os.path.join(root, name, f"{name}_{i:03d}.png"))


def build_model(classes: int) -> Sequential:
    """Rescaling and augmentation, two conv blocks, dropout, a dense classifier (logits)."""
    return Sequential(
        [
            layers.Input((IMAGE_SIZE, IMAGE_SIZE, 3)),
            layers.Rescaling(1.0 / 255),
            layers.RandomFlip("horizontal"),
            layers.RandomRotation(0.1),
            layers.RandomZoom(0.1),
            layers.Conv2D(8, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Dropout(0.2),
            layers.Flatten(),
            layers.Dense(32, activation="relu"),
            layers.Dense(classes),
        ],
        name="flowers_cnn",
    )


def main(quick: bool | None = None, output_dir: str | None = None) -> dict[str, object]:
    """Draw the images, train, plot; return the final metrics and the plot's path (None when
    matplotlib is missing)."""
    if quick is None:
        quick = os.environ.get("GRAPHC_EXAMPLES_QUICK", "") not in ("", "0")
    utils.set_random_seed(0)
    with tempfile.TemporaryDirectory() as scratch:
        root = os.path.join(scratch, "flower_photos")
        draw_flowers(root, per_class=30 if quick else 150)
        train_ds = utils.image_dataset_from_directory(
            root,
            validation_split=0.2,
            subset="training",
            seed=123,
            image_size=(IMAGE_SIZE, IMAGE_SIZE),
            batch_size=16,
        )
        val_ds = utils.image_dataset_from_directory(
            root,
            validation_split=0.2,
            subset="validation",
            seed=123,
            image_size=(IMAGE_SIZE, IMAGE_SIZE),
            batch_size=16,
        )
        print("class names:", train_ds.class_names)
        images, labels = next(iter(train_ds))
        print(f"one batch: images {images.shape} {images.dtype}, labels {labels.shape}")

        model = build_model(len(train_ds.class_names))
        model.summary()
        model.compile(
            optimizer="adam",
            loss=losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        history = model.fit(train_ds, validation_data=val_ds, epochs=2 if quick else 25, verbose=2)
        final = {name: values[-1] for name, values in history.history.items()}
        print("after the last epoch:", ", ".join(f"{k} {v:.4f}" for k, v in final.items()))

        folder = output_dir or scratch
        os.makedirs(folder, exist_ok=True)
        plot = os.path.join(folder, "history.png")
        try:
            utils.plot_history(history, to_file=plot)
            print(f"training curves written to {plot} ({os.path.getsize(plot):,} bytes)")
        except graphc.MissingDependencyError as exc:  # matplotlib is an optional extra
            print(f"skipping the plot: {exc}")
            plot = None
        final["plot"] = plot
    return final


if __name__ == "__main__":
    main(output_dir=sys.argv[1] if len(sys.argv) > 1 else None)
