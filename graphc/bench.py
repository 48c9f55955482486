"""`graphc bench`: a quick inference benchmark that ships with the package.

Two models, an MLP 784-512-256-10 (relu, relu, softmax) and a small CNN on 28x28x1 images
(conv3x3(32)-relu-maxpool2-conv3x3(64)-relu-maxpool2-flatten-dense(10)), are compiled with
`graphc.compile` and timed against a hand-written numpy forward pass, and against PyTorch
(eager), JAX (`jit`) and ONNX Runtime when they are installed, at batch 1 and 256, on the same
float32 weights. Every implementation's output is checked against numpy's before anything is
timed, so all of them compute the same thing. The full suite (training steps, GEMM, GELU,
symbolic gradients, compile times) is `python -m benchmarks` in a checkout of the source.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import numpy as np
import threadpoolctl

import graphc
from graphc.errors import InputError

PEERS = ("numpy", "torch", "jax", "onnxruntime")
INSTALL_HINTS = {
    "torch": "pip install torch (the CPU build)",
    "jax": 'pip install "jax[cpu]"',
    "onnxruntime": "pip install onnxruntime onnx",
}

Weights = dict[str, np.ndarray]
#: An implementation: `prepare(x)` converts a numpy batch to its native input (not timed),
#: `call(native)` computes (timed), `to_numpy(result)` converts back for the check.
Runner = tuple[Callable[[np.ndarray], Any], Callable[[Any], Any], Callable[[Any], np.ndarray]]


@dataclass(frozen=True)
class Case:
    """One model: its weights, its input shape and its graphc graph builder."""

    name: str
    kind: str  # "mlp" or "cnn"
    sample_shape: tuple[int, ...]
    weights: Weights


def parse_peers(text: str) -> tuple[str, ...]:
    """The `--peers` list, checked against the libraries this benchmark knows.

    >>> parse_peers("numpy, jax")
    ('numpy', 'jax')
    """
    peers = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in peers if name not in PEERS]
    if unknown:
        raise InputError(
            f"--peers: unknown library {', '.join(map(repr, unknown))}; "
            f"expected names from {', '.join(PEERS)}"
        )
    return peers


# --- the models, with shared weights -----------------------------------------------------------


def make_cases(seed: int = 0) -> list[Case]:
    """The MLP and the CNN with He-initialized float32 weights (fixed seed).

    >>> [case.name for case in make_cases()]
    ['MLP 784-512-256-10', 'CNN 28x28x1']
    """
    rng = np.random.default_rng(seed)

    def he(shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    def bias(n: int) -> np.ndarray:
        return (rng.standard_normal(n) * 0.01).astype(np.float32)

    mlp = {"w1": he((784, 512), 784), "b1": bias(512), "w2": he((512, 256), 512)}
    mlp |= {"b2": bias(256), "w3": he((256, 10), 256), "b3": bias(10)}
    cnn = {"k1": he((3, 3, 1, 32), 9), "b1": bias(32), "k2": he((3, 3, 32, 64), 288)}
    cnn |= {"b2": bias(64), "w3": he((1600, 10), 1600), "b3": bias(10)}
    return [
        Case("MLP 784-512-256-10", "mlp", (784,), mlp),
        Case("CNN 28x28x1", "cnn", (28, 28, 1), cnn),
    ]


def graphc_graph(case: Case) -> graphc.Graph:
    """The case's inference graph: weights are constants, the batch is symbolic.

    >>> str(graphc_graph(make_cases()[1]).output_types[0])
    'f32[None,10]'
    """
    w = {name: graphc.constant(array) for name, array in case.weights.items()}
    x = graphc.placeholder((None, *case.sample_shape), name="x")
    if case.kind == "mlp":
        h = graphc.relu(x @ w["w1"] + w["b1"])
        h = graphc.relu(h @ w["w2"] + w["b2"])
        return graphc.Graph([x], graphc.softmax(h @ w["w3"] + w["b3"]), name="mlp")
    h = graphc.max_pool2d(graphc.relu(graphc.conv2d(x, w["k1"]) + w["b1"]), 2)
    h = graphc.max_pool2d(graphc.relu(graphc.conv2d(h, w["k2"]) + w["b2"]), 2)
    logits = graphc.reshape(h, (None, 1600)) @ w["w3"] + w["b3"]
    return graphc.Graph([x], logits, name="cnn")


def forward(xp: Any, conv: Callable[[Any, Any], Any], case: Case, x: Any) -> Any:
    """The case's forward pass written with array functions `xp` (numpy, or jax.numpy).

    Args:
        xp: the array module.
        conv: a valid NHWC x HWIO convolution for that module.
        case: the model.
        x: a batch.
    """
    w = case.weights
    if case.kind == "mlp":
        h = xp.maximum(x @ w["w1"] + w["b1"], 0.0)
        h = xp.maximum(h @ w["w2"] + w["b2"], 0.0)
        z = h @ w["w3"] + w["b3"]
        e = xp.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    h = _max_pool2(xp.maximum(conv(x, w["k1"]) + w["b1"], 0.0))
    h = _max_pool2(xp.maximum(conv(h, w["k2"]) + w["b2"], 0.0))
    return h.reshape(h.shape[0], -1) @ w["w3"] + w["b3"]


def _max_pool2(x: Any) -> Any:
    n, height, width, channels = x.shape
    h2, w2 = height // 2, width // 2
    return x[:, : 2 * h2, : 2 * w2].reshape(n, h2, 2, w2, 2, channels).max(axis=(2, 4))


def numpy_conv(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Valid NHWC x HWIO convolution as one matmul over the im2col patches.

    >>> numpy_conv(np.ones((1, 4, 4, 1), np.float32), np.ones((3, 3, 1, 2), np.float32))[0, 0, 0]
    array([9., 9.], dtype=float32)
    """
    kh, kw, cin, cout = kernel.shape
    patches = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    n, oh, ow = patches.shape[:3]  # (n, oh, ow, cin, kh, kw)
    columns = patches.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, kh * kw * cin)
    return (columns @ kernel.reshape(kh * kw * cin, cout)).reshape(n, oh, ow, cout)


