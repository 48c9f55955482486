"""Native safety: whatever a caller passes, a compiled graph raises or returns IEEE results.

Every hostile call runs in one child process (a crash there fails the tests instead of killing
pytest): wrong argument counts, shapes, dtypes and strides, unaligned, read-only and aliased
buffers, zero-size and huge batches, nan/inf inputs, integer division traps, out-of-range
gather indices, many threads. The child prints each case's name before running it, so a
crash is pinned on the case that caused it. The outcome of each case is `ok` (results equal
to the interpreter's, nan included) or the exception it raised, matched against `EXPECTED`.
A source scan and a tripwire check that native code is reached only through the wrapper.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphc
import graphc.frontend
from graphc import differential
from graphc.backend import compiled as compiled_module
from graphc.backend import workers as workers_module

pytestmark = pytest.mark.backend

#: The address space the child may use: a huge allocation fails instead of overcommitting.
ADDRESS_SPACE_LIMIT = 16 * 2**30


# --- the cases (run in the child) --------------------------------------------------------------


@cache
def model() -> Any:
    """f(x: f32[None,3], s: f64[]) = [exp(x) * 2 + x, sum(x, axis 1) as f64 * s]."""
    x = graphc.placeholder((None, 3), "float32", name="x")
    s = graphc.placeholder((), "float64", name="s")
    summed = graphc.cast(graphc.sum(x, axis=1), "float64") * s
    return graphc.compile(graphc.Graph([x, s], [graphc.exp(x) * 2.0 + x, summed]), cache=False)


@cache
def integer_model() -> Any:
    i = graphc.placeholder((None,), "int32", name="i")
    j = graphc.placeholder((None,), "int32", name="j")
    k = graphc.placeholder((None,), "int64", name="k")
    outs = [i // j, i % j, graphc.abs(i), -i, i * j, k // -1, k % -1]
    return graphc.compile(graphc.Graph([i, j, k], outs), cache=False)


@cache
def float_model() -> Any:
    x = graphc.placeholder((None, 4), "float64", name="x")
    y = graphc.placeholder((None, 4), "float64", name="y")
    outs = [
        graphc.exp(x), graphc.log(x), graphc.sqrt(x), x / y, x // y, x % y, x**y,
        graphc.maximum(x, y), graphc.sign(x), graphc.round(x), graphc.cast(x, "int32"),
        graphc.max(x, axis=1), graphc.argmax(x, axis=1), graphc.sum(x, axis=1),
        graphc.softmax(x, axis=1), graphc.tanh(x), graphc.erf(x), x @ graphc.transpose(y),
    ]  # fmt: skip
    return graphc.compile(graphc.Graph([x, y], outs), cache=False)


@cache
def gather_model() -> Any:
    table = graphc.placeholder((5, 2), "float64", name="table")
    index = graphc.placeholder((None,), "int64", name="index")
    gathered = graphc.take(table, index, axis=0)
    scattered = graphc.scatter_add(gathered, index, axis=0, size=5)
    return graphc.compile(graphc.Graph([table, index], [gathered, scattered]), cache=False)


def matches_interpreter(compiled: Any, *args: Any) -> str:
    """Call the compiled graph and its interpreter; nan must match nan, see graphc.differential."""
    got, want = compiled(*args), compiled.graph(*args)
    got, want = (got, want) if isinstance(want, list) else ([got], [want])
    differential.compare_outputs(want, got, "compiled", differential.tolerance(compiled.graph))
    return "ok"


def x_s(batch: int = 4) -> tuple[np.ndarray, np.float64]:
    return np.linspace(-2, 2, batch * 3, dtype=np.float32).reshape(batch, 3), np.float64(0.5)


def unaligned(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """A C-contiguous, writeable array at an odd address."""
    count = int(np.prod(shape))
    raw = bytearray(count * np.dtype(dtype).itemsize + 1)
    array = np.frombuffer(raw, dtype=dtype, count=count, offset=1).reshape(shape)
    assert not array.flags.aligned and array.flags.c_contiguous and array.flags.writeable
    return array


def read_only_out() -> list[np.ndarray]:
    frozen = np.empty((4, 3), np.float32)
    frozen.flags.writeable = False
    return [frozen, np.empty(4)]


def filled_unaligned() -> str:
    x = unaligned((4, 3), "float32")
    x[...] = x_s()[0]
    return matches_interpreter(model(), x, 0.5)


def unaligned_out() -> str:
    out = [unaligned((4, 3), "float32"), unaligned((4,), "float64")]
    model()(*x_s(), out=out)
    want = model().graph(*x_s())
    np.testing.assert_allclose(out[0], want[0], rtol=2e-6)
    np.testing.assert_allclose(out[1], want[1], rtol=2e-6)
    return "ok"


def specials(batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    values = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e308, -1e308, 5e-324, 1.0, -1.5,
                       2.0**63, -(2.0**63), 0.5, 3.0])  # fmt: skip
    rng = np.random.default_rng(0)
    return rng.choice(values, (batch, 4)), rng.choice(values, (batch, 4))


def integer_extremes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i32, i64 = np.iinfo(np.int32), np.iinfo(np.int64)
    i = np.array([i32.min, i32.min, i32.max, 7, -7, 0, i32.min, 5], np.int32)
    j = np.array([-1, 0, -1, 0, -2, 0, 1, 3], np.int32)
    k = np.array([i64.min, i64.max, 0, -1, 1, i64.min, 3, -3], np.int64)
    return i, j, k


def threaded(batch: int) -> str:
    x = graphc.placeholder((None, 3), "float64", name="x")
    compiled = graphc.compile(graphc.Graph([x], graphc.tanh(x) * 3.0), threads=4, cache=False)
    return matches_interpreter(compiled, np.linspace(-1, 1, batch * 3).reshape(batch, 3))


def huge_output() -> str:
    v = graphc.placeholder((None,), "float32", name="v")
    wide = graphc.broadcast_to(graphc.reshape(v, (None, 1)), (None, 2**20)) * 2.0
    compiled = graphc.compile(graphc.Graph([v], wide), cache=False)
    compiled(np.ones(2**20, np.float32))  # 4 TiB of output
    return "ok"


def huge_workspace() -> str:
    x = graphc.placeholder((None, 1, 1), "float32", name="x")
    total = graphc.sum(graphc.broadcast_to(x, (None, 2**31, 2**31)), axis=(1, 2))
    graphc.compile(graphc.Graph([x], total), cache=False)(np.ones((1, 1, 1), np.float32))
    return "ok"


def zero_stride_batch() -> str:
    model()(np.broadcast_to(np.float32(1), (2**40, 3)), 1.0)  # 12 TiB once made contiguous
    return "ok"


def argument_variations(count: int = 1500) -> str:
    """Random calls near the valid one (dtypes, shapes, strides, Python scalars, batch sizes):
    the compiled graph (fast path or general path) accepts exactly what the interpreter
    accepts and computes the same; refusals are InputErrors on both."""
    x = graphc.placeholder((None, 3), "float32", name="x")
    a = graphc.placeholder((), "float64", name="a")
    b = graphc.placeholder((), "float64", name="b")
    i = graphc.placeholder((2,), "int32", name="i")
    graph = graphc.Graph([x, a, b, i], [x * a + b, graphc.cast(i, "float32") * x[:, :2]])
    compiled = graphc.compile(graph, cache=False)
    rng = np.random.default_rng(0)
    dtypes = ["float32", "float64", "int32", "int64", "bool", "complex64", "float16", "uint8"]
    scalars = [0.5, np.float32(0.5), np.float64(0.5), 1, np.int64(2), True, np.array(0.5),
               np.array([0.5]), "0.5", None]  # fmt: skip
    accepted = 0
    for _ in range(count):
        batch = int(rng.choice([0, 1, 2, 5]))
        near = rng.random() < 0.6  # most calls valid, the rest off in one way or more
        shape = (
            (batch, 3)
            if near
            else [(batch, 2), (batch,), (batch, 3, 1), (3, batch)][int(rng.integers(0, 4))]
        )
        xs = np.ones(shape, "float32" if near and rng.random() < 0.5 else rng.choice(dtypes))
        if rng.random() < 0.3 and xs.ndim == 2:
            xs = np.asfortranarray(xs) if rng.random() < 0.5 else xs[::-1]
        ints = np.array([1, -2], rng.choice(dtypes[2:5])) if rng.random() < 0.8 else [1, 2, 3]
        picks = rng.integers(0, 3 if near else len(scalars), 2)
        args = [xs, scalars[picks[0]], scalars[picks[1]], ints]
        try:
            want = graph(*args)
        except graphc.InputError:
            with pytest.raises(graphc.InputError):  # the compiled call refuses it too
                compiled(*args)
            continue
        got = compiled(*args)
        differential.compare_outputs(want, got, f"args {args}", differential.tolerance(graph))
        accepted += 1
    assert 0.1 * count < accepted < 0.9 * count, accepted
    return "ok"


def static_zero_dims() -> str:
    x = graphc.placeholder((None, 0, 3), "float64", name="x")
    graph = graphc.Graph([x], [graphc.exp(x), graphc.sum(x, axis=(1, 2))])
    return matches_interpreter(graphc.compile(graph, cache=False), np.zeros((5, 0, 3)))


CASES: dict[str, Callable[[], str]] = {
    "no arguments": lambda: model()(),
    "one argument missing": lambda: model()(x_s()[0]),
    "one argument too many": lambda: model()(*x_s(), 1.0),
    "wrong rank": lambda: model()(np.zeros((2, 3, 1), np.float32), 1.0),
    "wrong static dimension": lambda: model()(np.zeros((2, 4), np.float32), 1.0),
    "scalar for a matrix": lambda: model()(1.0, 1.0),
    "ragged nested list": lambda: model()([[1, 2, 3], [4, 5]], 1.0),
    "complex numbers": lambda: model()(np.zeros((2, 3), complex), 1.0),
    "strings": lambda: model()(np.array([["a", "b", "c"]]), 1.0),
    "bytes": lambda: model()(b"abc", 1.0),
    "objects": lambda: model()(np.array([[object()] * 3]), 1.0),
    "None": lambda: model()(None, 1.0),
    "a dict": lambda: model()({"x": 1}, 1.0),
    "datetimes": lambda: model()(np.zeros((2, 3), "datetime64[s]"), 1.0),
    "float for an int": lambda: integer_model()(
        np.zeros(2), np.zeros(2, np.int32), np.zeros(2, np.int64)
    ),
    "a symbolic value": lambda: model()(graphc.placeholder((None, 3)), 1.0),
    "batch sizes disagree": lambda: integer_model()(
        np.zeros(3, np.int32), np.zeros(4, np.int32), np.zeros(3, np.int64)
    ),
    "negative strides": lambda: matches_interpreter(model(), x_s()[0][::-1], 0.5),
    "fortran order": lambda: matches_interpreter(model(), np.asfortranarray(x_s()[0]), 0.5),
    "every other column": lambda: matches_interpreter(
        model(), np.linspace(0, 1, 24, dtype=np.float32).reshape(4, 6)[:, ::2], 0.5
    ),
    "zero-stride input": lambda: matches_interpreter(
        model(), np.broadcast_to(np.float32([1, 2, 3]), (5, 3)), 0.5
    ),
    "unaligned input": filled_unaligned,
    "read-only input": lambda: matches_interpreter(
        model(),
        np.require(x_s()[0], requirements="C").copy().setflags(write=False)
        or np.frombuffer(x_s()[0].tobytes(), np.float32).reshape(4, 3),
        0.5,
    ),
    "float64 for float32": lambda: matches_interpreter(model(), x_s()[0].astype(np.float64), 0.5),
    "unaligned out": unaligned_out,
    "read-only out": lambda: model()(*x_s(), out=read_only_out()),
    "non-contiguous out": lambda: model()(
        *x_s(), out=[np.empty((3, 4), np.float32).T, np.empty(4)]
    ),
    "out of the wrong dtype": lambda: model()(*x_s(), out=[np.empty((4, 3)), np.empty(4)]),
    "out of the wrong shape": lambda: model()(
        *x_s(), out=[np.empty((5, 3), np.float32), np.empty(4)]
    ),
    "out aliasing an input": lambda: model()(x := x_s()[0], 0.5, out=[x, np.empty(4)]),
    "one out for two outputs": lambda: model()(*x_s(), out=np.empty((4, 3), np.float32)),
    "out is not an array": lambda: model()(*x_s(), out=[[[0.0] * 3] * 4, np.empty(4)]),
    "batch 0": lambda: matches_interpreter(model(), *x_s(0)),
    "batch 1": lambda: matches_interpreter(model(), *x_s(1)),
    "batch 100000": lambda: matches_interpreter(model(), *x_s(100_000)),
    "static zero dimensions": static_zero_dims,
    "zero-stride huge batch": zero_stride_batch,
    "output of 4 TiB": huge_output,
    "workspace beyond the address space": huge_workspace,
    "nan, inf, subnormals": lambda: matches_interpreter(float_model(), *specials()),
    "integer division extremes": lambda: matches_interpreter(integer_model(), *integer_extremes()),
    "gather indices out of range": lambda: matches_interpreter(
        gather_model(),
        np.arange(10.0).reshape(5, 2),
        np.array([2**62, -(2**63), -6, 5, 100, -1, 2**63 - 1, 0], np.int64),
    ),
    "gather with no indices": lambda: matches_interpreter(
        gather_model(), np.ones((5, 2)), np.zeros(0, np.int64)
    ),
    "fast and general paths agree on random calls": argument_variations,
    "threads, batch 0": lambda: threaded(0),
    "threads, batch 1": lambda: threaded(1),
    "threads, batch 3": lambda: threaded(3),
    "threads, batch 1001": lambda: threaded(1001),
}

INPUT_ERROR = r"InputError: "
EXPECTED: dict[str, str] = {
    "no arguments": INPUT_ERROR + r"compiled graph takes 2 argument",
    "one argument missing": INPUT_ERROR + "takes 2 argument",
    "one argument too many": INPUT_ERROR + "takes 2 argument",
    "wrong rank": INPUT_ERROR + r"input 0 \('x'\): expected shape \[None,3\]",
    "wrong static dimension": INPUT_ERROR + "axis 1 should be 3",
    "scalar for a matrix": INPUT_ERROR + r"expected shape \[None,3\] \(2-d\)",
    "ragged nested list": INPUT_ERROR + "expected an array",
    "complex numbers": INPUT_ERROR + "dtype complex128",
    "strings": INPUT_ERROR + "expected numbers",
    "bytes": INPUT_ERROR + "expected numbers",
    "objects": INPUT_ERROR + "expected numbers",
    "None": INPUT_ERROR + "expected numbers",
    "a dict": INPUT_ERROR + "expected numbers",
    "datetimes": INPUT_ERROR + "expected numbers",
    "float for an int": INPUT_ERROR + "does not convert safely",
    "a symbolic value": INPUT_ERROR + "symbolic Value",
    "batch sizes disagree": INPUT_ERROR + "all batch dimensions of a call must agree",
    "read-only out": INPUT_ERROR + "read-only",
    "non-contiguous out": INPUT_ERROR + "C-contiguous",
    "out of the wrong dtype": INPUT_ERROR + "expected dtype float32",
    "out of the wrong shape": INPUT_ERROR + r"expected shape \(4, 3\)",
    "out aliasing an input": INPUT_ERROR + "overlaps an input",
    "one out for two outputs": INPUT_ERROR + r"expected 2 array\(s\)",
    "out is not an array": INPUT_ERROR + "expected a numpy array",
    "zero-stride huge batch": r"MemoryError: .*12\.0 TiB",
    "output of 4 TiB": r"MemoryError: .*4\.00 TiB",
    "workspace beyond the address space": r"(MemoryError|ValueError): ",
}


def run_cases() -> None:
    """The child's main: run every case, reporting before and after each one."""
    for name, case in CASES.items():
        print(f"START {name}", flush=True)
        try:
            outcome = case()
        except Exception as exc:  # the outcome is the exception, checked by the parent
            outcome = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        print(f"DONE {name} => {outcome}", flush=True)


