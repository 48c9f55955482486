"""Compiled code against the interpreter for every primitive, dtype and broadcasting case.

One spec row per primitive: the dtypes it runs for, its cases (operand shapes, batched,
broadcasting and scalar, plus attributes), the dtype and value domain of each operand. All rows
of one dtype are compiled as one graph (its own inputs per row and case, one output each) with
the graph passes off, so each lowering is tested as written; the graph is called at batch sizes
0, 1, 7 and 1000 and every output is compared with the interpreter's, nan equal to nan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pytest

import graphc
from graphc import dtypes
from graphc.backend import compile_graph
from graphc.core import PRIMITIVES, Primitive
from graphc.primitives import compare as cmp
from graphc.primitives import conv, linalg, random, window
from graphc.primitives import elementwise as ew
from graphc.primitives import gather as ga
from graphc.primitives import reduce as rd
from graphc.primitives import shape as sh
from graphc.primitives.cast import cast_p
from graphc.types import TensorType

pytestmark = pytest.mark.backend

FLOATS = ("float32", "float64")
INTS = ("int32", "int64")
NUMERIC = FLOATS + INTS
ALL = NUMERIC + ("bool",)
BATCHES = (0, 1, 7, 1000)

Attrs = dict[str, Any] | Callable[[np.dtype], dict[str, Any]]


@dataclass(frozen=True)
class Row:
    """A primitive under test.

    Attributes:
        name: the row's id.
        prim: the primitive.
        dtypes: the dtypes the row runs for (the dtype "T" of its operands).
        cases: (operand shapes, attrs) pairs; attrs may be a function of the row dtype.
        operands: per operand, "T" (the row dtype) or a fixed dtype name.
        domains: per operand, the value domain (see `sample`).
        f32_atol: absolute float32 tolerance, for long sums whose rounding order differs.
        f64_rtol: relative float64 tolerance, for the same reason.
    """

    name: str
    prim: Primitive
    dtypes: tuple[str, ...]
    cases: tuple[tuple[tuple, Attrs], ...]
    operands: tuple[str, ...] = ("T",)
    domains: tuple[str, ...] = ("any",)
    f32_atol: float = 1e-6
    f64_rtol: float = 1e-13


def cases(*shapes: tuple, **attrs: Any) -> tuple[tuple[tuple, Attrs], ...]:
    """Cases sharing one set of attributes."""
    return tuple((s, attrs) for s in shapes)


UNARY = cases(((None, 5),), ((2, 3),), ((),))
BINARY = cases(
    ((None, 4), (None, 4)),
    ((None, 4), (4,)),
    ((None, 1), (1, 4)),
    ((), (None, 3)),
    ((2, 1, 3), (None, 1, 1, 1)),
    ((2, 3), (2, 3)),
)


def unary(prim: Primitive, types: tuple[str, ...]) -> Row:
    return Row(prim.name, prim, types, UNARY)


def binary(prim: Primitive, types: tuple[str, ...], domains=("any", "any")) -> Row:
    return Row(prim.name, prim, types, BINARY, ("T", "T"), domains)


REDUCE_CASES = (
    (((None, 3, 4),), {"axes": (1,)}),
    (((None, 3, 4),), {"axes": (0, 2)}),
    (((None, 3, 4),), {"axes": (2,)}),
    (((5,),), {"axes": (0,)}),
)
ARG_CASES = tuple((((None, 3, 4),), {"axis": a}) for a in (0, 1, 2)) + ((((5, 6),), {"axis": 0}),)
CONV_CASES = tuple(
    (
        ((None, 7, 6, 4), (3, 2, 4 // groups, 6)),
        dict(
            strides=strides,
            padding=padding,
            lhs_dilation=lhs_dilation,
            rhs_dilation=rhs_dilation,
            feature_group_count=groups,
        ),
    )
    for strides, padding, lhs_dilation, rhs_dilation, groups in [
        ((1, 1), ((0, 0), (0, 0)), (1, 1), (1, 1), 1),
        ((2, 1), ((1, 2), (0, 1)), (1, 1), (2, 1), 1),
        ((1, 2), ((2, 1), (1, 1)), (2, 3), (1, 1), 2),
    ]
)
#: The kernel gradients of the CONV_CASES convolutions: the input and the conv's output shape.
KERNEL_GRAD_CASES = tuple(
    (
        (
            x,
            (
                None,
                *conv.conv_output_spatial(
                    "conv", TensorType(x, "float32"), TensorType(k, "float32"), **attrs
                ),
                k[3],
            ),
        ),
        dict(attrs, kernel_size=k[:2]),
    )
    for (x, k), attrs in CONV_CASES
)
WINDOW_CASES = (
    (
        ((None, 5, 4, 3),),
        dict(
            reducer="max",
            window=(1, 2, 2, 1),
            strides=(1, 2, 1, 1),
            padding=((0, 0), (1, 0), (0, 1), (0, 0)),
        ),
    ),
    (
        ((None, 5, 4, 3),),
        dict(
            reducer="sum",
            window=(1, 3, 1, 2),
            strides=(1, 1, 2, 1),
            padding=((0, 0), (1, 1), (1, 0), (0, 1)),
        ),
    ),
    (((6, None),), dict(reducer="max", window=(3, 1), strides=(2, 1), padding=((2, 2), (0, 0)))),
)

ROWS: list[Row] = [
    *(
        unary(p, FLOATS)
        for p in [
            ew.exp_p,
            ew.log_p,
            ew.log1p_p,
            ew.expm1_p,
            ew.sqrt_p,
            ew.sin_p,
            ew.cos_p,
            ew.tan_p,
            ew.tanh_p,
            ew.logistic_p,
            ew.erf_p,
            ew.floor_p,
            ew.ceil_p,
            ew.round_p,
        ]
    ),
    *(unary(p, NUMERIC) for p in [ew.neg_p, ew.abs_p, ew.sign_p]),
    unary(ew.not_p, ("bool",)),
    *(
        binary(p, NUMERIC)
        for p in [ew.add_p, ew.sub_p, ew.mul_p, ew.maximum_p, ew.minimum_p, ew.floordiv_p, ew.rem_p]
    ),
    binary(ew.pow_p, NUMERIC, ("base", "exponent")),
    binary(ew.div_p, FLOATS),
    *(binary(p, ("bool",)) for p in [ew.and_p, ew.or_p]),
    *(binary(p, ALL) for p in [cmp.eq_p, cmp.ne_p, cmp.lt_p, cmp.le_p, cmp.gt_p, cmp.ge_p]),
    Row(
        "select",
        cmp.select_p,
        ALL,
        cases(((None, 4), (None, 4), (None, 4)), ((None, 1), (4,), ()), ((), (None, 2), (1, 2))),
        ("bool", "T", "T"),
        ("any", "any", "any"),
    ),
    *(
        Row(
            f"cast_to_{t}",
            cast_p,
            ALL,
            cases(*(s for s, _ in UNARY), dtype=np.dtype(t)),
            domains=("castable",),
        )
        for t in ALL
    ),
    Row(
        "reshape",
        sh.reshape_p,
        ALL,
        (
            (((None, 3, 4),), {"new_shape": (None, 12)}),
            (((2, 6),), {"new_shape": (3, 1, 4)}),
            (((3, None, 2),), {"new_shape": (3, None, 1, 2)}),
        ),
    ),
    Row(
        "transpose",
        sh.transpose_p,
        ALL,
        (
            (((None, 3, 4),), {"permutation": (0, 2, 1)}),
            (((2, None, 3),), {"permutation": (2, 0, 1)}),
        ),
    ),
    Row(
        "broadcast_to",
        sh.broadcast_to_p,
        ALL,
        (
            (((3, 1),), {"shape": (None, 3, 4)}),
            (((None, 1),), {"shape": (2, None, 5)}),
            (((),), {"shape": (None,)}),
        ),
    ),
    Row(
        "slice",
        sh.slice_p,
        ALL,
        (
            (((None, 5, 6),), {"start": (0, 1, 0), "stop": (None, 5, 6), "step": (1, 2, 4)}),
            (((7,),), {"start": (2,), "stop": (7,), "step": (3,)}),
            (((None, 4),), {"start": (0, 1), "stop": (None, 3), "step": (1, 1)}),
        ),
    ),
    Row(
        "rev",
        sh.rev_p,
        ALL,
        (
            (((None, 3, 4),), {"axes": (0, 2)}),
            (((5,),), {"axes": (0,)}),
            (((2, None),), {"axes": (1,)}),
        ),
    ),
    Row(
        "concatenate",
        sh.concatenate_p,
        ALL,
        (
            (((None, 2), (None, 3), (None, 1)), {"axis": 1}),
            (((2, 3), (1, 3), (4, 3)), {"axis": 0}),
        ),
        ("T", "T", "T"),
        ("any", "any", "any"),
    ),
    Row(
        "pad",
        sh.pad_p,
        ALL,
        (
            (((None, 3, 2),), {"config": ((0, 0, 0), (1, 2, 1), (2, 0, 3)), "value": 1.0}),
            (((4,),), {"config": ((0, 1, 0),), "value": 0.0}),
        ),
    ),
    Row(
        "pad_minus_inf",
        sh.pad_p,
        FLOATS,
        ((((None, 2),), {"config": ((0, 0, 0), (1, 1, 2)), "value": float("-inf")}),),
    ),
    Row(
        "take",
        sh.take_p,
        ALL,
        (
            (((None, 4, 3), (5,)), {"axis": 1}),
            (((6,), (None, 2)), {"axis": 0}),
            (((2, None, 3), ()), {"axis": 2}),
        ),
        ("T", "int64"),
        ("any", "index"),
    ),
    Row(
        "take_int32",
        sh.take_p,
        ("float32",),
        ((((None, 4), (2, 3)), {"axis": 1}),),
        ("T", "int32"),
        ("any", "index"),
    ),
    Row(
        "scatter_add",
        sh.scatter_add_p,
        NUMERIC,
        (
            (((None, 5, 3), (5,)), {"axis": 1, "size": 4}),
            (((2, 3, 2), (2, 3)), {"axis": 0, "size": 6}),
            (((None, 2), (None,)), {"axis": 0, "size": 4}),
        ),
        ("T", "int64"),
        ("finite", "index"),
    ),
    Row(
        "take_along_axis",
        ga.take_along_axis_p,
        ALL,
        (
            (((None, 5, 3), (None, 4, 3)), {"axis": 1}),
            (((4, 2), (7, 2)), {"axis": 0}),
        ),
        ("T", "int32"),
        ("any", "index"),
    ),
    Row(
        "scatter_add_along_axis",
        ga.scatter_add_along_axis_p,
        NUMERIC,
        (
            (((None, 4, 3), (None, 4, 3)), {"axis": 1, "size": 6}),
            (((3, 2), (3, 2)), {"axis": 0, "size": 2}),
        ),
        ("T", "int64"),
        ("finite", "index"),
    ),
    Row(
        "dim_size",
        sh.dim_size_p,
        ALL,
        (
            (((None, 3),), {"axis": 0}),
            (((2, None),), {"axis": 1}),
        ),
    ),
    Row("reduce_sum", rd.reduce_sum_p, NUMERIC, REDUCE_CASES, domains=("finite",), f32_atol=2e-4),
    Row("reduce_max", rd.reduce_max_p, ALL, REDUCE_CASES),
    Row("reduce_min", rd.reduce_min_p, ALL, REDUCE_CASES),
    Row("argmax", rd.argmax_p, ALL, ARG_CASES),
    Row("argmin", rd.argmin_p, ALL, ARG_CASES),
    Row(
        "matmul",
        linalg.matmul_p,
        NUMERIC,
        cases(
            ((None, 5), (5, 3)),
            ((2, None, 4), (4, 6)),
            ((3, 1, 2, 4), (5, 4, 3)),
            ((5, None), (None, 2)),
            ((None, 3, 2), (None, 2, 4)),
        ),
        ("T", "T"),
        ("finite", "finite"),
        f32_atol=2e-4,
    ),
    Row("conv", conv.conv_p, NUMERIC, CONV_CASES, ("T", "T"), ("finite", "finite"), f32_atol=1e-4),
    Row(
        "conv_kernel_grad",
        conv.conv_kernel_grad_p,
        NUMERIC,
        KERNEL_GRAD_CASES,
        ("T", "T"),
        ("finite", "finite"),
        # sums over the batch's pixels: 25,000 terms of about 10 at N1000
        f32_atol=0.1,
        f64_rtol=1e-11,
    ),
    Row(
        "reduce_window",
        window.reduce_window_p,
        NUMERIC,
        WINDOW_CASES,
        domains=("finite",),
        f32_atol=1e-5,
    ),
    Row("reduce_window_nan", window.reduce_window_p, FLOATS, WINDOW_CASES[:1]),
    Row(
        "select_and_scatter_add",
        window.select_and_scatter_add_p,
        FLOATS,
        cases(
            ((None, 5, 4, 3), (None, 2, 4, 3), (None, 2, 4, 3)),
            window=(1, 2, 1, 1),
            strides=(1, 2, 1, 1),
        )
        + cases(((None, 7), (None, 3), (None, 3)), window=(1, 3), strides=(1, 2)),
        ("T", "T", "T"),
        ("any", "any", "finite"),
    ),
    Row(
        "random_uniform",
        random.random_uniform_p,
        FLOATS,
        (
            (((),), lambda d: {"shape": (None, 3), "dtype": d}),
            (((),), lambda d: {"shape": (4,), "dtype": d}),
        ),
        ("int64",),
    ),
]


def sample(domain: str, dtype: np.dtype, shape: tuple[int, ...], rng) -> np.ndarray:
    """Values of a domain; "any" includes the special values numpy defines results for."""
    if dtype == dtypes.bool_:
        return rng.random(shape) < 0.5
    if dtypes.is_integer(dtype):
        info = np.iinfo(dtype)
        low, high, specials = {
            "exponent": (0, 7, [0, 1]),
            "base": (-5, 6, [0, -1, 1]),
            "index": (-9, 9, [0, -1, 5, -6]),
            "any": (-20, 21, [0, -1, 1, info.min, info.max, 7, -7]),
            "finite": (-20, 21, [0, -1, 1, info.min, info.max]),
            "castable": (-100, 101, [0, -1, 1, info.min, info.max]),
        }[domain]
        values = rng.integers(low, high, shape).astype(dtype)
    else:
        values = (rng.standard_normal(shape) * 3).astype(dtype)
        specials = {
            "any": [np.nan, np.inf, -np.inf, -0.0, 0.0, 2.5, -0.5, 1.5],
            "finite": [-0.0, 0.0, 2.5, -0.5],
            "base": [0.0, 1.0, -2.0, np.inf],
            "exponent": [0.0, -1.0, 0.5, np.nan],
            "castable": [-0.0, 0.5, -0.5, 2.5, -2.7],
        }[domain]
    flat = values.reshape(-1)
    count = min(len(specials), flat.size)
    flat[:count] = np.asarray(specials[:count]).astype(dtype)
    return values


@dataclass
class Suite:
    """All rows of one dtype compiled as one graph; each output's row and label."""

    graph: graphc.Graph
    compiled: Any
    labels: list[tuple[str, str]]
    inputs: list[tuple[str, tuple, np.dtype]]  # (domain, shape, dtype) per graph input


