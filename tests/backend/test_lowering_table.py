"""The lowering tables cover every primitive, and their small helpers say what they do."""

from __future__ import annotations

import numpy as np
import pytest

import graphc.backend  # noqa: F401  (fills the tables)
import graphc.passes  # noqa: F401  (defines `fused`)
from graphc import dtypes
from graphc.backend.casts import cast_opcode
from graphc.backend.extents import Extent
from graphc.backend.irtypes import memory_type, register_type
from graphc.backend.layout import Layout
from graphc.backend.lowering import LOWERINGS, SCALAR_RULES, lowering
from graphc.core import PRIMITIVES, Primitive, Property
from graphc.errors import DTypeError, GraphError

pytestmark = pytest.mark.backend

SOURCES = {"input", "constant"}  # placed by the wrapper: arguments, weights, literals


def test_every_primitive_has_a_lowering() -> None:
    missing = sorted(
        name for name, p in PRIMITIVES.items() if name not in SOURCES and p not in LOWERINGS
    )
    assert missing == []


def test_every_elementwise_primitive_has_a_scalar_rule() -> None:
    """So fusion can put any of them into a fused loop nest."""
    missing = sorted(
        name
        for name, p in PRIMITIVES.items()
        if p.has(Property.ELEMENTWISE) and p not in SCALAR_RULES
    )
    assert missing == []


def test_a_primitive_without_a_lowering_is_a_clear_error() -> None:
    orphan = Primitive("backend_test_orphan")
    try:
        with pytest.raises(GraphError, match="'backend_test_orphan' has no LLVM lowering"):
            lowering(orphan)
    finally:
        del PRIMITIVES["backend_test_orphan"]


def test_dtype_tables() -> None:
    assert [str(register_type(d)) for d in dtypes.SUPPORTED] == [
        "float",
        "double",
        "i32",
        "i64",
        "i1",
    ]
    assert str(memory_type(dtypes.bool_)) == "i8"
    with pytest.raises(DTypeError, match="uint8"):
        register_type(np.dtype("uint8"))


@pytest.mark.parametrize(
    "src, dst, op",
    [
        ("float32", "float64", "fpext"),
        ("float64", "float32", "fptrunc"),
        ("int32", "int64", "sext"),
        ("int64", "int32", "trunc"),
        ("int32", "float32", "sitofp"),
        ("bool", "float64", "uitofp"),
        ("bool", "int32", "zext"),
        ("float32", "int64", "fptosi.sat"),
        ("float64", "bool", "fcmp_nonzero"),
        ("int64", "bool", "icmp_nonzero"),
        ("int32", "int32", "same"),
    ],
)
def test_cast_opcodes(src: str, dst: str, op: str) -> None:
    assert cast_opcode(np.dtype(src), np.dtype(dst)) == op


def test_cast_opcode_names_both_dtypes() -> None:
    with pytest.raises(DTypeError, match="from float32 to uint8"):
        cast_opcode(np.dtype("float32"), np.dtype("uint8"))


def test_extents_are_polynomials_of_the_batch() -> None:
    n = Extent.batch()
    assert (n - 1) * 4 == 4 * n - 4
    assert str(n * n * 3 - n) == "3*N^2 - N"
    assert (n * n * 3).evaluate(5) == 75
    with pytest.raises(ValueError, match="depends on the batch"):
        _ = n.constant


def test_layout_aligns_every_slot() -> None:
    layout = Layout([[Extent.batch() * 4], [Extent.of(100), Extent.batch() * 8], []])
    assert layout.offsets(0) == [0, 0, 128]
    assert layout.offsets(20) == [0, 128, 320]
    assert layout.size(20) == 320
    assert all(offset % 64 == 0 for offset in layout.offsets(7))
