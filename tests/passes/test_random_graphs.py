"""Property tests: every pass and every level keeps the interpreter's results on random graphs.

Graphs are drawn over the elementwise, compare/select, cast, shape and reduce primitives, in
float64 and int32, with the constants (0, 1, -1, 2, broadcast zeros) that make rewrites fire.
Exact passes must give the same values up to numpy's own layout-dependent rounding (a sum over
a transposed view may round differently), hence a tight tolerance (rtol 1e-9) rather than
bitwise equality; signed zeros matter even so, as 1 / x turns them into infinities.

Small models (`random_model`) exercise what those graphs never reach: matmul and conv layers
with constant weights, biases, the batch-normalization forms the inference pass folds,
activations (so fusion builds epilogues), random selects that look like dropout but are not
(which must stay), and shared uses (a layer's output read twice, a residual, a weight used by
two layers) that must stop folding and fusion from duplicating work. Level 2 with
`inference=True` and verification must compute what the unoptimized graph computes, up to the
rounding that folding scales into weights changes.
"""

from __future__ import annotations

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st

import graphc
from graphc.errors import ShapeError
from graphc.passes import optimize, specialize_for_inference
from graphc.types import broadcast_shapes

UNARY = [
    graphc.negative,
    graphc.abs,
    graphc.sin,
    graphc.tanh,
    graphc.exp,
    lambda v: graphc.sqrt(graphc.abs(v)),
    lambda v: graphc.cast(graphc.cast(v, "float32"), "float64"),
    lambda v: graphc.negative(graphc.negative(v)),
]
BINARY = [
    graphc.add,
    graphc.subtract,
    graphc.multiply,
    graphc.maximum,
    graphc.minimum,
    lambda a, b: a / (graphc.abs(b) + 1.0),
]
INTEGER = [
    lambda i: i * 0 + i,
    lambda i: (i + 1) + 2,
    lambda i: i - i + 1,
    lambda i: i**3,
    lambda i: graphc.maximum(i, i) * -1,
]
CONSTANTS = [0.0, 1.0, -1.0, 2.0, 0.5]
EXPONENTS = [0.0, 1.0, 2.0, -1.0, 3.0]


def _compatible(a: graphc.Value, b: graphc.Value) -> bool:
    try:
        broadcast_shapes(a.shape, b.shape)
    except ShapeError:
        return False
    return True


def _step(data: st.DataObject, pool: list[graphc.Value]) -> graphc.Value:
    pick = lambda: data.draw(st.sampled_from(pool))  # noqa: E731
    kind = data.draw(
        st.sampled_from(
            ["unary", "binary", "constant", "pow", "select", "shape", "reduce", "zeros", "integer"]
        )
    )
    v = pick()
    if kind == "unary":
        return data.draw(st.sampled_from(UNARY))(v)
    if kind == "binary":
        w = pick()
        return data.draw(st.sampled_from(BINARY))(v, w if _compatible(v, w) else v)
    if kind == "constant":
        c = data.draw(st.sampled_from(CONSTANTS))
        op = data.draw(st.sampled_from(BINARY[:5]))
        return op(v, c) if data.draw(st.booleans()) else op(c, v)
    if kind == "pow":
        return graphc.power(v, data.draw(st.sampled_from(EXPONENTS)))
    if kind == "select":
        w = pick()
        if not _compatible(v, w):
            return v
        return graphc.where(v > w, v, data.draw(st.sampled_from([w, v, v * 2.0])))
    if kind == "shape":
        if v.ndim == 2:
            return graphc.transpose(graphc.sin(graphc.transpose(v)))
        if v.ndim == 1:
            return graphc.broadcast_to(v, (None, v.shape[0]))
        return graphc.reshape(graphc.reshape(v, (1,)), ())
    if kind == "reduce":
        if v.ndim == 0:
            return v
        reducer = data.draw(st.sampled_from([graphc.sum, graphc.max, graphc.min]))
        return reducer(v, axis=v.ndim - 1, keepdims=data.draw(st.booleans()))
    if kind == "integer":  # int32 arithmetic, exact, so its rewrites need no fast_math
        i = graphc.cast(graphc.floor(graphc.tanh(v) * 100.0), "int32")
        return graphc.cast(data.draw(st.sampled_from(INTEGER))(i), "float64")
    zeros = graphc.broadcast_to(graphc.constant(0.0), v.shape)
    return data.draw(st.sampled_from([zeros + v, v * (zeros + 1.0), graphc.exp(zeros) * v]))


def random_graph(data: st.DataObject) -> graphc.Graph:
    x = graphc.placeholder((None, 3), "float64", name="x")
    y = graphc.placeholder((3,), "float64", name="y")
    z = graphc.placeholder((), "float64", name="z")
    pool: list[graphc.Value] = [x, y, z]
    for _ in range(data.draw(st.integers(2, 10))):
        pool.append(_step(data, pool))
    outputs = [pool[-1]] + data.draw(st.lists(st.sampled_from(pool[3:]), max_size=2))
    if not any(v.type.is_batched for v in outputs):
        outputs.append(x)
    return graphc.Graph([x, y, z], outputs)


def arguments(seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-2, 2, (4, 3)), rng.uniform(-2, 2, 3), np.float64(rng.uniform(-2, 2))


