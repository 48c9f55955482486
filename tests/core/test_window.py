"""reduce_window_p and the pooling functions against direct loops over windows."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc
from graphc.primitives.window import reduce_window_p

RNG = np.random.default_rng(0)


def random(shape: tuple[int, ...], dtype: str = "float64") -> np.ndarray:
    if dtype.startswith("int"):
        return RNG.integers(-50, 50, shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def naive_reduce_window(x, reducer, window, strides, padding):
    """Each output element reduces the in-bounds elements of its window (padding is skipped).

    A window made only of padding gets the reducer's identity: 0, or the lowest value for max.
    """
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    out_shape = [
        (n + lo + hi - w) // s + 1 for n, w, s, (lo, hi) in zip(x.shape, window, strides, padding)
    ]
    out = np.zeros(out_shape, x.dtype)
    for index in itertools.product(*map(range, out_shape)):
        ranges = [
            range(max(i * s - lo, 0), min(i * s - lo + w, n))
            for i, s, (lo, _), w, n in zip(index, strides, padding, window, x.shape)
        ]
        values = x[np.ix_(*map(list, ranges))]
        if reducer == "sum":
            out[index] = values.sum()
        else:
            out[index] = values.max() if values.size else lowest
    return out


def naive_pool(x, kind, window, strides, padding):
    """Keras pooling: max, or mean over the real (unpadded) elements of each window."""
    full = lambda v: (1, *v, 1)  # noqa: E731
    pads = ((0, 0), *padding, (0, 0))
    if kind == "max":
        return naive_reduce_window(x, "max", full(window), full(strides), pads)
    total = naive_reduce_window(x, "sum", full(window), full(strides), pads)
    ones = np.ones((1, *x.shape[1:-1], 1))
    return total / naive_reduce_window(ones, "sum", full(window), full(strides), pads)


def run(fn, x: np.ndarray, batched: bool = True, **kwargs) -> np.ndarray:
    value = graphc.placeholder((None, *x.shape[1:]) if batched else x.shape, x.dtype)
    out = fn(value, **kwargs)
    result = graphc.Graph([value], out)(x)
    assert result.shape == out.type.concrete_shape(x.shape[0])
    return result


def assert_close(result: np.ndarray, expected: np.ndarray) -> None:
    assert result.dtype == expected.dtype and result.shape == expected.shape
    if result.dtype.kind == "f":
        tol = 1e-5 if result.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(result, expected, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(result, expected)


# --- the primitive -----------------------------------------------------------------------------

WINDOWS = [
    ((5,), (2,), (1,), ((0, 0),)),
    ((6,), (3,), (2,), ((1, 2),)),
    ((4, 5), (2, 3), (1, 2), ((0, 1), (2, 0))),
    ((3, 4, 5), (1, 2, 2), (1, 2, 2), ((0, 0), (1, 1), (0, 1))),
    ((2, 5, 5, 3), (1, 3, 3, 1), (1, 2, 2, 1), ((0, 0), (1, 1), (1, 1), (0, 0))),
    ((2, 4, 4, 3), (1, 4, 4, 2), (1, 1, 1, 1), ((0, 0), (0, 0), (0, 0), (0, 0))),
]


@pytest.mark.parametrize("reducer", ["max", "sum"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
@pytest.mark.parametrize("shape, window, strides, padding", WINDOWS)
def test_reduce_window_matches_naive_loop(shape, window, strides, padding, dtype, reducer):
    x = random(shape, dtype)
    config = dict(reducer=reducer, window=window, strides=strides, padding=padding)
    result = run(lambda v: reduce_window_p.bind(v, **config), x, batched=False)
    assert_close(result, naive_reduce_window(x, reducer, window, strides, padding))


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_reduce_window_max_padding_never_wins(dtype):
    # All real values are the dtype's most negative: the padding must not replace them by 0.
    low = -np.inf if dtype == "float32" else np.iinfo(dtype).min
    x = np.full((3, 3), low, dtype)
    x[1, 1] = -7
    config = dict(reducer="max", window=(2, 2), strides=(2, 2), padding=((1, 0), (1, 0)))
    result = run(lambda v: reduce_window_p.bind(v, **config), x, batched=False)
    np.testing.assert_array_equal(result, [[low, low], [low, -7]])


@pytest.mark.parametrize("batch", [0, 1, 3])
def test_reduce_window_batch_axis(batch):
    x = random((batch, 6, 2))
    config = dict(
        reducer="sum", window=(1, 3, 2), strides=(1, 2, 1), padding=((0, 0), (1, 0), (0, 0))
    )
    result = run(lambda v: reduce_window_p.bind(v, **config), x)
    assert_close(result, naive_reduce_window(x, **config))


@settings(max_examples=40, deadline=None)
@given(data=st.data(), ndim=st.integers(1, 3), reducer=st.sampled_from(["max", "sum"]))
def test_random_windows_match_naive_loop(data, ndim, reducer):
    shape = data.draw(st.tuples(*[st.integers(1, 5)] * ndim))
    padding = tuple(data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2))) for _ in shape)
    window = tuple(data.draw(st.integers(1, n + sum(p))) for n, p in zip(shape, padding))
    strides = data.draw(st.tuples(*[st.integers(1, 3)] * ndim))
    x = random(shape, data.draw(st.sampled_from(["float64", "int32"])))
    config = dict(reducer=reducer, window=window, strides=strides, padding=padding)
    result = run(lambda v: reduce_window_p.bind(v, **config), x, batched=False)
    assert_close(result, naive_reduce_window(x, **config))


@pytest.mark.parametrize(
    "shape, config, message",
    [
        (
            (None, 4),
            dict(window=(2, 2), strides=(1, 1), padding=((0, 0), (0, 0))),
            "the batch axis 0 of f32[None,4] must have window 1",
        ),
        (
            (None, 4),
            dict(window=(1, 2), strides=(1, 1), padding=((1, 0), (0, 0))),
            "must have window 1, stride 1 and no padding",
        ),
        (
            (3, 4),
            dict(window=(1, 5), strides=(1, 1), padding=((0, 0), (0, 0))),
            "the window (5) is larger than the padded input (4) along axis 1 of f32[3,4]",
        ),
        (
            (3, 4),
            dict(window=(1,), strides=(1, 1), padding=((0, 0), (0, 0))),
            "reduce_window: window (for f32[3,4]) must be",
        ),
        (
            (3, 4),
            dict(window=(1, 1), strides=(1, 0), padding=((0, 0), (0, 0))),
            "reduce_window: strides (for f32[3,4]) must be",
        ),
        (
            (3, 4),
            dict(window=(1, 1), strides=(1, 1), padding=((0, 0),)),
            "padding needs one (lo, hi) pair of ints >= 0 per axis",
        ),
        (
            (3, 4),
            dict(window=(1, 1), strides=(1, 1), padding=((0, 0), (0, -1))),
            "padding needs one (lo, hi) pair of ints >= 0 per axis of f32[3,4]",
        ),
    ],
)
def test_reduce_window_shape_errors(shape, config, message):
    with pytest.raises(graphc.ShapeError) as info:
        reduce_window_p.bind(graphc.placeholder(shape), reducer="max", **config)
    assert message in str(info.value)


def test_reduce_window_refuses_bool_and_unknown_reducers():
    config = dict(window=(1,), strides=(1,), padding=((0, 0),))
    with pytest.raises(graphc.ShapeError, match=r"window \(for f32\[3\]\) must be a tuple"):
        reduce_window_p.bind(graphc.placeholder((3,)), reducer="max", **(config | {"window": 1}))
    with pytest.raises(
        graphc.DTypeError, match=r"reduce_window: expected a numeric operand, got bool\[3\]"
    ):
        reduce_window_p.bind(graphc.placeholder((3,), "bool"), reducer="max", **config)
    with pytest.raises(graphc.ShapeError, match="reducer must be one of"):
        reduce_window_p.bind(graphc.placeholder((3,)), reducer="min", **config)


# --- pooling -----------------------------------------------------------------------------------


def same_pads(size: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow's documented rule for "same", written out independently of graphc."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


POOL_CASES_2D = [
    # (input spatial, pool_size, strides, padding)
    ((6, 6), 2, None, "valid"),
    ((7, 5), 2, None, "valid"),
    ((7, 5), (3, 2), (2, 1), "valid"),
    ((5, 5), 2, None, "same"),
    ((7, 6), 3, 2, "SAME"),
    ((4, 4), 3, 1, "same"),
    ((5, 7), (2, 3), (3, 2), "same"),
    ((5, 5), 2, 1, ((1, 0), (0, 1))),
]


def expected_2d(x, kind, pool_size, strides, padding):
    window = (pool_size,) * 2 if isinstance(pool_size, int) else pool_size
    steps = window if strides is None else (strides,) * 2 if isinstance(strides, int) else strides
    if padding == "valid":
        pads = ((0, 0), (0, 0))
    elif isinstance(padding, str):
        pads = tuple(same_pads(n, w, s) for n, w, s in zip(x.shape[1:3], window, steps))
    else:
        pads = padding
    return naive_pool(x, kind, window, steps, pads)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("size, pool_size, strides, padding", POOL_CASES_2D)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool2d_matches_naive_loop(kind, size, pool_size, strides, padding, dtype):
    fn = graphc.max_pool2d if kind == "max" else graphc.avg_pool2d
    x = random((2, *size, 3), dtype)
    result = run(fn, x, pool_size=pool_size, strides=strides, padding=padding)
    assert_close(result, expected_2d(x, kind, pool_size, strides, padding).astype(dtype))


@pytest.mark.parametrize("size", [1, 4, 5, 7])
@pytest.mark.parametrize("pool", [1, 2, 3])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_same_pool_output_size_is_ceil_of_input_over_stride(size, pool, stride):
    x = graphc.placeholder((None, size, size + 1, 2))
    for fn in (graphc.max_pool2d, graphc.avg_pool2d):
        out = fn(x, pool, stride, "same")
        assert out.shape == (None, math.ceil(size / stride), math.ceil((size + 1) / stride), 2)


@pytest.mark.parametrize("batch", [0, 1, 3])
def test_pool2d_batch_dimension(batch):
    x = random((batch, 5, 5, 2), "float32")
    for kind, fn in [("max", graphc.max_pool2d), ("avg", graphc.avg_pool2d)]:
        result = run(fn, x, pool_size=2, padding="same")
        assert_close(result, expected_2d(x, kind, 2, None, "same").astype("float32"))


def test_avg_pool_same_counts_only_real_elements():
    # 3x3 input, 2x2 windows at stride 2 with "same": padding (0, 1) on each axis, so the
    # windows hold 4, 2, 2 and 1 real elements. Averaging ones must give exactly ones.
    x = np.ones((1, 3, 3, 1))
    np.testing.assert_array_equal(
        run(graphc.avg_pool2d, x, padding="same")[0, ..., 0], np.ones((2, 2))
    )
    x = np.arange(9.0).reshape(1, 3, 3, 1)
    result = run(graphc.avg_pool2d, x, padding="same")[0, ..., 0]
    np.testing.assert_allclose(result, [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8.0]])


def test_avg_pool_same_count_is_a_small_constant_subgraph():
    x = graphc.placeholder((None, 5, 5, 4))
    out = graphc.avg_pool2d(x, 2, padding="same")
    assert out.primitive.name == "div"
    total, counts = out.inputs
    assert total.primitive is reduce_window_p and total.inputs == (x,)
    assert counts.primitive is reduce_window_p and counts.shape == (1, 3, 3, 1)
    assert graphc.core.is_constant(counts.inputs[0])
    # Without padding the divisor is the plain window size.
    valid = graphc.avg_pool2d(x, 2)
    assert graphc.core.is_constant(valid.inputs[1]) and valid.inputs[1].shape == ()


def test_avg_pool_of_integers_is_float64_and_max_pool_keeps_the_dtype():
    x = random((2, 4, 4, 1), "int32")
    avg = run(graphc.avg_pool2d, x)
    assert_close(avg, naive_pool(x.astype(np.float64), "avg", (2, 2), (2, 2), ((0, 0), (0, 0))))
    assert_close(run(graphc.max_pool2d, x), naive_pool(x, "max", (2, 2), (2, 2), ((0, 0), (0, 0))))


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(
    "size, pool_size, strides, padding",
    [
        (9, 2, None, "valid"),
        (9, 3, 2, "same"),
        (8, 3, 1, "same"),
        (5, 4, 1, "valid"),
        (6, 3, 1, ((1, 2),)),
    ],
)
@pytest.mark.parametrize("batch", [0, 1, 3])
def test_pool1d_matches_naive_loop(kind, size, pool_size, strides, padding, batch):
    fn = graphc.max_pool1d if kind == "max" else graphc.avg_pool1d
    x = random((batch, size, 3), "float32")
    step = pool_size if strides is None else strides
    if padding == "valid":
        pads = ((0, 0),)
    elif padding == "same":
        pads = (same_pads(size, pool_size, step),)
    else:
        pads = padding
    expected = naive_pool(x, kind, (pool_size,), (step,), pads).astype("float32")
    assert_close(run(fn, x, pool_size=pool_size, strides=strides, padding=padding), expected)


@pytest.mark.parametrize(
    "fn, shape, kwargs, message",
    [
        (
            graphc.max_pool2d,
            (None, 5, 5),
            {},
            r"max_pool2d: expected a 4-d NHWC input, got f32\[None,5,5\]",
        ),
        (
            graphc.avg_pool1d,
            (None, 5, 5, 2),
            {},
            r"avg_pool1d: expected a 3-d NWC input, got f32\[None,5,5,2\]",
        ),
        (
            graphc.max_pool2d,
            (None, 1, 5, 2),
            {},
            r"max_pool2d: the window \(2\) is larger than the padded input \(1\) along "
            r"spatial axis 0 of f32\[None,1,5,2\]",
        ),
        (
            graphc.avg_pool2d,
            (None, 5, 5, 2),
            {"pool_size": (2, 2, 2)},
            r"avg_pool2d: pool_size must be",
        ),
        (graphc.max_pool1d, (None, 5, 2), {"strides": 0}, r"max_pool1d: strides must be"),
        (
            graphc.max_pool1d,
            (None, 5, 2),
            {"padding": "causal"},
            r"max_pool1d: padding must be 'valid', 'same'",
        ),
        (
            graphc.avg_pool2d,
            (None, 5, 5, 2),
            {"padding": ((0, 2), (1, 1))},
            r"avg_pool2d: padding must be smaller than the pool size on each side, got padding "
            r"\(\(0, 2\), \(1, 1\)\) for pool_size \(2, 2\)",
        ),
        (
            graphc.max_pool2d,
            (5, None, 5, 2),
            {},
            r"max_pool2d: only the input's first \(batch\) axis may be None",
        ),
    ],
)
def test_pool_errors(fn, shape, kwargs, message):
    with pytest.raises(graphc.ShapeError, match=message):
        fn(graphc.placeholder(shape), **kwargs)


def test_pool_refuses_bool():
    with pytest.raises(
        graphc.DTypeError, match=r"max_pool2d: expected a numeric operand, got bool"
    ):
        graphc.max_pool2d(graphc.placeholder((1, 4, 4, 1), "bool"))
