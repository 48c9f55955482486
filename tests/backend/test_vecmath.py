"""Vector math (backend/vecmath.py): ulp error bounds, special values, and vectorized code.

Each function is compiled for both float types (one graph per dtype, one output per
function, the graph passes off) and evaluated on about a million float32 / 300,000 float64
points: a regular sweep over the bit patterns (every exponent, subnormals included) plus
uniform samples of the ranges where the functions change. The reference is numpy's float64
result for float32 and numpy's 80-bit long double for float64 (mpmath for erf), and the error
is |got - exact| in units of the result type's spacing at the exact value.
"""

from __future__ import annotations

import math
import re
import warnings
from functools import cache

import mpmath
import numpy as np
import pytest

import graphc
from graphc.backend import compile_graph
from graphc.backend.vecmath import FUNCTIONS

pytestmark = pytest.mark.backend

#: The documented maximum errors in ulp (see the table in backend/vecmath.py).
BOUNDS = {
    "exp": 1.5,
    "expm1": 2.0,
    "log": 1.0,
    "log1p": 1.0,
    "tanh": 3.0,
    "erf": 1.5,
    "logistic": 3.0,
}
OPS = {
    "exp": graphc.exp,
    "expm1": graphc.expm1,
    "log": graphc.log,
    "log1p": graphc.log1p,
    "tanh": graphc.tanh,
    "erf": graphc.erf,
    "logistic": graphc.sigmoid,
}
DTYPES = ("float32", "float64")
LONG_DOUBLE_IS_EXTENDED = np.finfo(np.longdouble).nmant >= 63


@cache
def compiled(dtype: str, fast_math: bool = False):
    x = graphc.placeholder((None,), dtype, name="x")
    graph = graphc.Graph([x], [op(x) for op in OPS.values()])
    return compile_graph(graph, run_passes=False, fast_math=fast_math)


def results(dtype: str, x: np.ndarray) -> dict[str, np.ndarray]:
    return dict(zip(OPS, compiled(dtype)(x)))


@cache
def sample(dtype: str) -> np.ndarray:
    """A sweep of the bit patterns plus dense uniform samples of the interesting ranges."""
    rng = np.random.default_rng(7)
    if dtype == "float32":
        sweep = np.arange(0, 1 << 32, 8191, dtype=np.uint64).astype(np.uint32).view(np.float32)
        dense = 100_000
    else:
        bits = rng.integers(0, np.iinfo(np.int64).max, 100_000, dtype=np.int64)
        sweep = np.concatenate([bits, bits | np.int64(-(2**63))]).view(np.float64)
        dense = 20_000
    ranges = [rng.uniform(-s, s, dense) for s in (0.01, 0.7, 1.5, 3.0, 7.0, 20.0, 100.0, 800.0)]
    x = np.concatenate([sweep.astype(dtype), *(r.astype(dtype) for r in ranges)])
    return x[np.isfinite(x)]


def reference(name: str, x: np.ndarray) -> np.ndarray:
    """The exact result (to far below the result type's precision)."""
    wide = np.float64 if x.dtype == np.float32 else np.longdouble
    w = x.astype(wide)
    with np.errstate(all="ignore"):
        if name == "logistic":
            return 1 / (1 + np.exp(-w))
        if name == "erf" and wide is np.float64:
            return np.vectorize(math.erf, otypes=[np.float64])(w)
        if name == "erf":
            mpmath.mp.prec = 80
            return np.array([mpmath.erf(mpmath.mpf(float(v))) for v in x], dtype=wide)
        return getattr(np, name)(w)


