"""Convolution: the `conv` primitive (NHWC x HWIO) and Keras-style `conv2d` and `conv1d`.

One general 2-D primitive carries strides, explicit padding, input (lhs) dilation, kernel (rhs)
dilation and feature groups, like XLA's ConvGeneralDilated: that is what the gradient of a
convolution needs (the input gradient is a convolution with lhs dilation), so autodiff and the
backends see a single op. The user functions translate Keras' options ("same" padding, causal
1-D padding, int-or-pair arguments) into its explicit attributes.

The padding helpers are shared with the pooling functions of `window.py`, so "same" means the
same thing for both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from graphc import dtypes
from graphc.autodiff import defbilinear
from graphc.core import Primitive, Value
from graphc.errors import DTypeError, ShapeError
from graphc.primitives import shape
from graphc.primitives.cast import promote_operands
from graphc.symbolic import defsympy_array
from graphc.types import Dim, TensorType

__all__ = ["conv2d", "conv1d"]

Pair = tuple[int, int]


# --- argument helpers (shared with window.py) --------------------------------------------------


def normalize_tuple(value: Any, n: int, op: str, arg: str) -> tuple[int, ...]:
    """An int or a sequence of `n` ints, all >= 1, as a tuple of `n` Python ints.

    >>> normalize_tuple(2, 2, "conv2d", "strides"), normalize_tuple([1, 3], 2, "conv2d", "strides")
    ((2, 2), (1, 3))
    """
    items = (value,) * n if _is_int(value) else value
    try:
        result = tuple(items)
    except TypeError:
        result = ()
    if len(result) != n or not all(_is_int(v) and v >= 1 for v in result):
        raise ShapeError(
            f"{op}: {arg} must be a positive int or a sequence of {n} positive ints, got {value!r}"
        )
    return tuple(int(v) for v in result)


def check_attr_tuple(value: Any, n: int, op: str, arg: str) -> None:
    """A primitive's attribute is exact: a tuple of `n` positive ints (no int shorthand)."""
    if not isinstance(value, tuple):
        raise ShapeError(f"{op}: {arg} must be a tuple of {n} positive ints, got {value!r}")
    normalize_tuple(value, n, op, arg)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def same_padding(size: int, window: int, stride: int, dilation: int = 1) -> Pair:
    """TensorFlow's "same" padding of one axis: out = ceil(size / stride), extra at the end.

    The total is what the window needs to produce that many outputs; the odd element goes
    after (Keras and TensorFlow pad bottom/right more), so results match theirs exactly.

    >>> same_padding(28, 3, 1), same_padding(28, 3, 2), same_padding(5, 2, 2)
    ((1, 1), (0, 1), (0, 1))
    """
    out = -(-size // stride)
    effective = (window - 1) * dilation + 1
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def resolve_padding(
    padding: Any,
    sizes: Sequence[Dim],
    windows: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    op: str,
) -> tuple[Pair, ...]:
    """Explicit (lo, hi) pairs per spatial axis for "valid", "same" or explicit pairs.

    Strings are case-insensitive, as in Keras. Explicit padding is one (lo, hi) pair of ints
    >= 0 per spatial axis, e.g. ((top, bottom), (left, right)).

    >>> resolve_padding("SAME", (28, 28), (3, 3), (2, 2), (1, 1), "conv2d")
    ((0, 1), (0, 1))
    """
    n = len(sizes)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * n
        if mode == "same":
            if None in sizes:
                raise ShapeError(
                    f"{op}: 'same' padding needs static spatial sizes, got {tuple(sizes)}"
                )
            return tuple(map(same_padding, sizes, windows, strides, dilations))
    else:
        pairs = explicit_pairs(padding, n)
        if pairs is not None:
            return pairs
    example = ", ".join(["(lo, hi)"] * n)
    raise ShapeError(
        f"{op}: padding must be 'valid', 'same' or explicit pairs ({example},), got {padding!r}"
    )


def explicit_pairs(padding: Any, n: int) -> tuple[Pair, ...] | None:
    """`padding` as `n` (lo, hi) pairs of Python ints >= 0, or None if it is not that."""
    try:
        pairs = tuple(tuple(p) for p in padding)
    except TypeError:
        return None
    if len(pairs) != n or not all(
        len(p) == 2 and all(_is_int(v) and v >= 0 for v in p) for p in pairs
    ):
        return None
    return tuple((int(lo), int(hi)) for lo, hi in pairs)


def window_output_size(
    op: str,
    what: str,
    size: int,
    window: int,
    stride: int,
    padding: Pair,
    lhs_dilation: int = 1,
    rhs_dilation: int = 1,
) -> int:
    """Outputs of a strided window sliding over a (dilated, padded) axis; raises if none fit."""
    dilated = (size - 1) * lhs_dilation + 1 if size else 0
    padded = dilated + padding[0] + padding[1]
    effective = (window - 1) * rhs_dilation + 1
    if padded < effective:
        dilated_note = " after dilation" if rhs_dilation > 1 else ""
        raise ShapeError(
            f"{op}: the window ({effective}{dilated_note}) is larger than the padded input "
            f"({padded}) along {what}"
        )
    return (padded - effective) // stride + 1


# --- the primitive -----------------------------------------------------------------------------


def check_conv_operands(op: str, lhs: TensorType, rhs: TensorType, rank: int) -> None:
    """Dtypes and ranks of a channels-last convolution with `rank` spatial axes.

    lhs is (N, *spatial, C) with only N possibly None; rhs is (*window, C // groups, O).
    """
    got = f"got {lhs} and {rhs}"
    for t in (lhs, rhs):
        if t.dtype not in dtypes.NUMERIC:
            raise DTypeError(f"{op}: expected numeric operands, {got}")
    if lhs.dtype != rhs.dtype:
        raise DTypeError(f"{op}: operands must share a dtype, {got}")
    layout = "NWC and WIO" if rank == 1 else "NHWC and HWIO"
    if lhs.ndim != rank + 2 or rhs.ndim != rank + 2:
        raise ShapeError(f"{op}: expected a {rank + 2}-d input and kernel ({layout}), {got}")
    if None in lhs.shape[1:] or None in rhs.shape:
        raise ShapeError(f"{op}: only the input's first (batch) axis may be None, {got}")


def conv_output_spatial(
    op: str,
    lhs: TensorType,
    rhs: TensorType,
    *,
    strides: Sequence[int],
    padding: Sequence[Pair],
    lhs_dilation: Sequence[int],
    rhs_dilation: Sequence[int],
    feature_group_count: int,
) -> tuple[int, ...]:
    """Check a channels-last convolution of any spatial rank; return its output spatial sizes."""
    check_conv_operands(op, lhs, rhs, len(strides))
    got = f"got {lhs} and {rhs}"
    groups = feature_group_count
    if not _is_int(groups) or groups < 1:
        raise ShapeError(f"{op}: feature_group_count must be a positive int, got {groups!r}")
    in_channels, (kernel_in, kernel_out) = lhs.shape[-1], rhs.shape[-2:]
    if in_channels != kernel_in * groups or kernel_out % groups:
        raise ShapeError(
            f"{op}: input channels must equal the kernel's input channels x groups ({groups}) "
            f"and output channels must divide into the groups, {got}"
        )
    if 0 in rhs.shape[:-2]:
        raise ShapeError(f"{op}: the kernel window must not be empty, {got}")
    return tuple(
        window_output_size(op, f"spatial axis {i} ({got})", *args)
        for i, args in enumerate(
            zip(lhs.shape[1:-1], rhs.shape[:-2], strides, padding, lhs_dilation, rhs_dilation)
        )
    )


# conv(lhs, rhs): lhs NHWC, rhs HWIO. The input is dilated by inserting lhs_dilation - 1 zeros
# between elements, padded, then each output pixel is the dot product of the kernel (dilated by
# rhs_dilation) with the window at stride `strides`. Channels split into feature_group_count
# groups; group g of the output only sees group g of the input.
conv_p = Primitive("conv")


@conv_p.def_shape_rule
def _conv_shape_rule(
    lhs: TensorType,
    rhs: TensorType,
    *,
    strides: Pair,
    padding: tuple[Pair, Pair],
    lhs_dilation: Pair,
    rhs_dilation: Pair,
    feature_group_count: int,
) -> TensorType:
    for arg, value in [
        ("strides", strides),
        ("lhs_dilation", lhs_dilation),
        ("rhs_dilation", rhs_dilation),
    ]:
        check_attr_tuple(value, 2, "conv", arg)
    if explicit_pairs(padding, 2) is None:
        raise ShapeError(f"conv: padding must be two (lo, hi) pairs of ints >= 0, got {padding!r}")
    out_h, out_w = conv_output_spatial(
        "conv",
        lhs,
        rhs,
        strides=strides,
        padding=padding,
        lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation,
        feature_group_count=feature_group_count,
    )
    return TensorType((lhs.shape[0], out_h, out_w, rhs.shape[-1]), lhs.dtype)


@conv_p.def_impl
def _conv_impl(
    lhs: np.ndarray,
    rhs: np.ndarray,
    *,
    strides: Pair,
    padding: tuple[Pair, Pair],
    lhs_dilation: Pair,
    rhs_dilation: Pair,
    feature_group_count: int,
) -> np.ndarray:
    # One matrix product per kernel tap: the input pixels that tap sees for every output pixel
    # form an (outputs x channels) matrix, per group. KH*KW BLAS calls, no im2col copy.
    kh, kw, kernel_in, kernel_out = rhs.shape
    groups = feature_group_count
    # (kh, kw, groups, in per group, out per group)
    kernel = rhs.reshape(kh, kw, kernel_in, groups, kernel_out // groups).transpose(0, 1, 3, 2, 4)
    (n, out_h, out_w), taps = _tap_matrices(
        lhs, (kh, kw), strides, padding, lhs_dilation, rhs_dilation, groups
    )
    acc = np.zeros((groups, n * out_h * out_w, kernel_out // groups), dtype=lhs.dtype)
    for (i, j), cols in taps:
        acc += np.matmul(cols, kernel[i, j])
    return acc.transpose(1, 0, 2).reshape(n, out_h, out_w, kernel_out)


def _tap_matrices(
    lhs: np.ndarray,
    kernel_size: Pair,
    strides: Pair,
    padding: tuple[Pair, Pair],
    lhs_dilation: Pair,
    rhs_dilation: Pair,
    groups: int,
) -> tuple[tuple[int, int, int], Iterator[tuple[tuple[int, int], np.ndarray]]]:
    """The output's (N, out_h, out_w), and per kernel tap (i, j) the input pixels it sees for
    every output pixel (over the lhs-dilated, padded input), as a (groups, N*out_h*out_w,
    channels per group) array."""
    x = np.pad(_dilate(lhs, lhs_dilation), ((0, 0), *padding, (0, 0)))
    (sh, sw), (dh, dw) = strides, rhs_dilation
    out_h = (x.shape[1] - (kernel_size[0] - 1) * dh - 1) // sh + 1
    out_w = (x.shape[2] - (kernel_size[1] - 1) * dw - 1) // sw + 1
    n, group_in = x.shape[0], x.shape[-1] // groups

    def taps() -> Iterator[tuple[tuple[int, int], np.ndarray]]:
        for i in range(kernel_size[0]):
            for j in range(kernel_size[1]):
                seen = x[:, i * dh :: sh, j * dw :: sw][:, :out_h, :out_w]
                yield (i, j), seen.reshape(n * out_h * out_w, groups, group_in).transpose(1, 0, 2)

    return (n, out_h, out_w), taps()


def _dilate(x: np.ndarray, dilation: Pair) -> np.ndarray:
    """Insert dilation - 1 zeros between neighbouring pixels of an NHWC array."""
    dh, dw = dilation
    if (dh, dw) == (1, 1):
        return x
    n, h, w, c = x.shape
    out = np.zeros((n, (h - 1) * dh + 1 if h else 0, (w - 1) * dw + 1 if w else 0, c), x.dtype)
    out[:, ::dh, ::dw] = x
    return out


# --- derivatives ---------------------------------------------------------------------------------
# conv is bilinear: d conv(x, w) = conv(dx, w) + conv(x, dw). The two transposes below follow XLA's
# (as JAX derives them), with padding kept >= 0 by cropping with a slice instead.


def _conv_lhs_transpose(ct: Value, lhs: Value, rhs: Value, **attrs: Any) -> Value:
    """The input gradient: a full correlation of the stride-dilated cotangent with the kernel
    flipped in space and its in/out channels swapped per group, then cropped to the input."""
    kh, kw, kernel_in, kernel_out = rhs.shape
    groups = attrs["feature_group_count"]
    flipped = shape.rev_p.bind(rhs, axes=(0, 1))
    per_group = shape.reshape(flipped, (kh, kw, kernel_in, groups, kernel_out // groups))
    swapped = shape.transpose(per_group, (0, 1, 4, 3, 2))
    kernel_t = shape.reshape(swapped, (kh, kw, kernel_out // groups, groups * kernel_in))
    padding, crop_start, crop_step = [], [0], [1]
    for axis in range(2):
        size, window, ct_size = lhs.shape[1 + axis], rhs.shape[axis], ct.shape[1 + axis]
        stride, ld, rd = (
            attrs["strides"][axis],
            attrs["lhs_dilation"][axis],
            attrs["rhs_dilation"][axis],
        )
        lo, hi = attrs["padding"][axis]
        padded = (size - 1) * ld + 1 + lo + hi
        padding.append(((window - 1) * rd, padded - (ct_size - 1) * stride - 1))
        crop_start.append(lo)
        crop_step.append(ld)
    full = conv_p.bind(
        ct,
        kernel_t,
        strides=(1, 1),
        padding=tuple(padding),
        lhs_dilation=attrs["strides"],
        rhs_dilation=attrs["rhs_dilation"],
        feature_group_count=groups,
    )
    return shape.strided_slice(full, crop_start + [0], crop_step + [1], lhs.shape)


def _conv_rhs_transpose(ct: Value, lhs: Value, rhs: Value, **attrs: Any) -> Value:
    """The kernel gradient: `conv_kernel_grad` of the input and the cotangent."""
    return conv_kernel_grad_p.bind(lhs, ct, kernel_size=tuple(rhs.shape[:2]), **attrs)


# --- the kernel gradient -------------------------------------------------------------------------
# dkernel[a, b, c, o] = sum over n, i, j of x[n, i*sh + a*dh, j*sw + b*dw, c] * ct[n, i, j, o] (over
# the padded, lhs-dilated input, per feature group): one product contracting the batch and the
# output pixels together. Built from the other primitives it was one small matrix product per
# output pixel and tap (the batch cannot be merged with the pixels into one axis of a graph type),
# 5-10x slower than the forward conv; as a primitive the backend computes it as one GEMM whose
# depth runs over every (n, i, j), packing the input's patches on the fly.

conv_kernel_grad_p = Primitive("conv_kernel_grad")

_CONV_ATTRS = ("strides", "padding", "lhs_dilation", "rhs_dilation", "feature_group_count")


def _conv_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    return {name: attrs[name] for name in _CONV_ATTRS}


def kernel_type(x: TensorType, ct: TensorType, kernel_size: Pair, groups: int) -> TensorType:
    """The HWIO kernel type of a convolution of `x` giving `ct`'s channels."""
    return TensorType((*kernel_size, x.shape[-1] // max(groups, 1), ct.shape[-1]), x.dtype)


@conv_kernel_grad_p.def_shape_rule
def _conv_kernel_grad_shape_rule(
    x: TensorType, ct: TensorType, *, kernel_size: Pair, **attrs: Any
) -> TensorType:
    check_attr_tuple(kernel_size, 2, "conv_kernel_grad", "kernel_size")
    if x.dtype != ct.dtype or x.ndim != 4 or ct.ndim != 4:
        raise ShapeError(
            f"conv_kernel_grad: expected an NHWC input and cotangent of one dtype, got {x} and {ct}"
        )
    groups = attrs["feature_group_count"]
    kernel = kernel_type(x, ct, kernel_size, groups)
    out = _conv_shape_rule(x, kernel, **attrs)
    if out.shape[1:] != ct.shape[1:] or x.shape[0] != ct.shape[0]:
        raise ShapeError(
            f"conv_kernel_grad: a conv of {x} with a {kernel} kernel gives {out}, not the "
            f"cotangent's {ct}"
        )
    return kernel


@conv_kernel_grad_p.def_impl
def _conv_kernel_grad_impl(
    x: np.ndarray,
    ct: np.ndarray,
    *,
    kernel_size: Pair,
    strides: Pair,
    padding: tuple[Pair, Pair],
    lhs_dilation: Pair,
    rhs_dilation: Pair,
    feature_group_count: int,
) -> np.ndarray:
    # one matrix product per tap and group: (channels x pixels) @ (pixels x outputs)
    n, out_h, out_w, kernel_out = ct.shape
    groups = feature_group_count
    group_in, group_out = x.shape[-1] // groups, kernel_out // groups
    pixels = ct.reshape(n * out_h * out_w, groups, group_out).transpose(1, 0, 2)
    grad = np.zeros((*kernel_size, group_in, kernel_out), dtype=x.dtype)
    _, taps = _tap_matrices(x, kernel_size, strides, padding, lhs_dilation, rhs_dilation, groups)
    for (i, j), cols in taps:
        products = np.matmul(cols.transpose(0, 2, 1), pixels)  # (groups, in, out per group)
        grad[i, j] = products.transpose(1, 0, 2).reshape(group_in, kernel_out)
    return grad


def _kernel_grad_x_transpose(ct: Value, x: Value, ct_conv: Value, **attrs: Any) -> Value:
    """<kernel_grad(x, c), g> = <x, conv input gradient of c with kernel g>."""
    return _conv_lhs_transpose(ct_conv, x, ct, **_conv_attrs(attrs))


def _kernel_grad_ct_transpose(ct: Value, x: Value, ct_conv: Value, **attrs: Any) -> Value:
    """<kernel_grad(x, c), g> = <conv(x, g), c>."""
    return conv_p.bind(x, ct, **_conv_attrs(attrs))


defbilinear(conv_p, _conv_lhs_transpose, _conv_rhs_transpose)
defsympy_array(conv_p)
defbilinear(conv_kernel_grad_p, _kernel_grad_x_transpose, _kernel_grad_ct_transpose)
defsympy_array(conv_kernel_grad_p)


# --- public functions --------------------------------------------------------------------------


def _conv_operands(x: Any, kernel: Any, op: str, rank: int) -> tuple[Value, Value]:
    lhs, rhs = promote_operands(x, kernel, op=op)
    check_conv_operands(op, lhs.type, rhs.type, rank)
    return lhs, rhs


def conv2d(
    x: Any,
    kernel: Any,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[Sequence[int]] = "valid",
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> Value:
    """2-D convolution (cross-correlation, as in Keras) of NHWC `x` with an HWIO `kernel`.

    out[n, i, j, o] = sum_{a, b, c} x[n, i*sh + a*dh, j*sw + b*dw, c] * kernel[a, b, c, o]
    over the padded input. `strides` and `dilation` are an int or a pair; `padding` is
    "valid" (none), "same" (Keras/TensorFlow: out = ceil(in / stride), extra padding at the
    bottom/right) or explicit ((top, bottom), (left, right)). With `groups` > 1 the kernel has
    in_channels // groups input channels and each group of outputs sees its group of inputs.

    >>> import graphc
    >>> x = graphc.placeholder((None, 28, 28, 3))
    >>> conv2d(x, graphc.placeholder((3, 3, 3, 16)), strides=2, padding="same")
    <Value conv : f32[None,14,14,16]>
    """
    lhs, rhs = _conv_operands(x, kernel, "conv2d", 2)
    stride_pair = normalize_tuple(strides, 2, "conv2d", "strides")
    dilation_pair = normalize_tuple(dilation, 2, "conv2d", "dilation")
    pads = resolve_padding(
        padding, lhs.shape[1:3], rhs.shape[:2], stride_pair, dilation_pair, "conv2d"
    )
    attrs = dict(
        strides=stride_pair,
        padding=pads,
        lhs_dilation=(1, 1),
        rhs_dilation=dilation_pair,
        feature_group_count=groups,
    )
    conv_output_spatial("conv2d", lhs.type, rhs.type, **attrs)
    return conv_p.bind(lhs, rhs, **attrs)


def conv1d(
    x: Any,
    kernel: Any,
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[Sequence[int]] = "valid",
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> Value:
    """1-D convolution of NWC `x` with a WIO `kernel`, as a 2-D one of height 1.

    out[n, i, o] = sum_{a, c} x[n, i*s + a*d, c] * kernel[a, c, o] over the padded input.
    `padding` is "valid", "same", "causal" (Keras: (k - 1) * dilation zeros on the left only,
    so output i never sees inputs after i) or explicit ((left, right),).

    >>> import graphc
    >>> x = graphc.placeholder((None, 100, 8))
    >>> conv1d(x, graphc.placeholder((5, 8, 4)), padding="causal", dilation=2)
    <Value reshape : f32[None,100,4]>
    """
    lhs, rhs = _conv_operands(x, kernel, "conv1d", 1)
    (stride,) = normalize_tuple(strides, 1, "conv1d", "strides")
    (rate,) = normalize_tuple(dilation, 1, "conv1d", "dilation")
    if isinstance(padding, str) and padding.lower() == "causal":
        pads: tuple[Pair, ...] = (((rhs.shape[0] - 1) * rate, 0),)
    else:
        pads = resolve_padding(padding, lhs.shape[1:2], rhs.shape[:1], (stride,), (rate,), "conv1d")
    (width,) = conv_output_spatial(
        "conv1d",
        lhs.type,
        rhs.type,
        strides=(stride,),
        padding=pads,
        lhs_dilation=(1,),
        rhs_dilation=(rate,),
        feature_group_count=groups,
    )
    batch, length, channels = lhs.shape
    out = conv_p.bind(
        shape.reshape(lhs, (batch, 1, length, channels)),
        shape.reshape(rhs, (1, *rhs.shape)),
        strides=(1, stride),
        padding=((0, 0), *pads),
        lhs_dilation=(1, 1),
        rhs_dilation=(1, rate),
        feature_group_count=groups,
    )
    return shape.reshape(out, (batch, width, rhs.shape[-1]))
