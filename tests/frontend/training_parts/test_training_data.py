"""The trainer's data adapters: batching, shuffling, validation split, class weights,
datasets and generators, and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from graphc.errors import InputError
from graphc.frontend import utils
from graphc.frontend.trainer.data import (
    ArrayData,
    IterableData,
    class_weight_to_sample_weight,
    make_data,
    pack_x_y_sample_weight,
    split_validation,
    structure_key,
    unpack_x_y_sample_weight,
)


def test_array_batches_cover_every_sample_once_per_epoch():
    x = np.arange(10, dtype=np.float64).reshape(10, 1)
    data = ArrayData(x, np.arange(10), batch_size=4, shuffle=True)
    assert data.num_batches == 3
    utils.set_random_seed(0)
    first = [batch for batch in data.epoch()]
    assert [len(b[0]) for b in first] == [4, 4, 2]
    seen = np.concatenate([b[1] for b in first])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    for xb, yb in first:
        np.testing.assert_array_equal(xb[:, 0], yb)  # x and y stay paired
    second = np.concatenate([b[1] for b in data.epoch()])
    assert second.tolist() != seen.tolist()  # reshuffled
    utils.set_random_seed(0)
    again = np.concatenate([b[1] for b in data.epoch()])
    np.testing.assert_array_equal(again, seen)  # reproducible from the seed


def test_array_leaves_are_converted_once_to_graph_dtypes():
    data = ArrayData(np.ones((3, 2)), np.array([1, 0, 1], np.uint8))
    x, y = data.leaves
    assert x.dtype == np.float32 and y.dtype == np.int32
    assert x.flags.c_contiguous


def test_structures_and_steps():
    data = ArrayData({"b": np.ones((5, 2)), "a": np.zeros((5, 1))}, [np.ones(5), np.ones(5)])
    assert structure_key(data.structure) == (
        "tuple",
        (("dict", (("a", "leaf"), ("b", "leaf"))), ("list", ("leaf", "leaf"))),
    )
    assert len(data.leaves) == 4
    capped = ArrayData(np.ones((100, 1)), batch_size=10, steps=3)
    assert capped.num_batches == 3 and len(list(capped.epoch())) == 3


def test_pack_and_unpack_follow_keras():
    assert unpack_x_y_sample_weight([1, 2]) == (1, 2, None)
    assert pack_x_y_sample_weight([1, 2]) == ([1, 2],)
    assert pack_x_y_sample_weight(1, None, 3) == (1, None, 3)
    with pytest.raises(ValueError, match="found a tuple of 4"):
        unpack_x_y_sample_weight((1, 2, 3, 4))


def test_mismatched_and_empty_data():
    with pytest.raises(InputError, match="x has 5, y has 4"):
        ArrayData(np.ones((5, 2)), np.ones(4))
    with pytest.raises(InputError, match=r"x\[1\] has 3"):
        ArrayData([np.ones((5, 2)), np.ones((3, 2))], np.ones(5))
    with pytest.raises(InputError, match="0 samples"):
        ArrayData(np.ones((0, 2)), np.ones(0))
    with pytest.raises(InputError, match="numeric data"):
        ArrayData(np.array([["a"], ["b"]]), np.ones(2))


def test_validation_split_takes_the_last_samples():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    (xt, yt, wt), (xv, yv, wv) = split_validation(x, y, None, 0.3)
    assert yt.tolist() == list(range(7)) and yv.tolist() == [7, 8, 9]
    assert wt is None and wv is None
    with pytest.raises(ValueError, match="only supported for NumPy arrays"):
        split_validation(iter([]), None, None, 0.2)
    with pytest.raises(ValueError, match="leaves no training"):
        split_validation(np.ones(1), np.ones(1), None, 0.5)


def test_class_weights_from_sparse_and_one_hot_labels():
    assert class_weight_to_sample_weight(np.array([[2], [0]]), {2: 5.0}).tolist() == [5.0, 1.0]
    one_hot = np.array([[0, 1, 0], [1, 0, 0]])
    assert class_weight_to_sample_weight(one_hot, {0: 0.5, 1: 2.0}).tolist() == [2.0, 0.5]


def test_datasets_restart_and_generators_continue():
    batches = [(np.full((2, 1), i), np.full(2, i)) for i in range(3)]

    class Dataset:
        def __len__(self):
            return 3

        def __iter__(self):
            return iter(batches)

    dataset = IterableData(Dataset())
    assert dataset.num_batches == 3
    np.testing.assert_array_equal(dataset.first_batch()[1], [0, 0])
    assert [b[1][0] for b in dataset.epoch()] == [0, 1, 2]
    assert [b[1][0] for b in dataset.epoch()] == [0, 1, 2]

    stream = IterableData(iter(batches), steps=2)
    np.testing.assert_array_equal(stream.first_batch()[1], [0, 0])  # peeked, not consumed
    assert [b[1][0] for b in stream.epoch()] == [0, 1]
    assert [b[1][0] for b in stream.epoch()] == [2]
    assert stream.exhausted


def test_make_data_picks_the_adapter_and_checks_arguments():
    assert isinstance(make_data(np.ones((4, 1)), None, None, None, None, False, "fit"), ArrayData)
    assert isinstance(make_data(iter([]), None, None, None, None, False, "fit"), IterableData)
    with pytest.raises(ValueError, match="`y` and `sample_weight` must not be given"):
        make_data(iter([]), np.ones(2), None, None, None, False, "fit")
    with pytest.raises(ValueError, match="no input data"):
        make_data(None, None, None, None, None, False, "evaluate")
