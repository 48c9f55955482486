"""Read IDX files, the format MNIST and Fashion-MNIST are distributed in (raw or gzip'ed).

An IDX file is a 4-byte magic number `00 00 <type> <ndim>`, then `ndim` big-endian uint32
dimension sizes, then the elements in big-endian, C order. Keras reads these files by skipping a
fixed number of bytes, which silently turns a truncated or foreign file into garbage; this
reader checks the header and that the data is exactly as long as the header says, so such a file
is refused with a message instead. The declared size is checked against a budget before anything
is read, so a small hostile file cannot make the reader allocate gigabytes.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from typing import BinaryIO

import numpy as np

from graphc.errors import SerializationError

__all__ = ["load_idx"]

#: IDX type codes and the big-endian dtypes they stand for.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
#: Default budget for the declared data size of one file.
MAX_IDX_BYTES = 4 * 2**30

_GZIP_MAGIC = b"\x1f\x8b"
# What gzip raises on damaged or truncated streams.
_STREAM_ERRORS = (OSError, EOFError, zlib.error)


def load_idx(path: str | os.PathLike, *, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed) into a numpy array of its declared shape.

    Args:
        path: the file, e.g. "train-images-idx3-ubyte.gz" (compression is detected from the
            content, not the name).
        max_bytes: refuse files whose header declares more data than this.

    Returns:
        A writable array in native byte order: uint8 for MNIST's images and labels.

    Raises:
        SerializationError: a bad magic number or type code, a truncated header or data,
            trailing bytes, a declared size over `max_bytes`, or a damaged gzip stream.
        FileNotFoundError: `path` does not exist.

    >>> import os, struct, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(struct.pack(">BBBBI", 0, 0, 0x08, 1, 3) + bytes([7, 2, 1]))
    >>> load_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        stream: BinaryIO = gzip.GzipFile(fileobj=raw) if compressed else raw
        try:
            return _read(stream, path, max_bytes)
        except _STREAM_ERRORS as exc:
            what = "the gzip stream is damaged or truncated" if compressed else "read error"
            raise SerializationError(f"{path}: {what}: {exc}") from None


def _read(stream: BinaryIO, path: str | os.PathLike, max_bytes: int) -> np.ndarray:
    magic = _read_exactly(stream, 4, path, "magic number")
    if magic[:2] != b"\0\0" or magic[2] not in IDX_DTYPES:
        raise SerializationError(
            f"{path}: not an IDX file: the magic number is {magic.hex()}, expected 0000 then a "
            f"type code ({', '.join(f'{code:02x}' for code in IDX_DTYPES)}) and the rank"
        )
    dtype, ndim = IDX_DTYPES[magic[2]], magic[3]
    dims_bytes = _read_exactly(stream, 4 * ndim, path, f"{ndim} dimension sizes")
    shape = tuple(int(d) for d in np.frombuffer(dims_bytes, dtype=">u4"))
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > max_bytes:
        raise SerializationError(
            f"{path}: the header declares shape {shape} ({nbytes} bytes), more than the limit "
            f"of {max_bytes} bytes; pass a larger max_bytes if the file is trusted"
        )
    data = _read_exactly(stream, nbytes, path, f"data for shape {shape}")
    if stream.read(1):
        raise SerializationError(
            f"{path}: bytes follow the {nbytes} bytes of data declared for shape {shape}; "
            f"the header does not describe this file"
        )
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _read_exactly(stream: BinaryIO, size: int, path: str | os.PathLike, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise SerializationError(
            f"{path}: truncated: expected {size} bytes of {what}, found {len(data)}"
        )
    return data
