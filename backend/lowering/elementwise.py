"""Scalar rules of the elementwise arithmetic and math primitives, with numpy's semantics.

The integer rules never trap: `x // 0` and `x % 0` are 0 as in numpy, `MIN // -1` wraps to
MIN (numpy's result) instead of raising SIGFPE, and +, -, * wrap around. Float `//` and `%`
follow numpy's `npy_divmod` step by step (the remainder takes the divisor's sign, the quotient
is snapped to the nearest integer). `maximum` / `minimum` return the first operand on ties and
propagate nan, like numpy's loops. An integer power with a negative exponent (numpy raises)
is defined as the truncated real result: 1 for base 1, +-1 for base -1, else 0.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from graphc import dtypes
from graphc.backend.emitter import Emitter
from graphc.backend.lowering.registry import Signature, register_scalar
from graphc.backend.mathlib import math_call
from graphc.primitives import elementwise as ew


def by_kind(
    float_rule: Callable[..., ir.Value] | None = None,
    int_rule: Callable[..., ir.Value] | None = None,
    bool_rule: Callable[..., ir.Value] | None = None,
) -> Callable[..., ir.Value]:
    """A scalar rule choosing among float, integer and bool rules by the operand dtype."""

    def rule(em: Emitter, sig: Signature, *values: ir.Value) -> ir.Value:
        if dtypes.is_float(sig.dtype):
            chosen = float_rule
        elif dtypes.is_integer(sig.dtype):
            chosen = int_rule
        else:
            chosen = bool_rule
        assert chosen is not None, f"no rule for dtype {sig.dtype}"
        return chosen(em, *values)

    return rule


def _const(value: ir.Value, number: float | int) -> ir.Constant:
    return ir.Constant(value.type, number)


def _math(fname: str) -> Callable[..., ir.Value]:
    return lambda em, *xs: math_call(em, fname, *xs)


def _fop(opname: str) -> Callable[..., ir.Value]:
    return lambda em, *xs: em.fop(opname, *xs)


def _iop(opname: str) -> Callable[..., ir.Value]:
    return lambda em, *xs: getattr(em.b, opname)(*xs)


# --- unary -------------------------------------------------------------------------------------


def _logistic(em: Emitter, x: ir.Value) -> ir.Value:
    """f = e / (1 + e) with e = exp(-|x|) (no overflow), and 1 - f for x >= 0: one division."""
    e = math_call(em, "exp", em.fop("fneg", math_call(em, "abs", x)))
    negative = em.fop("fdiv", e, em.fop("fadd", _const(x, 1.0), e))
    positive = em.fop("fsub", _const(x, 1.0), negative)
    return em.b.select(em.fcmp(">=", x, _const(x, 0.0)), positive, negative)


def _float_sign(em: Emitter, x: ir.Value) -> ir.Value:
    """-1, 0 or 1; nan stays nan; -0.0 gives 0.0 (numpy's sign)."""
    b = em.b
    zero_or_nan = b.select(em.is_nan(x), x, _const(x, 0.0))
    below = b.select(em.fcmp("<", x, _const(x, 0.0)), _const(x, -1.0), zero_or_nan)
    return b.select(em.fcmp(">", x, _const(x, 0.0)), _const(x, 1.0), below)


def _int_sign(em: Emitter, x: ir.Value) -> ir.Value:
    b = em.b
    zero = _const(x, 0)
    positive = b.zext(b.icmp_signed(">", x, zero), x.type)
    negative = b.zext(b.icmp_signed("<", x, zero), x.type)
    return b.sub(positive, negative)


def _int_abs(em: Emitter, x: ir.Value) -> ir.Value:
    b = em.b
    return b.select(b.icmp_signed("<", x, _const(x, 0)), b.sub(_const(x, 0), x), x)


for _prim, _fname in [
    (ew.exp_p, "exp"),
    (ew.log_p, "log"),
    (ew.log1p_p, "log1p"),
    (ew.expm1_p, "expm1"),
    (ew.sqrt_p, "sqrt"),
    (ew.sin_p, "sin"),
    (ew.cos_p, "cos"),
    (ew.tan_p, "tan"),
    (ew.tanh_p, "tanh"),
    (ew.erf_p, "erf"),
    (ew.floor_p, "floor"),
    (ew.ceil_p, "ceil"),
    (ew.round_p, "round"),
]:
    register_scalar(_prim, by_kind(float_rule=_math(_fname)))

register_scalar(ew.logistic_p, by_kind(float_rule=_logistic))
register_scalar(
    ew.neg_p, by_kind(float_rule=_fop("fneg"), int_rule=lambda em, x: em.b.sub(_const(x, 0), x))
)
register_scalar(ew.abs_p, by_kind(float_rule=_math("abs"), int_rule=_int_abs))
register_scalar(ew.sign_p, by_kind(float_rule=_float_sign, int_rule=_int_sign))
register_scalar(ew.not_p, by_kind(bool_rule=lambda em, x: em.b.not_(x)))

# --- binary arithmetic -------------------------------------------------------------------------

register_scalar(ew.add_p, by_kind(float_rule=_fop("fadd"), int_rule=_iop("add")))
register_scalar(ew.sub_p, by_kind(float_rule=_fop("fsub"), int_rule=_iop("sub")))
register_scalar(ew.mul_p, by_kind(float_rule=_fop("fmul"), int_rule=_iop("mul")))
register_scalar(ew.div_p, by_kind(float_rule=_fop("fdiv")))
register_scalar(ew.and_p, by_kind(bool_rule=_iop("and_")))
register_scalar(ew.or_p, by_kind(bool_rule=_iop("or_")))


def _extremum(float_op: str, int_op: str) -> Callable[..., ir.Value]:
    """numpy's maximum/minimum: `x if (x op y or isnan(x)) else y`."""

    def float_rule(em: Emitter, x: ir.Value, y: ir.Value) -> ir.Value:
        keep_x = em.b.or_(em.fcmp(float_op, x, y), em.is_nan(x))
        return em.b.select(keep_x, x, y)

    def int_rule(em: Emitter, x: ir.Value, y: ir.Value) -> ir.Value:
        return em.b.select(em.b.icmp_signed(int_op, x, y), x, y)

    return by_kind(float_rule=float_rule, int_rule=int_rule)


register_scalar(ew.maximum_p, _extremum(">=", ">="))
register_scalar(ew.minimum_p, _extremum("<=", "<="))


def float_divmod(em: Emitter, a: ir.Value, b: ir.Value) -> tuple[ir.Value, ir.Value]:
    """numpy's `npy_divmod` for floats: (floor quotient, remainder with the divisor's sign)."""
    bld = em.b
    zero, one = _const(a, 0.0), _const(a, 1.0)
    mod = em.fop("frem", a, b)
    div = em.fop("fdiv", em.fop("fsub", a, mod), b)
    mod_nonzero = bld.fcmp_unordered("!=", mod, zero)  # C's `if (mod)`: nan counts as true
    signs_differ = bld.xor(em.fcmp("<", b, zero), em.fcmp("<", mod, zero))
    fix = bld.and_(mod_nonzero, signs_differ)
    fixed_mod = bld.select(fix, em.fop("fadd", mod, b), mod)
    div = bld.select(fix, em.fop("fsub", div, one), div)
    fixed_mod = bld.select(mod_nonzero, fixed_mod, math_call(em, "copysign", zero, b))
    floor = math_call(em, "floor", div)
    snapped = bld.select(
        em.fcmp(">", em.fop("fsub", div, floor), _const(a, 0.5)), em.fop("fadd", floor, one), floor
    )
    true_quotient = em.fop("fdiv", a, b)
    quotient = bld.select(
        bld.fcmp_unordered("!=", div, zero), snapped, math_call(em, "copysign", zero, true_quotient)
    )
    b_zero = em.fcmp("==", b, zero)
    return bld.select(b_zero, true_quotient, quotient), bld.select(b_zero, mod, fixed_mod)


def int_divmod(em: Emitter, a: ir.Value, b: ir.Value) -> tuple[ir.Value, ir.Value]:
    """numpy's integer (floor quotient, remainder), with 0 for division by 0 and no trap.

    The hardware division never sees 0 or -1 as divisor (MIN / -1 traps on x86): both are
    replaced by 1 and the results for them are selected afterwards.
    """
    bld = em.b
    zero, one = _const(a, 0), _const(a, 1)
    by_zero = bld.icmp_signed("==", b, zero)
    by_minus_one = bld.icmp_signed("==", b, _const(a, -1))
    safe = bld.select(bld.or_(by_zero, by_minus_one), one, b)
    quotient = bld.sdiv(a, safe)
    remainder = bld.srem(a, safe)
    signs_differ = bld.xor(bld.icmp_signed("<", remainder, zero), bld.icmp_signed("<", safe, zero))
    fix = bld.and_(bld.icmp_signed("!=", remainder, zero), signs_differ)
    quotient = bld.sub(quotient, bld.zext(fix, a.type))
    remainder = bld.select(fix, bld.add(remainder, safe), remainder)
    quotient = bld.select(by_minus_one, bld.sub(zero, a), quotient)
    return bld.select(by_zero, zero, quotient), remainder


register_scalar(
    ew.floordiv_p,
    by_kind(
        float_rule=lambda em, a, b: float_divmod(em, a, b)[0],
        int_rule=lambda em, a, b: int_divmod(em, a, b)[0],
    ),
)
register_scalar(
    ew.rem_p,
    by_kind(
        float_rule=lambda em, a, b: float_divmod(em, a, b)[1],
        int_rule=lambda em, a, b: int_divmod(em, a, b)[1],
    ),
)


def int_power(em: Emitter, x: ir.Value, y: ir.Value) -> ir.Value:
    """x ** y by squaring, wrapping like numpy; a negative y gives the truncated real power."""
    bld = em.b
    zero, one = _const(x, 0), _const(x, 1)
    start = bld.block
    header = bld.append_basic_block("pow.loop")
    body = bld.append_basic_block("pow.body")
    done = bld.append_basic_block("pow.done")
    negative_exponent = bld.icmp_signed("<", y, zero)
    first_exponent = bld.select(negative_exponent, zero, y)
    bld.branch(header)
    bld.position_at_end(header)
    acc = bld.phi(x.type, name="pow.acc")
    base = bld.phi(x.type, name="pow.base")
    exponent = bld.phi(x.type, name="pow.exp")
    acc.add_incoming(one, start)
    base.add_incoming(x, start)
    exponent.add_incoming(first_exponent, start)
    bld.cbranch(bld.icmp_signed(">", exponent, zero), body, done)
    bld.position_at_end(body)
    odd = bld.trunc(exponent, ir.IntType(1))
    acc.add_incoming(bld.select(odd, bld.mul(acc, base), acc), body)
    base.add_incoming(bld.mul(base, base), body)
    exponent.add_incoming(bld.lshr(exponent, one), body)
    bld.branch(header)
    bld.position_at_end(done)
    odd_exponent = bld.trunc(y, ir.IntType(1))
    minus_one_power = bld.select(odd_exponent, _const(x, -1), one)
    reciprocal = bld.select(
        bld.icmp_signed("==", x, one),
        one,
        bld.select(bld.icmp_signed("==", x, _const(x, -1)), minus_one_power, zero),
    )
    return bld.select(negative_exponent, reciprocal, acc)


register_scalar(ew.pow_p, by_kind(float_rule=_math("pow"), int_rule=int_power))
