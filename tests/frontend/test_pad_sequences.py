"""pad_sequences against the Keras documentation's behaviour."""

import numpy as np
import pytest

from graphc.frontend.utils.sequences import pad_sequences


def test_default_pads_and_truncates_at_the_start():
    out = pad_sequences([[1, 2, 3, 4], [5, 6], []], maxlen=3)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[2, 3, 4], [0, 5, 6], [0, 0, 0]])


def test_post_padding_and_truncating():
    out = pad_sequences([[1, 2, 3, 4], [5]], maxlen=3, padding="post", truncating="post")
    np.testing.assert_array_equal(out, [[1, 2, 3], [5, 0, 0]])


def test_maxlen_defaults_to_the_longest_and_value_fills():
    out = pad_sequences([[1], [2, 3, 4]], value=-1)
    np.testing.assert_array_equal(out, [[-1, -1, 1], [2, 3, 4]])


def test_float_dtype_keeps_fractions():
    out = pad_sequences([[0.5, 1.5]], maxlen=3, dtype="float32", value=9.0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[9.0, 0.5, 1.5]])


def test_int_dtype_truncates_fractions_like_numpy():
    np.testing.assert_array_equal(pad_sequences([[1.7, 2.2]]), [[1, 2]])


def test_elements_may_be_vectors():
    seqs = [np.ones((2, 3)), np.full((1, 3), 2.0)]
    out = pad_sequences(seqs, dtype="float32", padding="post")
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out[1], [[2, 2, 2], [0, 0, 0]])


def test_strings_need_an_object_dtype():
    out = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert out.tolist() == [["a", "b"], ["<pad>", "c"]]
    with pytest.raises(ValueError, match="not compatible"):
        pad_sequences([["a"]], value="<pad>")


def test_maxlen_zero_and_no_sequences():
    assert pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)
    assert pad_sequences([]).shape == (0, 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"padding": "middle"}, "padding"),
        ({"truncating": "both"}, "truncating"),
    ],
)
def test_bad_sides_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pad_sequences([[1]], **kwargs)


def test_non_iterables_and_ragged_elements_are_refused():
    with pytest.raises(ValueError, match="iterables"):
        pad_sequences([[1], 2])
    with pytest.raises(ValueError, match="must be iterable"):
        pad_sequences(5)
    with pytest.raises(ValueError, match="shape"):
        pad_sequences([np.ones((1, 2)), np.ones((1, 3))], dtype="float32")
