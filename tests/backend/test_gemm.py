"""The blocked GEMM behind matmul: edge tiles, depth blocks, B in place or packed, transposed
operands, fused epilogues and threads, compiled == interpreted."""

from __future__ import annotations

from functools import cache

import llvmlite.binding as llvm
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llvmlite import ir as llvm_ir

import graphc
from graphc import dtypes
from graphc.backend import compile_graph, gemm, jit
from graphc.backend.gemm import DIRECT_B_ROWS, host_blocking
from graphc.backend.parallel import MIN_START_WORK

pytestmark = pytest.mark.backend

NUMERIC = ("float32", "float64", "int32", "int64")

#: (K, N) of the right operand: single elements, tile edges (N % 32, N % 16), K = 0, depths
#: that take several blocks (K > 256), a whole tile, wide and thin products.
SHAPES = [(1, 1), (5, 3), (13, 40), (0, 5), (300, 70), (32, 32), (513, 129), (7, 128), (64, 17)]

#: Batch sizes around the tile height (12), the in-place B limit and a large batch.
BATCHES = (0, 1, 7, 12, 13, DIRECT_B_ROWS, DIRECT_B_ROWS + 1, 200)


def sample(rng: np.random.Generator, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if dtypes.is_integer(np.dtype(dtype)):
        return rng.integers(-20, 21, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def assert_close(got: np.ndarray, want: np.ndarray, depth: int) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype
    if want.dtype == np.float32:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(depth, 1))
    elif want.dtype == np.float64:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * max(depth, 1))
    else:
        np.testing.assert_array_equal(got, want)


@cache
def products(dtype: str):
    """One compiled graph holding x_i @ w_i for every (K, N) of SHAPES (x batched)."""
    inputs, outputs = [], []
    for index, (depth, n) in enumerate(SHAPES):
        x = graphc.placeholder((None, depth), dtype, name=f"x{index}")
        w = graphc.placeholder((depth, n), dtype, name=f"w{index}")
        inputs += [x, w]
        outputs.append(x @ w)
    graph = graphc.Graph(inputs, outputs)
    return graph, compile_graph(graph, run_passes=False)


def product_args(dtype: str, batch: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    args = []
    for depth, n in SHAPES:
        args += [sample(rng, (batch, depth), dtype), sample(rng, (depth, n), dtype)]
    return args


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("batch", BATCHES)
def test_products_of_every_shape_and_batch(dtype: str, batch: int) -> None:
    graph, f = products(dtype)
    args = product_args(dtype, batch, seed=batch)
    for (depth, _), got, want in zip(SHAPES, f(*args), graph(*args)):
        assert_close(got, want, depth)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.integers(0, 150), seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from(NUMERIC))
def test_random_batches_and_values(batch: int, seed: int, dtype: str) -> None:
    graph, f = products(dtype)
    args = product_args(dtype, batch, seed)
    for (depth, _), got, want in zip(SHAPES, f(*args), graph(*args)):
        assert_close(got, want, depth)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    m=st.integers(1, 40),
    depth=st.integers(1, 300),
    n=st.integers(1, 80),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_static_shapes(m: int, depth: int, n: int, seed: int) -> None:
    x = graphc.placeholder((m, depth), "float64", name="x")
    w = graphc.placeholder((depth, n), "float64", name="w")
    graph = graphc.Graph([x, w], x @ w)
    rng = np.random.default_rng(seed)
    args = [rng.standard_normal((m, depth)), rng.standard_normal((depth, n))]
    assert_close(compile_graph(graph)(*args), graph(*args), depth)


def check(graph: graphc.Graph, args: list[np.ndarray], depth: int, **options) -> None:
    got = compile_graph(graph, **options)(*args)
    want = graph(*args)
    for g, w in zip(
        got if isinstance(got, list) else [got], want if isinstance(want, list) else [want]
    ):
        assert_close(g, w, depth)


