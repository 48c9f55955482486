"""A `Compiled` object's persistent native worker pool (`graphc.compile(..., threads=k)`).

Starting threads costs about 80 µs on the benchmark machine and handing work to a Python
thread about 130 µs, more than a whole batch-1 MLP call. So a module compiled for several
threads exports the entry points of a persistent pool (see `backend.parallel`), and each
`Compiled` object owns one `WorkerPool`, created on the first call that uses it:

- its *block* (the pool's shared state, owned here) lives as long as the pool; its k - 1
  native workers poll for jobs between calls, then sleep on a futex;
- one call at a time uses it (`acquire` does not wait: a concurrent call of the same object
  takes `graphc_main`, whose pool lives for that call only);
- `close` stops and joins the workers. It runs at the latest when the pool is collected,
  and the finalizer holds the native library, so no worker ever runs freed code;
- a forked child inherits the block but not the threads: `usable` is False there, and the
  owner makes a new pool (the old one is dropped without joining threads that do not exist).
"""

from __future__ import annotations

import ctypes
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

from graphc.backend.calling import Frame, address, aligned_empty
from graphc.backend.parallel import (
    POOL_MAIN,
    POOL_SPLIT,
    POOL_START,
    POOL_STOP,
    block_slots,
    job_parts,
)

_BLOCK_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_MAIN_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p)
_SPLIT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


class WorkerPool:
    """The native workers of one compiled module, started at construction.

    Args:
        library: the `jit.NativeLibrary` holding the module (kept alive until `close`).
        threads: threads of the module (the caller's plus `threads - 1` workers).
        frame: makes an empty pointer array with the weights filled in, one per batch slice;
            only for a module compiled with batch slices (`CodegenOptions.batch_slices`).

    >>> import graphc, numpy as np
    >>> x = graphc.placeholder((None, 4), name="x")
    >>> f = graphc.compile(graphc.Graph([x], x * 2.0), threads=2, cache=False)
    >>> pool = WorkerPool(f._library, 2, f._plan.new_frame)
    >>> pool.usable(), pool.parts
    (True, 2)
    >>> pool.close(); pool.usable()
    False
    """

    def __init__(
        self, library: Any, threads: int, frame: Callable[[], Frame] | None = None
    ) -> None:
        self.parts = job_parts(threads)
        self._main = _MAIN_FN(library.address(POOL_MAIN))
        self._block = aligned_empty(8 * block_slots(threads))
        self._block[:] = 0
        self.address = address(self._block)
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self.frames = [frame() for _ in range(self.parts)] if frame is not None else []
        self._table = (ctypes.c_uint64 * (2 * self.parts))()
        for part, slice_frame in enumerate(self.frames):
            self._table[2 * part] = slice_frame.address
        self._split = _SPLIT_FN(library.address(POOL_SPLIT)) if self.frames else None
        _BLOCK_FN(library.address(POOL_START))(self.address)
        stop = _BLOCK_FN(library.address(POOL_STOP))
        # the finalizer holds the library and the block: both outlive the workers
        self._finalizer = weakref.finalize(self, _stop, stop, self.address, library, self._block)

    def usable(self) -> bool:
        """Whether the workers run (False after `close` and in a forked child)."""
        if self._pid != os.getpid():
            self._finalizer.detach()  # the child has no such threads to stop
        return self._finalizer.alive

    def acquire(self) -> bool:
        """Take the pool for one call, without waiting (False: another call has it)."""
        return self._lock.acquire(blocking=False)

    def release(self) -> None:
        """Give the pool back after a call."""
        self._lock.release()

    def run(self, frame_address: int, batch: int) -> None:
        """Run the graph on a filled pointer array, sharing large kernels with the workers."""
        self._main(frame_address, batch, self.address)

    def split(self, batches: list[int]) -> None:
        """Run batch slice t (pointer array `frames[t]`, `batches[t]` rows) on thread t
        (a pool made with `frame`, for a batch-separable graph)."""
        assert self._split is not None, "a pool without batch slices"
        for part, rows in enumerate(batches):
            self._table[2 * part + 1] = rows
        self._split(self.address, ctypes.addressof(self._table))

    def close(self) -> None:
        """Stop and join the workers (once; later calls do nothing)."""
        if self._pid == os.getpid():
            self._finalizer()


def _stop(stop: Any, block_address: int, library: Any, block: Any) -> None:
    stop(block_address)
