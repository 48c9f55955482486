"""The on-disk container for graphs and models: one zip file, a JSON document plus numpy arrays.

Layout: `document.json` (standard JSON: the structure) and one `arrays/<name>.npy` member per
array (numpy's own format, stored uncompressed). Both are plain data formats, so reading a file
never unpickles or executes anything, and every reader (numpy, `unzip`, a JSON viewer) can
inspect it.

Files are untrusted input. `read_archive` refuses, with a `SerializationError` naming the file
and the problem: non-zip or truncated files, member names that could escape a directory if
someone unpacked the archive, unexpected or duplicated members, object (pickled) arrays,
declared array sizes beyond a byte budget (checked from the `.npy` header before any data is
read), too many members, and invalid JSON. Writing is atomic: the archive goes to a temporary
file next to the target, is flushed to disk, then renamed over it, so a crash or an error
leaves either the old file or the new one, never a mix; the new file keeps the old one's
permissions (or gets the umask's, like any new file), and write errors name the target.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from graphc.errors import SerializationError

DOCUMENT = "document.json"
ARRAY_PREFIX = "arrays/"
ARRAY_SUFFIX = ".npy"

#: Default budget for the total declared size of all arrays in one file.
MAX_ARRAY_BYTES = 4 * 2**30
#: Default cap on the size of document.json.
MAX_DOCUMENT_BYTES = 256 * 2**20
#: Default cap on the number of members.
MAX_MEMBERS = 100_000

#: Array dtype kinds a file may hold: bool, signed and unsigned ints, floats. Never objects.
ARRAY_KINDS = "biuf"

# What zipfile raises on damaged, truncated, encrypted or exotic archives.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    zlib.error,
    RuntimeError,  # encrypted member
    NotImplementedError,  # unsupported compression method
)

_NAME_PART = re.compile(r"[A-Za-z0-9_.\-]+")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip timestamps are fixed so equal content gives equal bytes


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """Open a temporary file next to `path` for writing; on success it replaces `path`.

    The data is flushed and fsync'ed before `os.replace`, so `path` always holds either its
    old content or the complete new content. On an exception the temporary file is removed and
    `path` is untouched.

    The new file gets the permissions of the file it replaces, or, for a new file, those
    `open()` would give it (0o666 minus the umask), not the private 0o600 of a temporary file.
    A missing folder, a folder that is a file, or a target that is a directory raise the
    matching `OSError` subclass naming `path` (not the temporary file), before anything is
    written.

    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "hello.txt")
    >>> with atomic_output(target) as f:
    ...     _ = f.write(b"hello")
    >>> open(target, "rb").read()
    b'hello'
    >>> with atomic_output(os.path.join(target, "x")) as f:  # doctest: +ELLIPSIS
    ...     pass
    Traceback (most recent call last):
    ...
    NotADirectoryError: [Errno 20] cannot write here: '...hello.txt' is a file, not a folder: '...x'
    """
    target = Path(path)
    mode = _check_target(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:  # e.g. no permission to write in the folder: name the user's path
        raise _for_path(exc, target) from None
    try:
        with os.fdopen(fd, "wb") as out:
            _chmod(out.fileno(), tmp, mode)
            yield out
            out.flush()
            os.fsync(out.fileno())
        try:
            os.replace(tmp, target)
        except OSError as exc:  # e.g. the target became a directory meanwhile
            raise _for_path(exc, target) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(target.parent)


def _check_target(target: Path) -> int:
    """Refuse targets that cannot be written, naming them; return the new file's mode."""
    folder = target.parent
    if not folder.exists():
        raise FileNotFoundError(
            errno.ENOENT,
            f"cannot write here: the folder {str(folder)!r} does not exist",
            str(target),
        )
    if not folder.is_dir():
        raise NotADirectoryError(
            errno.ENOTDIR,
            f"cannot write here: {str(folder)!r} is a file, not a folder",
            str(target),
        )
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        return 0o666 & ~_umask()
    except OSError as exc:
        raise _for_path(exc, target) from None
    if stat.S_ISDIR(existing.st_mode):
        raise IsADirectoryError(
            errno.EISDIR, "cannot write here: it is a directory, not a file", str(target)
        )
    return stat.S_IMODE(existing.st_mode)


