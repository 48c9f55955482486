"""GEMM micro-kernels compiled once per process and shared by every compiled graph.

A module with matmuls or convolutions calls up to five micro-kernels per dtype (full tiles
and the thin tiles of a short last panel), and LLVM spent 20-30 ms optimizing and generating
each one again for every graph: a quarter of the MLP's compile time. So a module compiled for
this process only *declares* them (`CodegenOptions.shared_kernels`) under a symbol naming the
kernel and a digest of the code generator and the CPU (`graphc_uk_f32_6x2_<digest>`), and
`ensure` compiles the missing ones, loads them into a library that lives as long as the
process, and registers their addresses with LLVM (`llvm.add_symbol`), which resolves the
modules' calls when it loads their object code. With the disk cache on, the kernels' object
code is cached too, so a new process pays for them only once per graphc version.

Exported object files and shared libraries must stand alone: they are generated with the
kernels defined inside (`Compiled.export` compiles the module again that way).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable
from functools import cache

import llvmlite.binding as llvm
from llvmlite import ir

from graphc import dtypes
from graphc.backend import cache as disk_cache
from graphc.backend import jit
from graphc.backend.gemm import Blocking, define_micro_kernel, host_blocking

PREFIX = "graphc_uk_"

#: The disk cache's files of micro-kernels start with this (graphs' files are a bare digest).
KERNELS_CACHE_PREFIX = "micro-kernels-"

#: A shared kernel's symbol: dtype, rows, vectors per row, then the digest.
_SYMBOL = re.compile(rb"graphc_uk_([a-z0-9]+)_(\d+)x(\d+)_([0-9a-f]{16})")

_lock = threading.Lock()
_addresses: dict[str, int] = {}  # symbol -> address, for the life of the process
_libraries: list[jit.NativeLibrary] = []  # never freed: modules loaded later call into them


@cache
def _digest() -> str:
    """The code generator's sources and the target: a kernel's code depends on nothing else."""
    target = jit.host()
    text = f"{disk_cache.backend_source_digest()} {target} {target.versions}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def symbol(bl: Blocking, rows: int, vectors: int) -> str:
    """The shared symbol of the micro-kernel for `rows` x `vectors` vectors of `bl`'s dtype.

    >>> from graphc.backend.gemm import blocking
    >>> symbol(blocking(dtypes.float32, "+avx2"), 6, 2).startswith("graphc_uk_f32_6x2_")
    True
    """
    return f"{PREFIX}{bl.short}_{rows}x{vectors}_{_digest()}"


def symbols_in(object_code: bytes) -> set[str]:
    """The shared kernels an object file calls (their names are in its symbol table)."""
    return {match.group(0).decode() for match in _SYMBOL.finditer(object_code)}


def ensure(symbols: Iterable[str], cache: bool = True) -> None:
    """Make every kernel named in `symbols` callable by code loaded from now on.

    Kernels compiled by this process before are skipped; the others are compiled together
    (or read from the disk cache when `cache`), loaded, and registered with LLVM.
    """
    wanted = set(symbols)
    with _lock:
        missing = sorted(wanted - _addresses.keys())
        if not missing:
            return
        specs = [_parse(name) for name in missing]
        key = KERNELS_CACHE_PREFIX + disk_cache.cache_key(*missing)
        object_code = disk_cache.load(key) if cache else None
        if object_code is None:
            object_code = _compile(specs, missing)
            if cache:
                disk_cache.store(key, object_code)
        library = jit.NativeLibrary(object_code)
        _libraries.append(library)
        for name in missing:
            address = library.address(name)
            llvm.add_symbol(name, address)
            _addresses[name] = address


def _parse(name: str) -> tuple[Blocking, int, int]:
    match = _SYMBOL.fullmatch(name.encode())
    if match is None or match.group(4).decode() != _digest():
        raise ValueError(f"internal error: {name!r} is not a micro-kernel of this graphc")
    bl = host_blocking(dtypes.as_dtype(match.group(1).decode()))
    return bl, int(match.group(2)), int(match.group(3))


def _compile(specs: list[tuple[Blocking, int, int]], names: list[str]) -> bytes:
    target = jit.host()
    module = ir.Module(name="graphc micro-kernels")
    module.triple = target.triple
    module.data_layout = jit.data_layout()
    for (bl, rows, vectors), name in zip(specs, names):
        define_micro_kernel(module, bl, rows, vectors, name, linkage="external")
    return jit.object_code(str(module), 3)
