"""graphc.frontend.datasets: Keras' file formats, the cache folder, downloads and their failures.

Every file is generated here in the real formats (tiny mnist.npz archives, IDX headers packed by
hand); the network is never used: an autouse fixture replaces the downloader's `urlopen` with
one that fails, and the download tests install a fake server.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from graphc.errors import GraphcError, SerializationError
from graphc.frontend import datasets
from graphc.frontend.datasets import _files, fashion_mnist, mnist
from graphc.frontend.datasets.idx import load_idx


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float]]:
    """No test touches the network: every download attempt fails like an offline machine."""
    requests: list[tuple[str, float]] = []

    def refuse(url: str, timeout: float) -> None:
        requests.append((url, timeout))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(_files, "urlopen", refuse)
    return requests


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("GRAPHC_DATA_DIR", str(folder))
    return folder


def serve(monkeypatch: pytest.MonkeyPatch, payload: bytes) -> list[tuple[str, float]]:
    """Replace the downloader's urlopen with a fake server returning `payload`."""
    requests: list[tuple[str, float]] = []

    def fake_urlopen(url: str, timeout: float) -> io.BytesIO:
        requests.append((url, timeout))
        return io.BytesIO(payload)

    monkeypatch.setattr(_files, "urlopen", fake_urlopen)
    return requests


def mnist_arrays(rng: np.random.Generator, n_train: int = 5, n_test: int = 3) -> dict:
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = struct.pack(f">4B{array.ndim}I", 0, 0, type_code, array.ndim, *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_gz(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as f:
        f.write(data)
    return path


# ---------------------------------------------------------------- the cache folder


def test_data_dir_follows_keras_home_and_the_graphc_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRAPHC_DATA_DIR", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert datasets.data_dir() == tmp_path / ".keras" / "datasets"
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert datasets.data_dir() == tmp_path / "kh" / "datasets"
    monkeypatch.setenv("GRAPHC_DATA_DIR", str(tmp_path / "mine"))
    assert datasets.data_dir() == tmp_path / "mine"


# ---------------------------------------------------------------- mnist


def test_mnist_reads_the_npz_from_the_data_dir(data_dir: Path, rng: np.random.Generator) -> None:
    arrays = mnist_arrays(rng)
    np.savez_compressed(data_dir / "mnist.npz", **arrays)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    for name, got in zip(arrays, (x_train, y_train, x_test, y_test)):
        assert got.dtype == np.uint8 and got.shape == arrays[name].shape
        np.testing.assert_array_equal(got, arrays[name])


def test_mnist_path_may_be_absolute_or_relative_to_the_data_dir(
    data_dir: Path, tmp_path: Path, rng: np.random.Generator
) -> None:
    arrays = mnist_arrays(rng)
    np.savez(tmp_path / "elsewhere.npz", **arrays)
    np.savez(data_dir / "digits.npz", **arrays)
    for path in (tmp_path / "elsewhere.npz", str(tmp_path / "elsewhere.npz"), "digits.npz"):
        (_, y_train), _ = mnist.load_data(path)
        np.testing.assert_array_equal(y_train, arrays["y_train"])


def test_mnist_refuses_pickled_objects(data_dir: Path, rng: np.random.Generator) -> None:
    arrays = mnist_arrays(rng)
    arrays["y_train"] = np.array([object()] * 5, dtype=object)
    np.savez(data_dir / "mnist.npz", **arrays)
    with pytest.raises(SerializationError, match="pickled objects"):
        mnist.load_data()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("y_test"), r"expected an \.npz archive of the arrays .* found"),
        (lambda a: a.update(x_train=a["x_train"].astype(np.int64)), "train images must be"),
        (lambda a: a.update(y_test=a["y_test"][:2]), "3 test images but 2 test labels"),
        (lambda a: a.update(x_test=a["x_test"][:, 0]), r"3-D uint8 array, got uint8 .*\(3, 28\)"),
    ],
)
def test_mnist_checks_the_arrays(
    data_dir: Path, rng: np.random.Generator, change, message: str
) -> None:
    arrays = mnist_arrays(rng)
    change(arrays)
    np.savez(data_dir / "mnist.npz", **arrays)
    with pytest.raises(SerializationError, match=message):
        mnist.load_data()