def _for_path(exc: OSError, target: Path) -> OSError:
    """The same kind of OSError, naming the user's path instead of the temporary file."""
    if exc.errno is None:  # not a system error: nothing names the temporary file
        return exc
    return type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), str(target))


def _umask() -> int:
    """The process umask, read without changing it where the platform allows."""
    try:
        with open("/proc/self/status") as status:  # Linux: no window with a different umask
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting it, then restore it at once
    os.umask(mask)
    return mask


def _chmod(fd: int, name: str, mode: int) -> None:
    """Give the open temporary file its final permissions (best effort off POSIX)."""
    try:
        if os.chmod in os.supports_fd:
            os.chmod(fd, mode)
        else:
            os.chmod(name, mode)
    except OSError:
        pass


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable where the platform allows syncing a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_array_name(name: str) -> None:
    """Array names are relative paths of `[A-Za-z0-9_.-]` parts, like `dense/kernel`.

    >>> check_array_name("dense/kernel")
    >>> check_array_name("../evil")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    graphc.errors.SerializationError: invalid array name '../evil': ...
    """
    parts = name.split("/") if isinstance(name, str) else [None]
    if not all(
        isinstance(p, str) and _NAME_PART.fullmatch(p) and p not in (".", "..") for p in parts
    ):
        raise SerializationError(
            f"invalid array name {name!r}: expected parts of letters, digits, '_', '.' and '-' "
            f"separated by '/', without '.' or '..' parts"
        )


def write_archive(
    path: str | os.PathLike, document: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
) -> None:
    """Write `document` (standard JSON) and `arrays` to one zip file at `path`, atomically.

    >>> import tempfile, os, numpy as np
    >>> target = os.path.join(tempfile.mkdtemp(), "a.graphc")
    >>> write_archive(target, {"format": "demo"}, {"w": np.arange(3.0)})
    >>> read_archive(target)
    ({'format': 'demo'}, {'w': array([0., 1., 2.])})
    """
    try:
        text = json.dumps(document, allow_nan=False, ensure_ascii=False, indent=1)
    except (TypeError, ValueError) as exc:
        raise SerializationError(
            f"cannot write {path}: the document is not JSON data: {exc}"
        ) from None
    checked = {name: _checked_array(name, array) for name, array in arrays.items()}
    with atomic_output(path) as out, zipfile.ZipFile(out, "w") as zf:
        info = zipfile.ZipInfo(DOCUMENT, date_time=_FIXED_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, text.encode())
        for name in sorted(checked):
            array = checked[name]
            info = zipfile.ZipInfo(ARRAY_PREFIX + name + ARRAY_SUFFIX, date_time=_FIXED_TIME)
            with zf.open(info, "w", force_zip64=array.nbytes > 2**30) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _checked_array(name: str, array: Any) -> np.ndarray:
    check_array_name(name)
    if not isinstance(array, np.ndarray) or array.dtype.kind not in ARRAY_KINDS:
        if isinstance(array, np.ndarray):
            what = f"an array of dtype {array.dtype}"
        else:
            what = type(array).__name__
        raise SerializationError(
            f"cannot store array {name!r}: expected a numpy array of bools, ints or floats, "
            f"got {what}"
        )
    return array


