"""conv_p, graphc.conv2d and graphc.conv1d against a direct loop over output pixels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import graphc
from graphc.primitives.conv import conv_p, same_padding

RNG = np.random.default_rng(0)


def random(shape: tuple[int, ...], dtype: str = "float64") -> np.ndarray:
    if dtype.startswith("int"):
        return RNG.integers(-4, 5, shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def naive_conv(
    x, k, strides=(1, 1), padding=((0, 0), (0, 0)), lhs_dil=(1, 1), rhs_dil=(1, 1), groups=1
):
    """The definition, one output pixel at a time, accumulated in float64 (or int64)."""
    acc = np.float64 if x.dtype.kind == "f" else np.int64
    n, h, w, c = x.shape
    dilated = np.zeros((n, (h - 1) * lhs_dil[0] + 1, (w - 1) * lhs_dil[1] + 1, c), acc)
    dilated[:, :: lhs_dil[0], :: lhs_dil[1]] = x
    padded = np.pad(dilated, ((0, 0), *padding, (0, 0)))
    kh, kw, k_in, k_out = k.shape
    per_group = k_out // groups
    rows = (padded.shape[1] - (kh - 1) * rhs_dil[0] - 1) // strides[0] + 1
    cols = (padded.shape[2] - (kw - 1) * rhs_dil[1] - 1) // strides[1] + 1
    out = np.zeros((n, rows, cols, k_out), acc)
    for i in range(rows):
        for j in range(cols):
            taps_i = i * strides[0] + np.arange(kh) * rhs_dil[0]
            taps_j = j * strides[1] + np.arange(kw) * rhs_dil[1]
            patch = padded[:, taps_i][:, :, taps_j]  # (n, kh, kw, c)
            for o in range(k_out):
                g = o // per_group
                channels = patch[..., g * k_in : (g + 1) * k_in]
                out[:, i, j, o] = np.einsum("nabc,abc->n", channels, k[..., o].astype(acc))
    return out.astype(x.dtype)


def run_conv(x: np.ndarray, k: np.ndarray, batched: bool = False, **attrs) -> np.ndarray:
    lhs = graphc.placeholder((None, *x.shape[1:]) if batched else x.shape, x.dtype)
    rhs = graphc.placeholder(k.shape, k.dtype)
    return graphc.Graph([lhs, rhs], conv_p.bind(lhs, rhs, **attrs))(x, k)


def attrs(strides=(1, 1), padding=((0, 0), (0, 0)), lhs_dil=(1, 1), rhs_dil=(1, 1), groups=1):
    return dict(
        strides=strides,
        padding=padding,
        lhs_dilation=lhs_dil,
        rhs_dilation=rhs_dil,
        feature_group_count=groups,
    )


def assert_close(result: np.ndarray, expected: np.ndarray) -> None:
    assert result.dtype == expected.dtype and result.shape == expected.shape
    tol = {np.dtype("float32"): 1e-4, np.dtype("float64"): 1e-12}.get(result.dtype, 0)
    np.testing.assert_allclose(result, expected, rtol=tol, atol=tol)


CONFIGS = [
    attrs(),
    attrs(strides=(2, 2)),
    attrs(strides=(1, 3)),
    attrs(padding=((1, 1), (1, 1))),
    attrs(padding=((0, 2), (3, 1))),
    attrs(lhs_dil=(2, 2)),
    attrs(lhs_dil=(3, 1), padding=((2, 2), (0, 1))),
    attrs(rhs_dil=(2, 2)),
    attrs(rhs_dil=(1, 2), strides=(2, 1)),
    attrs(groups=2),
    attrs(groups=4),
    attrs(strides=(2, 2), padding=((1, 2), (2, 1)), lhs_dil=(2, 1), rhs_dil=(1, 2), groups=2),
]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: str(list(c.values())))
def test_conv_primitive_matches_naive_loop(config, dtype):
    groups = config["feature_group_count"]
    x = random((2, 7, 6, 4), dtype)
    k = random((3, 2, 4 // groups, 4), dtype)
    assert_close(run_conv(x, k, **config), naive_conv(x, k, *list(config.values())))


@pytest.mark.parametrize("batch", [0, 1, 3])
def test_conv_batch_dimension(batch):
    x, k = random((batch, 5, 5, 2), "float32"), random((3, 3, 2, 3), "float32")
    config = attrs(strides=(2, 1), padding=((1, 1), (0, 1)))
    assert_close(run_conv(x, k, batched=True, **config), naive_conv(x, k, *config.values()))


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    batch=st.integers(0, 2),
    size=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    window=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    strides=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    lhs_dil=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    rhs_dil=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    groups=st.sampled_from([1, 2, 3]),
    per_group=st.tuples(st.integers(1, 2), st.integers(1, 2)),
)
def test_random_conv_configurations_match_naive_loop(
    data, batch, size, window, strides, lhs_dil, rhs_dil, groups, per_group
):
    padding = tuple((data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))) for _ in range(2))
    # Keep only configurations where the window fits the dilated, padded input.
    for axis in range(2):
        dilated = (size[axis] - 1) * lhs_dil[axis] + 1 + sum(padding[axis])
        assume(dilated >= (window[axis] - 1) * rhs_dil[axis] + 1)
    c_in, c_out = per_group[0] * groups, per_group[1] * groups
    x = random((batch, *size, c_in))
    k = random((*window, per_group[0], c_out))
    config = attrs(strides, padding, lhs_dil, rhs_dil, groups)
    assert_close(run_conv(x, k, batched=True, **config), naive_conv(x, k, *config.values()))


# --- conv2d ------------------------------------------------------------------------------------


def keras_same_output(size: int, stride: int) -> int:
    return math.ceil(size / stride)  # Keras' documented output size for padding="same"


@pytest.mark.parametrize("size", [1, 5, 6, 7, 28])
@pytest.mark.parametrize("window", [1, 2, 3, 5])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("dilation", [1, 2])
def test_same_padding_output_size(size, window, stride, dilation):
    lo, hi = same_padding(size, window, stride, dilation)
    assert 0 <= hi - lo <= 1  # the odd element goes at the end, as in TensorFlow
    effective = (window - 1) * dilation + 1
    assert (size + lo + hi - effective) // stride + 1 == keras_same_output(size, stride)
    x = graphc.placeholder((None, size, 3, 1))
    k = graphc.placeholder((window, 1, 1, 2))
    out = graphc.conv2d(x, k, strides=(stride, 1), padding="same", dilation=(dilation, 1))
    assert out.shape == (None, keras_same_output(size, stride), 3, 2)


@pytest.mark.parametrize(
    "kwargs, config",
    [
        ({}, attrs()),
        ({"strides": 2}, attrs(strides=(2, 2))),
        ({"padding": "same"}, attrs(padding=((1, 1), (1, 1)))),
        ({"padding": "SAME", "strides": 2}, attrs(strides=(2, 2), padding=((0, 1), (1, 1)))),
        ({"padding": "Valid", "dilation": (1, 2)}, attrs(rhs_dil=(1, 2))),
        ({"padding": ((2, 0), (1, 3))}, attrs(padding=((2, 0), (1, 3)))),
        ({"padding": "same", "dilation": 2}, attrs(padding=((2, 2), (2, 2)), rhs_dil=(2, 2))),
        ({"groups": 2, "strides": (1, 2)}, attrs(strides=(1, 2), groups=2)),
    ],
)
def test_conv2d_matches_naive_loop(kwargs, config):
    groups = config["feature_group_count"]
    x, k = random((2, 6, 7, 4), "float32"), random((3, 3, 4 // groups, 6), "float32")
    lhs, rhs = graphc.placeholder((None, 6, 7, 4)), graphc.placeholder(k.shape)
    result = graphc.Graph([lhs, rhs], graphc.conv2d(lhs, rhs, **kwargs))(x, k)
    assert_close(result, naive_conv(x, k, *config.values()))


def test_conv2d_promotes_dtypes():
    x = graphc.placeholder((1, 4, 4, 1), "int32")
    out = graphc.conv2d(x, np.ones((2, 2, 1, 1), np.float32))
    assert out.dtype == np.float64  # int32 with float32 is float64, as in numpy


@pytest.mark.parametrize(
    "x_shape, k_shape, kwargs, message",
    [
        (
            (None, 8, 8, 3),
            (3, 3, 4, 8),
            {},
            r"conv2d: input channels .* got f32\[None,8,8,3\] and f32\[3,3,4,8\]",
        ),
        ((None, 8, 8, 4), (3, 3, 2, 7), {"groups": 2}, r"conv2d: .*divide into the groups"),
        (
            (None, 8, 8),
            (3, 3, 3, 8),
            {},
            r"conv2d: expected a 4-d input and kernel \(NHWC and HWIO\), got f32\[None,8,8\]",
        ),
        (
            (None, 2, 8, 3),
            (3, 3, 3, 8),
            {},
            r"conv2d: the window \(3\) is larger than the padded input \(2\) "
            r"along spatial axis 0",
        ),
        (
            (None, 8, 8, 3),
            (3, 3, 3, 8),
            {"padding": "full"},
            r"conv2d: padding must be 'valid', 'same' or explicit pairs",
        ),
        ((None, 8, 8, 3), (3, 3, 3, 8), {"padding": ((1, 1),)}, r"conv2d: padding must be"),
        ((None, 8, 8, 3), (3, 3, 3, 8), {"strides": 0}, r"conv2d: strides must be a positive int"),
        ((None, 8, 8, 3), (3, 3, 3, 8), {"dilation": (1, 2, 3)}, r"conv2d: dilation must be"),
        (
            (None, None, 8, 3),
            (3, 3, 3, 8),
            {},
            r"conv2d: only the input's first \(batch\) axis may be None",
        ),
    ],
)
def test_conv2d_errors(x_shape, k_shape, kwargs, message):
    with pytest.raises(graphc.ShapeError, match=message):
        graphc.conv2d(graphc.placeholder(x_shape), graphc.placeholder(k_shape), **kwargs)


def test_conv_refuses_bool_and_mixed_dtypes():
    with pytest.raises(graphc.DTypeError, match=r"conv2d: expected numeric operands, got bool"):
        graphc.conv2d(
            graphc.placeholder((1, 3, 3, 1), "bool"), graphc.placeholder((1, 1, 1, 1), "bool")
        )
    with pytest.raises(graphc.DTypeError, match=r"conv: operands must share a dtype, got f32"):
        conv_p.bind(
            graphc.placeholder((1, 3, 3, 1)), graphc.placeholder((1, 1, 1, 1), "float64"), **attrs()
        )


def test_conv_primitive_checks_its_attributes():
    x, k = graphc.placeholder((None, 5, 5, 2)), graphc.placeholder((2, 2, 2, 2))
    with pytest.raises(graphc.ShapeError, match="conv: lhs_dilation must be"):
        conv_p.bind(x, k, **attrs(lhs_dil=(0, 1)))
    with pytest.raises(graphc.ShapeError, match="conv: padding must be two"):
        conv_p.bind(x, k, **attrs(padding=((-1, 0), (0, 0))))
    with pytest.raises(graphc.ShapeError, match="conv: strides must be a tuple of 2 positive ints"):
        conv_p.bind(x, k, **attrs(strides=2))
    with pytest.raises(graphc.ShapeError, match="conv: feature_group_count must be"):
        conv_p.bind(x, k, **attrs(groups=0))
    out = conv_p.bind(x, k, **attrs(lhs_dil=(2, 2), padding=((1, 1), (0, 0)), strides=(2, 3)))
    # ((5 - 1) * 2 + 1 + 2 - 2) // 2 + 1 = 5 and ((5 - 1) * 2 + 1 - 2) // 3 + 1 = 3
    assert out.type == graphc.TensorType((None, 5, 3, 2), "float32")


# --- conv1d ------------------------------------------------------------------------------------


def naive_conv1d(x, k, stride, pads, dilation, groups=1):
    return naive_conv(
        x[:, None], k[None], (1, stride), ((0, 0), pads), (1, 1), (1, dilation), groups
    )[:, 0]


@pytest.mark.parametrize(
    "kwargs, stride, pads, dilation",
    [
        ({}, 1, (0, 0), 1),
        ({"strides": 2, "padding": "same"}, 2, (1, 1), 1),
        ({"padding": "same", "dilation": 2}, 1, (2, 2), 2),
        ({"padding": "causal"}, 1, (2, 0), 1),
        ({"padding": "Causal", "dilation": 3}, 1, (6, 0), 3),
        ({"padding": "causal", "strides": 2}, 2, (2, 0), 1),
        ({"padding": ((1, 4),)}, 1, (1, 4), 1),
    ],
)
@pytest.mark.parametrize("batch", [0, 1, 3])
def test_conv1d_matches_naive_loop(kwargs, stride, pads, dilation, batch):
    x, k = random((batch, 9, 2), "float32"), random((3, 2, 5), "float32")
    lhs, rhs = graphc.placeholder((None, 9, 2)), graphc.placeholder(k.shape)
    out = graphc.conv1d(lhs, rhs, **kwargs)
    expected = naive_conv1d(x, k, stride, pads, dilation)
    assert out.shape == (None, *expected.shape[1:])
    assert_close(graphc.Graph([lhs, rhs], out)(x, k), expected)


def test_conv1d_groups():
    x, k = random((2, 6, 4)), random((2, 2, 6))
    lhs = graphc.placeholder(x.shape, "float64")
    result = graphc.Graph([lhs], graphc.conv1d(lhs, k, groups=2))(x)
    assert_close(result, naive_conv1d(x, k, 1, (0, 0), 1, groups=2))


def test_conv1d_causal_output_never_sees_the_future():
    k = random((4, 1, 1))
    lhs = graphc.placeholder((1, 10, 1), "float64")
    graph = graphc.Graph([lhs], graphc.conv1d(lhs, k, padding="causal", dilation=2))
    x = random((1, 10, 1))
    changed = x.copy()
    changed[:, 6:] += 1.0
    before, after = graph(x), graph(changed)
    assert before.shape == (1, 10, 1)
    np.testing.assert_array_equal(before[:, :6], after[:, :6])
    assert not np.allclose(before[:, 6:], after[:, 6:])


def test_conv1d_errors():
    with pytest.raises(
        graphc.ShapeError,
        match=r"conv1d: expected a 3-d input and kernel \(NWC and WIO\), got f32\[None,9,9,2\]",
    ):
        graphc.conv1d(graphc.placeholder((None, 9, 9, 2)), graphc.placeholder((3, 2, 5)))
    with pytest.raises(
        graphc.ShapeError, match=r"conv1d: the window \(5 after dilation\) is larger"
    ):
        graphc.conv1d(graphc.placeholder((None, 4, 2)), graphc.placeholder((3, 2, 5)), dilation=2)