def test_mnist_refuses_truncated_and_foreign_files(
    data_dir: Path, rng: np.random.Generator
) -> None:
    np.savez(data_dir / "whole.npz", **mnist_arrays(rng))
    data = (data_dir / "whole.npz").read_bytes()
    (data_dir / "mnist.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(SerializationError, match="truncated or corrupted"):
        mnist.load_data()
    np.save(data_dir / "single.npy", np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(SerializationError, match=r"found \['one uint8 array of shape"):
        mnist.load_data(data_dir / "single.npy")


def test_mnist_missing_offline_says_which_file_to_put_where(data_dir: Path, offline: list) -> None:
    with pytest.raises(datasets.DatasetNotFoundError) as info:
        mnist.load_data()
    error = info.value
    assert isinstance(error, FileNotFoundError) and isinstance(error, GraphcError)
    text = str(error)
    target = data_dir / "mnist.npz"
    assert text.startswith(f"mnist.load_data: {target} does not exist")
    assert "Temporary failure in name resolution" in text
    assert f"download {mnist.ORIGIN} elsewhere (SHA-256 {mnist.SHA256})" in text
    assert f"copy it to {target}, or set GRAPHC_DATA_DIR" in text
    assert offline == [(mnist.ORIGIN, _files.DOWNLOAD_TIMEOUT)]
    assert list(data_dir.iterdir()) == []


def test_mnist_missing_absolute_path_does_not_suggest_the_data_dir(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "mnist.npz"
    with pytest.raises(datasets.DatasetNotFoundError, match=f"copy it to {target}\\.$"):
        mnist.load_data(target)


def test_mnist_downloads_verifies_and_stores_a_missing_file(
    data_dir: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    arrays = mnist_arrays(rng)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    payload = buffer.getvalue()
    monkeypatch.setattr(mnist, "SHA256", hashlib.sha256(payload).hexdigest())
    requests = serve(monkeypatch, payload)
    (x_train, _), _ = mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    assert requests == [(mnist.ORIGIN, _files.DOWNLOAD_TIMEOUT)]
    assert capsys.readouterr().out == f"Downloading data from {mnist.ORIGIN}\n"
    assert (data_dir / "mnist.npz").read_bytes() == payload
    mnist.load_data()  # now cached: no second request
    assert len(requests) == 1


def test_a_download_with_the_wrong_checksum_is_discarded(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(monkeypatch, b"<html>captive portal</html>")
    with pytest.raises(SerializationError, match=f"expected {mnist.SHA256}.*Nothing was written"):
        mnist.load_data()
    assert list(data_dir.iterdir()) == []


def test_the_published_checksums_are_sha256_hex() -> None:
    for digest in (mnist.SHA256, *fashion_mnist.FILES.values()):
        assert len(digest) == 64 and int(digest, 16) >= 0
    assert mnist.ORIGIN == "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


# ---------------------------------------------------------------- fashion_mnist


def write_fashion(folder: Path, rng: np.random.Generator, n_train: int = 4, n_test: int = 2):
    arrays = mnist_arrays(rng, n_train, n_test)
    names = dict(zip(fashion_mnist.FILES, ("y_train", "x_train", "y_test", "x_test")))
    for file_name, key in names.items():
        write_gz(folder / "fashion-mnist" / file_name, idx_bytes(arrays[key]))
    return arrays


def test_fashion_mnist_reads_the_four_idx_files(data_dir: Path, rng: np.random.Generator) -> None:
    arrays = write_fashion(data_dir, rng)
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    for name, got in zip(
        ("x_train", "y_train", "x_test", "y_test"), (x_train, y_train, x_test, y_test)
    ):
        assert got.dtype == np.uint8 and got.shape == arrays[name].shape
        np.testing.assert_array_equal(got, arrays[name])
    x_train[0, 0, 0] = 1  # writable, like Keras' arrays after a copy
    assert len(fashion_mnist.CLASS_NAMES) == 10


def test_fashion_mnist_missing_file_names_its_place(
    data_dir: Path, rng: np.random.Generator
) -> None:
    write_fashion(data_dir, rng)
    (data_dir / "fashion-mnist" / "t10k-images-idx3-ubyte.gz").unlink()
    target = data_dir / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    with pytest.raises(datasets.DatasetNotFoundError) as info:
        fashion_mnist.load_data()
    text = str(info.value)
    assert f"copy it to {target}" in text
    assert "holds it as fashion-mnist/t10k-images-idx3-ubyte.gz" in text
    assert fashion_mnist.FILES["t10k-images-idx3-ubyte.gz"] in text


def test_fashion_mnist_offline_lists_every_missing_file_at_once(
    data_dir: Path, rng: np.random.Generator
) -> None:
    write_fashion(data_dir, rng)
    missing = ["train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    for name in missing:
        (data_dir / "fashion-mnist" / name).unlink()
    with pytest.raises(datasets.DatasetNotFoundError) as info:
        fashion_mnist.load_data()
    text = str(info.value)
    assert text.startswith("fashion_mnist.load_data: 2 of 4 files are missing")
    for name in missing:
        assert f"copy it to {data_dir / 'fashion-mnist' / name}" in text
        assert fashion_mnist.FILES[name] in text


def test_fashion_mnist_images_and_labels_must_agree(
    data_dir: Path, rng: np.random.Generator
) -> None:
    write_fashion(data_dir, rng)
    write_gz(
        data_dir / "fashion-mnist" / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(3, np.uint8))
    )
    with pytest.raises(SerializationError, match="4 train images but 3 train labels"):
        fashion_mnist.load_data()


# ---------------------------------------------------------------- load_idx


@pytest.mark.parametrize(
    ("dtype", "code"),
    [("u1", 0x08), ("i1", 0x09), ("i2", 0x0B), ("i4", 0x0C), ("f4", 0x0D), ("f8", 0x0E)],
)
def test_load_idx_reads_every_type_big_endian(tmp_path: Path, dtype: str, code: int) -> None:
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    (tmp_path / "plain").write_bytes(idx_bytes(array, code))
    for path in (tmp_path / "plain", write_gz(tmp_path / "packed.gz", idx_bytes(array, code))):
        loaded = load_idx(path)
        assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
        np.testing.assert_array_equal(loaded, array)


def test_load_idx_handles_empty_arrays(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(idx_bytes(np.zeros((0, 28, 28), np.uint8)))
    assert load_idx(tmp_path / "empty").shape == (0, 28, 28)


GOOD = idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04" + GOOD[4:], "not an IDX file: the magic number is 504b0304"),
        (b"\0\0\x0a\x02" + GOOD[4:], "not an IDX file: the magic number is 00000a02"),
        (GOOD[:3], "truncated: expected 4 bytes of magic number, found 3"),
        (GOOD[:9], "truncated: expected 8 bytes of 2 dimension sizes, found 5"),
        (GOOD[:-1], r"truncated: expected 6 bytes of data for shape \(2, 3\), found 5"),
        (GOOD + b"\0", r"bytes follow the 6 bytes of data declared for shape \(2, 3\)"),
    ],
)
def test_load_idx_refuses_bad_files(tmp_path: Path, data: bytes, message: str) -> None:
    (tmp_path / "plain").write_bytes(data)
    write_gz(tmp_path / "packed.gz", data)
    for path in (tmp_path / "plain", tmp_path / "packed.gz"):
        with pytest.raises(SerializationError, match=message):
            load_idx(path)


def test_load_idx_checks_the_declared_size_before_reading(tmp_path: Path) -> None:
    huge = struct.pack(">4B3I", 0, 0, 0x0E, 3, 60000, 60000, 60000)  # 1.7 PB of float64
    (tmp_path / "bomb").write_bytes(huge)
    with pytest.raises(SerializationError, match="more than the limit"):
        load_idx(tmp_path / "bomb")
    with pytest.raises(SerializationError, match="more than the limit of 5 bytes"):
        load_idx(write_gz(tmp_path / "small.gz", GOOD), max_bytes=5)


def test_load_idx_refuses_damaged_gzip_streams(tmp_path: Path) -> None:
    packed = write_gz(tmp_path / "good.gz", GOOD).read_bytes()
    (tmp_path / "cut.gz").write_bytes(packed[:-6])  # the stream ends before its trailer
    with pytest.raises(SerializationError, match="gzip stream is damaged or truncated"):
        load_idx(tmp_path / "cut.gz")
    flipped = bytearray(packed)
    flipped[-8] ^= 0xFF  # wrong CRC
    (tmp_path / "crc.gz").write_bytes(bytes(flipped))
    with pytest.raises(SerializationError, match="gzip stream is damaged or truncated"):
        load_idx(tmp_path / "crc.gz")


def test_load_idx_missing_file_is_a_file_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "absent.gz")
