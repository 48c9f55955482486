"""The LLVM stages: parse and verify IR, optimize it, emit object code, load it for execution.

Code is generated for the host CPU (`get_host_cpu_name`, `get_host_cpu_features`), position
independent (`reloc="pic"`), so one object file serves three uses: it is loaded into the
in-process JIT, stored in the disk cache, and linked into an exported shared library.

With AVX-512, loops are vectorized 512 bits wide: LLVM's tuning for some CPUs prefers 256-bit
vectors (`prefer-256-bit`, against clock throttling on older Intel parts), which halves the
throughput of every vectorized kernel on CPUs with full-width 512-bit units; the GEMM's
micro-kernel is written with 512-bit vectors anyway.

Object code is loaded into its own MCJIT engine (`NativeLibrary`); dropping the library frees
the engine and its executable memory. LLVM's global state is not thread-safe, so every stage
runs under one lock.
"""

from __future__ import annotations

import ctypes.util
import threading
from dataclasses import dataclass
from functools import cache

import llvmlite
import llvmlite.binding as llvm

from graphc.errors import GraphcError

_lock = threading.RLock()


@dataclass(frozen=True)
class HostTarget:
    """What the code is compiled for; part of the cache key."""

    triple: str
    cpu: str
    features: str

    @property
    def versions(self) -> str:
        major, minor, patch = llvm.llvm_version_info
        return f"llvmlite {llvmlite.__version__}, LLVM {major}.{minor}.{patch}"


@cache
def host() -> HostTarget:
    """Initialize LLVM's native target once and describe the host CPU."""
    with _lock:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        libm = ctypes.util.find_library("m")
        if libm:  # so JIT-ed calls to erf, tanh, ... resolve (usually loaded already)
            llvm.load_library_permanently(libm)
        features = vector_width_features(llvm.get_host_cpu_features().flatten())
        return HostTarget(llvm.get_process_triple(), llvm.get_host_cpu_name(), features)


def vector_width_features(features: str) -> str:
    """The host's features, with 512-bit vectorization preferred when AVX-512 is there.

    >>> vector_width_features("+avx2,+avx512f")
    '+avx2,+avx512f,-prefer-256-bit'
    >>> vector_width_features("+avx2,-avx512f")
    '+avx2,-avx512f'
    """
    if "+avx512f" not in features.split(","):
        return features
    return f"{features},-prefer-256-bit"


def target_machine(opt_level: int = 3) -> llvm.TargetMachine:
    """A fresh target machine for the host CPU (an MCJIT engine takes ownership of one)."""
    target = host()
    with _lock:
        return llvm.Target.from_triple(target.triple).create_target_machine(
            cpu=target.cpu,
            features=target.features,
            opt=min(max(opt_level, 0), 3),
            reloc="pic",
            codemodel="default",
        )


@cache
def data_layout() -> str:
    """The host's data layout string, for generated modules."""
    return str(target_machine().target_data)


def parse(ir_text: str) -> llvm.ModuleRef:
    """Parse and verify IR text; a verifier failure is a backend bug, reported as such."""
    with _lock:
        try:
            module = llvm.parse_assembly(ir_text)
            module.verify()
        except RuntimeError as exc:
            raise GraphcError(f"internal error: generated LLVM IR is invalid: {exc}") from exc
        return module


def optimize(module: llvm.ModuleRef, opt_level: int) -> llvm.ModuleRef:
    """Run LLVM's default per-module pipeline at `opt_level` (0-3), in place."""
    with _lock:
        tm = target_machine(opt_level)
        tuning = llvm.create_pipeline_tuning_options(opt_level)
        tuning.loop_vectorization = opt_level >= 2
        tuning.slp_vectorization = opt_level >= 2
        builder = llvm.create_pass_builder(tm, tuning)
        builder.getModulePassManager().run(module, builder)
        return module


def emit_object(module: llvm.ModuleRef, opt_level: int) -> bytes:
    """Machine code for the host as an ELF (or the platform's) relocatable object."""
    with _lock:
        return target_machine(opt_level).emit_object(module)


def object_code(ir_text: str, opt_level: int) -> bytes:
    """Parse, optimize and generate code in one go (the driver times the stages apart)."""
    return emit_object(optimize(parse(ir_text), opt_level), opt_level)


def emit_assembly(module: llvm.ModuleRef, opt_level: int) -> str:
    with _lock:
        return target_machine(opt_level).emit_assembly(module)


class NativeLibrary:
    """Object code loaded into executable memory, alive exactly as long as this object.

    Args:
        object_code: a relocatable object from `emit_object`.
    """

    def __init__(self, object_code: bytes):
        with _lock:
            self._engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), target_machine())
            self._engine.add_object_file(llvm.ObjectFileRef.from_data(object_code))
            self._engine.finalize_object()

    def address(self, symbol: str) -> int:
        """The address of a function defined by the object code."""
        with _lock:
            address = self._engine.get_function_address(symbol)
        if not address:
            raise GraphcError(f"internal error: compiled code has no function {symbol!r}")
        return address
