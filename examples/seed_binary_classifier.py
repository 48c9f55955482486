"""Keras' "MLP for binary classification" example, unchanged but for the import.

Dense(64)-Dropout(0.5)-Dense(64)-Dropout(0.5)-Dense(1, sigmoid) on random data, trained with
binary cross-entropy and RMSprop, then evaluated. The labels are random, so the accuracy stays
near 0.5: the point is the workflow (legacy `input_dim=`, `model.add`, string optimizer,
loss and metric names, dropout in training mode only) running end to end.

Run: python examples/seed_binary_classifier.py          (20 epochs, about a second)
     GRAPHC_EXAMPLES_QUICK=1 python examples/seed_binary_classifier.py   (a quick check: 2 epochs)
"""

from __future__ import annotations

import os

import numpy as np

from graphc.frontend import Sequential, utils
from graphc.frontend.layers import Dense, Dropout


def main(quick: bool | None = None, epochs: int | None = None, verbose: int = 1) -> list[float]:
    """Fit on 1000 random samples, evaluate on 100; return [test loss, test accuracy].

    Args:
        quick: 2 epochs instead of 20 (default: `GRAPHC_EXAMPLES_QUICK=1` in the environment).
        epochs: the number of epochs, overriding `quick`.
        verbose: `fit`'s and `evaluate`'s verbosity.
    """
    if quick is None:
        quick = os.environ.get("GRAPHC_EXAMPLES_QUICK", "") not in ("", "0")
    if epochs is None:
        epochs = 2 if quick else 20
    utils.set_random_seed(0)
    x_train = np.random.random((1000, 20))
    y_train = np.random.randint(2, size=(1000, 1))
    x_test = np.random.random((100, 20))
    y_test = np.random.randint(2, size=(100, 1))

    model = Sequential()
    model.add(Dense(64, input_dim=20, activation="relu"))
    model.add(Dropout(0.5))
    model.add(Dense(64, activation="relu"))
    model.add(Dropout(0.5))
    model.add(Dense(1, activation="sigmoid"))

    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=128, verbose=verbose)
    score = model.evaluate(x_test, y_test, batch_size=128, verbose=verbose)
    print(f"test loss {score[0]:.4f}, test accuracy {score[1]:.4f}")
    return score


if __name__ == "__main__":
    main()
