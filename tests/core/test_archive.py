"""The on-disk container (graphc.archive): round trips, atomic writes, hostile files."""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import stat
import warnings
import zipfile

import numpy as np
import pytest

import graphc
from graphc import archive
from graphc.archive import read_archive, write_archive
from graphc.errors import SerializationError

DOC = {"format": "test", "values": [1, 2.5, None, True, "é"]}


def npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def make_zip(path, members: list[tuple[str, bytes]]) -> None:
    """A zip with exactly these members (duplicates allowed), bypassing write_archive."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members:
                zf.writestr(name, data)


def valid_members() -> list[tuple[str, bytes]]:
    return [("document.json", json.dumps(DOC).encode()), ("arrays/w.npy", npy_bytes(np.ones(3)))]


# --- round trips -------------------------------------------------------------------------------


def test_round_trip_keeps_document_and_arrays_exactly(tmp_path):
    arrays = {
        "scalar": np.array(-0.0),
        "empty": np.zeros((0, 3), "float32"),
        "ints": np.arange(12, dtype="int32").reshape(3, 4),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "big_endian": np.arange(4, dtype=">i8"),
        "flags": np.array([True, False]),
        "special": np.array([np.inf, -np.inf, np.nan], "float32"),
        "dense/kernel": np.linspace(0, 1, 5),
    }
    path = tmp_path / "a.graphc"
    write_archive(path, DOC, arrays)
    document, loaded = read_archive(path)
    assert document == DOC
    assert sorted(loaded) == sorted(arrays)
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name], array)
    assert np.signbit(loaded["scalar"])


def test_equal_content_gives_equal_bytes(tmp_path):
    for name in ("a", "b"):
        write_archive(tmp_path / name, DOC, {"y": np.ones(2), "x": np.zeros(3)})
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def test_members_are_a_json_document_and_npy_files(tmp_path):
    write_archive(tmp_path / "a", DOC, {"w": np.ones(3)})
    with zipfile.ZipFile(tmp_path / "a") as zf:
        assert zf.namelist() == ["document.json", "arrays/w.npy"]
        assert json.loads(zf.read("document.json")) == DOC
        np.testing.assert_array_equal(np.load(io.BytesIO(zf.read("arrays/w.npy"))), np.ones(3))


# --- writing -----------------------------------------------------------------------------------


def test_failure_mid_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "model.graphc"
    write_archive(path, DOC, {"w": np.ones(3)})
    before = path.read_bytes()
    real_write = np.lib.format.write_array

    def failing_write(fp, array, **kwargs):
        real_write(fp, array, **kwargs)  # some bytes reach the temporary file...
        raise OSError("disk full")  # ...then the write fails

    monkeypatch.setattr(np.lib.format, "write_array", failing_write)
    with pytest.raises(OSError, match="disk full"):
        write_archive(path, {"format": "new"}, {"w": np.zeros(1000)})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.graphc"]


def test_failed_first_write_creates_nothing(tmp_path):
    with pytest.raises(SerializationError, match="not JSON data"):
        write_archive(tmp_path / "x", {"bad": float("nan")}, {})
    with pytest.raises(SerializationError, match="not JSON data"):
        write_archive(tmp_path / "x", {"bad": object()}, {})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["../evil", "/abs", "a//b", "a/./b", "", "a b", "a\\b", "c:x"])
def test_write_refuses_unsafe_array_names(tmp_path, name):
    with pytest.raises(SerializationError, match="invalid array name"):
        write_archive(tmp_path / "x", DOC, {name: np.ones(1)})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "value", [np.array([{"a": 1}], dtype=object), np.array(["text"]), [1.0, 2.0]]
)
def test_write_refuses_non_numeric_arrays(tmp_path, value):
    with pytest.raises(SerializationError, match="bools, ints or floats"):
        write_archive(tmp_path / "x", DOC, {"w": value})


# --- permissions and write errors -------------------------------------------------------------

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@posix_only
@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_a_new_file_gets_the_umask_permissions(tmp_path, mask, expected):
    with umask(mask):
        write_archive(tmp_path / "a.graphc", DOC, {"w": np.ones(3)})
        assert archive._umask() == mask
    assert mode(tmp_path / "a.graphc") == expected


@posix_only
@pytest.mark.parametrize("existing", [0o644, 0o640, 0o755, 0o600])
def test_overwriting_keeps_the_files_permissions(tmp_path, existing):
    path = tmp_path / "a.graphc"
    path.write_bytes(b"old")
    os.chmod(path, existing)
    with umask(0o077):
        write_archive(path, DOC, {})
    assert mode(path) == existing
    assert read_archive(path)[0] == DOC


@posix_only
def test_graph_save_keeps_permissions(tmp_path):
    x = graphc.placeholder((None, 2), name="x")
    path = tmp_path / "g.graphc"
    with umask(0o022):
        graphc.Graph([x], x * 2.0).save(str(path))
        assert mode(path) == 0o644
        os.chmod(path, 0o664)
        graphc.Graph([x], x * 3.0).save(str(path))
    assert mode(path) == 0o664


@posix_only
def test_atomic_output_sets_the_mode_for_every_writer(tmp_path):
    with umask(0o022), archive.atomic_output(tmp_path / "picture.svg") as out:
        out.write(b"<svg/>")
    assert mode(tmp_path / "picture.svg") == 0o644


def assert_names_the_path(error: OSError, path) -> None:
    assert error.filename == str(path)
    assert ".tmp" not in str(error) and str(path) in str(error)


def test_saving_into_a_missing_folder_names_the_path(tmp_path):
    path = tmp_path / "nodir" / "a.graphc"
    x = graphc.placeholder((2,), name="x")
    with pytest.raises(FileNotFoundError) as info:
        graphc.Graph([x], -x).save(str(path))
    assert_names_the_path(info.value, path)
    assert f"the folder {str(path.parent)!r} does not exist" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_saving_to_a_directory_names_the_path(tmp_path):
    path = tmp_path / "a.graphc"
    path.mkdir()
    with pytest.raises(IsADirectoryError) as info:
        write_archive(path, DOC, {"w": np.ones(3)})
    assert_names_the_path(info.value, path)
    assert "is a directory, not a file" in str(info.value)
    assert [p.name for p in tmp_path.iterdir()] == ["a.graphc"] and not list(path.iterdir())


def test_saving_under_a_file_names_the_path(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    path = tmp_path / "file" / "a.graphc"
    with pytest.raises(NotADirectoryError) as info:
        write_archive(path, DOC, {})
    assert_names_the_path(info.value, path)
    assert "is a file, not a folder" in str(info.value)


def test_a_failing_temporary_file_names_the_path(tmp_path, monkeypatch):
    path = tmp_path / "a.graphc"

    def refuse(prefix, suffix, dir):
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/{prefix}x1y2{suffix}")

    monkeypatch.setattr(archive.tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError, match="Permission denied") as info:
        write_archive(path, DOC, {})
    assert_names_the_path(info.value, path)


def test_a_failing_rename_names_the_path_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "a.graphc"

    def refuse(src, dst):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(src), str(dst))

    monkeypatch.setattr(archive.os, "replace", refuse)
    with pytest.raises(IsADirectoryError) as info:
        write_archive(path, DOC, {})
    assert_names_the_path(info.value, path)
    assert list(tmp_path.iterdir()) == []


def test_write_errors_stay_catchable_as_os_errors(tmp_path):
    with pytest.raises(OSError):
        write_archive(tmp_path / "nodir" / "a", DOC, {})
    with pytest.raises(OSError):
        write_archive(tmp_path, DOC, {})


# --- hostile and broken files ------------------------------------------------------------------


def refused(path, match: str, **limits) -> str:
    with pytest.raises(SerializationError, match=match) as info:
        read_archive(path, **limits)
    assert str(path) in str(info.value)  # errors name the file
    return str(info.value)


def test_valid_hand_built_file_is_accepted(tmp_path):
    make_zip(tmp_path / "ok", valid_members())
    document, arrays = read_archive(tmp_path / "ok")
    assert document == DOC and list(arrays) == ["w"]


def test_not_a_zip(tmp_path):
    (tmp_path / "x").write_bytes(b"this is not a zip file at all" * 10)
    refused(tmp_path / "x", "not a zip archive")
    (tmp_path / "empty").write_bytes(b"")
    refused(tmp_path / "empty", "not a zip archive")


def test_truncated_file(tmp_path):
    write_archive(tmp_path / "good", DOC, {"w": np.arange(1000.0)})
    data = (tmp_path / "good").read_bytes()
    for cut in (len(data) // 2, len(data) - 10):
        (tmp_path / "cut").write_bytes(data[:cut])
        refused(tmp_path / "cut", "truncated")


def test_corrupted_array_data(tmp_path):
    write_archive(tmp_path / "good", DOC, {"w": np.arange(1000.0)})
    data = bytearray((tmp_path / "good").read_bytes())
    start = data.index(b"\x93NUMPY") + 200
    data[start : start + 8] = b"\xff" * 8  # the stored CRC no longer matches
    (tmp_path / "bad").write_bytes(bytes(data))
    refused(tmp_path / "bad", "corrupted")


def test_missing_document(tmp_path):
    make_zip(tmp_path / "x", [("arrays/w.npy", npy_bytes(np.ones(3)))])
    refused(tmp_path / "x", "document.json is missing")


@pytest.mark.parametrize(
    "text",
    [b"{not json", b'{"a": NaN}', b'{"a": Infinity}', b"\xff\xfe", b"[" * 100_000],
)
def test_bad_json(tmp_path, text):
    make_zip(tmp_path / "x", [("document.json", text)])
    refused(tmp_path / "x", "not valid JSON")


def test_document_must_be_an_object(tmp_path):
    make_zip(tmp_path / "x", [("document.json", b"[1, 2]")])
    refused(tmp_path / "x", "must hold a JSON object")


@pytest.mark.parametrize(
    "name",
    [
        "../evil.npy",
        "/etc/evil.npy",
        "arrays/../../evil.npy",
        "arrays/./w.npy",
        "arrays\\..\\evil.npy",
        "C:/evil.npy",
        "arrays//w.npy",
    ],
)
def test_path_traversal_member_names(tmp_path, name):
    make_zip(tmp_path / "x", [*valid_members(), (name, npy_bytes(np.ones(1)))])
    refused(tmp_path / "x", "unsafe member name")


@pytest.mark.parametrize("name", ["evil.py", "arrays/w.txt", "arrays", "notes/readme.npy"])
def test_unexpected_members(tmp_path, name):
    make_zip(tmp_path / "x", [*valid_members(), (name, b"print('hi')")])
    refused(tmp_path / "x", "unexpected member")


def test_invalid_array_member_name(tmp_path):
    make_zip(tmp_path / "x", [*valid_members(), ("arrays/a b.npy", npy_bytes(np.ones(1)))])
    refused(tmp_path / "x", "invalid array name")


def test_duplicate_members(tmp_path):
    make_zip(tmp_path / "x", [*valid_members(), ("arrays/w.npy", npy_bytes(np.zeros(3)))])
    refused(tmp_path / "x", "appears twice")


def test_object_arrays_are_never_unpickled(tmp_path, monkeypatch):
    import pickle

    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("pickle.loads was called"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("pickle.load was called"))
    payload = npy_bytes(np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    make_zip(tmp_path / "x", [*valid_members(), ("arrays/obj.npy", payload)])
    refused(tmp_path / "x", "never does")


@pytest.mark.parametrize(
    "array", [np.array(["text"]), np.zeros(2, dtype=[("a", "f4"), ("b", "i4")]), np.ones(2, "c8")]
)
def test_non_numeric_arrays_are_refused(tmp_path, array):
    make_zip(tmp_path / "x", [*valid_members(), ("arrays/odd.npy", npy_bytes(array))])
    refused(tmp_path / "x", "only arrays of bools, ints and floats")


def huge_header(shape: tuple[int, ...], data: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


def test_declared_size_over_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(
        np.lib.format, "read_array", lambda *a, **k: pytest.fail("array data was read")
    )
    member = ("arrays/huge.npy", huge_header((10**6, 10**6)))
    make_zip(tmp_path / "x", [*valid_members(), member])
    refused(tmp_path / "x", "more than the limit")
    make_zip(tmp_path / "y", valid_members())
    refused(tmp_path / "y", "more than the limit", max_array_bytes=16)


def test_declared_size_must_match_the_data(tmp_path):
    member = ("arrays/short.npy", huge_header((100,), b"\x00" * 80))
    make_zip(tmp_path / "x", [*valid_members(), member])
    refused(tmp_path / "x", "declares 800 bytes of data but holds 80")


def test_negative_declared_shape(tmp_path):
    member = ("arrays/neg.npy", huge_header((-2, 4), b"\x00" * 8))
    make_zip(tmp_path / "x", [*valid_members(), member])
    refused(tmp_path / "x", "negative shape")


def test_broken_npy_header(tmp_path):
    make_zip(tmp_path / "x", [*valid_members(), ("arrays/bad.npy", b"\x93NUMPY\x01\x00garbage")])
    refused(tmp_path / "x", "not a valid .npy array")


def test_too_many_members(tmp_path):
    members = valid_members() + [(f"arrays/a{i}.npy", npy_bytes(np.ones(1))) for i in range(5)]
    make_zip(tmp_path / "x", members)
    assert len(read_archive(tmp_path / "x")[1]) == 6
    refused(tmp_path / "x", "more than the limit of 4", max_members=4)


def test_document_over_the_limit(tmp_path):
    make_zip(tmp_path / "x", [("document.json", json.dumps({"pad": "x" * 5000}).encode())])
    refused(tmp_path / "x", "larger than the limit", max_document_bytes=1000)


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_archive(tmp_path / "nowhere.graphc")


def test_nothing_is_written_while_reading(tmp_path):
    make_zip(tmp_path / "x", [*valid_members(), ("../escape.npy", npy_bytes(np.ones(1)))])
    with pytest.raises(SerializationError):
        read_archive(tmp_path / "x")
    assert sorted(p.name for p in tmp_path.parent.iterdir() if p.name == "escape.npy") == []
    assert [p.name for p in tmp_path.iterdir()] == ["x"]


def test_limits_are_module_constants():
    assert archive.MAX_ARRAY_BYTES == 4 * 2**30
    assert archive.MAX_MEMBERS > 1000
