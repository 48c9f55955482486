import numpy as np
import pytest

import graphc
from graphc.frontend.variables import Variable, variable_of, variables_in


def test_variable_stands_for_its_symbol_in_graph_ops():
    w = Variable(np.arange(6.0).reshape(2, 3), name="dense/kernel", dtype="float32")
    x = graphc.placeholder((None, 2))
    for y in (x @ w, graphc.matmul(x, w), w.T.T.__rmatmul__(x)):
        assert y.shape == (None, 3)
    assert (w + 1.0).primitive.name == "add" and (-w).primitive.name == "neg"
    assert (2.0 * w).shape == (2, 3) and w[0].shape == (3,)
    assert w.symbol.name == "dense/kernel" and variable_of(w.symbol) is w


def test_numbers_and_assignment():
    w = Variable([1.0, 2.0], name="w")
    assert w.dtype == np.float64 and w.shape == (2,) and w.size == 2 and w.ndim == 1
    copy = w.numpy()
    copy[0] = 10.0
    assert w.numpy()[0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        w.value[0] = 5.0
    w.assign([3, 4])
    w.assign_sub([1.0, 1.0])
    np.testing.assert_array_equal(np.asarray(w), [2.0, 3.0])
    assert "trainable=True" in repr(w)


def test_unsupported_dtype():
    with pytest.raises(graphc.DTypeError, match="unsupported dtype complex128"):
        Variable(np.zeros(2, complex), name="c")


def test_variables_in_finds_weights_in_first_use_order():
    a, b = Variable(np.ones(2), name="a"), Variable(np.ones(2), name="b")
    x = graphc.placeholder((2,), "float64")
    assert variables_in([x * b, a + b]) == [b, a]
    assert variables_in([x]) == []
