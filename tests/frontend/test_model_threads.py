"""Models use `backend.num_threads()` threads: every core by default (as Keras on TensorFlow
or JAX), GRAPHC_NUM_THREADS, or `backend.set_num_threads`; any number gives the same bits."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.frontend import Sequential, backend, layers

pytestmark = pytest.mark.backend


@pytest.fixture
def compile_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The `threads` of every graphc.compile call the frontend makes."""
    from graphc.compiler import compile as compile_graph

    seen: list[int] = []

    def recording_compile(graph, **options):
        seen.append(options.get("threads"))
        return compile_graph(graph, cache=False, **options)

    monkeypatch.setattr(graphc, "compile", recording_compile, raising=False)
    return seen


@pytest.fixture(autouse=True)
def _default_threads(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(backend.THREADS_VARIABLE, raising=False)
    yield
    backend.set_num_threads(None)


def cnn() -> Sequential:
    return Sequential(
        [
            layers.Input((12, 12, 1)),
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPool2D(2),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(5, activation="softmax"),
        ]
    )


def data(rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((rows, 12, 12, 1), dtype=np.float32), rng.integers(0, 5, rows)


def test_the_default_is_every_available_core_or_the_environment(monkeypatch) -> None:
    assert backend.num_threads() == backend.available_cores() >= 1
    monkeypatch.setenv(backend.THREADS_VARIABLE, "3")
    assert backend.num_threads() == 3
    backend.set_num_threads(2)  # the setting wins over the environment
    assert backend.num_threads() == 2
    backend.set_num_threads(None)
    assert backend.num_threads() == 3


@pytest.mark.parametrize("text", ["0", "two", "-1", "1.5"])
def test_a_bad_environment_value_is_named(monkeypatch, text: str) -> None:
    monkeypatch.setenv(backend.THREADS_VARIABLE, text)
    with pytest.raises(ValueError, match=f"GRAPHC_NUM_THREADS={text!r}: expected a positive"):
        backend.num_threads()


@pytest.mark.parametrize("value", [0, -2, 1.0, True, "2"])
def test_set_num_threads_takes_a_positive_int_or_none(value) -> None:
    with pytest.raises(ValueError, match="set_num_threads: expected a positive int or None"):
        backend.set_num_threads(value)


def test_predict_evaluate_and_fit_compile_for_the_setting(compile_threads) -> None:
    x, y = data(70)
    model = cnn()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    backend.set_num_threads(2)
    model.predict(x, verbose=0)
    model.predict(x, verbose=0)  # cached
    backend.set_num_threads(1)  # a new number compiles the function again
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=1, verbose=0)
    assert compile_threads == [2, 1, 1, 1]
    backend.set_num_threads(2)
    model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=1, verbose=0)
    assert compile_threads == [2, 1, 1, 1, 2, 2]


def test_any_number_of_threads_gives_the_same_bits() -> None:
    """Predictions, losses and trained weights are identical on one thread and on two (each
    part of a kernel's work is always the same range, whoever runs it)."""
    x, y = data(300)
    results = []
    for threads in (1, 2):
        backend.set_num_threads(threads)
        backend.clear_session()
        graphc.frontend.utils.set_random_seed(1)
        model = cnn()
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=64, epochs=2, verbose=0)
        results.append(
            (
                model.predict(x, batch_size=256, verbose=0),
                model.evaluate(x, y, batch_size=128, verbose=0),
                history.history["loss"],
                model.get_weights(),
            )
        )
    (p1, e1, h1, w1), (p2, e2, h2, w2) = results
    np.testing.assert_array_equal(p1, p2)
    assert e1 == e2 and h1 == h2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
