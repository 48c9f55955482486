"""Transfer learning: reuse a trained base, train a new head on it, then fine-tune everything.

The Keras transfer-learning workflow, on generated data where it visibly pays off:

1. a base network (two Dense layers) is trained on a large labelled task A (8 classes);
2. the base is frozen (`base.trainable = False`) and a new head is put on it for a related
   task B (3 classes) with only a few hundred labels; only the head trains, and `summary(
   show_trainable=True)` shows which layers train and the trainable-parameter counts;
3. the base is unfrozen and the whole model is fine-tuned with a low learning rate (1e-4), so
   the pretrained features are adjusted, not destroyed. As in Keras, the model is compiled
   again after `trainable` changes.

Both tasks depend on the same hidden features of the inputs, which the base learns on task A.
For comparison, the same architecture is also trained from scratch on task B's few labels.

Run: python examples/transfer_learning.py          (a few seconds)
     GRAPHC_EXAMPLES_QUICK=1 python examples/transfer_learning.py   (small data, 1 epoch each)
"""

from __future__ import annotations

import os

import numpy as np

from graphc.frontend import Input, Model, Sequential, layers, optimizers, utils

INPUTS, HIDDEN = 20, 6
_TRUTH = np.random.default_rng(0)
_PROJECTION = _TRUTH.normal(size=(INPUTS, HIDDEN))  # the hidden features both tasks share
_TASKS = {"A": _TRUTH.normal(size=(HIDDEN, 8)), "B": _TRUTH.normal(size=(HIDDEN, 3))}


def make_task(task: str, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and labels of task "A" (8 classes) or "B" (3 classes).

    >>> x, labels = make_task("B", 500, seed=0)
    >>> x.shape, sorted(set(labels.tolist()))
    ((500, 20), [0, 1, 2])
    """
    x = np.random.default_rng(seed).normal(size=(samples, INPUTS))
    labels = np.argmax(np.tanh(x @ _PROJECTION / 2) @ _TASKS[task], axis=1)
    return x.astype(np.float32), labels.astype(np.int32)


def make_base() -> Sequential:
    return Sequential(
        [
            layers.Input((INPUTS,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(32, activation="relu"),
        ],
        name="base",
    )


def with_head(base: Model, classes: int, name: str) -> Model:
    """`base` followed by a new softmax head: the base is nested, sharing its weights."""
    inputs = Input((INPUTS,), name="x")
    outputs = layers.Dense(classes, activation="softmax", name=f"{name}_head")(base(inputs))
    return Model(inputs, outputs, name=name)


def train(model: Model, learning_rate: float, data: tuple, epochs: int, test: tuple) -> float:
    """Compile (needed after changing `trainable`), fit, and return the test accuracy."""
    model.compile(
        optimizer=optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(*data, batch_size=32, epochs=epochs, verbose=0)
    return model.evaluate(*test, verbose=0)[1]


def main(quick: bool | None = None) -> dict[str, float]:
    """Run the three stages and the from-scratch baseline; return their test accuracies."""
    if quick is None:
        quick = os.environ.get("GRAPHC_EXAMPLES_QUICK", "") not in ("", "0")
    epochs = 1 if quick else 20
    utils.set_random_seed(0)
    task_a = make_task("A", 1000 if quick else 20000, seed=1)
    task_b = make_task("B", 300, seed=2)
    test_b = make_task("B", 2000, seed=3)

    print("1. Pretrain the base on task A (8 classes)")
    base = make_base()
    pretrained = with_head(base, 8, "task_a")
    accuracy_a = train(pretrained, 1e-3, task_a, 1 if quick else 5, make_task("A", 2000, seed=4))
    print(f"   task A test accuracy: {accuracy_a:.4f}\n")

    print("2. Freeze the base, train a new head on task B (300 labels)")
    base.trainable = False
    transfer = with_head(base, 3, "task_b")
    transfer.summary(show_trainable=True)
    frozen = train(transfer, 1e-2, task_b, epochs, test_b)
    print(f"   task B test accuracy with the frozen base: {frozen:.4f}\n")

    print("3. Unfreeze the base and fine-tune everything with a low learning rate")
    base.trainable = True
    transfer.summary(show_trainable=True)
    fine_tuned = train(transfer, 1e-4, task_b, epochs, test_b)
    print(f"   task B test accuracy after fine-tuning: {fine_tuned:.4f}\n")

    print("Baseline: the same architecture trained from scratch on task B's 300 labels")
    scratch = train(with_head(make_base(), 3, "scratch"), 1e-2, task_b, epochs, test_b)
    print(f"   task B test accuracy from scratch: {scratch:.4f}")
    return {"task_a": accuracy_a, "frozen": frozen, "fine_tuned": fine_tuned, "scratch": scratch}


if __name__ == "__main__":
    main()
