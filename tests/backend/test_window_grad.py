"""select_and_scatter_add, the reverse mode of an unpadded windowed max: compiled ==
interpreted for pooling grids that tile the input, leave rows uncovered, overlap, window the
leading axes or none, with ties, nan and -inf (the first maximum in row-major window order
takes the cotangent; a window whose max is nan sends it nowhere)."""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.backend import compile_graph
from graphc.primitives.window import reduce_window_p, select_and_scatter_add_p

pytestmark = pytest.mark.backend

#: (input shape, window, strides)
GRIDS = {
    "2x2 pooling that tiles": ((None, 8, 6, 5), (1, 2, 2, 1), (1, 2, 2, 1)),
    "uncovered last rows": ((None, 7, 5, 3), (1, 2, 2, 1), (1, 2, 2, 1)),
    "overlapping 3x2": ((None, 7, 5, 3), (1, 3, 2, 1), (1, 2, 1, 1)),
    "1-D pooling": ((None, 9, 4), (1, 3, 1), (1, 3, 1)),
    "windowed leading axis": ((4, None, 6), (2, 1, 2), (1, 1, 2)),
    "a whole row": ((None, 5), (1, 5), (1, 1)),
    "window 1": ((None, 3, 3, 2), (1, 1, 1, 1), (1, 1, 1, 1)),
    "plain axis with a stride": ((None, 4, 6), (1, 1, 3), (1, 2, 3)),
}


def grid_graph(shape: tuple, window: tuple, strides: tuple, dtype: str) -> graphc.Graph:
    x = graphc.placeholder(shape, dtype, name="x")
    padding = tuple((0, 0) for _ in shape)
    window_max = reduce_window_p.bind(
        x, reducer="max", window=window, strides=strides, padding=padding
    )
    ct = graphc.placeholder(window_max.shape, dtype, name="ct")
    grad = select_and_scatter_add_p.bind(x, window_max, ct, window=window, strides=strides)
    return graphc.Graph([x, ct], grad)


def concrete(shape: tuple, batch: int) -> tuple[int, ...]:
    return tuple(batch if d is None else d for d in shape)


@pytest.mark.parametrize("grid", sorted(GRIDS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_matches_interpreted(grid: str, dtype: str) -> None:
    shape, window, strides = GRIDS[grid]
    graph = grid_graph(shape, window, strides, dtype)
    f = compile_graph(graph, cache=False)
    ct_shape = graph.input_types[1].shape
    for batch in (0, 1, 3):
        rng = np.random.default_rng(batch)
        x = rng.integers(-2, 3, concrete(shape, batch)).astype(dtype)  # many ties
        if x.size:
            x.flat[0], x.flat[-1] = np.nan, -np.inf
        ct = rng.standard_normal(concrete(ct_shape, batch)).astype(dtype)
        got, want = f(x, ct), graph(x, ct)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_max_pool_gradient_goes_to_the_first_maximum_of_each_window() -> None:
    x = graphc.placeholder((None, 2, 4, 1), name="x")
    loss = graphc.Graph([x], graphc.sum(graphc.max_pool2d(x, 2) * np.float32(3.0)))
    grad = graphc.grad(loss, "x")
    assert "select_and_scatter_add" in {grad.primitive(n).name for n in grad.order}
    image = np.array([[[5, 5, 1, 2], [5, 0, 2, 2]]], np.float32)[..., None]
    want = np.array([[[3, 0, 0, 3], [0, 0, 0, 0]]], np.float32)[..., None]
    np.testing.assert_array_equal(grad(image), want)
    np.testing.assert_array_equal(compile_graph(grad, cache=False)(image), want)
