"""Vectorizable exp, log, log1p, expm1, tanh and erf: range reduction + polynomial in LLVM IR.

Why: LLVM turns `llvm.exp` and libm calls into one scalar call per element, and a loop with a
call in it is not vectorized: a fused tanh-form GELU over 4M floats took 80 ms with `tanhf`,
about 30 times longer than with this code. The functions here emit straight-line code on
one float register made only of `fmul`, `fadd`, `fsub`, `fdiv`, `llvm.fmuladd`, `llvm.fabs`,
`llvm.copysign`, comparisons, `select` and integer operations on the float's bits. Inside an
elementwise loop LLVM's loop vectorizer widens all of it (8 or 16 float lanes with AVX-512,
as the target prefers), and special cases are selects, not branches, so every lane runs the
same instructions.

Methods (the polynomials are Chebyshev fits computed with mpmath at 60 digits, coefficients
rounded to the target type; `Poly` names each fitted function and interval):

- exp: n = round(x / ln 2) (adding and subtracting 1.5 * 2^p, whose low bits then hold n),
  r = x - n ln2_hi - n ln2_lo (Cody and Waite: n ln2_hi is exact), e^r = 1 + r + r^2 P(r),
  times 2^n built in the exponent bits. The scaling is split in two
  factors so that results between the largest finite value and overflow, and subnormal
  results, are rounded once, like a correctly scaled product.
- expm1: the same reduction; expm1(r) = r + r^2 P(r) (the same P), and
  expm1(x) = 2 (2^(n-1) expm1(r) + (2^(n-1) - 1/2)), which is expm1(r) itself for n = 0.
- log: x = 2^k z with z in [sqrt(2)/2, sqrt(2)) by integer arithmetic on the bits
  (subnormals are scaled first), f = z - 1, s = f / (2 + f) and
  log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)) as in fdlibm.
- log1p: log of u = 1 + x, with f = x itself when no reduction happens and otherwise the
  rounding error of u folded back as (x - (u - 1)) / u (fdlibm's log1p).
- tanh: with m = expm1(-2|x|) (the reduction above, one scaling: |x| is capped where tanh
  rounds to 1), tanh(|x|) = -m / (m + 2), and the sign of x is copied: one formula, no
  branch, accurate near 0 because expm1 is.
- erf: |x| + |x| E(x^2) below 1, else 1 - exp(L(|x|) - x^2) with L fitting log(erfc(a)) + a^2
  (one polynomial for float32 on [1, 4], two for float64 on [1, 2.5] and [2.5, 6], chosen
  per lane by selecting coefficients); erf is 1 after rounding beyond the interval.

Accuracy: the largest error found, in units in the last place of the result, against float64
(for float32) or 80-bit extended (for float64) references; float32 over every 17th of all
2^32 inputs (253 million), float64 over 12 million points (random bit patterns plus uniform
samples of [-s, s] for s from 0.01 to 800; erf: 250,000 points against mpmath). `logistic`
(in `lowering/elementwise.py`) is built on this exp. The bounds on the right are the
documented ones, which the tests check:

| function | float32 | float64 | bound |
|----------|---------|---------|-------|
| exp      | 1.08    | 0.98    | 1.5   |
| expm1    | 1.61    | 1.79    | 2     |
| log      | 0.83    | 0.81    | 1     |
| log1p    | 0.82    | 0.81    | 1     |
| tanh     | 2.49    | 2.57    | 3     |
| erf      | 1.09    | 1.00    | 1.5   |
| logistic | 2.40    | 2.30    | 3     |

`tests/backend/test_vecmath.py` measures every function at both precisions against the
bounds, and checks the special values: nan stays nan; exp(+-inf) = inf, 0; log(0) = -inf,
log(x < 0) = nan, log(inf) = inf; log1p(-1) = -inf; expm1(-inf) = -1; tanh and erf of +-inf
are +-1; results that overflow are inf; subnormal inputs and results stay within the bounds;
signed zeros are kept (f(-0.0) = -0.0 for the odd functions, expm1 and log1p).

No fast-math flags are put on this code, whatever the compile option: the error analysis
depends on the operations running as written (the Cody-Waite reduction cancels exactly only
if it is not reassociated).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from llvmlite import ir

from graphc.backend.emitter import Emitter, declare
from graphc.backend.irtypes import F32, F64, I32, I64


@dataclass(frozen=True)
class FloatFormat:
    """The bit layout of an IEEE binary float type."""

    ftype: ir.Type
    itype: ir.IntType
    mantissa_bits: int
    bias: int

    @property
    def name(self) -> str:
        return "f32" if self.ftype == F32 else "f64"


FORMATS = {
    "f32": FloatFormat(F32, I32, 23, 127),
    "f64": FloatFormat(F64, I64, 52, 1023),
}


def float_format(ftype: ir.Type) -> FloatFormat:
    """The format of `float` or `double`.

    >>> float_format(ir.DoubleType()).mantissa_bits
    52
    """
    return FORMATS["f32" if isinstance(ftype, ir.FloatType) else "f64"]


@dataclass(frozen=True)
class Poly:
    """Polynomial coefficients (ascending powers) per float type, and what they approximate."""

    fits: str
    f32: tuple[float, ...]
    f64: tuple[float, ...]

    def coefficients(self, fmt: FloatFormat) -> tuple[float, ...]:
        return self.f32 if fmt.name == "f32" else self.f64


EXP_POLY = Poly(
    "(e^r - 1 - r) / r^2 on [-ln(2)/2, ln(2)/2]; degree 4 (float32), 10 (float64)",
    (0.5, 0.16666578, 0.041666556, 0.008363173, 0.0013926176),
    (
        0.5,
        0.1666666666666667,
        0.04166666666666667,
        0.008333333333326141,
        0.0013888888888883752,
        0.00019841269874800493,
        2.4801587325533363e-05,
        2.7557255425746435e-06,
        2.7557273661348637e-07,
        2.510520637395701e-08,
        2.0914679376583935e-09,
    ),
)
LOG_POLY = Poly(
    "(2 atanh(s) / s - 2) / z with z = s^2 on [0, (3 - 2 sqrt(2))^2]; degree 3, 6",
    (0.6666667, 0.40000123, 0.28550822, 0.23330468),
    (
        0.666666666666667,
        0.39999999999899505,
        0.28571428625975487,
        0.2222221113479508,
        0.18182889125261723,
        0.15331721600556042,
        0.14616449685043406,
    ),
)
ERF_SMALL_POLY = Poly(
    "erf(a) / a - 1 as a function of z = a^2 on [0, 1]; degree 6, 12",
    (0.12837917, -0.37612626, 0.11283594, -0.026854211, 0.0051890872, -0.00080168643, 7.875875e-05),
    (
        0.1283791670955126,
        -0.3761263890318375,
        0.11283791670954879,
        -0.026866170645076792,
        0.0052239776248180145,
        -0.000854832698083379,
        0.0001205533111164271,
        -1.4925595266831182e-05,
        1.6461000484121368e-06,
        -1.6350312701054695e-07,
        1.4659775274047436e-08,
        -1.1372848856791674e-09,
        5.957176147748911e-11,
    ),
)
#: float32: log(erfc(a)) + a^2 in u = a - 2.5 on [1, 4] (degree 8).
ERF_TAIL_F32 = (
    -1.5568153,
    -0.35268068,
    0.056106295,
    -0.010858541,
    0.0021653036,
    -0.00042012252,
    7.729138e-05,
    -1.3315014e-05,
    1.6371514e-06,
)
#: float64: log(erfc(a)) + a^2 in u = a - 1.75 on [1, 2.5] (degree 16).
ERF_TAIL_NEAR_F64 = (
    -1.2553635254332227,
    -0.4596109008134153,
    0.09005983350326342,
    -0.020538840381642994,
    0.004624930498877531,
    -0.0009640986489423922,
    0.00017452306454516999,
    -2.3741463568154805e-05,
    8.275194478827921e-07,
    8.908616929462253e-07,
    -4.0192933598788253e-07,
    1.1310522337428491e-07,
    -2.307431396619057e-08,
    2.862289649232427e-09,
    2.349991963047211e-10,
    -3.4320349789246363e-10,
    1.1398544940688474e-10,
)
#: float64: log(erfc(a)) + a^2 in u = a - 4.25 on [2.5, 6] (degree 16).
ERF_TAIL_FAR_F64 = (
    -2.045269901469707,
    -0.22377571552195313,
    0.02391542360311686,
    -0.0032637442789577157,
    0.00048052875642905777,
    -7.237983657975445e-05,
    1.0879251818304368e-05,
    -1.6067286323630878e-06,
    2.3019673791948704e-07,
    -3.154825282334365e-08,
    4.051516015342507e-09,
    -4.674305474428252e-10,
    4.435655510937355e-11,
    -2.940872614232999e-12,
    -2.6991288529127863e-13,
    2.8698220841370513e-13,
    -5.946112033676618e-14,
)

LOG2_E = 1.4426950408889634
#: ln 2 = hi + lo with hi short enough that n * hi is exact for every n the reductions use.
LN2_F64 = (0.6931471803691238, 1.9082149292705877e-10)
LN2_SPLIT = {
    "exp": {"f32": (0.693359375, -2.12194440e-4), "f64": LN2_F64},
    "log": {"f32": (0.693138122559, 9.0580006145e-06), "f64": LN2_F64},
}
#: x * 1/sqrt(2) bits: log reduces into [sqrt(2)/2, sqrt(2)).
SQRT_HALF_BITS = {"f32": 0x3F3504F3, "f64": 0x3FE6A09E667F3BCD}
#: exp overflows to inf above and underflows to 0 below these (clamping keeps n in range).
EXP_RANGE = {"f32": (-104.0, 89.0), "f64": (-746.0, 710.0)}
#: expm1 is -1 after rounding below the first bound.
EXPM1_RANGE = {"f32": (-30.0, 89.0), "f64": (-40.0, 710.0)}
#: tanh is +-1 after rounding beyond this.
TANH_ONE = {"f32": 10.0, "f64": 20.0}
#: erf is +-1 after rounding beyond this.
ERF_ONE = {"f32": 4.0, "f64": 6.0}


class Ops:
    """Flag-free float arithmetic on one float type, and integer access to its bits.

    Args:
        em: the emitter whose builder receives the code.
        ftype: `float` or `double`.
    """

    def __init__(self, em: Emitter, ftype: ir.Type):
        self.b = em.b
        self.module = em.module
        self.fmt = float_format(ftype)
        self.ftype = ftype

    def c(self, value: float) -> ir.Constant:
        return ir.Constant(self.ftype, value)

    def i(self, value: int) -> ir.Constant:
        return ir.Constant(self.fmt.itype, value)

    def add(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b.fadd(x, y)

    def sub(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b.fsub(x, y)

    def mul(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b.fmul(x, y)

    def div(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b.fdiv(x, y)

    def intrinsic(self, name: str, *args: ir.Value) -> ir.Value:
        suffix = "f32" if self.fmt.name == "f32" else "f64"
        fn = declare(self.module, f"{name}.{suffix}", self.ftype, [a.type for a in args])
        return self.b.call(fn, list(args))

    def fma(self, x: ir.Value, y: ir.Value, z: ir.Value) -> ir.Value:
        """x * y + z, fused where the target has FMA (the error bounds hold either way)."""
        return self.intrinsic("llvm.fmuladd", x, y, z)

    def horner(self, x: ir.Value, coefficients: Sequence[ir.Value | float]) -> ir.Value:
        """sum(c[k] x^k) by Horner's rule."""
        values = [c if isinstance(c, ir.Value) else self.c(c) for c in coefficients]
        acc = values[-1]
        for c in reversed(values[:-1]):
            acc = self.fma(acc, x, c)
        return acc

    def abs(self, x: ir.Value) -> ir.Value:
        return self.intrinsic("llvm.fabs", x)

    def copysign(self, magnitude: ir.Value, sign: ir.Value) -> ir.Value:
        return self.intrinsic("llvm.copysign", magnitude, sign)

    def lt(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b.fcmp_ordered("<", x, y)

    def le(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b.fcmp_ordered("<=", x, y)

    def eq(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b.fcmp_ordered("==", x, y)

    def is_nan(self, x: ir.Value) -> ir.Value:
        return self.b.fcmp_unordered("uno", x, x)

    def select(self, cond: ir.Value, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b.select(cond, x, y)

    def at_most(self, x: ir.Value, hi: float) -> ir.Value:
        """min(x, hi), keeping nan."""
        return self.select(self.lt(self.c(hi), x), self.c(hi), x)

    def clamp(self, x: ir.Value, lo: float, hi: float) -> ir.Value:
        """x limited to [lo, hi], keeping nan."""
        return self.select(self.lt(x, self.c(lo)), self.c(lo), self.at_most(x, hi))

    def bits(self, x: ir.Value) -> ir.Value:
        return self.b.bitcast(x, self.fmt.itype)

    def from_bits(self, n: ir.Value) -> ir.Value:
        return self.b.bitcast(n, self.ftype)

    def to_float(self, n: ir.Value) -> ir.Value:
        return self.b.sitofp(n, self.ftype)

    def pow2(self, n: ir.Value) -> ir.Value:
        """2^n for an integer n in the normal exponent range, built in the exponent field."""
        biased = self.b.add(n, self.i(self.fmt.bias))
        return self.from_bits(self.b.shl(biased, self.i(self.fmt.mantissa_bits)))

    def keep_tiny(self, x: ir.Value, result: ir.Value) -> ir.Value:
        """`x` itself where |x| is below 2^-(p+2): f(x) = x after rounding, zeros keep signs."""
        tiny = self.c(2.0 ** -(self.fmt.mantissa_bits + 3))
        return self.select(self.lt(self.abs(x), tiny), x, result)


# --- exp and expm1 -----------------------------------------------------------------------------


def _reduce_exp(ops: Ops, x: ir.Value) -> tuple[ir.Value, ir.Value]:
    """(n, expm1(r)) with x = n ln 2 + r, |r| <= ln(2)/2 and n an integer register.

    n is rounded by adding 1.5 * 2^p (the "shifter"): the sum's low mantissa bits then hold n,
    so no float-to-int conversion is needed, and a nan x gives a nan result, not poison.
    """
    fmt = ops.fmt
    hi, lo = LN2_SPLIT["exp"][fmt.name]
    shifter = 1.5 * 2.0**fmt.mantissa_bits
    shifted = ops.fma(x, ops.c(LOG2_E), ops.c(shifter))
    n = ops.sub(shifted, ops.c(shifter))
    r = ops.fma(n, ops.c(-hi), x)
    r = ops.fma(n, ops.c(-lo), r)
    p = ops.horner(r, EXP_POLY.coefficients(fmt))
    exponent_bits = (fmt.bias + fmt.mantissa_bits) << fmt.mantissa_bits
    shifter_bits = exponent_bits | 1 << (fmt.mantissa_bits - 1)  # the bits of `shifter`
    n_int = ops.b.sub(ops.bits(shifted), ops.i(shifter_bits))
    return n_int, ops.fma(ops.mul(r, r), p, r)


def exp_in_range(ops: Ops, x: ir.Value) -> ir.Value:
    """e^x for x whose result is a normal number (no overflow, no subnormal): one scaling."""
    n, em1 = _reduce_exp(ops, x)
    return ops.mul(ops.add(ops.c(1.0), em1), ops.pow2(n))


def expm1_in_range(ops: Ops, x: ir.Value) -> ir.Value:
    """e^x - 1 for x in [-(bias - 1) ln 2, 0]: 2^n expm1(r) + (2^n - 1)."""
    n, em1 = _reduce_exp(ops, x)
    scale = ops.pow2(n)
    return ops.fma(scale, em1, ops.sub(scale, ops.c(1.0)))


def exp(ops: Ops, x: ir.Value) -> ir.Value:
    """e^x for every float x."""
    lo, hi = EXP_RANGE[ops.fmt.name]
    n, em1 = _reduce_exp(ops, ops.clamp(x, lo, hi))
    half = ops.b.ashr(n, ops.i(1))
    scaled = ops.mul(ops.add(ops.c(1.0), em1), ops.pow2(half))
    return ops.mul(scaled, ops.pow2(ops.b.sub(n, half)))


def expm1(ops: Ops, x: ir.Value) -> ir.Value:
    """e^x - 1, accurate near 0."""
    lo, hi = EXPM1_RANGE[ops.fmt.name]
    n, em1 = _reduce_exp(ops, ops.clamp(x, lo, hi))
    half_scale = ops.pow2(ops.b.sub(n, ops.i(1)))
    result = ops.mul(ops.fma(half_scale, em1, ops.sub(half_scale, ops.c(0.5))), ops.c(2.0))
    result = ops.select(ops.b.icmp_signed("==", n, ops.i(0)), em1, result)
    return ops.keep_tiny(x, result)


# --- log and log1p -----------------------------------------------------------------------------


def _reduce_log(ops: Ops, bits: ir.Value) -> tuple[ir.Value, ir.Value]:
    """(k, z) with x = 2^k z, z in [sqrt(2)/2, sqrt(2)), from the bits of a normal x > 0."""
    fmt = ops.fmt
    one_bits = fmt.bias << fmt.mantissa_bits
    sqrt_half = SQRT_HALF_BITS[fmt.name]
    shifted = ops.b.add(bits, ops.i(one_bits - sqrt_half))
    k = ops.b.sub(ops.b.ashr(shifted, ops.i(fmt.mantissa_bits)), ops.i(fmt.bias))
    mantissa = ops.b.and_(shifted, ops.i((1 << fmt.mantissa_bits) - 1))
    z = ops.from_bits(ops.b.add(mantissa, ops.i(sqrt_half)))
    return k, z


def _log_kernel(ops: Ops, f: ir.Value, k: ir.Value, correction: ir.Value | None) -> ir.Value:
    """k ln 2 + log(1 + f) (+ correction), for f in [sqrt(2)/2 - 1, sqrt(2) - 1]."""
    hi, lo = LN2_SPLIT["log"][ops.fmt.name]
    kf = ops.to_float(k)
    s = ops.div(f, ops.add(ops.c(2.0), f))
    z = ops.mul(s, s)
    r = ops.mul(z, ops.horner(z, LOG_POLY.coefficients(ops.fmt)))
    hfsq = ops.mul(ops.mul(ops.c(0.5), f), f)
    low = ops.mul(kf, ops.c(lo))
    if correction is not None:
        low = ops.add(low, correction)
    tail = ops.sub(ops.sub(hfsq, ops.fma(s, ops.add(hfsq, r), low)), f)
    return ops.fma(kf, ops.c(hi), ops.b.fneg(tail))


def _log_specials(ops: Ops, x: ir.Value, at: ir.Value, result: ir.Value) -> ir.Value:
    """log's special cases decided on `at` (x for log, 1 + x for log1p); nan stays x."""
    inf = ops.c(float("inf"))
    result = ops.select(ops.eq(at, inf), inf, result)
    result = ops.select(ops.eq(at, ops.c(0.0)), ops.c(float("-inf")), result)
    result = ops.select(ops.lt(at, ops.c(0.0)), ops.c(float("nan")), result)
    return ops.select(ops.is_nan(x), x, result)


def log(ops: Ops, x: ir.Value) -> ir.Value:
    """The natural logarithm."""
    fmt = ops.fmt
    smallest_normal = ops.c(2.0 ** (1 - fmt.bias))
    subnormal = ops.lt(x, smallest_normal)
    scale_bits = fmt.mantissa_bits + 2
    scaled = ops.select(subnormal, ops.mul(x, ops.c(2.0**scale_bits)), x)
    k, z = _reduce_log(ops, ops.bits(scaled))
    k = ops.b.sub(k, ops.select(subnormal, ops.i(scale_bits), ops.i(0)))
    result = _log_kernel(ops, ops.sub(z, ops.c(1.0)), k, None)
    return _log_specials(ops, x, x, result)


def log1p(ops: Ops, x: ir.Value) -> ir.Value:
    """log(1 + x), accurate near 0."""
    u = ops.add(ops.c(1.0), x)
    k, z = _reduce_log(ops, ops.bits(u))
    unreduced = ops.b.icmp_signed("==", k, ops.i(0))
    error = ops.select(
        ops.b.icmp_signed(">=", k, ops.i(2)),
        ops.sub(ops.c(1.0), ops.sub(u, x)),
        ops.sub(x, ops.sub(u, ops.c(1.0))),
    )
    correction = ops.select(unreduced, ops.c(0.0), ops.div(error, u))
    f = ops.select(unreduced, x, ops.sub(z, ops.c(1.0)))
    result = _log_kernel(ops, f, k, correction)
    return ops.keep_tiny(x, _log_specials(ops, x, u, result))


# --- tanh and erf ------------------------------------------------------------------------------


def tanh(ops: Ops, x: ir.Value) -> ir.Value:
    """The hyperbolic tangent: -expm1(-2|x|) / (expm1(-2|x|) + 2), with the sign of x."""
    twice = ops.mul(ops.at_most(ops.abs(x), TANH_ONE[ops.fmt.name]), ops.c(-2.0))
    em1 = expm1_in_range(ops, twice)
    return ops.copysign(ops.div(em1, ops.add(em1, ops.c(2.0))), x)


def _erf_tail_log(ops: Ops, a: ir.Value) -> ir.Value:
    """log(erfc(a)) + a^2 for a in [1, ERF_ONE]: one float32 fit, two float64 fits."""
    if ops.fmt.name == "f32":
        return ops.horner(ops.sub(a, ops.c(2.5)), ERF_TAIL_F32)
    near = ops.lt(a, ops.c(2.5))
    u = ops.sub(a, ops.select(near, ops.c(1.75), ops.c(4.25)))
    coefficients = [
        ops.select(near, ops.c(n), ops.c(f)) for n, f in zip(ERF_TAIL_NEAR_F64, ERF_TAIL_FAR_F64)
    ]
    return ops.horner(u, coefficients)


def erf(ops: Ops, x: ir.Value) -> ir.Value:
    """The error function."""
    a = ops.abs(x)
    small = ops.fma(a, ops.horner(ops.mul(a, a), ERF_SMALL_POLY.coefficients(ops.fmt)), a)
    t = ops.clamp(a, 1.0, ERF_ONE[ops.fmt.name])
    erfc = exp_in_range(ops, ops.sub(_erf_tail_log(ops, t), ops.mul(t, t)))
    result = ops.select(ops.lt(a, ops.c(1.0)), small, ops.sub(ops.c(1.0), erfc))
    return ops.copysign(result, x)


#: The functions this module implements, by mathlib name.
FUNCTIONS: dict[str, Callable[[Ops, ir.Value], ir.Value]] = {
    "exp": exp,
    "expm1": expm1,
    "log": log,
    "log1p": log1p,
    "tanh": tanh,
    "erf": erf,
}


def vector_math(em: Emitter, fname: str, x: ir.Value) -> ir.Value:
    """`fname(x)` on a float register as vectorizable IR.

    >>> from graphc.backend.irtypes import F32, VOID
    >>> m = ir.Module()
    >>> fn = ir.Function(m, ir.FunctionType(F32, [F32]), "f")
    >>> em = Emitter(ir.IRBuilder(fn.append_basic_block()))
    >>> _ = em.b.ret(vector_math(em, "exp", fn.args[0]))
    >>> "call" in str(m) and "@expf" not in str(m)
    True
    """
    return FUNCTIONS[fname](Ops(em, x.type), x)