def assert_same(reference: list, result: list) -> None:
    assert len(reference) == len(result)
    for want, got in zip(reference, result):
        assert want.shape == got.shape and want.dtype == got.dtype
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_every_pass_and_level_keeps_the_results(data, seed):
    graph = random_graph(data)
    args = arguments(seed)
    reference = graph(*args)
    for level in (0, 1, 2):
        assert_same(reference, optimize(graph, level, verify=True)(*args))
    for name in ("dce", "cse", "fold", "simplify", "inference", "fuse"):
        assert_same(reference, optimize(graph, passes=[name], verify=True)(*args))
    _, report = optimize(graph, 2, stats=True)
    plan = report.memory_plan
    assert plan.live_peak_bytes(4) <= plan.planned_peak_bytes(4) <= plan.naive_bytes(4)


# --- small models: matmul/conv, bias, batch norm, activations, shared uses -------------------

ACTIVATIONS = {
    "linear": lambda v: v,
    "relu": graphc.relu,
    "tanh": graphc.tanh,
    "sigmoid": graphc.sigmoid,
    "softmax": graphc.softmax,
}
NORMALIZATIONS = [  # (y, s, b, rng) -> y normalized, as layers and hand-written code spell it
    "none",
    "y * s + b",
    "s * y + b",
    "(y - mean) / std + beta",
    "(y - mean) * inv + beta",  # the frontend's BatchNormalization at inference
    "b + y * s",
    "y * 2 - 1",
    "y / s",
]


def _normalize(form: str, y: graphc.Value, rng: np.random.Generator, data) -> graphc.Value:
    channels = y.shape[-1]
    shape = data.draw(st.sampled_from([(channels,), (1,) * (y.ndim - 1) + (channels,), ()]))
    s = graphc.constant(rng.uniform(0.5, 2.0, shape))  # positive: a std, never zero
    b = graphc.constant(rng.normal(size=shape))
    if form == "y * s + b":
        return y * s + b
    if form == "s * y + b":
        return s * y + b
    if form == "(y - mean) / std + beta":
        return (y - b) / s + graphc.constant(rng.normal(size=shape))
    if form == "(y - mean) * inv + beta":
        return (y - b) * s + graphc.constant(rng.normal(size=shape))
    if form == "b + y * s":
        return b + y * s
    if form == "y * 2 - 1":
        return y * 2.0 - 1.0
    if form == "y / s":
        return y / s
    return y


def _layer(data, rng, h: graphc.Value, shared: dict, outputs: list) -> graphc.Value:
    n_out = data.draw(st.sampled_from([2, 3, 4]))
    if h.ndim == 2:
        shape = (h.shape[-1], n_out)
    else:
        shape = (data.draw(st.sampled_from([1, 3])), 3, h.shape[-1], n_out)
    if shape in shared and data.draw(st.booleans()):  # the same weights in two layers
        weights = shared[shape]
    else:
        weights = shared.setdefault(shape, graphc.constant(rng.normal(scale=0.7, size=shape)))
    y = h @ weights if h.ndim == 2 else graphc.conv2d(h, weights, padding="same")
    if data.draw(st.booleans()):
        bias = graphc.constant(rng.normal(size=n_out))
        y = y + bias if data.draw(st.booleans()) else bias + y
    if data.draw(st.integers(0, 5)) == 0:  # read elsewhere too: folding must not fire
        outputs.append(y)
    y = _normalize(data.draw(st.sampled_from(NORMALIZATIONS)), y, rng, data)
    y = ACTIVATIONS[data.draw(st.sampled_from(sorted(ACTIVATIONS)))](y)
    if data.draw(st.integers(0, 4)) == 0:  # random numbers that are not a dropout mask
        u = graphc.random_uniform(data.draw(st.integers(0, 99)), y.shape, "float64")
        scale = data.draw(st.sampled_from([2.0, 1.0, 1 / 0.6]))  # never 1 / (1 - 0.3)
        y = graphc.where(u >= 0.3, y * scale, data.draw(st.sampled_from([0.0, 1.0])))
    if y.shape == h.shape and data.draw(st.booleans()):  # a residual: h is read twice
        y = y + h
    return y


def random_model(data: st.DataObject) -> graphc.Graph:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    image = data.draw(st.booleans())
    shape = (None, 5, 5, 2) if image else (None, 4)
    x = graphc.placeholder(shape, "float64", name="x")
    h, shared, outputs = x, {}, []
    for _ in range(data.draw(st.integers(1, 3))):
        h = _layer(data, rng, h, shared, outputs)
    return graphc.Graph([x], [h, *outputs] if outputs else h, name="model")


def model_arguments(graph: graphc.Graph, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=t.concrete_shape(3)) for t in graph.input_types]


@settings(max_examples=30, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_inference_and_fusion_keep_the_results_of_random_models(data, seed):
    graph = random_model(data)
    args = model_arguments(graph, seed)
    reference = graph(*args)
    reference = reference if isinstance(reference, list) else [reference]
    optimized = optimize(graph, 2, inference=True, verify=True)
    result = optimized(*args)
    result = result if isinstance(result, list) else [result]
    assert len(result) == len(reference)
    for want, got in zip(reference, result):
        assert want.shape == got.shape and want.dtype == got.dtype
        # folding a scale into the weights rounds differently: a few ulps, not bits
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    kinds = {optimized.attrs(n).get("kind") for n in optimized.order}
    event(f"inference rewrites fired: {specialize_for_inference(graph) is not graph}")
    event(f"an epilogue was fused: {'epilogue' in kinds}")