def ulp_errors(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """|got - exact| in units of the spacing of got's type at exact; 0 where both agree."""
    with np.errstate(all="ignore"):
        rounded = exact.astype(got.dtype)
        spacing = np.spacing(np.abs(rounded)).astype(exact.dtype)
        errors = np.abs(got.astype(exact.dtype) - exact) / spacing
    agree = (got == rounded) | (np.isnan(got) & np.isnan(exact))
    errors[agree] = 0.0
    return np.where(np.isnan(errors), np.inf, errors)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", [n for n in OPS if n != "erf"])
def test_error_is_within_the_documented_bound(name: str, dtype: str) -> None:
    if dtype == "float64" and not LONG_DOUBLE_IS_EXTENDED:
        pytest.skip("numpy's long double is not extended precision here")
    x = sample(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = results(dtype, x)[name]
    errors = ulp_errors(got, reference(name, x))
    worst = int(np.argmax(errors))
    assert errors[worst] <= BOUNDS[name], (name, dtype, x[worst], got[worst])


@pytest.mark.parametrize("dtype", DTYPES)
def test_erf_error_is_within_the_documented_bound(dtype: str) -> None:
    x = sample(dtype)
    if dtype == "float64":  # mpmath is slow: every 60th point, plus the pieces' ends
        ends = np.array([1.0, 2.5, 6.0, 0.999999, 2.5000001, 5.9999])
        x = np.concatenate([x[::60], ends, -ends])
    errors = ulp_errors(results(dtype, x)["erf"], reference("erf", x))
    assert errors.max() <= BOUNDS["erf"], x[int(np.argmax(errors))]


inf, nan = float("inf"), float("nan")
SPECIAL = {
    "exp": [(0.0, 1.0), (-0.0, 1.0), (inf, inf), (-inf, 0.0), (nan, nan), (1e4, inf), (-1e4, 0.0)],
    "expm1": [(0.0, 0.0), (-0.0, -0.0), (inf, inf), (-inf, -1.0), (nan, nan), (1e4, inf)],
    "log": [(1.0, 0.0), (0.0, -inf), (-0.0, -inf), (-1.0, nan), (inf, inf), (-inf, nan)],
    "log1p": [(0.0, 0.0), (-0.0, -0.0), (-1.0, -inf), (-2.0, nan), (inf, inf), (nan, nan)],
    "tanh": [(0.0, 0.0), (-0.0, -0.0), (inf, 1.0), (-inf, -1.0), (nan, nan), (30.0, 1.0)],
    "erf": [(0.0, 0.0), (-0.0, -0.0), (inf, 1.0), (-inf, -1.0), (nan, nan), (-7.0, -1.0)],
    "logistic": [(0.0, 0.5), (-0.0, 0.5), (inf, 1.0), (-inf, 0.0), (nan, nan), (800.0, 1.0)],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(OPS))
def test_special_values_are_exact(name: str, dtype: str) -> None:
    x = np.array([v for v, _ in SPECIAL[name]], dtype)
    want = np.array([w for _, w in SPECIAL[name]], dtype)
    got = results(dtype, x)[name]
    same = (got == want) & (np.signbit(got) == np.signbit(want))
    assert np.all(same | (np.isnan(got) & np.isnan(want))), (name, x, got)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tiny_and_subnormal_values(dtype: str) -> None:
    """f(x) = x after rounding for tiny x; subnormal inputs and results are accurate."""
    info = np.finfo(dtype)
    tiny = np.array([info.smallest_subnormal, -info.smallest_subnormal, -3 * info.tiny], dtype)
    got = results(dtype, tiny)
    for name in ("expm1", "log1p", "tanh"):
        np.testing.assert_array_equal(got[name], tiny, err_msg=name)
    exact = tiny.astype(np.longdouble) * (2 / np.sqrt(np.longdouble(np.pi)))
    assert ulp_errors(got["erf"], exact).max() <= BOUNDS["erf"]
    underflowing = np.array([np.log(info.tiny) - 5, np.log(info.tiny) - 0.5], dtype)
    exact = np.exp(underflowing.astype(np.longdouble))
    assert ulp_errors(results(dtype, underflowing)["exp"], exact).max() <= BOUNDS["exp"]
    subnormal = np.array([info.smallest_subnormal * 5, info.tiny / 3], dtype)
    exact = np.log(subnormal.astype(np.longdouble))
    assert ulp_errors(results(dtype, subnormal)["log"], exact).max() <= BOUNDS["log"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_functions_vectorize_without_library_calls(dtype: str) -> None:
    text = compiled(dtype).llvm_ir(optimized=True)
    element = "float" if dtype == "float32" else "double"
    for name in OPS:
        kernel = re.search(rf"define internal [^@]*@k\d+_{name}\(.*?\n}}", text, re.S)
        assert kernel is not None, name
        body = kernel.group(0)
        assert re.search(rf"<\d+ x {element}>", body), f"{name} did not vectorize"
        assert not re.search(r"call [^@]*@(?!llvm\.)", body), f"{name} calls a library"


def test_fast_math_does_not_change_the_results() -> None:
    """The vector math carries no fast-math flags: its error analysis needs exact order."""
    x = sample("float32")[::7]
    for got, want in zip(compiled("float32", True)(x), compiled("float32")(x)):
        np.testing.assert_array_equal(got, want)


def test_every_inline_function_is_covered() -> None:
    assert set(FUNCTIONS) <= set(OPS)
