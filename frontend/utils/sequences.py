"""`pad_sequences`: lists of variable-length sequences as one rectangular numpy array.

Text and time-series models take a batch as one (samples, timesteps, ...) tensor, so sequences of
different lengths are padded (or truncated) to a common length first, exactly as
`keras.utils.pad_sequences` does. It is plain numpy: it prepares data, it builds no graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["pad_sequences"]

_SIDES = ("pre", "post")


def pad_sequences(
    sequences: Sequence[Any],
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pad (or truncate) every sequence to the same length, as Keras' `pad_sequences`.

    Sequences longer than `maxlen` lose values from the start (`truncating="pre"`) or the end
    ("post"); shorter ones are filled with `value` before (`padding="pre"`) or after ("post").
    Each element of a sequence may itself be an array (e.g. feature vectors); all non-empty
    sequences must share that element shape.

    Args:
        sequences: a list of sequences (lists or arrays), one per sample.
        maxlen: the output length; by default the longest sequence's length.
        dtype: the output dtype (Keras' default "int32"); `object` or a string dtype for
            variable-length strings.
        padding: "pre" or "post": where the fill goes.
        truncating: "pre" or "post": which end of a too-long sequence is dropped.
        value: the fill value.

    Returns:
        An array of shape (len(sequences), maxlen, *element_shape).

    Raises:
        ValueError: `sequences` or one of its items is not iterable, elements have different
            shapes, `padding`/`truncating` is not "pre" or "post", or a string `value` is used
            with a non-string dtype.

    >>> pad_sequences([[1, 2, 3], [4, 5], [6]])
    array([[1, 2, 3],
           [0, 4, 5],
           [0, 0, 6]], dtype=int32)
    >>> pad_sequences([[1, 2, 3], [4, 5]], maxlen=2, padding="post", truncating="post")
    array([[1, 2],
           [4, 5]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: `sequences` must be iterable, got {sequences!r}")
    for name, side in (("padding", padding), ("truncating", truncating)):
        if side not in _SIDES:
            raise ValueError(f'pad_sequences: {name} must be "pre" or "post", got {side!r}')
    lengths, sample_shape = _lengths_and_sample_shape(sequences)
    if maxlen is None:
        maxlen = max(lengths, default=0)
    is_text_dtype = dtype is object or np.issubdtype(np.dtype(dtype), np.str_)
    if isinstance(value, str) and not is_text_dtype:
        raise ValueError(
            f"pad_sequences: dtype {dtype} is not compatible with the string value {value!r}; "
            f"use dtype=object for variable-length strings"
        )
    out = np.full((len(sequences), maxlen, *sample_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for index, seq in enumerate(sequences):
        if not len(seq):
            continue
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"pad_sequences: the elements of sequence {index} have shape {kept.shape[1:]}, "
                f"expected {sample_shape} (the shape of the first non-empty sequence's elements)"
            )
        if padding == "post":
            out[index, : len(kept)] = kept
        else:
            out[index, -len(kept) :] = kept
    return out


def _lengths_and_sample_shape(sequences: Sequence[Any]) -> tuple[list[int], tuple[int, ...]]:
    """Every sequence's length, and the element shape of the first non-empty one."""
    lengths: list[int] = []
    sample_shape: tuple[int, ...] | None = None
    for seq in sequences:
        try:
            lengths.append(len(seq))
        except TypeError as exc:
            raise ValueError(
                f"pad_sequences: `sequences` must be a list of iterables, found {seq!r}"
            ) from exc
        if sample_shape is None and len(seq):
            sample_shape = np.asarray(seq).shape[1:]
    return lengths, sample_shape or ()
