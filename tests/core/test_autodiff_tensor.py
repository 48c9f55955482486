"""Derivatives of the tensor families: shape, reduce, linalg, conv, window, nn composites.

Each row builds a graph from float64 placeholders; both modes are checked: forward against
central differences, reverse against forward (the inner-product identity). Batched rows use a
None dimension and are evaluated at a concrete batch size.
"""

from __future__ import annotations

import numpy as np
import pytest

import graphc
from graphc.primitives.conv import conv_kernel_grad_p
from graphc.primitives.window import select_and_scatter_add_p
from graphc.testing import check_jvp, check_vjp


def case(name, shapes, fn, low=-1.0, high=1.0, batch=3, args=None):
    return pytest.param(shapes, fn, low, high, batch, args, id=name)


TAKE_INDICES = np.array([[2, 0], [-1, 2]])

CASES = [
    case("reshape", [(None, 2, 3)], lambda x: graphc.reshape(x, (None, 6)) * 1.5),
    case("transpose", [(2, 3, 4)], lambda x: graphc.sin(graphc.transpose(x, (2, 0, 1)))),
    case("broadcast_to", [(None, 3, 1)], lambda x: graphc.broadcast_to(x, (None, 3, 4)) ** 2),
    case("getitem_strided", [(5, 6)], lambda x: x[1:5:2, ::-2] * x[0:2, 1:4]),
    case("concatenate", [(2, 3), (4, 3)], lambda a, b: graphc.concatenate([a, b * b], axis=0)),
    case("stack", [(3,), (3,)], lambda a, b: graphc.stack([a, graphc.exp(b)], axis=1)),
    case(
        "pad_interior",
        [(None, 3)],
        lambda x: graphc.tanh(
            graphc.primitives.shape.pad_p.bind(x, config=((0, 0, 0), (1, 2, 1)), value=0.0)
        ),
    ),
    case("pad_value", [(2, 2)], lambda x: graphc.pad(x, 1, constant_values=3.0) * x.sum()),
    case("flip", [(None, 4)], lambda x: graphc.flip(x, axis=1) * x),
    case("take", [(3, 4)], lambda x: graphc.take(x, TAKE_INDICES, axis=0) ** 2),
    case(
        "take_batched_indices",
        [(5, 2)],
        lambda x: graphc.take(x, graphc.constant(np.array([4, 0, 4, 1])), axis=0) * 2,
    ),
    # scatter_add, the transpose of take: repeated and negative indices accumulate.
    case(
        "scatter_add",
        [(2, 2, 4)],
        lambda u: graphc.sin(graphc.scatter_add(u, TAKE_INDICES, axis=0, size=3)) * 2,
    ),
    case(
        "scatter_add_batched",
        [(None, 4)],
        lambda u: graphc.scatter_add(u * u, [0, 2, 0, -1], axis=1, size=3) ** 2,
    ),
    case("sum", [(None, 3, 4)], lambda x: graphc.sum(x * x, axis=(0, 2))),
    case("mean_keepdims", [(None, 4)], lambda x: graphc.mean(graphc.exp(x), axis=0, keepdims=True)),
    case("max", [(3, 4)], lambda x: graphc.max(x, axis=1)),
    case("min_all", [(3, 4)], lambda x: graphc.min(x)),
    case("var_std", [(None, 5)], lambda x: graphc.var(x, axis=1) + graphc.std(x, axis=1)),
    case("matmul_dense", [(None, 4), (4, 3)], lambda x, w: graphc.matmul(x, w)),
    case("matmul_batched", [(2, 3, 4), (4, 5)], lambda a, b: a @ b),
    case("matmul_broadcast", [(2, 1, 3, 4), (3, 4, 2)], lambda a, b: a @ b),
    case("matmul_vectors", [(4,), (4, 3)], lambda a, b: graphc.matmul(a, b)),
    case("softmax", [(None, 5)], lambda x: graphc.softmax(x) * np.arange(5.0)),
    case("log_softmax", [(None, 5)], lambda x: graphc.log_softmax(x)),
    case("logsumexp", [(2, 3)], lambda x: graphc.logsumexp(x, axis=1)),
    case("gelu_erf", [(4,)], lambda x: graphc.gelu(x, approximate=False)),
    case("gelu_tanh", [(4,)], lambda x: graphc.gelu(x, approximate=True)),
    case(
        "softplus_elu_selu", [(6,)], lambda x: graphc.softplus(x) + graphc.elu(x) + graphc.selu(x)
    ),
]