@pytest.mark.parametrize("batch", [0, 1, 7, 100])
def test_stacks_with_broadcast_leading_dimensions(batch: int) -> None:
    rng = np.random.default_rng(batch)
    a = graphc.placeholder((3, 1, None, 20), name="a")
    b = graphc.placeholder((5, 20, 37), name="b")
    c = graphc.placeholder((None, 4, 9), name="c")
    d = graphc.placeholder((None, 9, 33), name="d")
    graph = graphc.Graph([a, b, c, d], [a @ b, c @ d])
    args = [
        sample(rng, (3, 1, batch, 20), "float32"),
        sample(rng, (5, 20, 37), "float32"),
        sample(rng, (batch, 4, 9), "float32"),
        sample(rng, (batch, 9, 33), "float32"),
    ]
    check(graph, args, 20, run_passes=False)


@pytest.mark.parametrize("batch", [0, 1, 13, 300, 700])
def test_transposed_operands_and_a_contracted_batch(batch: int) -> None:
    """x^T @ ct contracts the batch (a runtime depth, several blocks when large); ct @ w^T
    reads w by columns."""
    rng = np.random.default_rng(batch)
    x = graphc.placeholder((None, 45), name="x")
    ct = graphc.placeholder((None, 70), name="ct")
    w = graphc.placeholder((45, 70), name="w")
    graph = graphc.Graph([x, ct, w], [x.T @ ct, ct @ w.T, graphc.transpose(w) @ x.T])
    args = [sample(rng, (batch, 45), "float32"), sample(rng, (batch, 70), "float32")]
    args.append(sample(rng, (45, 70), "float32"))
    check(graph, args, max(batch, 70))


@pytest.mark.parametrize("batch", [0, 1, 7, 13, 130])
def test_fused_epilogues_run_on_every_tile(batch: int) -> None:
    rng = np.random.default_rng(batch)
    x = graphc.placeholder((None, 50), name="x")
    z = graphc.placeholder((None, 45), name="z")
    w_array, bias_array = sample(rng, (50, 45), "float32"), sample(rng, (45,), "float32")
    w1, w2, w3 = (graphc.constant(w_array * s, name=f"w{s}") for s in (1, 2, 3))
    bias = graphc.constant(bias_array, name="bias")
    scale = graphc.constant(sample(rng, (1, 45), "float32"), name="scale")
    outputs = [
        graphc.relu(x @ w1 + bias),  # bias and activation
        graphc.tanh(x @ w2 * scale) - z,  # a batched operand read in the epilogue
        (x @ w3) > bias,  # a bool result: the product goes to a scratch array
    ]
    graph = graphc.Graph([x, z], outputs)
    f = compile_graph(graph)
    kinds = [
        f.graph.attrs(n)["kind"] for n in f.graph.order if f.graph.primitive(n).name == "fused"
    ]
    assert kinds.count("epilogue") == 3
    args = [sample(rng, (batch, 50), "float32"), sample(rng, (batch, 45), "float32")]
    for got, want in zip(f(*args), graph(*args)):
        if want.dtype == np.bool_:  # compare away from the decision boundary (rounding)
            clear = np.abs(args[0].astype(np.float64) @ (w_array * 3) - bias_array) > 1e-3
            assert got.shape == want.shape
            np.testing.assert_array_equal(got[clear], want[clear])
        else:
            assert_close(got, want, 50)


