"""`graphc demo`: the tour a new user runs first, end to end on a fresh machine.

It trains a digit classifier written with the Keras-style functional API, on synthetic 8x8
digits generated with numpy (no download, no optional packages), evaluates it on held-out
images, compiles its inference graph to native code, checks it against a hand-written numpy
forward pass with the same weights and measures both, shows a gradient computed by graph
transformation in three modes, and saves the model where `graphc summary/predict/dump` can
read it. Each step is one small function, so tests and the README can run them one by one.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

import graphc
from graphc.bench import limit_blas_threads

#: 5x7 glyphs of the digits 0-9 ("#" is ink), one string per digit, rows separated by spaces.
GLYPHS = (
    ".###. #...# #..## #.#.# ##..# #...# .###.",
    "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    ".###. #...# ....# ...#. ..#.. .#... #####",
    "##### ...#. ..#.. ...#. ....# #...# .###.",
    "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "##### #.... ####. ....# ....# #...# .###.",
    "..##. .#... #.... ####. #...# #...# .###.",
    "##### ....# ...#. ..#.. .#... .#... .#...",
    ".###. #...# #...# .###. #...# #...# .###.",
    ".###. #...# #...# .#### ....# ...#. .##..",
)
TEMPLATES = np.array(
    [[[c == "#" for c in row] for row in glyph.split()] for glyph in GLYPHS], np.float32
)
MODEL_NAME = "digits_mlp"
MODEL_FILE = MODEL_NAME + ".graphc"
SAMPLES_FILE = "samples.npy"
SHADES = " .+#"
SHADE_EDGES = (0.35, 0.55, 0.75)


@dataclass(frozen=True)
class Settings:
    """How big a run is: `full()` is the tour, `quick()` the smallest run (for tests)."""

    train: int
    test: int
    epochs: int
    repeats: int
    min_seconds: float

    @classmethod
    def full(cls, epochs: int | None = None) -> Settings:
        """6,000 training images, 8 epochs, timings as the median of 7 runs of >= 20 ms.

        >>> Settings.full().epochs, Settings.full(epochs=2).epochs
        (8, 2)
        """
        return cls(6000, 2000, 8 if epochs is None else epochs, 7, 0.02)

    @classmethod
    def quick(cls, epochs: int | None = None) -> Settings:
        """2,000 training images, 4 epochs, short timings: a few seconds in all.

        >>> Settings.quick().train
        2000
        """
        return cls(2000, 500, 4 if epochs is None else epochs, 3, 0.005)


# --- 1. data -----------------------------------------------------------------------------------


def make_digits(
    n: int, rng: np.random.Generator, noise: float = 0.25, drop: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """`n` noisy 8x8 images of digits and their labels, like a tiny MNIST made with numpy.

    Each image is a 5x7 glyph placed at a random position, with random brightness, a fraction
    `drop` of its pixels erased and Gaussian noise added, so that a linear model gets about
    two thirds right and an MLP about 95%: a problem worth training on, generated in
    milliseconds without any download.

    Args:
        n: the number of images.
        rng: the random generator (the data is a pure function of its state).
        noise: the standard deviation of the Gaussian noise (ink is 0.6 to 1.0).
        drop: the probability of erasing a pixel.

    Returns:
        `(x, y)`: float32 images flattened to (n, 64), int32 labels (n,).

    >>> x, y = make_digits(3, np.random.default_rng(0))
    >>> x.shape, x.dtype.name, y.shape, y.dtype.name
    ((3, 64), 'float32', (3,), 'int32')
    """
    labels = rng.integers(0, 10, n)
    dx, dy = rng.integers(0, 4, n), rng.integers(0, 2, n)
    images = np.zeros((n, 8, 8), np.float32)
    for i in range(n):
        images[i, dy[i] : dy[i] + 7, dx[i] : dx[i] + 5] = TEMPLATES[labels[i]]
    images *= rng.uniform(0.6, 1.0, (n, 1, 1)) * (rng.random((n, 8, 8)) >= drop)
    images += rng.normal(scale=noise, size=images.shape)
    return images.reshape(n, 64).astype(np.float32), labels.astype(np.int32)


def render_digits(images: np.ndarray, labels: np.ndarray) -> str:
    """Images of shape (k, 64) side by side as text, two characters per pixel, darker
    characters for more ink (values below 0.35, most of the noise, show as blank).

    >>> x = np.zeros((2, 64), np.float32); x[:, 0] = 1.0; x[:, 1] = 0.5
    >>> print(render_digits(x, np.array([4, 7])).splitlines()[:2])
    ['label 4            label 7', '##..               ##..']
    """
    levels = np.digitize(images.reshape(-1, 8, 8), SHADE_EDGES)
    lines = ["   ".join(f"label {label:<10}" for label in labels).rstrip()]
    for row in range(8):
        cells = ("".join(SHADES[v] * 2 for v in image[row]) for image in levels)
        lines.append("   ".join(cells).rstrip())
    return "\n".join(lines)


# --- 2. the model and its training -------------------------------------------------------------


def build_model() -> Any:
    """The classifier, with Keras' functional API: 64 pixels -> 128 -> 64 -> 10 classes.

    >>> build_model().count_params()
    17226
    """
    from graphc.frontend import Input, Model, layers

    inputs = Input(shape=(64,), name="pixels")
    x = layers.Dense(128, activation="relu", name="hidden_1")(inputs)
    x = layers.Dropout(0.2, name="dropout")(x)
    x = layers.Dense(64, activation="relu", name="hidden_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="digit")(x)
    return Model(inputs=inputs, outputs=outputs, name=MODEL_NAME)


MODEL_CODE = """\
inputs = Input(shape=(64,), name="pixels")
x = layers.Dense(128, activation="relu", name="hidden_1")(inputs)
x = layers.Dropout(0.2, name="dropout")(x)
x = layers.Dense(64, activation="relu", name="hidden_2")(x)
outputs = layers.Dense(10, activation="softmax", name="digit")(x)
model = Model(inputs=inputs, outputs=outputs, name="digits_mlp")
model.compile(optimizer=optimizers.Adam(learning_rate=0.003),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs={epochs}, validation_split=0.1)"""


def train(model: Any, x: np.ndarray, y: np.ndarray, epochs: int, verbose: Any = "auto") -> Any:
    """Compile and fit the model as Keras would, with the progress bar; return the History.

    >>> model = build_model()
    >>> x, y = make_digits(64, np.random.default_rng(0))
    >>> sorted(train(model, x, y, epochs=1, verbose=0).history)
    ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    """
    from graphc.frontend import optimizers

    model.compile(
        optimizer=optimizers.Adam(learning_rate=0.003),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model.fit(x, y, batch_size=32, epochs=epochs, validation_split=0.1, verbose=verbose)


# --- 3. compiled inference against numpy -------------------------------------------------------


def numpy_forward(weights: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """The model's inference written by hand in numpy (dropout is the identity at inference).

    Args:
        weights: `model.get_weights()`: kernel and bias of hidden_1, hidden_2 and digit.
        x: images, (n, 64) float32.

    Returns:
        The class probabilities, (n, 10).

    >>> w = [np.zeros((64, 128)), np.zeros(128), np.zeros((128, 64)), np.zeros(64),
    ...      np.zeros((64, 10)), np.zeros(10)]
    >>> numpy_forward([a.astype(np.float32) for a in w], np.ones((1, 64), np.float32))[0, :3]
    array([0.1, 0.1, 0.1], dtype=float32)
    """
    w1, b1, w2, b2, w3, b3 = weights
    h = np.maximum(x @ w1 + b1, 0.0)
    h = np.maximum(h @ w2 + b2, 0.0)
    logits = h @ w3 + b3
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def median_seconds(fn: Callable[[], Any], repeats: int, min_seconds: float) -> float:
    """The median time of one call of `fn`, over `repeats` runs of enough calls to last
    `min_seconds` each (one call of a small model takes microseconds, below a clock's noise).

    >>> 0 < median_seconds(lambda: sum(range(100)), repeats=3, min_seconds=0.001) < 0.01
    True
    """
    fn()
    start = time.perf_counter()
    fn()
    calls = max(1, int(min_seconds / max(time.perf_counter() - start, 1e-7)))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls)
    return float(np.median(times))


def format_seconds(seconds: float) -> str:
    """A duration with a unit that keeps 3 significant digits.

    >>> format_seconds(3.2e-6), format_seconds(0.01234), format_seconds(1.5)
    ('3.20 us', '12.3 ms', '1.50 s')
    """
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale or unit == "us":
            value = seconds / scale
            return f"{value:.{max(0, 2 - int(np.floor(np.log10(max(value, 1e-9)))))}f} {unit}"
    raise AssertionError("unreachable")


def compare_with_numpy(model: Any, x: np.ndarray, settings: Settings) -> dict[str, Any]:
    """Compile the inference graph, check it against `numpy_forward`, time both.

    Returns:
        `compile_seconds`, `from_cache` (the disk cache held the code), `max_abs_diff`,
        `same_class` (the fraction of equal argmaxes) and `timings`: {batch size: (graphc
        seconds, numpy seconds)} for batch 1 and all of `x`.
    """
    start = time.perf_counter()
    compiled = graphc.compile(model.graph)
    compile_seconds = time.perf_counter() - start
    weights = model.get_weights()
    ours, theirs = compiled(x), numpy_forward(weights, x)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    timings = {}
    with ExitStack() as stack:  # one thread each: graphc's call runs on the calling thread
        limit_blas_threads(stack, 1)
        for batch in (1, len(x)):
            part = x[:batch]
            timings[batch] = tuple(
                median_seconds(fn, settings.repeats, settings.min_seconds)
                for fn in (partial(compiled, part), partial(numpy_forward, weights, part))
            )
    return {
        "compile_seconds": compile_seconds,
        "from_cache": compiled.from_cache,
        "max_abs_diff": float(np.abs(ours - theirs).max()),
        "same_class": float((ours.argmax(axis=1) == theirs.argmax(axis=1)).mean()),
        "timings": timings,
    }


def speed_lines(timings: dict[int, tuple[float, float]]) -> list[str]:
    """One line per batch size: both times and how many times faster graphc is.

    >>> speed_lines({1: (2e-6, 1e-5)})
    ['  batch 1      graphc   2.00 us   numpy   10.0 us   graphc is 5x faster']
    """
    lines = []
    for batch, (ours, theirs) in timings.items():
        ratio = theirs / ours
        verdict = f"{ratio:.3g}x faster" if ratio >= 1 else f"{1 / ratio:.3g}x slower"
        lines.append(
            f"  batch {batch:<6} graphc {format_seconds(ours):>9}   "
            f"numpy {format_seconds(theirs):>9}   graphc is {verdict}"
        )
    return lines


# --- 4. derivatives ----------------------------------------------------------------------------


def derivative_lines() -> list[str]:
    """The textbook gradient of f = ln(x1) + x1*x2 - sin(x2) at (2, 5), in three modes.

    >>> print(derivative_lines()[1])
      forward mode (a 21-node graph):  df/dx1 = 5.5, df/dx2 = 1.716337815
    """
    x1, x2 = graphc.scalars("x1 x2")
    f = graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2), name="f")
    report = graphc.compare_modes(f, {"x1": 2.0, "x2": 5.0}, traces=False, repeats=1)
    lines = [f"f(x1, x2) = ln(x1) + x1*x2 - sin(x2) = {float(f(2.0, 5.0))!r} at (2, 5):"]
    for mode, label in (("forward", "forward mode"), ("reverse", "reverse mode")):
        result = report.results[mode]
        lines.append(f"  {label} (a {result.size}-node graph):  " + _gradient_text(result.gradient))
    symbolic = report.results["symbolic"].gradient
    lines.append("  sympy, symbolically:             " + _gradient_text(symbolic))
    return lines


def _gradient_text(gradient: dict[str, np.ndarray]) -> str:
    return ", ".join(f"df/d{name} = {float(value):.10g}" for name, value in gradient.items())


# --- 5. saving, and the whole tour -------------------------------------------------------------


def save(model: Any, samples: np.ndarray, out_dir: str | None) -> tuple[str, str]:
    """Save the model and a few test images (for `graphc predict`) in `out_dir`.

    Args:
        model: the trained model.
        samples: images to save as a .npy file next to it.
        out_dir: the folder (created if missing), or None for a new temporary folder.

    Returns:
        The paths of the model file and of the samples file.
    """
    folder = out_dir if out_dir is not None else tempfile.mkdtemp(prefix="graphc-demo-")
    os.makedirs(folder, exist_ok=True)
    model_path = os.path.join(folder, MODEL_FILE)
    samples_path = os.path.join(folder, SAMPLES_FILE)
    model.save(model_path)
    np.save(samples_path, samples, allow_pickle=False)
    return model_path, samples_path


def next_steps(model_path: str, samples_path: str) -> list[str]:
    """The commands to try next, on the files the demo saved.

    >>> print(next_steps("m.graphc", "s.npy")[1])
      the saved model's layers        graphc summary m.graphc
    """
    predictions = os.path.join(os.path.dirname(samples_path), "predictions.npy")
    rows = [
        ("the saved model's layers", f"graphc summary {model_path}"),
        ("run it on the 5 images", f"graphc predict {model_path} {samples_path} -o {predictions}"),
        ("its graph after the passes", f"graphc dump {model_path} --stage optimized"),
        ("the LLVM IR it compiles to", f"graphc dump {model_path} --stage llvm"),
        ("derivatives in every mode", 'graphc diff "log(x1) + x1*x2 - sin(x2)" --at x1=2,x2=5'),
        ("graphc against other libraries", "graphc bench"),
        ("in the source checkout", "examples/ (scripts), docs/ (guides)"),
    ]
    return ["Where to look next:"] + [f"  {what:<32}{command}" for what, command in rows]


def run(settings: Settings, out_dir: str | None = None) -> dict[str, Any]:
    """The tour `graphc demo` prints; returns its figures (for tests and callers).

    Returns:
        `accuracy` and `loss` on the held-out images, the `comparison` of
        `compare_with_numpy`, and the `model_path` and `samples_path` written.
    """
    from graphc.frontend import utils

    utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x_train, y_train = make_digits(settings.train, rng)
    x_test, y_test = make_digits(settings.test, rng)
    print(
        f"1. Data: {settings.train:,} training and {settings.test:,} test images of digits, "
        "8x8 pixels, made with numpy\n   (5x7 glyphs at random positions, random brightness, "
        "erased pixels, noise):\n"
    )
    print(render_digits(x_test[:5], y_test[:5]))

    model = build_model()
    print("\n2. A classifier, written with the Keras-style functional API (graphc.frontend):\n")
    print(MODEL_CODE.format(epochs=settings.epochs) + "\n")
    model.summary()
    print()
    train(model, x_train, y_train, settings.epochs)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"\ntest accuracy: {accuracy:.4f} (loss {loss:.4f}) on {settings.test:,} held-out images")

    comparison = compare_with_numpy(model, x_test, settings)
    source = "from the disk cache" if comparison["from_cache"] else "LLVM ran"
    print(
        f"\n3. Compiled to native code: graphc.compile(model.graph) took "
        f"{format_seconds(comparison['compile_seconds'])} ({source}).\n"
        f"   Against a hand-written numpy forward pass with the same weights: "
        f"max |difference| {comparison['max_abs_diff']:.1e},\n"
        f"   same predicted class for {comparison['same_class']:.1%} of the "
        f"{settings.test:,} images. Median time per call, one thread each:"
    )
    print("\n".join(speed_lines(comparison["timings"])))

    print("\n4. Automatic differentiation by graph transformation (more: graphc diff):")
    print("\n".join("   " + line for line in derivative_lines()))

    model_path, samples_path = save(model, x_test[:5], out_dir)
    print(
        f"\n5. Saved the model to {model_path}\n"
        f"   and 5 test images (labels {' '.join(str(v) for v in y_test[:5])}) to {samples_path}\n"
    )
    print("\n".join(next_steps(model_path, samples_path)))
    return {
        "accuracy": float(accuracy),
        "loss": float(loss),
        "comparison": comparison,
        "model_path": model_path,
        "samples_path": samples_path,
    }
