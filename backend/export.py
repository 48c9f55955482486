"""Ahead-of-time export: the compiled object code, a C header, and the weights file.

`export(compiled, "model.o")` writes the object code; `export(compiled, "libmodel.so")` links
it into a shared library with the system C compiler (`cc -shared ... -lm -pthread`: a
model compiled with `threads` > 1 starts threads). Next to it go:

- `<stem>.h`: the entry points and the layout of their pointer array, one line per argument
  (name, dtype, shape with N for the batch size), and `graphc_load_weights`, a small static
  function that reads the weights file into one 64-byte-aligned buffer and fills the weight
  pointers;
- `<stem>.bin` (only when the graph has weights): every weight array, raw and C-contiguous,
  each at a 64-byte-aligned offset listed in the header.

The code is compiled for this machine's CPU (name and features), like the JIT code.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from graphc import dtypes
from graphc._version import __version__
from graphc.archive import atomic_output
from graphc.backend import jit
from graphc.backend.codegen import ENTRY, WORKSPACE_SIZE
from graphc.backend.layout import align
from graphc.errors import GraphcError
from graphc.types import TensorType

if TYPE_CHECKING:
    from graphc.backend.compiled import Compiled

C_TYPES = {
    dtypes.float32: "float",
    dtypes.float64: "double",
    dtypes.int32: "int32_t",
    dtypes.int64: "int64_t",
    dtypes.bool_: "uint8_t",
}


def export(compiled: Compiled, path: str | Path) -> list[Path]:
    """Write `path` (`.o` object or `.so` shared library), its header and weights; return them.

    >>> import graphc, tempfile, pathlib
    >>> from graphc import compiler
    >>> x = graphc.placeholder((None, 2), name="x")
    >>> f = compiler.compile(graphc.Graph([x], x * 2.0), cache=False)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [p.name for p in export(f, pathlib.Path(d) / "double.o")]
    ['double.o', 'double.h']
    """
    path = Path(path)
    if path.suffix not in (".o", ".so"):
        raise GraphcError(
            f"export: the path must end in .o (object file) or .so (shared library), got {path}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    object_code = compiled.standalone_object_code()
    if path.suffix == ".o":
        _write_atomic(path, object_code)
    else:
        _link_shared(object_code, path)
    blob, offsets = weights_blob(compiled)
    header = path.with_suffix(".h")
    _write_atomic(header, c_header(compiled, path, offsets, len(blob)).encode())
    written = [path, header]
    if compiled.program.weights:
        written.append(path.with_suffix(".bin"))
        _write_atomic(written[-1], blob)
    return written


def weights_blob(compiled: Compiled) -> tuple[bytes, list[int]]:
    """All weights concatenated, each at a 64-byte-aligned offset; (bytes, offsets)."""
    chunks, offsets, end = [], [], 0
    for _, array in compiled.program.weights:
        start = align(end)
        chunks.append(b"\0" * (start - end))
        chunks.append(np.ascontiguousarray(array).tobytes())
        offsets.append(start)
        end = start + array.nbytes
    return b"".join(chunks), offsets


def _link_shared(object_code: bytes, path: Path) -> None:
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        raise GraphcError(
            "export: writing a shared library needs a C compiler/linker ('cc', or $CC) on the "
            "PATH, and none was found; export an object file instead (a path ending in .o) "
            "and link it yourself"
        )
    with tempfile.TemporaryDirectory() as scratch:
        obj = Path(scratch) / "model.o"
        obj.write_bytes(object_code)
        linked = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        result = subprocess.run(
            [compiler, "-shared", "-o", str(linked), str(obj), "-lm", "-pthread"],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            linked.unlink(missing_ok=True)
            raise GraphcError(f"export: linking {path.name} failed:\n{result.stderr.strip()}")
        os.replace(linked, path)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, with the permissions `open()` would give it."""
    with atomic_output(path) as out:
        out.write(data)


def _describe(t: TensorType) -> str:
    shape = ", ".join("N" if d is None else str(d) for d in t.shape)
    note = " (bools: 0 or 1)" if t.dtype == dtypes.bool_ else ""
    return f"{C_TYPES[t.dtype]}[{shape}]{note}"