# --- the implementations -----------------------------------------------------------------------


def _identity(x: Any) -> Any:
    return x


def graphc_runner(case: Case, threads: int) -> tuple[Runner, float, bool]:
    """graphc's compiled graph; also the compile time and whether the disk cache served it."""
    start = time.perf_counter()
    compiled = graphc.compile(graphc_graph(case), threads=threads if threads > 1 else None)
    seconds = time.perf_counter() - start
    return (_identity, compiled, np.asarray), seconds, compiled.from_cache


def numpy_runner(case: Case, threads: int) -> Runner:
    return _identity, lambda x: forward(np, numpy_conv, case, x), np.asarray


def torch_runner(case: Case, threads: int) -> Runner:
    torch = importlib.import_module("torch")
    torch.set_num_threads(threads)
    w = {name: torch.from_numpy(array) for name, array in case.weights.items()}
    functional = torch.nn.functional

    def call(x: Any) -> Any:
        with torch.inference_mode():
            if case.kind == "mlp":
                h = functional.relu(torch.addmm(w["b1"], x, w["w1"]))
                h = functional.relu(torch.addmm(w["b2"], h, w["w2"]))
                return torch.softmax(torch.addmm(w["b3"], h, w["w3"]), dim=1)
            h = x
            for k, b in (("k1", "b1"), ("k2", "b2")):
                h = functional.conv2d(h, w[k].permute(3, 2, 0, 1).contiguous(), w[b])
                h = functional.max_pool2d(functional.relu(h), 2)
            return torch.addmm(w["b3"], h.permute(0, 2, 3, 1).flatten(1), w["w3"])

    def prepare(x: np.ndarray) -> Any:  # NCHW is PyTorch's native layout
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if x.ndim == 4 else x)

    return prepare, call, lambda result: result.numpy()


def jax_runner(case: Case, threads: int) -> Runner:
    jax = importlib.import_module("jax")
    jnp = jax.numpy

    def conv(x: Any, kernel: np.ndarray) -> Any:
        return jax.lax.conv_general_dilated(
            x, kernel, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )

    jitted = jax.jit(lambda x: forward(jnp, conv, case, x))
    return jax.device_put, lambda x: jitted(x).block_until_ready(), np.asarray


