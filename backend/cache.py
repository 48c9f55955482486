"""The on-disk cache of compiled object code, so a second process skips LLVM entirely.

The key is the sha256 of everything that determines the machine code: the graph's structure
(primitives, operands, types, attributes, names; constants by shape and dtype only, because
weights are passed by pointer, except one-element constants, which are IR literals and so are
keyed by value), the code generation options, the host CPU name and features, and the
llvmlite, LLVM and graphc versions, and a digest of the backend's own source files (so an
entry written by a different code generator, even an unreleased edit of it, is never reused).

Entries live in `$GRAPHC_CACHE_DIR` (default `~/.cache/graphc`) as `<key>.o`: a header line
with the payload's sha256, then the object code. Writes go to a temporary file in the same
directory followed by `os.replace`, so concurrent processes only ever see complete entries; a
truncated or corrupted entry fails its checksum, is ignored and rewritten. The cache is an
optimization: when the directory cannot be written, compilation proceeds without it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from graphc._version import __version__
from graphc.core import ConstantArray, constant_p
from graphc.graph import Graph
from graphc.types import TensorType

CACHE_ENV = "GRAPHC_CACHE_DIR"
MAGIC = b"graphc-object-cache 1 sha256="


def cache_dir() -> Path:
    """The cache directory: `$GRAPHC_CACHE_DIR`, else `~/.cache/graphc`."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "graphc"


def cache_key(fingerprint: str, *parts: object) -> str:
    """sha256 over a graph fingerprint and every other part that determines the code.

    >>> cache_key("g", "opt=3") == cache_key("g", "opt=3") != cache_key("g", "opt=2")
    True
    """
    digest = hashlib.sha256()
    for part in (f"graphc {__version__} backend {backend_source_digest()}", fingerprint, *parts):
        digest.update(str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


@functools.cache
def backend_source_digest() -> str:
    """sha256 of the backend package's Python sources: the code generator's exact version.

    >>> len(backend_source_digest())
    64
    """
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode() + b"\0")
        digest.update(source.read_bytes())
    return digest.hexdigest()


def fingerprint(graph: Graph, literal_nodes: frozenset[int] = frozenset()) -> str:
    """The canonical text of a graph's structure; weights appear by shape and dtype only.

    Args:
        graph: the graph.
        literal_nodes: constants compiled as IR literals, whose values are part of the code.
    """
    lines = [
        f"inputs {list(graph.inputs)} outputs {list(graph.outputs)} single {graph.single_output}"
    ]
    for node in graph.order:
        prim = graph.primitive(node)
        attrs = dict(graph.attrs(node))
        if "value" in attrs and isinstance(attrs["value"], ConstantArray):
            array = attrs["value"].array
            attrs["value"] = (
                ("literal", array.dtype.name, repr(array.reshape(-1).tolist()))
                if node in literal_nodes
                else ("weight", array.dtype.name, array.shape)
            )
        body = ", ".join(f"{k}={_canonical(attrs[k])}" for k in sorted(attrs))
        lines.append(
            f"%{node} {prim.name}{list(graph.operands(node))} : {graph.type(node)} "
            f"name={graph.node_name(node)!r} [{body}]"
        )
    return "\n".join(lines)


def _canonical(value: Any) -> str:
    """A deterministic text for an attribute value (nested graphs included)."""
    if isinstance(value, Graph):
        return "{" + fingerprint(value, _all_constants(value)) + "}"
    if isinstance(value, ConstantArray):
        array = value.array
        digest = hashlib.sha256(array.tobytes()).hexdigest()
        return f"array({array.dtype.name}, {array.shape}, {digest})"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_canonical(v) for v in value) + ")"
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, TensorType):
        return str(value)
    return repr(value)


def _all_constants(graph: Graph) -> frozenset[int]:
    """Every constant of a nested graph: its values are compiled into the code."""
    return frozenset(n for n in graph.order if graph.primitive(n) is constant_p)


def load(key: str) -> bytes | None:
    """The cached object code for `key`, or None if absent or damaged."""
    try:
        data = (cache_dir() / f"{key}.o").read_bytes()
    except OSError:
        return None
    header, _, payload = data.partition(b"\n")
    if not header.startswith(MAGIC):
        return None
    if hashlib.sha256(payload).hexdigest().encode() != header[len(MAGIC) :]:
        return None
    return payload


def store(key: str, object_code: bytes) -> bool:
    """Write an entry atomically; return False when the cache directory is not writable."""
    directory = cache_dir()
    header = MAGIC + hashlib.sha256(object_code).hexdigest().encode() + b"\n"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{key[:16]}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(header + object_code)
            os.replace(temporary, directory / f"{key}.o")
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        return False
    return True