# --- the tests (run in pytest) -----------------------------------------------------------------


@pytest.fixture(scope="module")
def outcomes() -> dict[str, str]:
    """Run the cases in a child process with a bounded address space; parse what it printed."""
    script = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE_LIMIT}, {ADDRESS_SPACE_LIMIT}))\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import test_native_safety\n"
        "test_native_safety.run_cases()\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=600)  # fmt: skip
    results: dict[str, str] = {}
    started = None
    for line in run.stdout.splitlines():
        if line.startswith("START "):
            started = line[6:]
        elif line.startswith("DONE "):
            name, _, outcome = line[5:].partition(" => ")
            results[name] = outcome
            started = None
    if started is not None or run.returncode != 0:
        crash = f"crashed with exit code {run.returncode}: {run.stderr[-2000:]}"
        results.setdefault(started or "<after the last case>", crash)
    return results


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_call(outcomes: dict[str, str], name: str) -> None:
    assert name in outcomes, f"not reached: an earlier case crashed the child: {outcomes}"
    expected = EXPECTED.get(name, "ok")
    assert re.match(expected, outcomes[name]) or (
        expected.startswith(INPUT_ERROR)
        and re.search(expected[len(INPUT_ERROR) :], outcomes[name])
        and outcomes[name].startswith(INPUT_ERROR)
    ), f"{name}: {outcomes[name]}"


