"""The native call path: a pointer array prepared once, and a fast check for ordinary calls.

A call to compiled code passes one array of pointers (inputs, outputs, weights, workspace; see
`graphc.backend.program`) and the batch size. Building that array, validating the arguments
and allocating scratch memory used to cost more than the native code of a small model, so:

- each thread keeps a `Frame`: the pointer array, with the weight pointers written once, and
  a workspace buffer reused from call to call (it grows to the largest batch seen, and is
  freed with the `Compiled` object); a call writes only the input, output and workspace
  pointers, and allocates nothing but its outputs;
- array addresses are read through the buffer protocol (`ctypes.c_char.from_buffer`), three
  times faster than `ndarray.ctypes.data`;
- `CallPlan.check` accepts the common call in a few attribute checks: C-contiguous ndarrays
  of the exact dtype and shape, and for scalar inputs Python or numpy floats (or 0-d arrays
  of the exact dtype); `CallPlan.prepare` packs the scalars of one dtype into one array
  (one conversion for all of them, addresses computed from the block's). Scalar outputs of
  one dtype are likewise one array, returned as 0-d views.
  Anything else (casts, copies, wrong shapes, `out=`) returns None, and the caller goes the
  general way through `graphc.arguments.check_arguments`, which converts or raises the
  documented errors: both ways accept exactly the same calls and give the same results.
"""

from __future__ import annotations

import ctypes
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphc.backend.layout import ALIGNMENT
from graphc.types import TensorType

#: Python and numpy scalar types a scalar input of each dtype takes without a check: the
#: conversions `check_arguments` also makes (same-kind float casts), nothing that could fail.
_FLOAT32 = np.dtype("float32")
_FLOAT32_MAX = float(np.finfo(np.float32).max)

SCALAR_TYPES: dict[np.dtype, frozenset[type]] = {
    np.dtype("float64"): frozenset({float, np.float64, np.float32}),
    np.dtype("float32"): frozenset({float, np.float64, np.float32}),
    np.dtype("int64"): frozenset({np.int64, np.int32}),
    np.dtype("int32"): frozenset({np.int32}),
    np.dtype("bool"): frozenset({bool, np.bool_}),
}


def address(array: np.ndarray) -> int:
    """The address of a C-contiguous array's first element (0 for an empty array).

    >>> a = np.arange(3.0)
    >>> address(a) == a.ctypes.data
    True
    """
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(array))
    except (TypeError, ValueError, BufferError):  # read-only or empty
        return array.ctypes.data if array.size else 0


def aligned_empty(nbytes: int) -> np.ndarray:
    """Uninitialized bytes starting at a multiple of `ALIGNMENT`.

    >>> address(aligned_empty(100)) % ALIGNMENT
    0
    """
    raw = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start : start + nbytes]


class Frame:
    """One thread's pointer array and workspace for one compiled graph."""

    def __init__(self, num_args: int, weights: Sequence[tuple[int, int]]):
        self.pointers = np.zeros(num_args, np.uint64)
        for slot, pointer in weights:
            self.pointers[slot] = pointer
        self.address = address(self.pointers)
        self.workspace: np.ndarray | None = None
        self._workspace_address = 0

    def workspace_address(self, nbytes: int) -> int:
        """The address of at least `nbytes` of aligned scratch memory (0 for none)."""
        if nbytes == 0:
            return 0
        if self.workspace is None or self.workspace.nbytes < nbytes:
            self.workspace = aligned_empty(nbytes)
            self._workspace_address = address(self.workspace)
        return self._workspace_address


@dataclass(frozen=True)
class _ArraySpec:
    """How to accept one array argument: its slot, dtype and shape around the batch axis."""

    position: int
    slot: int
    dtype: np.dtype
    shape: tuple[int | None, ...]
    batch_axis: int | None  # the only None axis, or None when unbatched

    def batch_of(self, array: Any) -> int | None:
        """The batch size if `array` is acceptable as is (-1 for unbatched), else None."""
        if type(array) is not np.ndarray or array.dtype != self.dtype:
            return None
        if not array.flags.c_contiguous:
            return None
        shape = array.shape
        axis = self.batch_axis
        if axis is None:
            return -1 if shape == self.shape else None
        if len(shape) != len(self.shape):
            return None
        if shape[:axis] != self.shape[:axis] or shape[axis + 1 :] != self.shape[axis + 1 :]:
            return None
        return shape[axis]


