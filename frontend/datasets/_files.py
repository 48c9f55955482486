"""Where dataset files live, how they are fetched, and what a loaded split must look like.

Keras keeps downloaded datasets in `~/.keras/datasets/` (or `$KERAS_HOME/datasets/`); graphc
reads the same folder, so a machine that already ran Keras needs no new download, and
`GRAPHC_DATA_DIR` replaces the whole folder for machines where the files sit elsewhere. A file
that is missing is downloaded from Keras' own URL, checked against the SHA-256 that Keras
publishes and only then renamed into place (atomically), so a failed or tampered transfer never
leaves a file that the next run would trust. Without network access the error says which file
to copy where, because on an offline machine that is the only way to get the data.
"""

from __future__ import annotations

import hashlib
import http.client
import os
from pathlib import Path
from urllib.request import urlopen

import numpy as np

from graphc.archive import atomic_output
from graphc.errors import GraphcError, SerializationError

#: Environment variable naming the folder that holds the dataset files (replaces
#: `~/.keras/datasets`).
DATA_DIR_ENV = "GRAPHC_DATA_DIR"
#: Keras' own environment variable for its home folder (default `~/.keras`).
KERAS_HOME_ENV = "KERAS_HOME"
#: The folder Keras downloads its datasets from.
KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
#: Seconds to wait for the server before giving up on a download.
DOWNLOAD_TIMEOUT = 30.0

_CHUNK = 1 << 16


class DatasetNotFoundError(GraphcError, FileNotFoundError):
    """A dataset file is not on disk and could not be downloaded."""


def data_dir() -> Path:
    """The folder dataset files are read from and downloaded to.

    `$GRAPHC_DATA_DIR` if set, else `$KERAS_HOME/datasets`, else `~/.keras/datasets`: the
    folder Keras uses, so files Keras already downloaded are found.

    >>> import os
    >>> os.environ["GRAPHC_DATA_DIR"] = "/data/keras"
    >>> str(data_dir())
    '/data/keras'
    >>> del os.environ["GRAPHC_DATA_DIR"]
    """
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    keras_home = os.environ.get(KERAS_HOME_ENV) or os.path.join("~", ".keras")
    return Path(keras_home).expanduser() / "datasets"


def fetch(name: str | os.PathLike, origin: str, sha256: str, *, caller: str) -> Path:
    """Return the path of the dataset file `name`, downloading it from `origin` if missing.

    A relative `name` lives under `data_dir()`; an absolute one is used as it is. A file
    already on disk is used as it is (the loaders validate its format), so a file you copied
    by hand is never overwritten. A download is accepted only if its SHA-256 equals `sha256`.

    Args:
        name: the file, e.g. "mnist.npz" or "fashion-mnist/t10k-labels-idx1-ubyte.gz".
        origin: the URL to download it from.
        sha256: the expected SHA-256 of the downloaded file, in hex.
        caller: the public function, named in error messages.

    Raises:
        DatasetNotFoundError: the file is missing and the download failed (no network,
            server error, unwritable folder); the message says which file to put where.
        SerializationError: the download completed but its checksum is wrong; nothing is
            written.
    """
    target = data_dir() / Path(name).expanduser()
    if target.is_file():
        return target
    try:
        _download(origin, target, sha256)
    except (OSError, http.client.HTTPException) as exc:  # URLError and timeouts are OSErrors
        reason = getattr(exc, "reason", None) or exc
        relocate = (
            ""
            if Path(name).is_absolute()
            else f", or set {DATA_DIR_ENV} to a folder that holds it as {Path(name)}"
        )
        raise DatasetNotFoundError(
            f"{caller}: {target} does not exist and downloading it from {origin} failed "
            f"({reason}). On a machine without internet access, download {origin} elsewhere "
            f"(SHA-256 {sha256}) and copy it to {target}{relocate}."
        ) from exc
    return target


def fetch_all(files: list[tuple[str, str, str]], *, caller: str) -> list[Path]:
    """`fetch` each (name, origin, sha256); when some are missing and cannot be downloaded,
    one `DatasetNotFoundError` lists every one of them, so an offline user copies them all
    at once instead of learning of one missing file per run."""
    paths: list[Path] = []
    failures: list[DatasetNotFoundError] = []
    for name, origin, sha256 in files:
        try:
            paths.append(fetch(name, origin, sha256, caller=caller))
        except DatasetNotFoundError as exc:
            failures.append(exc)
    if len(failures) == 1:
        raise failures[0]
    if failures:
        listed = "\n".join(f"- {str(exc).removeprefix(caller + ': ')}" for exc in failures)
        raise DatasetNotFoundError(
            f"{caller}: {len(failures)} of {len(files)} files are missing and could not be "
            f"downloaded:\n{listed}"
        ) from failures[0]
    return paths


def _download(origin: str, target: Path, sha256: str) -> None:
    print(f"Downloading data from {origin}")
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with urlopen(origin, timeout=DOWNLOAD_TIMEOUT) as response, atomic_output(target) as out:
        while chunk := response.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
        if digest.hexdigest() != sha256:  # raising here discards the temporary file
            raise SerializationError(
                f"the file downloaded from {origin} has SHA-256 {digest.hexdigest()}, expected "
                f"{sha256}; the transfer is incomplete or the file was altered. Nothing was "
                f"written to {target}"
            )


def check_split(source: str, images: np.ndarray, labels: np.ndarray, split: str) -> None:
    """Check that one split holds what Keras returns: uint8 images (n, h, w), uint8 labels (n,).

    Args:
        source: the file(s) the arrays came from, for the message.
        images, labels: the arrays.
        split: "train" or "test".

    >>> check_split("demo", np.zeros((2, 28, 28), np.uint8), np.zeros(3, np.uint8), "train")
    Traceback (most recent call last):
    ...
    graphc.errors.SerializationError: demo: 2 train images but 3 train labels
    """
    for what, array, ndim in (("images", images, 3), ("labels", labels, 1)):
        if array.dtype != np.uint8 or array.ndim != ndim:
            raise SerializationError(
                f"{source}: the {split} {what} must be a {ndim}-D uint8 array, got "
                f"{array.dtype} with shape {array.shape}"
            )
    if len(images) != len(labels):
        raise SerializationError(
            f"{source}: {len(images)} {split} images but {len(labels)} {split} labels"
        )