@cache
def suite(dtype: str) -> Suite:
    placeholders, inputs, outputs, labels = [], [], [], []
    for row in ROWS:
        if dtype not in row.dtypes:
            continue
        for index, (shapes, attrs) in enumerate(row.cases):
            operands = []
            for kind, domain, shape in zip(row.operands, row.domains, shapes):
                operand_dtype = np.dtype(dtype if kind == "T" else kind)
                operands.append(graphc.placeholder(shape, operand_dtype))
                inputs.append((domain, shape, operand_dtype))
            placeholders += operands
            resolved = attrs(np.dtype(dtype)) if callable(attrs) else attrs
            outputs.append(row.prim.bind(*operands, **resolved))
            labels.append((row.name, f"{row.name} case {index}: {[str(o.type) for o in operands]}"))
    graph = graphc.Graph(placeholders, outputs)
    return Suite(graph, compile_graph(graph, run_passes=False), labels, inputs)


@cache
def results(dtype: str, batch: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    s = suite(dtype)
    rng = np.random.default_rng(batch)
    args = [
        sample(domain, d, tuple(batch if x is None else x for x in shape), rng)
        for domain, shape, d in s.inputs
    ]
    return s.compiled(*args), s.graph(*args)


def assert_same(got: np.ndarray, want: np.ndarray, label: str, row: Row) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype, label
    if want.dtype == np.float32:
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=row.f32_atol, err_msg=label)
    elif want.dtype == np.float64:
        np.testing.assert_allclose(got, want, rtol=row.f64_rtol, atol=1e-13, err_msg=label)
    else:
        np.testing.assert_array_equal(got, want, err_msg=label)


@pytest.mark.parametrize(
    "row, dtype, batch",
    [
        pytest.param(row, dtype, batch, id=f"{row.name}-{dtype}-N{batch}")
        for row in ROWS
        for dtype in row.dtypes
        for batch in BATCHES
    ],
)
def test_compiled_matches_interpreter(row: Row, dtype: str, batch: int) -> None:
    got, want = results(dtype, batch)
    checked = 0
    for index, (name, label) in enumerate(suite(dtype).labels):
        if name == row.name:
            assert_same(got[index], want[index], label, row)
            checked += 1
    assert checked == len(row.cases)


def test_the_table_covers_every_primitive() -> None:
    tested = {row.prim.name for row in ROWS}
    sources = {"input", "constant"}
    fused = {"fused"}  # built by the fusion pass: tests/backend/test_fused.py
    assert set(PRIMITIVES) - sources - fused <= tested, set(PRIMITIVES) - tested