def read_archive(
    path: str | os.PathLike,
    *,
    max_array_bytes: int = MAX_ARRAY_BYTES,
    max_document_bytes: int = MAX_DOCUMENT_BYTES,
    max_members: int = MAX_MEMBERS,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read a file written by `write_archive`; return `(document, arrays)`.

    Everything is validated before it is trusted (see the module docstring); the limits
    bound the memory a hostile file can make the reader allocate.
    """
    with open(path, "rb") as file:  # a missing or unreadable file is an OSError, as for open()
        try:
            with zipfile.ZipFile(file) as zf:
                infos = _checked_members(path, zf, max_members)
                document = _read_document(path, zf, infos, max_document_bytes)
                arrays = _read_arrays(path, zf, infos, max_array_bytes)
        except (*_ZIP_ERRORS, OSError) as exc:  # OSError: a damaged offset seeks before 0
            raise SerializationError(
                f"{path}: not a readable graphc file (not a zip archive, or truncated or "
                f"corrupted): {exc}"
            ) from None
    return document, arrays


def _checked_members(path: Any, zf: zipfile.ZipFile, max_members: int) -> dict[str, Any]:
    infos = zf.infolist()
    if len(infos) > max_members:
        raise SerializationError(
            f"{path}: has {len(infos)} members, more than the limit of {max_members}"
        )
    by_name: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        if not _is_relative_path(name):
            raise SerializationError(
                f"{path}: unsafe member name {name!r} (absolute, or with empty, '.' or '..' "
                f"parts); "
                f"refusing the file"
            )
        if name in by_name:
            raise SerializationError(f"{path}: the member {name!r} appears twice")
        if name != DOCUMENT:
            if not (name.startswith(ARRAY_PREFIX) and name.endswith(ARRAY_SUFFIX)):
                raise SerializationError(
                    f"{path}: unexpected member {name!r}; a graphc file holds only "
                    f"{DOCUMENT} and {ARRAY_PREFIX}<name>{ARRAY_SUFFIX} arrays"
                )
            try:
                check_array_name(name[len(ARRAY_PREFIX) : -len(ARRAY_SUFFIX)])
            except SerializationError as exc:
                raise SerializationError(f"{path}: member {name!r}: {exc}") from None
        by_name[name] = info
    if DOCUMENT not in by_name:
        raise SerializationError(f"{path}: {DOCUMENT} is missing; this is not a graphc file")
    return by_name


def _is_relative_path(name: str) -> bool:
    """True for names that stay inside a directory they would be unpacked into."""
    if name.startswith("/") or "\\" in name or ":" in name:
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def _read_document(
    path: Any, zf: zipfile.ZipFile, infos: Mapping[str, Any], limit: int
) -> dict[str, Any]:
    with zf.open(infos[DOCUMENT]) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise SerializationError(f"{path}: {DOCUMENT} is larger than the limit of {limit} bytes")
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SerializationError(f"{path}: {DOCUMENT} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise SerializationError(
            f"{path}: {DOCUMENT} must hold a JSON object, got {type(document).__name__}"
        )
    return document


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not standard JSON")


def _read_arrays(
    path: Any, zf: zipfile.ZipFile, infos: Mapping[str, Any], limit: int
) -> dict[str, np.ndarray]:
    members = sorted(name for name in infos if name != DOCUMENT)
    total = 0
    for name in members:  # check every header first: nothing big is read from a bad file
        header_size, nbytes = _npy_header(path, zf, infos[name])
        total += nbytes
        if total > limit:
            raise SerializationError(
                f"{path}: the arrays declare more than the limit of {limit} bytes (reached at "
                f"{name!r}); pass a larger limit if the file is trusted"
            )
        if header_size + nbytes != infos[name].file_size:
            raise SerializationError(
                f"{path}: {name!r} declares {nbytes} bytes of data but holds "
                f"{infos[name].file_size - header_size}; the file is truncated or corrupted"
            )
    arrays = {}
    for name in members:
        with zf.open(infos[name]) as member:
            try:
                array = np.lib.format.read_array(member, allow_pickle=False)
            except (ValueError, OSError) as exc:
                raise SerializationError(f"{path}: cannot read array {name!r}: {exc}") from None
        arrays[name[len(ARRAY_PREFIX) : -len(ARRAY_SUFFIX)]] = array
    return arrays


def _npy_header(path: Any, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, int]:
    """`(header size, data size)` of an `.npy` member, from its header alone; checks the dtype."""
    with zf.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            header_size = member.tell()
        except (ValueError, OSError, SyntaxError) as exc:
            raise SerializationError(
                f"{path}: {info.filename!r} is not a valid .npy array: {exc}"
            ) from None
    if dtype.hasobject or dtype.kind not in ARRAY_KINDS or dtype.fields is not None:
        raise SerializationError(
            f"{path}: {info.filename!r} has dtype {dtype}; only arrays of bools, ints and floats "
            f"are allowed (object arrays would need unpickling, which graphc never does)"
        )
    if any(d < 0 for d in shape):
        raise SerializationError(f"{path}: {info.filename!r} declares a negative shape {shape}")
    return header_size, math.prod(shape) * dtype.itemsize