def c_header(
    compiled: Compiled, library: Path, weight_offsets: list[int], weight_bytes: int
) -> str:
    """The C header text for an exported model."""
    program = compiled.program
    graph = compiled.graph
    guard = "GRAPHC_" + re.sub(r"[^A-Za-z0-9]", "_", library.stem).upper() + "_H"
    target = jit.host()
    lines = [
        f"/* {library.name}: generated by graphc {__version__} for {target.triple}, "
        f"CPU {target.cpu}.",
        " *",
        f" * Call {ENTRY}(args, batch) with args, an array of GRAPHC_NUM_ARGS pointers to",
        " * C-contiguous arrays, and batch, the runtime size N of the batch dimension. Outputs are",
        " * written in place; nothing is allocated. The workspace needs",
        f" * {WORKSPACE_SIZE}(batch) bytes, 64-byte aligned (aligned_alloc(64, ...)).",
        " * Weights: read them with graphc_load_weights from the .bin file next to this header.",
        " */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stdint.h>",
        "#include <stdio.h>",
        "#include <stdlib.h>",
        "",
        f"#define GRAPHC_NUM_INPUTS {program.n_inputs}",
        f"#define GRAPHC_NUM_OUTPUTS {program.n_outputs}",
        f"#define GRAPHC_NUM_WEIGHTS {len(program.weights)}",
        f"#define GRAPHC_NUM_ARGS {program.n_args}",
        f"#define GRAPHC_FIRST_OUTPUT {program.n_inputs}",
        f"#define GRAPHC_FIRST_WEIGHT {program.n_inputs + program.n_outputs}",
        f"#define GRAPHC_WORKSPACE_ARG {program.workspace_slot}",
        f"#define GRAPHC_WEIGHTS_BYTES {weight_bytes}LL",
        "",
        "/* The args array:",
    ]
    for index, (node, name) in enumerate(zip(graph.inputs, graph.input_names)):
        label = f' "{name}"' if name else ""
        lines.append(f" *   args[{index}]: input {index}{label}: {_describe(graph.type(node))}")
    for index, node in enumerate(graph.outputs):
        slot = program.n_inputs + index
        lines.append(f" *   args[{slot}]: output {index}: {_describe(graph.type(node))}")
    for index, ((node, array), offset) in enumerate(zip(program.weights, weight_offsets)):
        slot = program.n_inputs + program.n_outputs + index
        name = graph.node_name(node)
        label = f' "{name}"' if name else ""
        lines.append(
            f" *   args[{slot}]: weight {index}{label}: {_describe(graph.type(node))}, "
            f"bytes {offset}..{offset + array.nbytes} of the .bin file"
        )
    lines += [
        f" *   args[{program.workspace_slot}]: workspace: {WORKSPACE_SIZE}(batch) bytes",
        " */",
        "",
        f"void {ENTRY}(void **args, int64_t batch);",
        f"int64_t {WORKSPACE_SIZE}(int64_t batch);",
        "",
        *_loader(weight_offsets),
        "",
        f"#endif /* {guard} */",
        "",
    ]
    return "\n".join(lines)


def _loader(offsets: list[int]) -> list[str]:
    listed = ", ".join(f"{o}LL" for o in offsets) or "0"
    return [
        "/* Read the weights file into one aligned buffer and point args[GRAPHC_FIRST_WEIGHT...]",
        " * into it. Returns 0 on success; *buffer is then to be free()d after the last call. */",
        "static inline int graphc_load_weights(const char *path, void **args, void **buffer) {",
        f"    static const long long offsets[] = {{{listed}}};",
        "    *buffer = NULL;",
        "    if (GRAPHC_NUM_WEIGHTS == 0) return 0;",
        '    FILE *file = fopen(path, "rb");',
        "    if (!file) return -1;",
        "    size_t size = (size_t)(GRAPHC_WEIGHTS_BYTES + 63) / 64 * 64;",
        "    char *data = (char *)aligned_alloc(64, size);",
        "    size_t got = data ? fread(data, 1, (size_t)GRAPHC_WEIGHTS_BYTES, file) : 0;",
        "    int extra = fgetc(file);",
        "    fclose(file);",
        "    if (!data || got != (size_t)GRAPHC_WEIGHTS_BYTES || extra != EOF) {",
        "        free(data);",
        "        return -1;",
        "    }",
        "    for (int i = 0; i < GRAPHC_NUM_WEIGHTS; i++)",
        "        args[GRAPHC_FIRST_WEIGHT + i] = data + offsets[i];",
        "    *buffer = data;",
        "    return 0;",
        "}",
    ]
