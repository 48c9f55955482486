import numpy as np
import pytest

from graphc.frontend import initializers
from graphc.frontend.utils import set_random_seed


def test_compute_fans_as_keras():
    assert initializers.compute_fans(()) == (1, 1)
    assert initializers.compute_fans((5,)) == (5, 5)
    assert initializers.compute_fans((784, 64)) == (784, 64)
    assert initializers.compute_fans((3, 3, 16, 32)) == (144, 288)


@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("glorot_uniform", np.sqrt(6 / (300 + 200))),
        ("he_uniform", np.sqrt(6 / 300)),
        ("lecun_uniform", np.sqrt(3 / 300)),
    ],
)
def test_uniform_variance_scaling_limits(name, limit):
    w = initializers.get(name)((300, 200))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
    np.testing.assert_allclose(w.var(), limit**2 / 3, rtol=0.05)


@pytest.mark.parametrize(
    ("name", "variance"),
    [("glorot_normal", 2 / 500), ("he_normal", 2 / 300), ("lecun_normal", 1 / 300)],
)
def test_truncated_normal_variance_scaling(name, variance):
    w = initializers.get(name)((300, 200))
    np.testing.assert_allclose(w.var(), variance, rtol=0.05)
    assert np.abs(w).max() <= 2 * np.sqrt(variance) / 0.87962566103423978 + 1e-6


def test_keras_defaults():
    uniform = initializers.get("uniform")
    assert (uniform.minval, uniform.maxval) == (-0.05, 0.05)
    assert initializers.get("random_normal").stddev == 0.05
    w = initializers.TruncatedNormal(stddev=1.0)((10000,))
    assert np.abs(w).max() <= 2.0
    np.testing.assert_array_equal(initializers.get("zeros")((2, 2)), 0)
    np.testing.assert_array_equal(initializers.get("ones")((2,), "int32"), [1, 1])
    np.testing.assert_array_equal(initializers.Constant(3.5)((2,)), [3.5, 3.5])


def test_orthogonal_and_identity():
    q = initializers.Orthogonal(gain=2.0)((6, 4), "float64")
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(4), atol=1e-10)
    wide = initializers.Orthogonal()((3, 5), "float64")
    np.testing.assert_allclose(wide @ wide.T, np.eye(3), atol=1e-10)
    np.testing.assert_array_equal(initializers.Identity(gain=3.0)((2, 3)), 3 * np.eye(2, 3))
    with pytest.raises(ValueError, match="2-D shape"):
        initializers.Identity()((2, 2, 2))


def test_seeds_make_draws_reproducible():
    a = initializers.GlorotUniform(seed=1)
    b = initializers.GlorotUniform(seed=1)
    first = a((3, 3))
    np.testing.assert_array_equal(first, b((3, 3)))
    assert not np.array_equal(first, a((3, 3)))
    set_random_seed(5)
    unseeded = initializers.get("glorot_uniform")((3, 3))
    set_random_seed(5)
    np.testing.assert_array_equal(unseeded, initializers.get("glorot_uniform")((3, 3)))


def test_serialize_and_get():
    config = initializers.serialize(initializers.VarianceScaling(2.0, "fan_out", "uniform", 3))
    clone = initializers.get(config)
    assert clone.get_config() == {
        "scale": 2.0,
        "mode": "fan_out",
        "distribution": "uniform",
        "seed": 3,
    }
    assert initializers.get("GlorotUniform").get_config() == {"seed": None}
    assert initializers.get(None) is None
    custom = lambda shape, dtype=None: np.zeros(shape)  # noqa: E731
    assert initializers.get(custom) is custom


def test_errors_list_valid_names_and_arguments():
    with pytest.raises(ValueError, match="Could not locate initializer 'glorot'.*GlorotUniform"):
        initializers.get("glorot")
    with pytest.raises(ValueError, match="mode must be one of"):
        initializers.VarianceScaling(mode="fan")
    with pytest.raises(ValueError, match="need a float dtype"):
        initializers.RandomUniform()((2,), "int32")
