import pytest

import graphc
from graphc.frontend import InputSpec


@pytest.mark.parametrize(
    ("spec", "shape", "message"),
    [
        (InputSpec(ndim=3), (None, 4), "expected an input of rank 3, got rank 2"),
        (InputSpec(min_ndim=3), (None, 4), "expected an input of rank >= 3, got rank 2"),
        (InputSpec(max_ndim=2), (None, 4, 5), "expected an input of rank <= 2, got rank 3"),
        (InputSpec(axes={1: 8}), (None, 4, 5), "expected axis 1 of size 8, got 4"),
        (InputSpec(shape=(None, 3)), (None, 4), r"expected shape \(None, 3\)"),
    ],
)
def test_shape_violations_are_named(spec, shape, message):
    with pytest.raises(graphc.ShapeError, match=f"^L 'l' {message}"):
        spec.check("L 'l'", shape, "float32")


def test_accepted_inputs_and_dtype():
    InputSpec(ndim=2, axes={-1: 4}, shape=(None, 4)).check("L", (7, 4), "float32")
    with pytest.raises(graphc.DTypeError, match="expected dtype int32, got float32"):
        InputSpec(dtype="int32").check("L", (2,), "float32")
    assert "min_ndim=2" in repr(InputSpec(min_ndim=2))