@dataclass(frozen=True)
class _OutputSpec:
    """How to allocate one array output: its slot, dtype and shape around the batch axis."""

    position: int
    slot: int
    dtype: np.dtype
    before: tuple[int, ...]  # the dims before the batch axis (all of them when unbatched)
    after: tuple[int, ...] | None  # the dims after it, None when unbatched

    @classmethod
    def of(cls, position: int, slot: int, t: TensorType) -> _OutputSpec:
        if None not in t.shape:
            return cls(position, slot, t.dtype, tuple(t.shape), None)
        axis = t.shape.index(None)
        return cls(position, slot, t.dtype, tuple(t.shape[:axis]), tuple(t.shape[axis + 1 :]))

    def shape(self, batch: int) -> tuple[int, ...] | None:
        """The output's shape for this batch size; None when it has several batch axes."""
        if self.after is None:
            return self.before
        if None in self.after:
            return None
        return self.before + (batch,) + self.after

    def allocate(self, batch: int, types: Sequence[TensorType]) -> np.ndarray:
        if self.after is None:
            return np.empty(self.before, self.dtype)
        if None in self.after:  # several batch axes
            return np.empty(types[self.position].concrete_shape(batch), self.dtype)
        return np.empty(self.before + (batch,) + self.after, self.dtype)


@dataclass(frozen=True)
class _ScalarGroup:
    """The scalar (0-d) arguments of one dtype, passed as one packed array."""

    positions: tuple[int, ...]
    slots: np.ndarray  # uint64 pointer-array slots
    offsets: np.ndarray  # uint64 byte offsets into the packed array
    dtype: np.dtype
    accepted: frozenset[type]

    def accepts(self, value: Any) -> bool:
        """A Python or numpy scalar `check_arguments` would convert, or an exact 0-d array."""
        kind = type(value)
        if kind is np.ndarray:
            return value.ndim == 0 and value.dtype == self.dtype
        if kind not in self.accepted:
            return False
        # a finite float64 beyond float32's range would become inf: the general way refuses it
        return self.dtype != _FLOAT32 or abs(value) <= _FLOAT32_MAX or not math.isfinite(value)


def _scalar_groups(
    types: Sequence[TensorType], first_slot: int
) -> tuple[list[_ScalarGroup], list[int]]:
    """Group the scalar positions by dtype; the other positions are returned apart."""
    by_dtype: dict[np.dtype, list[int]] = {}
    others = []
    for position, t in enumerate(types):
        if t.shape == () and t.dtype in SCALAR_TYPES:
            by_dtype.setdefault(t.dtype, []).append(position)
        else:
            others.append(position)
    groups = []
    for dtype, positions in by_dtype.items():
        slots = np.array([first_slot + p for p in positions], np.intp)
        offsets = np.arange(len(positions), dtype=np.uint64) * np.uint64(dtype.itemsize)
        groups.append(_ScalarGroup(tuple(positions), slots, offsets, dtype, SCALAR_TYPES[dtype]))
    return groups, others


def _array_spec(position: int, slot: int, t: TensorType) -> _ArraySpec | None:
    nones = [axis for axis, dim in enumerate(t.shape) if dim is None]
    if len(nones) > 1:
        return None
    return _ArraySpec(position, slot, t.dtype, t.shape, nones[0] if nones else None)