CONV_CASES = [
    case("conv_valid", [(None, 5, 5, 2), (3, 3, 2, 4)], lambda x, w: graphc.conv2d(x, w)),
    case(
        "conv_same_strided",
        [(None, 6, 7, 3), (3, 2, 3, 2)],
        lambda x, w: graphc.conv2d(x, w, strides=2, padding="same"),
    ),
    case(
        "conv_dilated", [(2, 7, 7, 1), (2, 2, 1, 3)], lambda x, w: graphc.conv2d(x, w, dilation=2)
    ),
    case(
        "conv_groups",
        [(2, 5, 5, 4), (3, 3, 2, 6)],
        lambda x, w: graphc.conv2d(x, w, padding="same", groups=2),
    ),
    case(
        "conv_uncovered_rows",
        [(1, 6, 6, 1), (3, 3, 1, 2)],
        lambda x, w: graphc.conv2d(x, w, strides=2),
    ),
    case(
        "conv1d_causal",
        [(None, 7, 2), (3, 2, 3)],
        lambda x, w: graphc.conv1d(x, w, padding="causal", dilation=2),
    ),
    # the kernel gradient is a primitive of its own; its derivatives are convolutions again
    case(
        "conv_kernel_grad_strided_groups",
        [(None, 6, 7, 4), (None, 3, 4, 6)],
        lambda x, c: conv_kernel_grad_p.bind(
            x,
            c,
            kernel_size=(3, 2),
            strides=(2, 2),
            padding=((1, 1), (0, 1)),
            lhs_dilation=(1, 1),
            rhs_dilation=(1, 1),
            feature_group_count=2,
        ),
    ),
    case(
        "conv_kernel_grad_dilated",
        [(2, 4, 5, 2), (2, 7, 3, 3)],
        lambda x, c: conv_kernel_grad_p.bind(
            x,
            c,
            kernel_size=(2, 2),
            strides=(1, 1),
            padding=((1, 0), (0, 0)),
            lhs_dilation=(2, 1),
            rhs_dilation=(1, 2),
            feature_group_count=1,
        ),
    ),
    case("max_pool", [(None, 4, 6, 2)], lambda x: graphc.max_pool2d(x, 2)),
    # the max's gradient is a primitive of its own: linear in the cotangent, flat in x
    case(
        "select_and_scatter_add",
        [(None, 5, 4, 2), (None, 2, 3, 2)],
        lambda x, c: select_and_scatter_add_p.bind(
            x,
            graphc.max_pool2d(x, (2, 2), strides=(2, 1)),
            c,
            window=(1, 2, 2, 1),
            strides=(1, 2, 1, 1),
        ),
    ),
    case(
        "max_pool_same",
        [(2, 5, 5, 1)],
        lambda x: graphc.max_pool2d(x, 3, strides=2, padding="same"),
    ),
    case("avg_pool_same", [(None, 5, 5, 2)], lambda x: graphc.avg_pool2d(x, 2, padding="same")),
    case("avg_pool1d", [(2, 6, 3)], lambda x: graphc.avg_pool1d(x, 3, strides=1)),
]


def build(shapes, fn):
    inputs = [graphc.placeholder(s, "float64", name=f"in{i}") for i, s in enumerate(shapes)]
    return graphc.Graph(inputs, fn(*inputs))


def sample(shapes, low, high, batch, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, tuple(batch if d is None else d for d in s)) for s in shapes]


@pytest.mark.parametrize("shapes, fn, low, high, batch, args", CASES + CONV_CASES)
def test_forward_and_reverse_mode(shapes, fn, low, high, batch, args):
    graph = build(shapes, fn)
    values = sample(shapes, low, high, batch)
    check_jvp(graph, values)
    check_vjp(graph, values)


def test_max_pool_sends_each_window_gradient_to_its_first_maximum():
    x = graphc.placeholder((1, 2, 4, 1), "float64", name="x")
    graph = graphc.Graph([x], graphc.sum(graphc.max_pool2d(x, 2)))
    ties = np.array([[1.0, 1.0, 0.0, 2.0], [1.0, 0.0, 2.0, 2.0]]).reshape(1, 2, 4, 1)
    gradient = graphc.grad(graph, wrt=0)(ties).reshape(2, 4)
    np.testing.assert_array_equal(gradient, [[1, 0, 0, 1], [0, 0, 0, 0]])


def test_max_reduction_splits_ties_evenly():
    x = graphc.placeholder((4,), "float64", name="x")
    gradient = graphc.grad(graphc.Graph([x], graphc.max(x)), wrt=0)([3.0, 1.0, 3.0, 2.0])
    np.testing.assert_array_equal(gradient, [0.5, 0, 0.5, 0])


def test_dense_layer_weight_gradient_contracts_the_batch():
    x = graphc.placeholder((None, 3), "float64", name="x")
    w = graphc.placeholder((3, 2), "float64", name="w")
    loss = graphc.mean(graphc.sum((x @ w) ** 2, axis=1))
    gradient = graphc.grad(graphc.Graph([x, w], loss), wrt="w")
    xs, ws = sample([(5, 3), (3, 2)], -1, 1, 5)
    expected = 2 * xs.T @ (xs @ ws) / 5
    np.testing.assert_allclose(gradient(xs, ws), expected)


def test_take_gradient_accumulates_repeated_indices():
    table = graphc.placeholder((4, 2), "float64", name="table")
    ids = graphc.constant(np.array([1, 1, 3]))
    graph = graphc.Graph([table], graphc.sum(graphc.take(table, ids, axis=0)))
    gradient = graphc.grad(graph, wrt=0)(np.ones((4, 2)))
    np.testing.assert_array_equal(gradient, [[0, 0], [2, 2], [0, 0], [1, 1]])


def test_second_order_through_matmul_and_softmax():
    x = graphc.placeholder((3,), "float64", name="x")
    w = graphc.constant(np.arange(6.0).reshape(3, 2) / 6)
    graph = graphc.Graph([x], graphc.sum(graphc.softmax(x @ w) ** 2))
    hessian = graphc.hessian(graph)
    point = np.array([0.3, -0.2, 0.5])
    np.testing.assert_allclose(hessian(point), hessian(point).T, atol=1e-12)
    check_jvp(graphc.grad(graph, wrt=0), [point])
