"""The dtype -> LLVM type tables, and element loads and stores that respect them.

A bool is `i1` in registers (what comparisons produce and `select` consumes) and one byte in
memory (numpy's layout), so loading a bool compares the byte with zero and storing one
zero-extends it. Every other dtype has the same type in registers and memory.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir

from graphc import dtypes
from graphc.errors import DTypeError

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F32 = ir.FloatType()
F64 = ir.DoubleType()
PTR = ir.PointerType()
VOID = ir.VoidType()

#: The type a value of each dtype has in registers.
REGISTER_TYPES: dict[np.dtype, ir.Type] = {
    dtypes.float32: F32,
    dtypes.float64: F64,
    dtypes.int32: I32,
    dtypes.int64: I64,
    dtypes.bool_: I1,
}

#: The type of one element of each dtype in memory (numpy's layout).
MEMORY_TYPES: dict[np.dtype, ir.Type] = {**REGISTER_TYPES, dtypes.bool_: I8}


def register_type(dtype: np.dtype) -> ir.Type:
    """The LLVM type of a dtype's values in registers.

    >>> str(register_type(dtypes.bool_)), str(register_type(dtypes.float32))
    ('i1', 'float')
    """
    try:
        return REGISTER_TYPES[dtype]
    except KeyError:
        raise DTypeError(f"backend: no LLVM type for dtype {dtype}") from None


def memory_type(dtype: np.dtype) -> ir.Type:
    """The LLVM type of one element of a dtype in memory.

    >>> str(memory_type(dtypes.bool_))
    'i8'
    """
    try:
        return MEMORY_TYPES[dtype]
    except KeyError:
        raise DTypeError(f"backend: no LLVM type for dtype {dtype}") from None


def constant(dtype: np.dtype, value: object) -> ir.Constant:
    """A register constant of `dtype` (nan and infinities included).

    >>> str(constant(dtypes.float32, float("-inf")))
    'float 0xfff0000000000000'
    """
    if dtype == dtypes.bool_:
        return ir.Constant(I1, int(bool(value)))
    if dtypes.is_float(dtype):
        return ir.Constant(register_type(dtype), float(np.asarray(value, dtype=dtype)))
    return ir.Constant(register_type(dtype), int(value))


def element_pointer(
    builder: ir.IRBuilder, base: ir.Value, index: ir.Value, dtype: np.dtype, name: str = ""
) -> ir.Value:
    """The address of element `index` (an i64) of an array of `dtype` starting at `base`."""
    return builder.gep(base, [index], inbounds=True, name=name, source_etype=memory_type(dtype))


def load_element(
    builder: ir.IRBuilder, base: ir.Value, index: ir.Value, dtype: np.dtype, name: str = ""
) -> ir.Value:
    """Load element `index` as a register value (bools become i1)."""
    pointer = element_pointer(builder, base, index, dtype)
    value = builder.load(pointer, name=name, typ=memory_type(dtype))
    if dtype == dtypes.bool_:
        return builder.icmp_unsigned("!=", value, ir.Constant(I8, 0), name=name)
    return value


def store_element(
    builder: ir.IRBuilder, value: ir.Value, base: ir.Value, index: ir.Value, dtype: np.dtype
) -> None:
    """Store a register value as element `index` (bools become one byte, 0 or 1)."""
    if dtype == dtypes.bool_:
        value = builder.zext(value, I8)
    builder.store(value, element_pointer(builder, base, index, dtype))


def itemsize(dtype: np.dtype) -> int:
    """Bytes per element in memory (a bool is one byte).

    >>> itemsize(dtypes.bool_), itemsize(dtypes.float64)
    (1, 8)
    """
    return np.dtype(dtype).itemsize