class CallPlan:
    """What a call writes into the pointer array, decided once per compiled graph.

    Args:
        input_types, output_types: the graph's.
        weight_pointers: addresses of the weight arrays (which the program keeps alive).
        workspace_size: bytes of workspace for a batch size.
    """

    def __init__(
        self,
        input_types: Sequence[TensorType],
        output_types: Sequence[TensorType],
        weight_pointers: Sequence[int],
        workspace_size: Any,
    ):
        n_in, n_out = len(input_types), len(output_types)
        self.num_inputs = n_in
        self.output_types = list(output_types)
        self.workspace_slot = n_in + n_out + len(weight_pointers)
        self.weights = [(n_in + n_out + k, p) for k, p in enumerate(weight_pointers)]
        self.workspace_size = workspace_size
        self._local = threading.local()
        self.scalar_inputs, array_inputs = _scalar_groups(input_types, 0)
        self.scalar_outputs, array_outputs = _scalar_groups(output_types, n_in)
        self.array_outputs = [_OutputSpec.of(p, n_in + p, output_types[p]) for p in array_outputs]
        self.all_outputs = [_OutputSpec.of(p, n_in + p, t) for p, t in enumerate(output_types)]
        specs = [_array_spec(p, p, input_types[p]) for p in array_inputs]
        self.fast = all(s is not None for s in specs)
        self.array_inputs: list[_ArraySpec] = [s for s in specs if s is not None]

    def frame(self) -> Frame:
        """This thread's frame (created on first use)."""
        frame = getattr(self._local, "frame", None)
        if frame is None:
            frame = self._local.frame = self.new_frame()
        return frame

    def new_frame(self) -> Frame:
        """A frame of its own (a batch slice's in `backend.workers`)."""
        return Frame(self.workspace_slot + 1, self.weights)

    def fill(
        self, frame: Frame, inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray], batch: int
    ) -> None:
        """Write the pointers of validated arrays and of the workspace into `frame`."""
        pointers = frame.pointers
        for slot, array in enumerate(inputs):
            pointers[slot] = address(array)
        for slot, array in enumerate(outputs, self.num_inputs):
            pointers[slot] = address(array)
        pointers[self.workspace_slot] = frame.workspace_address(self.workspace_size(batch))

    def check(self, args: Sequence[Any]) -> int | None:
        """The batch size (0 when nothing is batched) if `args` can be passed as they are.

        None means: take the general way (`check_arguments`), which converts or raises.
        """
        if not self.fast or len(args) != self.num_inputs:
            return None
        batch = -1
        for spec in self.array_inputs:
            got = spec.batch_of(args[spec.position])
            if got is None or (got >= 0 and batch >= 0 and got != batch):
                return None
            batch = max(batch, got)
        for group in self.scalar_inputs:
            for position in group.positions:
                if not group.accepts(args[position]):
                    return None
        return max(batch, 0)

    def check_out(self, out: Any, args: Sequence[Any], batch: int) -> list[np.ndarray] | None:
        """The `out=` arrays if they can be written as they are: exact dtype and shape,
        C-contiguous, writeable, overlapping no argument and no other output.

        None means: take the general way, which explains what is wrong.
        """
        given = [out] if type(out) is np.ndarray else out
        if type(given) not in (list, tuple) or len(given) != len(self.all_outputs):
            return None
        for spec, array in zip(self.all_outputs, given):
            if type(array) is not np.ndarray or array.dtype != spec.dtype:
                return None
            flags = array.flags
            if array.shape != spec.shape(batch) or not (flags.c_contiguous and flags.writeable):
                return None
        arrays = [a for a in args if type(a) is np.ndarray]
        for index, array in enumerate(given):
            for other in (*arrays, *given[:index]):
                if np.may_share_memory(array, other):
                    return None
        return list(given)

    def prepare(
        self, args: Sequence[Any], batch: int, out: Sequence[np.ndarray] | None = None
    ) -> tuple[Frame, list[Any], list[Any]]:
        """Fill this thread's frame for checked `args`: (frame, outputs, arrays to keep alive).

        The outputs are `out` (arrays already checked against the output types) or fresh
        arrays; fresh scalar outputs of one dtype share one array as 0-d views.
        """
        frame = self.frame()
        pointers = frame.pointers
        keep = []
        for group in self.scalar_inputs:
            block = np.array([args[p] for p in group.positions], group.dtype)
            pointers[group.slots] = group.offsets + np.uint64(address(block))
            keep.append(block)
        for spec in self.array_inputs:
            pointers[spec.slot] = address(args[spec.position])
        pointers[self.workspace_slot] = frame.workspace_address(self.workspace_size(batch))
        if out is not None:
            for slot, array in enumerate(out, self.num_inputs):
                pointers[slot] = address(array)
            return frame, list(out), keep
        outputs: list[Any] = [None] * len(self.output_types)
        for group in self.scalar_outputs:
            block = np.empty(len(group.positions), group.dtype)
            pointers[group.slots] = group.offsets + np.uint64(address(block))
            for index, position in enumerate(group.positions):
                outputs[position] = block[index, ...]
        for spec in self.array_outputs:
            array = spec.allocate(batch, self.output_types)
            outputs[spec.position] = array
            pointers[spec.slot] = address(array)
        return frame, outputs, keep
