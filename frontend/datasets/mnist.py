"""MNIST handwritten digits, read from Keras' `mnist.npz`, as `keras.datasets.mnist`.

The file is a numpy `.npz` archive with four uint8 arrays: x_train (60000, 28, 28), y_train
(60000,), x_test (10000, 28, 28), y_test (10000,). Keras opens it with `allow_pickle=True`;
graphc never unpickles, so a file holding object arrays is refused instead of executed.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from graphc.errors import SerializationError
from graphc.frontend.datasets._files import KERAS_ORIGIN, check_split, fetch

__all__ = ["load_data"]

ORIGIN = KERAS_ORIGIN + "mnist.npz"
#: The SHA-256 Keras publishes for mnist.npz (keras/src/datasets/mnist.py).
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_data(
    path: str | os.PathLike = "mnist.npz",
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST: `(x_train, y_train), (x_test, y_test)`, uint8 arrays exactly as Keras returns.

    Args:
        path: the file, relative to `graphc.frontend.datasets.data_dir()` (Keras' cache folder
            `~/.keras/datasets`, or `$GRAPHC_DATA_DIR`), or an absolute path. A missing file is
            downloaded from Keras' URL and checked against Keras' SHA-256.

    Returns:
        x_train (60000, 28, 28), y_train (60000,), x_test (10000, 28, 28), y_test (10000,),
        all uint8 (pixels 0-255, labels 0-9), for the real file.

    Raises:
        DatasetNotFoundError: the file is missing and cannot be downloaded (the message says
            where to put it).
        SerializationError: the file is not an npz archive of four uint8 arrays with those
            names, or holds pickled objects.

    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "mnist.npz")
    >>> images, labels = np.zeros((2, 28, 28), np.uint8), np.array([5, 0], np.uint8)
    >>> np.savez(path, x_train=images, y_train=labels, x_test=images, y_test=labels)
    >>> (x_train, y_train), (x_test, y_test) = load_data(path)
    >>> x_train.shape, x_train.dtype, y_test
    ((2, 28, 28), dtype('uint8'), array([5, 0], dtype=uint8))
    """
    file = fetch(path, ORIGIN, SHA256, caller="mnist.load_data")
    arrays = _read_npz(file)
    check_split(str(file), arrays["x_train"], arrays["y_train"], "train")
    check_split(str(file), arrays["x_test"], arrays["y_test"], "test")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _read_npz(file: os.PathLike) -> dict[str, np.ndarray]:
    try:
        loaded = np.load(file, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                found = sorted(loaded.files)
                arrays = {key: loaded[key] for key in _KEYS if key in found}
        else:  # a lone .npy array
            found, arrays = [f"one {loaded.dtype} array of shape {loaded.shape}"], {}
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        raise SerializationError(
            f"{file}: not a readable mnist.npz (truncated or corrupted, or it holds pickled "
            f"objects, which graphc never loads): {exc}"
        ) from None
    if len(arrays) != len(_KEYS):
        raise SerializationError(
            f"{file}: expected an .npz archive of the arrays {list(_KEYS)}, found {found}"
        )
    return arrays
