"""Transcendental and rounding functions of one element: inline IR, intrinsics or libm calls.

This module is the single place that decides how `exp`, `log`, `tanh`, ... become code:

- `exp`, `expm1`, `log`, `log1p`, `tanh` and `erf` are built by `graphc.backend.vecmath`
  (range reduction + polynomial, a few ulp) once per module and dtype, as an `alwaysinline`
  function (`graphc.exp.f32`, ...): every use becomes the inline code LLVM's loop vectorizer
  widens like any arithmetic, but the IR is generated and parsed once (a gradient of 40
  scalar variables uses `exp` and `log` a hundred times);
- intrinsics that LLVM lowers to single instructions (sqrt, floor, ceil, roundeven, fabs,
  copysign) vectorize too;
- `sin`, `cos`, `tan` and `pow` stay scalar calls (`llvm.sin` becomes `sinf`/`sin`): their
  argument reduction for huge inputs needs more than a polynomial. The JIT resolves them in the
  process's C math library and an exported library links with `-lm`.
"""

from __future__ import annotations

from llvmlite import ir

from graphc.backend.emitter import Emitter, declare
from graphc.backend.vecmath import FUNCTIONS as VECTOR_FUNCTIONS
from graphc.backend.vecmath import vector_math

#: Functions implemented by an LLVM intrinsic, overloaded on the float type.
INTRINSICS = {
    "sin": "llvm.sin",
    "cos": "llvm.cos",
    "sqrt": "llvm.sqrt",
    "floor": "llvm.floor",
    "ceil": "llvm.ceil",
    "round": "llvm.roundeven",  # to nearest, ties to even: numpy's rint
    "abs": "llvm.fabs",
    "pow": "llvm.pow",
    "copysign": "llvm.copysign",
}

#: Functions with no intrinsic: C99 libm, `name` for double and `namef` for float.
LIBM = frozenset({"tan"})


def libm_symbol(fname: str, float_type: ir.Type) -> str:
    """The C symbol of a libm function for a float type.

    >>> libm_symbol("erf", ir.FloatType()), libm_symbol("erf", ir.DoubleType())
    ('erff', 'erf')
    """
    return fname + ("f" if isinstance(float_type, ir.FloatType) else "")


def shared_vector_function(module: ir.Module, fname: str, ftype: ir.Type) -> ir.Function:
    """The module's `alwaysinline` function computing `fname` with vector math, defined on
    first use.

    >>> m = ir.Module()
    >>> f = shared_vector_function(m, "exp", ir.FloatType())
    >>> f.name, shared_vector_function(m, "exp", ir.FloatType()) is f
    ('graphc.exp.f32', True)
    """
    short = "f32" if isinstance(ftype, ir.FloatType) else "f64"
    symbol = f"graphc.{fname}.{short}"
    existing = module.globals.get(symbol)
    if existing is not None:
        return existing
    fn = ir.Function(module, ir.FunctionType(ftype, [ftype]), symbol)
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline")
    fn.attributes.add("nounwind")
    fn.args[0].name = "x"
    builder = ir.IRBuilder(fn.append_basic_block("entry"))
    builder.ret(vector_math(Emitter(builder), fname, fn.args[0]))
    return fn


def math_call(em: Emitter, fname: str, *args: ir.Value, name: str = "") -> ir.Value:
    """`fname(*args)` on float registers: inline vector math, an intrinsic or a libm call."""
    ftype = args[0].type
    if fname in VECTOR_FUNCTIONS:  # no fast-math flags: the error bounds need exact operations
        return em.b.call(shared_vector_function(em.module, fname, ftype), list(args), name=name)
    if fname in INTRINSICS:
        return em.intrinsic(INTRINSICS[fname], ftype, args, result=name)
    if fname in LIBM:
        fn = declare(em.module, libm_symbol(fname, ftype), ftype, [a.type for a in args])
        return em.call(fn, args, name=name)
    raise KeyError(f"mathlib: no implementation of {fname!r}")