def test_the_child_did_not_crash(outcomes: dict[str, str]) -> None:
    assert set(outcomes) == set(CASES), sorted(set(outcomes) ^ set(CASES))


def _callers(path: Path, attributes: set[str]) -> set[str]:
    """The functions of a module that call a method or attribute named in `attributes`."""
    return {
        function.name
        for function in ast.walk(ast.parse(path.read_text()))
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in attributes
    }


def test_native_code_is_reached_only_through_the_wrapper() -> None:
    """Only backend/compiled.py and its worker pool (backend/workers.py) make ctypes function
    pointers. In compiled.py, the entry and the pool's `run`/`split` are called by
    `_call_frame` and `_run` only, and those by `__call__` only, after `CallPlan.check` or
    `check_arguments`: the tripwire test below shows both validate before native code runs."""
    makers = set()
    for package in (graphc, graphc.backend, graphc.frontend):
        for path in Path(package.__file__).parent.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr in ("CFUNCTYPE", "PYFUNCTYPE"):
                    makers.add(path)
    compiled_path = Path(compiled_module.__file__)
    assert makers == {compiled_path, Path(workers_module.__file__)}, makers
    assert _callers(compiled_path, {"_entry", "run", "split"}) <= {"_call_frame", "_run"}
    assert _callers(compiled_path, {"_call_frame", "_run"}) <= {"__call__", "_run"}


def test_a_call_is_validated_before_native_code_runs(monkeypatch) -> None:
    x = graphc.placeholder((None, 2), "float64", name="x")
    compiled = graphc.compile(graphc.Graph([x], x * 2.0), threads=2, cache=False)
    calls: list[int] = []
    monkeypatch.setattr(compiled, "_entry", lambda args, batch: calls.append(batch))

    def tripwire(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("validation ran")

    monkeypatch.setattr(compiled_module, "check_arguments", tripwire)
    monkeypatch.setattr(compiled._plan, "check", tripwire)
    for batch in (1, 8):  # one slice (the fast path) and two threads (the general path)
        with pytest.raises(RuntimeError, match="validation ran"):
            compiled(np.ones((batch, 2)))
    monkeypatch.setattr(compiled._plan, "check", lambda args: None)
    with pytest.raises(RuntimeError, match="validation ran"):
        compiled(np.ones((1, 2)))
    with pytest.raises(RuntimeError, match="validation ran"):
        compiled(np.ones((1, 2)), out=np.empty((1, 2)))
    assert calls == []
