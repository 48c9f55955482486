"""Augmentation layers inside the compiled training step: active in `fit` (new random
transforms each step, drawn from the step's seed), the identity in `predict` and `evaluate`."""

from __future__ import annotations

import numpy as np
import pytest

from graphc.frontend import Sequential, layers, optimizers, utils

RNG = np.random.default_rng(0)
X = RNG.random((32, 8, 8, 1)).astype(np.float32)  # noise: no flip or rotation leaves it unchanged
Y = (X[:, :4, :4, 0].mean(axis=(1, 2)) - X[:, 4:, 4:, 0].mean(axis=(1, 2)))[:, None]


def tiny_cnn(augment: bool) -> Sequential:
    stack = [layers.Input((8, 8, 1))]
    if augment:
        stack += [
            layers.RandomFlip("horizontal_and_vertical"),
            layers.RandomRotation(0.2),
            layers.RandomZoom(0.2),
        ]
    stack += [layers.Conv2D(2, 3, activation="relu"), layers.Flatten(), layers.Dense(1)]
    return Sequential(stack)


def one_epoch(model: Sequential, weights: list[np.ndarray], seed: int) -> float:
    """The loss of one epoch from `weights`, with the random seed `seed` (no shuffling)."""
    utils.set_random_seed(seed)
    model.set_weights(weights)
    model.compile(optimizer=optimizers.SGD(0.05), loss="mse")
    history = model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    return history.history["loss"][0]


@pytest.fixture(scope="module")
def trained():
    utils.set_random_seed(0)
    augmented, plain = tiny_cnn(augment=True), tiny_cnn(augment=False)
    initial = augmented.get_weights()
    losses = {seed: one_epoch(augmented, initial, seed) for seed in (0, 1)}
    losses["again"] = one_epoch(augmented, initial, 0)
    return augmented, plain, initial, losses


def test_augmentation_is_active_in_the_fit_step(trained):
    augmented, _, initial, losses = trained
    # nothing else is random (no shuffling, no dropout): the seed only moves the transforms
    assert losses["again"] == losses[0]  # a seeded run is reproducible
    assert losses[1] != losses[0]  # another seed draws other transforms
    assert all(np.isfinite(v) for v in losses.values())
    assert any(not np.array_equal(a, b) for a, b in zip(augmented.get_weights(), initial))


def test_augmentation_is_the_identity_at_inference(trained):
    augmented, plain, _, _ = trained
    plain.set_weights(augmented.get_weights())
    expected = plain.predict(X, verbose=0)
    utils.set_random_seed(1)
    np.testing.assert_array_equal(augmented.predict(X, verbose=0), expected)
    utils.set_random_seed(2)
    np.testing.assert_array_equal(augmented.predict(X, verbose=0), expected)
    # evaluate's test step runs in inference mode too
    mse = float(np.mean((expected.astype(np.float64) - Y) ** 2))
    assert augmented.evaluate(X, Y, verbose=0) == pytest.approx(mse, rel=1e-5)
