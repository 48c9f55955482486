"""Matrix products: the `matmul` primitive and numpy's `matmul` and `dot` on top of it.

The primitive only knows stacks of matrices (rank >= 2, leading dimensions broadcast), the form
backends lower and autodiff transposes. numpy's conveniences for vectors (a 1-D operand gains a
unit axis that is dropped again from the result) live in the public function, built from
`reshape`, so every later stage sees one uniform op.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc import dtypes
from graphc.autodiff import defbilinear, unbroadcast
from graphc.core import Primitive, Value
from graphc.errors import DTypeError, ShapeError
from graphc.primitives import shape
from graphc.primitives.cast import promote_operands
from graphc.symbolic import defsympy_array, sympy_matmul
from graphc.types import TensorType, broadcast_shapes

__all__ = ["matmul", "dot"]


def _check_contracting(op: str, lhs: TensorType, rhs: TensorType, k_lhs: Any, k_rhs: Any) -> None:
    if k_lhs != k_rhs:
        raise ShapeError(f"{op}: contracting dimensions differ, got {lhs} and {rhs}")


# matmul(lhs, rhs): lhs (..., m, k) @ rhs (..., k, n) -> (..., m, n); the leading dimensions
# broadcast numpy-style, k must match (None == None: the batch dimension contracts with itself).
matmul_p = Primitive("matmul")


@matmul_p.def_shape_rule
def _matmul_shape_rule(lhs: TensorType, rhs: TensorType) -> TensorType:
    for t in (lhs, rhs):
        if t.dtype not in dtypes.NUMERIC:
            raise DTypeError(f"matmul: expected numeric operands, got {lhs} and {rhs}")
        if t.ndim < 2:
            raise ShapeError(f"matmul: expected operands of rank >= 2, got {lhs} and {rhs}")
    if lhs.dtype != rhs.dtype:
        raise DTypeError(f"matmul: operands must share a dtype, got {lhs} and {rhs}")
    _check_contracting("matmul", lhs, rhs, lhs.shape[-1], rhs.shape[-2])
    leading = broadcast_shapes(
        lhs.shape[:-2], rhs.shape[:-2], op=lambda: f"matmul of {lhs} and {rhs}"
    )
    return TensorType((*leading, lhs.shape[-2], rhs.shape[-1]), lhs.dtype)


@matmul_p.def_impl
def _matmul_impl(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.matmul(lhs, rhs)


def swap_last_axes(x: Value) -> Value:
    """x with its last two axes exchanged (a stack of transposed matrices)."""
    permutation = (*range(x.ndim - 2), x.ndim - 1, x.ndim - 2)
    return shape.transpose_p.bind(x, permutation=permutation)


# Bilinear: d(lhs @ rhs) = dlhs @ rhs + lhs @ drhs; the transposes are ct @ rhs^T and lhs^T @ ct,
# summed over broadcast leading axes (lhs^T @ ct contracts the batch axis for a dense layer).
defbilinear(
    matmul_p,
    lambda ct, lhs, rhs: unbroadcast(matmul_p.bind(ct, swap_last_axes(rhs)), lhs.type),
    lambda ct, lhs, rhs: unbroadcast(matmul_p.bind(swap_last_axes(lhs), ct), rhs.type),
)
defsympy_array(matmul_p, sympy_matmul)


def matmul(a: Any, b: Any) -> Value:
    """The matrix product a @ b with numpy's semantics.

    Operands of rank >= 2 are stacks of matrices whose leading dimensions broadcast. A 1-D `a`
    is a row vector and a 1-D `b` a column vector; that unit axis is removed from the result,
    so vector @ vector is a scalar. Mixed dtypes promote as in numpy; bool is refused.

    >>> import graphc
    >>> x = graphc.placeholder((None, 784))
    >>> w = graphc.placeholder((784, 10))
    >>> matmul(x, w)
    <Value matmul : f32[None,10]>
    >>> matmul(graphc.placeholder((3,)), graphc.placeholder((3,))).shape
    ()
    """
    lhs, rhs = promote_operands(a, b, op="matmul")
    if lhs.dtype not in dtypes.NUMERIC:
        raise DTypeError(f"matmul: expected numeric operands, got {lhs.type} and {rhs.type}")
    if lhs.ndim == 0 or rhs.ndim == 0:
        raise ShapeError(f"matmul: expected operands of rank >= 1, got {lhs.type} and {rhs.type}")
    k_rhs = rhs.shape[0] if rhs.ndim == 1 else rhs.shape[-2]
    _check_contracting("matmul", lhs.type, rhs.type, lhs.shape[-1], k_rhs)
    lhs2 = shape.reshape(lhs, (1, lhs.shape[0])) if lhs.ndim == 1 else lhs
    rhs2 = shape.reshape(rhs, (rhs.shape[0], 1)) if rhs.ndim == 1 else rhs
    out = matmul_p.bind(lhs2, rhs2)
    if lhs.ndim > 1 and rhs.ndim > 1:
        return out
    *leading, m, n = out.shape
    kept = (*leading, *((m,) if lhs.ndim > 1 else ()), *((n,) if rhs.ndim > 1 else ()))
    return shape.reshape(out, kept)


def dot(a: Any, b: Any) -> Value:
    """numpy's `dot` for vectors and matrices: the inner product, or a matrix product.

    Restricted to operands of rank 1 or 2, where `dot` and `matmul` agree; use `matmul` for
    stacks of matrices (numpy's `dot` of higher ranks contracts differently and is rarely meant).

    >>> import graphc
    >>> dot(graphc.placeholder((2, 3)), graphc.placeholder((3,)))
    <Value reshape : f32[2]>
    """
    lhs, rhs = promote_operands(a, b, op="dot")
    if lhs.ndim not in (1, 2) or rhs.ndim not in (1, 2):
        raise ShapeError(f"dot: expected operands of rank 1 or 2, got {lhs.type} and {rhs.type}")
    return matmul(lhs, rhs)
