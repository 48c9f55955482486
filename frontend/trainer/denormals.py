"""Flush subnormal floats to zero while a compiled training step runs, as XLA and TensorFlow do.

Why: optimizer slots of weights whose gradient is exactly zero (the incoming weights of a
ReLU unit that no sample activates) decay geometrically — Adam's momentum by beta_1 = 0.9
each step — and a few hundred steps later they are subnormal numbers (below 1.2e-38 in
float32). On x86 CPUs every arithmetic instruction that reads or produces a subnormal takes a
microcode assist of about a hundred cycles, so an MLP's training step gets several times
slower after the first epoch. Keras on JAX and TensorFlow never see this: XLA and TensorFlow
run their CPU kernels with the FTZ ("flush to zero") and DAZ ("denormals are zero") bits of
the MXCSR register set, so those values become exact zeros.

`FlushDenormals` does the same around each call of a compiled step: it sets FTZ and DAZ in
the calling thread's MXCSR (the compiled step runs on the calling thread; threads it starts
inherit the setting, as POSIX threads inherit the floating-point environment) and restores the
previous value afterwards, so numpy and user code outside the step keep IEEE subnormals.
Inside the step every result that would be subnormal is zero, so a decaying slot either
reaches zero or stops at a small normal value (once its decrement would be subnormal); either
way, no instruction meets a subnormal. The two register accesses are a few lines of LLVM IR
compiled once with the backend's JIT. On machines other than x86-64 it does nothing (the step
computes subnormals exactly).
"""

from __future__ import annotations

import ctypes
import platform
from functools import cache

#: MXCSR bits: flush results that would be subnormal to zero (FTZ, bit 15) and read subnormal
#: operands as zero (DAZ, bit 6).
FTZ_DAZ = 0x8040

_IR = """
declare void @llvm.x86.sse.stmxcsr(ptr)
declare void @llvm.x86.sse.ldmxcsr(ptr)

define i32 @graphc_mxcsr_set_bits(i32 %bits) {
  %slot = alloca i32, align 4
  call void @llvm.x86.sse.stmxcsr(ptr %slot)
  %old = load i32, ptr %slot
  %new = or i32 %old, %bits
  store i32 %new, ptr %slot
  call void @llvm.x86.sse.ldmxcsr(ptr %slot)
  ret i32 %old
}

define void @graphc_mxcsr_restore(i32 %value) {
  %slot = alloca i32, align 4
  store i32 %value, ptr %slot
  call void @llvm.x86.sse.ldmxcsr(ptr %slot)
  ret void
}
"""


class FlushDenormals:
    """Set FTZ/DAZ for the duration of one call (`old = flush.enter()` ... `flush.exit(old)`).

    `enter` returns the previous MXCSR value (None when flushing is unsupported, and then
    both methods do nothing).

    >>> flush = flush_denormals()
    >>> old = flush.enter()
    >>> flush.exit(old)
    >>> flush.enter() == old  # restored: entering again sees the same register value
    True
    >>> flush.exit(old)
    """

    def __init__(
        self,
        set_bits: ctypes._CFuncPtr | None,
        restore: ctypes._CFuncPtr | None,
        library: object = None,
    ):
        self._set_bits = set_bits
        self._restore = restore
        self._library = library  # the executable memory behind the two functions

    @property
    def supported(self) -> bool:
        """True on x86-64, where the compiled step runs with subnormals flushed."""
        return self._set_bits is not None

    def enter(self) -> int | None:
        """Turn on FTZ and DAZ; return the previous register value for `exit`."""
        return None if self._set_bits is None else self._set_bits(FTZ_DAZ)

    def exit(self, previous: int | None) -> None:
        """Restore the register value `enter` returned."""
        if previous is not None and self._restore is not None:
            self._restore(previous)


@cache
def flush_denormals() -> FlushDenormals:
    """The process-wide `FlushDenormals` (its two functions are compiled on first use)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return FlushDenormals(None, None)
    from graphc.backend import jit

    if not jit.host().triple.startswith("x86_64"):
        return FlushDenormals(None, None)
    library = jit.NativeLibrary(jit.emit_object(jit.parse(_IR), 2))
    set_bits = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_uint32)(
        library.address("graphc_mxcsr_set_bits")
    )
    restore = ctypes.CFUNCTYPE(None, ctypes.c_uint32)(library.address("graphc_mxcsr_restore"))
    return FlushDenormals(set_bits, restore, library)
