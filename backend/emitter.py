"""`Emitter`: an IRBuilder plus what scalar code needs, with the fast-math flags in one place.

Every float instruction and float-returning call goes through `Emitter.fop` / `Emitter.call`,
so the `fast_math` option is applied uniformly, and functions (intrinsics, libm) are declared
once per module by `declare`.

`fast_math=True` sets LLVM's `reassoc contract nsz arcp afn`: sums may be reordered (so float
reductions vectorize), multiply-adds may fuse, signed zeros and reciprocal exactness are
ignored. It deliberately leaves out `nnan`/`ninf`: nan and infinity keep their meaning, so
`maximum`, `sign` and `argmax` still treat nan as numpy does.
"""

from __future__ import annotations

from collections.abc import Sequence

from llvmlite import ir

#: The LLVM fast-math flags `fast_math=True` puts on float operations.
FAST_MATH_FLAGS = ("reassoc", "contract", "nsz", "arcp", "afn")

#: The flag every reduction's accumulation carries, fast math or not: the order in which a
#: sum adds its terms is unspecified (as in numpy, which sums pairwise), so LLVM may keep
#: several partial sums in vector lanes.
REDUCTION_FLAGS = ("reassoc",)


def declare(module: ir.Module, name: str, ret: ir.Type, args: Sequence[ir.Type]) -> ir.Function:
    """The function `name` of this module, declared on first use.

    >>> m = ir.Module()
    >>> f = declare(m, "erff", ir.FloatType(), [ir.FloatType()])
    >>> f is declare(m, "erff", ir.FloatType(), [ir.FloatType()])
    True
    """
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    return ir.Function(module, ir.FunctionType(ret, list(args)), name)


class Emitter:
    """Scalar code generation at the builder's position.

    Args:
        builder: positioned where code goes.
        fast_math: put `FAST_MATH_FLAGS` on float operations.
    """

    def __init__(self, builder: ir.IRBuilder, fast_math: bool = False):
        self.b = builder
        self.flags: tuple[str, ...] = FAST_MATH_FLAGS if fast_math else ()

    @property
    def module(self) -> ir.Module:
        return self.b.module

    def fop(
        self, opname: str, *args: ir.Value, name: str = "", reduction: bool = False
    ) -> ir.Value:
        """A float instruction (`fadd`, `fsub`, `fmul`, `fdiv`, `frem`, `fneg`) with the flags.

        `reduction=True` marks an accumulation whose order may change (`REDUCTION_FLAGS`).
        """
        flags = self.flags
        if reduction:
            flags = tuple(dict.fromkeys(flags + REDUCTION_FLAGS))
        return getattr(self.b, opname)(*args, name=name, flags=flags)

    def fcmp(self, op: str, x: ir.Value, y: ir.Value, name: str = "") -> ir.Value:
        """An ordered float comparison (false when either side is nan); `op` like '<'."""
        return self.b.fcmp_ordered(op, x, y, name=name)

    def is_nan(self, x: ir.Value, name: str = "") -> ir.Value:
        return self.b.fcmp_unordered("uno", x, x, name=name)

    def call(self, fn: ir.Function, args: Sequence[ir.Value], name: str = "") -> ir.Value:
        """Call `fn`; float-returning calls get the fast-math flags."""
        returns_float = isinstance(fn.function_type.return_type, (ir.FloatType, ir.DoubleType))
        return self.b.call(fn, list(args), name=name, fastmath=self.flags if returns_float else ())

    def intrinsic(
        self,
        name: str,
        ret: ir.Type,
        args: Sequence[ir.Value],
        overloads: Sequence[ir.Type] | None = None,
        result: str = "",
    ) -> ir.Value:
        """Call the LLVM intrinsic `name` (e.g. 'llvm.exp'), mangled by its overload types.

        Without `overloads`, the intrinsic is overloaded on its first argument's type.
        """
        types = [a.type for a in args]
        overloads = [types[0]] if overloads is None else list(overloads)
        full = ".".join([name, *(_mangle(t) for t in overloads)])
        return self.call(declare(self.module, full, ret, types), args, name=result)


def _mangle(t: ir.Type) -> str:
    """LLVM's suffix for an overloaded intrinsic: f32, f64, i32, ..."""
    if isinstance(t, ir.FloatType):
        return "f32"
    if isinstance(t, ir.DoubleType):
        return "f64"
    if isinstance(t, ir.IntType):
        return f"i{t.width}"
    if isinstance(t, ir.PointerType):
        return "p0"
    raise TypeError(f"cannot mangle intrinsic overload type {t}")