def onnxruntime_runner(case: Case, threads: int) -> Runner:
    ort = importlib.import_module("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(onnx_model(case), options, providers=["CPUExecutionProvider"])
    return _identity, lambda x: session.run(None, {"x": x})[0], np.asarray


def onnx_model(case: Case) -> bytes:
    """The case as a serialized ONNX model (built with `onnx.helper`)."""
    onnx = importlib.import_module("onnx")
    helper, tensor = onnx.helper, onnx.TensorProto.FLOAT
    w = dict(case.weights)
    if case.kind == "mlp":
        nodes = [
            helper.make_node("Gemm", ["x", "w1", "b1"], ["z1"]),
            helper.make_node("Relu", ["z1"], ["h1"]),
            helper.make_node("Gemm", ["h1", "w2", "b2"], ["z2"]),
            helper.make_node("Relu", ["z2"], ["h2"]),
            helper.make_node("Gemm", ["h2", "w3", "b3"], ["z3"]),
            helper.make_node("Softmax", ["z3"], ["y"], axis=1),
        ]
    else:  # ONNX convolutions are NCHW with OIHW kernels: transpose in, and back before flatten
        w["k1"], w["k2"] = (w[k].transpose(3, 2, 0, 1) for k in ("k1", "k2"))
        nodes = [helper.make_node("Transpose", ["x"], ["c0"], perm=[0, 3, 1, 2])]
        for i, (k, b) in enumerate((("k1", "b1"), ("k2", "b2"))):
            nodes += [
                helper.make_node("Conv", [f"c{i}", k, b], [f"conv{i}"]),
                helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"]),
                helper.make_node(
                    "MaxPool", [f"relu{i}"], [f"c{i + 1}"], kernel_shape=[2, 2], strides=[2, 2]
                ),
            ]
        nodes += [
            helper.make_node("Transpose", ["c2"], ["nhwc"], perm=[0, 2, 3, 1]),
            helper.make_node("Flatten", ["nhwc"], ["flat"], axis=1),
            helper.make_node("Gemm", ["flat", "w3", "b3"], ["y"]),
        ]
    initializers = [
        onnx.numpy_helper.from_array(np.ascontiguousarray(a), name) for name, a in w.items()
    ]
    graph = helper.make_graph(
        nodes,
        case.kind,
        [helper.make_tensor_value_info("x", tensor, ["batch", *case.sample_shape])],
        [helper.make_tensor_value_info("y", tensor, ["batch", 10])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what every onnxruntime since 1.14 reads
    return model.SerializeToString()


PEER_RUNNERS: dict[str, Callable[[Case, int], Runner]] = {
    "numpy": numpy_runner,
    "torch": torch_runner,
    "jax": jax_runner,
    "onnxruntime": onnxruntime_runner,
}


def available_peers(peers: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The requested peers that import, and a note for each that does not.

    >>> available_peers(("numpy",))
    (['numpy'], [])
    """
    found, notes = [], []
    for name in peers:
        modules = ("onnxruntime", "onnx") if name == "onnxruntime" else (name,)
        try:
            for module in modules:
                importlib.import_module(module)
        except Exception as exc:  # a broken install is as absent as a missing one
            why = "not installed" if isinstance(exc, ModuleNotFoundError) else repr(exc)
            notes.append(f"{name}: skipped ({why}; {INSTALL_HINTS[name]})")
            continue
        found.append(name)
    return found, notes


# --- timing and the table ----------------------------------------------------------------------


def time_calls(
    calls: dict[str, Callable[[], Any]], repeats: int, min_seconds: float, settle: float = 0.0
) -> dict[str, float]:
    """The median seconds per call of each function, repetitions interleaved.

    Each repetition runs every function in turn (rotating which goes first, so that none
    always follows the same neighbour) enough times to last about `min_seconds`, after a
    pause of `settle` seconds: thread pools (XLA's, OpenBLAS's, graphc's) spin for a while
    after their last call and would take a core from the function timed next.

    >>> times = time_calls({"a": lambda: None}, repeats=3, min_seconds=0.001)
    >>> list(times), times["a"] < 0.001
    (['a'], True)
    """
    counts = {}
    for name, fn in calls.items():
        fn()
        fn()
        counts[name] = calls_lasting(fn, min_seconds)
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            time.sleep(settle)
            start = time.perf_counter()
            for _ in range(counts[name]):
                calls[name]()
            samples[name].append((time.perf_counter() - start) / counts[name])
    return {name: float(np.median(values)) for name, values in samples.items()}


def calls_lasting(fn: Callable[[], Any], min_seconds: float) -> int:
    """How many calls of `fn` last at least `min_seconds` (at least 1, at most 2^20).

    Counted by doubling rather than from one call's time: a first call of a few microseconds
    is mostly timer and cache noise.

    >>> calls_lasting(lambda: None, 0.0)
    1
    """
    count = 1
    while True:
        start = time.perf_counter()
        for _ in range(count):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds or count >= 1 << 20:
            return count
        count = max(count * 2, int(count * min_seconds / max(elapsed, 1e-9)) + 1)


def format_seconds(seconds: float) -> str:
    """A duration in s, ms or us with 3 significant digits.

    >>> format_seconds(1.234e-5), format_seconds(0.5)
    ('12.3 us', '500 ms')
    """
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale or unit == "us":
            value = seconds / scale
            digits = 2 if value < 10 else 1 if value < 100 else 0
            return f"{value:.{digits}f} {unit}"
    raise AssertionError("unreachable")


def table(rows: list[list[str]]) -> str:
    """Rows of cells as aligned columns under a rule.

    >>> print(table([["a", "bb"], ["ccc", "d"]]))
    a    bb
    ---  --
    ccc  d
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def bench_case(
    case: Case,
    peers: list[str],
    threads: int,
    batches: tuple[int, ...],
    timing: tuple[int, float, float],
) -> tuple[list[list[str]], str]:
    """Check and time one model at each batch size; return its table rows and a compile note."""
    (prepare, call, to_numpy), compile_seconds, from_cache = graphc_runner(case, threads)
    runners = {"graphc": (prepare, call, to_numpy)}
    runners |= {name: PEER_RUNNERS[name](case, threads) for name in peers}
    rows = []
    rng = np.random.default_rng(1)
    for batch in batches:
        x = rng.random((batch, *case.sample_shape), dtype=np.float32)
        reference = forward(np, numpy_conv, case, x)
        calls = {}
        for name, (prep, fn, back) in runners.items():
            native = prep(x)
            np.testing.assert_allclose(
                back(fn(native)), reference, rtol=1e-4, atol=1e-5, err_msg=f"{name}, {case.name}"
            )
            calls[name] = _bind(fn, native)
        times = time_calls(calls, *timing)
        ours = times["graphc"]
        cells = [case.name, str(batch), format_seconds(ours)]
        cells += [f"{format_seconds(times[n])} ({times[n] / ours:.2f}x)" for n in peers]
        rows.append(cells)
    source = "from the disk cache" if from_cache else "LLVM"
    return rows, f"{case.name}: compiled in {format_seconds(compile_seconds)} ({source})"


def _bind(fn: Callable[[Any], Any], argument: Any) -> Callable[[], Any]:
    return lambda: fn(argument)


def run(peers: tuple[str, ...] = PEERS, threads: int = 1, quick: bool = False) -> list[list[str]]:
    """Run the benchmark and print its table; return the rows (header first).

    Args:
        peers: the libraries to compare with (missing ones are skipped with a note).
        threads: threads for graphc (batch splitting), PyTorch, ONNX Runtime and numpy's BLAS
            (through threadpoolctl).
        quick: batch 1 and 16, 2 short repetitions: a smoke test, not a measurement.
    """
    if threads < 1:
        raise InputError(f"--threads must be at least 1, got {threads}")
    batches, timing = ((1, 16), (2, 0.002, 0.0)) if quick else ((1, 256), (7, 0.02, 0.12))
    found, notes = available_peers(peers)
    with ExitStack() as stack:
        limit_blas_threads(stack, threads)
        print(
            f"graphc bench: inference in float32, {threads} thread{'s' if threads > 1 else ''}, "
            f"median of {timing[0]} repetitions of >= {timing[1] * 1e3:g} ms of calls each"
        )
        rows = [["model", "batch", "graphc", *found]]
        compile_notes = []
        for case in make_cases():
            case_rows, compile_note = bench_case(case, found, threads, batches, timing)
            rows += case_rows
            compile_notes.append(compile_note)
    print("(in brackets: the library's time / graphc's; above 1, graphc is faster)\n")
    print(table(rows) + "\n")
    if "jax" in found:
        notes.append("jax: XLA picks its own number of threads")
    for note in compile_notes + notes:
        print(note)
    print(
        "\nThe full suite (training steps, GEMM, GELU, symbolic gradients, compile times) is\n"
        "`python -m benchmarks` in a checkout of the source; see benchmarks/README.md."
    )
    return rows


def limit_blas_threads(stack: ExitStack, threads: int) -> None:
    """Limit numpy's BLAS to `threads` threads until `stack` closes, so that a comparison
    gives numpy the threads graphc has.

    >>> with ExitStack() as stack:
    ...     limit_blas_threads(stack, 1)
    """
    stack.enter_context(threadpoolctl.threadpool_limits(threads))
