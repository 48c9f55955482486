import numpy as np
import pytest

import graphc
from graphc.frontend import constraints, regularizers
from graphc.frontend.variables import Variable

W = np.array([[3.0, -4.0], [0.0, 1.0]])


def penalty(regularizer):
    v = Variable(W, name="w")
    return float(graphc.Graph([v.symbol], regularizer(v))(W))


def test_l1_l2_penalties():
    assert penalty(regularizers.L1()) == pytest.approx(0.01 * 8)
    assert penalty(regularizers.L2(0.5)) == pytest.approx(0.5 * 26)
    assert penalty(regularizers.L1L2(l1=0.1, l2=0.2)) == pytest.approx(0.8 + 5.2)
    assert penalty(regularizers.L1L2()) == 0.0


def test_regularizer_names_and_configs():
    assert regularizers.get("l1").l1 == 0.01
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.0, "l2": 0.0}
    clone = regularizers.get(regularizers.serialize(regularizers.L2(0.3)))
    assert clone.get_config() == {"l2": 0.3}
    with pytest.raises(ValueError, match="non-negative float. Received: l1=-1"):
        regularizers.L1(-1)
    with pytest.raises(ValueError, match="Could not locate regularizer 'l3'"):
        regularizers.get("l3")


def column_norms(w):
    return np.sqrt((w * w).sum(0))


@pytest.mark.parametrize("symbolic", [False, True])
def test_constraints_on_arrays_and_graphs(symbolic):
    def apply(constraint):
        if not symbolic:
            return constraint(W)
        v = graphc.placeholder(W.shape, "float64")
        return graphc.Graph([v], constraint(v))(W)

    np.testing.assert_allclose(column_norms(apply(constraints.MaxNorm(2.0))), [2.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(column_norms(apply(constraints.UnitNorm())), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(apply(constraints.NonNeg()), np.maximum(W, 0))
    clipped = apply(constraints.MinMaxNorm(min_value=4.0, max_value=4.5))
    np.testing.assert_allclose(column_norms(clipped), [4.0, np.sqrt(17)], rtol=1e-6)


def test_constraint_names_and_configs():
    assert type(constraints.get("max_norm")).__name__ == "MaxNorm"
    clone = constraints.get(constraints.serialize(constraints.MaxNorm(3.0, axis=1)))
    assert clone.get_config() == {"max_value": 3.0, "axis": 1}
    assert constraints.get(None) is None
