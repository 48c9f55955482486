"""Sentiment-like classification of token sequences with Embedding(mask_zero=True) and an LSTM.

Generated "reviews": sequences of 3 to 20 word ids from a vocabulary of 200, where a few ids
are positive words, a few negative, one is "not", and the rest are neutral; a review is
positive (label 1) when its positive words outweigh its negative ones, a word right after "not"
counting as its opposite ("not good" is negative), so word order matters. The reviews have
different lengths, so they are padded with `utils.pad_sequences` to a fixed length (graphc
graphs have one symbolic dimension, the batch), with 0 as the padding id.

`Embedding(..., mask_zero=True)` produces a mask that marks the padding, and the LSTM skips
masked steps: its state is carried over them unchanged. Shows:

- `pad_sequences(sequences, maxlen, padding="post")`;
- Embedding(mask_zero=True) -> LSTM(16) -> Dense(1, sigmoid), trained with binary
  cross-entropy;
- that masking works: the same reviews padded at the front instead of the back (so the LSTM
  sees the padding first, not last) get the same predictions.

Run: python examples/rnn_text.py          (10 epochs, about half a minute)
     GRAPHC_EXAMPLES_QUICK=1 python examples/rnn_text.py   (small data, 1 epoch)
"""

from __future__ import annotations

import os

import numpy as np

from graphc.frontend import Sequential, layers, optimizers, utils

VOCABULARY = 200
#: Longest review (the padded length); quick mode uses shorter reviews, which compile faster
#: (the LSTM is unrolled over the time steps in the training graph).
MAX_LENGTH, QUICK_MAX_LENGTH = 20, 8
POSITIVE, NEGATIVE = np.arange(1, 11), np.arange(11, 21)  # word ids; 0 is the padding
NOT = 21  # negation: flips the sentiment of the word that follows it ("not good")


def make_reviews(samples: int, max_length: int, seed: int) -> tuple[list[list[int]], np.ndarray]:
    """Token sequences of varying length and their labels: 1 when the positive words outweigh
    the negative ones, counting a word right after `NOT` as its opposite.

    >>> reviews, labels = make_reviews(3, max_length=10, seed=0)
    >>> [3 <= len(review) <= 10 for review in reviews], labels.dtype
    ([True, True, True], dtype('float32'))
    """
    rng = np.random.default_rng(seed)
    reviews, labels = [], []
    while len(reviews) < samples:
        length = int(rng.integers(3, max_length + 1))
        words = rng.integers(NOT + 1, VOCABULARY, length)  # neutral words
        kind = rng.random(length)
        words[kind < 0.15] = rng.choice(POSITIVE, int(np.sum(kind < 0.15)))
        words[kind > 0.85] = rng.choice(NEGATIVE, int(np.sum(kind > 0.85)))
        words[(kind > 0.45) & (kind < 0.6)] = NOT
        sentiment = np.isin(words, POSITIVE).astype(int) - np.isin(words, NEGATIVE)
        sentiment[1:] *= np.where(words[:-1] == NOT, -1, 1)
        if sentiment.sum() != 0:  # skip ties: their label would be arbitrary
            reviews.append(words.tolist())
            labels.append(float(sentiment.sum() > 0))
    return reviews, np.array(labels, np.float32)


def main(quick: bool | None = None) -> dict[str, float]:
    """Train and evaluate; return the test accuracy and the largest difference between the
    predictions for post- and pre-padded reviews (float rounding: masking works)."""
    if quick is None:
        quick = os.environ.get("GRAPHC_EXAMPLES_QUICK", "") not in ("", "0")
    utils.set_random_seed(0)
    length = QUICK_MAX_LENGTH if quick else MAX_LENGTH
    train_reviews, y_train = make_reviews(300 if quick else 4000, length, seed=1)
    test_reviews, y_test = make_reviews(200 if quick else 1000, length, seed=2)
    x_train = utils.pad_sequences(train_reviews, maxlen=length, padding="post")
    x_test = utils.pad_sequences(test_reviews, maxlen=length, padding="post")
    lengths = [len(review) for review in train_reviews]
    print(
        f"{len(train_reviews)} training reviews of {min(lengths)} to {max(lengths)} words,", end=" "
    )
    print(f"padded to {x_train.shape} {x_train.dtype}; the first one:\n{x_train[0]}")
    print(f"positive share: {y_train.mean():.3f} (training), {y_test.mean():.3f} (test)\n")

    model = Sequential(
        [
            layers.Input((length,), dtype="int32"),
            layers.Embedding(VOCABULARY, 16, mask_zero=True),
            layers.LSTM(16),
            layers.Dense(1, activation="sigmoid"),
        ],
        name="review_lstm",
    )
    model.summary()
    model.compile(
        optimizer=optimizers.Adam(0.005), loss="binary_crossentropy", metrics=["accuracy"]
    )
    model.fit(
        x_train, y_train, batch_size=32, epochs=1 if quick else 10, validation_split=0.1, verbose=2
    )
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")

    pre_padded = utils.pad_sequences(test_reviews, maxlen=length, padding="pre")
    post = model.predict(x_test, verbose=0)
    pre = model.predict(pre_padded, verbose=0)
    difference = float(np.max(np.abs(post - pre)))
    print(f"predictions for the first 5 test reviews: {_numbers(post[:5, 0])}")
    print(f"the same reviews padded at the front:     {_numbers(pre[:5, 0])}")
    print(f"largest difference over {len(x_test)} reviews: {difference:.2g} (masking works)")
    return {"loss": loss, "accuracy": accuracy, "padding_difference": difference}


def _numbers(values: np.ndarray) -> str:
    return "[" + " ".join(f"{v:.3f}" for v in values) + "]"


if __name__ == "__main__":
    main()