def test_epilogue_integer_products() -> None:
    rng = np.random.default_rng(3)
    x = graphc.placeholder((None, 33), "int64", name="x")
    w = graphc.constant(sample(rng, (33, 35), "int64"), name="w")
    graph = graphc.Graph([x], graphc.maximum(x @ w, 7) // 3)
    check(graph, [sample(rng, (29, 33), "int64")], 33)


@pytest.mark.parametrize("columns", [10, 16, 40])
def test_row_major_a_read_in_place_or_transposed_a_packed(columns: int) -> None:
    """A row-major A is read in place, a transposed one is packed; each way, full and edge
    panels and tiles give the interpreter's result."""
    rng = np.random.default_rng(columns)
    x = graphc.placeholder((None, 70), name="x")
    xt = graphc.placeholder((70, None), name="xt")
    w = graphc.constant(sample(rng, (70, columns), "float32"), name="w")
    y = graphc.placeholder((70, columns), name="y")  # B at run time: packed at run time
    graph = graphc.Graph([x, xt, y], [x @ w + 1.0, x @ y, xt.T @ w])
    for rows in (1, 13, 66):
        args = [
            sample(rng, (rows, 70), "float32"),
            sample(rng, (70, rows), "float32"),
            sample(rng, (70, columns), "float32"),
        ]
        check(graph, args, 70, cache=False)


def test_blocking_follows_the_host() -> None:
    blocking = host_blocking(np.dtype("float32"))
    assert blocking.nr % blocking.lanes == 0 and blocking.mr >= 1
    # a static depth is split into equal blocks, each at most 25% deeper than kc
    assert blocking.for_depth(graphc.backend.extents.Extent.of(784)).kc <= blocking.kc * 5 // 4


# --- threads ----------------------------------------------------------------------------------


def two_ways(graph: graphc.Graph, args: list[np.ndarray]) -> tuple[list, list]:
    one = compile_graph(graph)(*args)
    two = compile_graph(graph, threads=2)(*args)
    return (one if isinstance(one, list) else [one]), (two if isinstance(two, list) else [two])


@pytest.mark.parametrize(
    "m, depth, n",
    [
        (420, 300, 300),  # more panels of rows than tiles of columns: the rows are shared
        (12, 2800, 1000),  # one panel of rows: the columns are shared
        (61, 1700, 333),  # edges in every direction
    ],
)
def test_threads_share_large_products_with_identical_results(m: int, depth: int, n: int) -> None:
    assert m * depth * n >= MIN_START_WORK  # large enough to start the workers
    rng = np.random.default_rng(m)
    x = graphc.placeholder((m, depth), name="x")
    w = graphc.placeholder((depth, n), name="w")
    b = graphc.placeholder((n,), name="b")
    graph = graphc.Graph([x, w, b], [x @ w, graphc.relu(x @ w + b)])
    args = [sample(rng, (m, depth), "float32"), sample(rng, (depth, n), "float32")]
    args.append(sample(rng, (n,), "float32"))
    compiled = compile_graph(graph, threads=2)
    assert not compiled.batch_separable and "pthread_create" in compiled.llvm_ir()
    one, two = two_ways(graph, args)
    for a, b_, want in zip(one, two, graph(*args)):
        np.testing.assert_array_equal(a, b_)
        assert_close(a, want, depth)


def test_threads_for_a_gradient_contracting_the_batch() -> None:
    rng = np.random.default_rng(5)
    x = graphc.placeholder((None, 300), name="x")
    ct = graphc.placeholder((None, 200), name="ct")
    graph = graphc.Graph([x, ct], x.T @ ct)  # not batch-separable: the threads split the kernel
    args = [sample(rng, (150, 300), "float32"), sample(rng, (150, 200), "float32")]
    one, two = two_ways(graph, args)
    np.testing.assert_array_equal(one[0], two[0])
    assert_close(two[0], graph(*args), 150)


def test_separable_graphs_also_get_batch_slices() -> None:
    x = graphc.placeholder((None, 300), name="x")
    w = graphc.constant(np.ones((300, 300), np.float32), name="w")
    separable = compile_graph(graphc.Graph([x], x @ w), threads=2, cache=False)
    assert separable.batch_separable and separable.options.batch_slices
    assert "graphc_pool_split" in separable.llvm_ir()  # large batches: one slice per thread
    assert ".part" in separable.llvm_ir()  # small ones: the threads share the product
    mixing = compile_graph(graphc.Graph([x], x @ w - graphc.mean(x @ w, 0)), threads=2)
    assert not mixing.options.batch_slices and "graphc_pool_split" not in mixing.llvm_ir()


def test_small_products_stay_on_the_calling_thread() -> None:
    x = graphc.placeholder((3, 4), name="x")
    w = graphc.placeholder((4, 5), name="w")
    graph = graphc.Graph([x, w], x @ w)
    rng = np.random.default_rng(0)
    args = [sample(rng, (3, 4), "float32"), sample(rng, (4, 5), "float32")]
    one, two = two_ways(graph, args)
    np.testing.assert_array_equal(one[0], two[0])


def test_packing_a_small_static_operand_is_not_unrolled_completely() -> None:
    """An LSTM gradient's `a @ w.T` with w: f32[16,64] packs w (transposed) as a static 64 x 16
    panel; fully unrolled, that was ~2,300 scalar loads and seconds of code generation per
    kernel (the packing loops carry `llvm.loop.unroll.count` metadata now)."""
    a = graphc.placeholder((None, 64), name="a")
    w = graphc.placeholder((16, 64), name="w")
    mask = graphc.placeholder((None, 1), "bool", name="mask")
    h = graphc.placeholder((None, 16), name="h")
    graph = graphc.Graph([a, w, mask, h], graphc.where(mask, 0.0, h) + a @ w.T)
    f = compile_graph(graph, cache=False)
    loads = sum(1 for line in f.llvm_ir(optimized=True).splitlines() if " load " in line)
    assert loads < 1000, loads
    assert "llvm.loop.unroll.count" in f.llvm_ir()
    rng = np.random.default_rng(0)
    args = [
        sample(rng, (5, 64), "float32"),
        sample(rng, (16, 64), "float32"),
        rng.random((5, 1)) > 0.5,
        sample(rng, (5, 16), "float32"),
    ]
    np.testing.assert_allclose(f(*args), graph(*args), rtol=1e-5, atol=1e-5)


# --- generated code ---------------------------------------------------------------------------

#: x86 CPUs and features for both tile shapes: AVX-512 (12-row tiles, 32 registers) and AVX2.
AVX512 = "+avx,+avx2,+fma,+avx512f,+avx512vl,+avx512bw,+avx512dq,-prefer-256-bit"
X86_TARGETS = {
    "skylake-avx512": AVX512,
    "rocketlake": AVX512,
    "sapphirerapids": AVX512,
    "znver4": AVX512,
    "haswell": "+avx,+avx2,+fma",
    "znver3": "+avx,+avx2,+fma",
}


def loop_bodies(assembly: str) -> list[list[str]]:
    """The instructions between each label and a later jump back to it (the loops)."""
    lines = [line.split("#")[0].strip() for line in assembly.splitlines()]
    labels = {line[:-1]: i for i, line in enumerate(lines) if line.endswith(":")}
    bodies = []
    for i, line in enumerate(lines):
        parts = line.split()
        if len(parts) == 2 and parts[0].startswith("j") and labels.get(parts[1], i) < i:
            bodies.append(lines[labels[parts[1]] : i])
    return bodies


@pytest.mark.skipif(not jit.host().triple.startswith("x86_64"), reason="x86 assembly")
@pytest.mark.parametrize("cpu", sorted(X86_TARGETS))
def test_micro_kernels_keep_their_accumulators_in_registers(cpu: str) -> None:
    """No loop over the depth of a full tile a module may call (full panels and the
    sub-panels of a short last panel) moves a vector register to or from the stack, nor,
    with AVX-512's 32 registers and mask registers, any loop of an edge tile. (On AVX2 a thin
    edge tile's masks are vector registers too: 1 x 64 columns needs 8 masks, 8 accumulators
    and the loaded vectors, more than 16.) When the full-tile and edge-tile loops met in one
    block, the 12 x 2 AVX-512 tile spilled 20 accumulators on every step of k: sgemm ran at
    65 GFLOP/s on a core where OpenBLAS reaches 150."""
    features = X86_TARGETS[cpu]
    bl = gemm.blocking(np.dtype("float32"), features)
    module = llvm_ir.Module(name="tiles")
    module.triple = jit.host().triple
    for rows in [bl.mr, *gemm.sub_panel_rows(bl.mr)]:
        gemm.define_micro_kernel(
            module, bl, rows, bl.tile_vectors(rows), f"tile{rows}", linkage="external"
        )
    machine = llvm.Target.from_triple(module.triple).create_target_machine(
        cpu=cpu, features=features, opt=3
    )
    parsed = llvm.parse_assembly(str(module))
    parsed.data_layout = str(machine.target_data)
    passes = llvm.create_pass_builder(machine, llvm.create_pipeline_tuning_options(3))
    passes.getModulePassManager().run(parsed, passes)
    loops = loop_bodies(machine.emit_assembly(parsed))
    if "+avx512f" not in features:
        loops = [body for body in loops if not any("vmaskmov" in line for line in body)]
    assert len(loops) >= 4
    spills = [line for body in loops for line in body if "(%rsp)" in line and "mm" in line]
    assert not spills, spills[:5]
