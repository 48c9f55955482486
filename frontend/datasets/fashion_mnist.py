"""Fashion-MNIST (Zalando's clothing images), read from its four IDX files, as Keras does.

Keras keeps the files in `~/.keras/datasets/fashion-mnist/`; they are the original gzip'ed IDX
files, read here with the validating `load_idx`. Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover,
3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot (`CLASS_NAMES`).
"""

from __future__ import annotations

import numpy as np

from graphc.frontend.datasets._files import KERAS_ORIGIN, check_split, fetch_all
from graphc.frontend.datasets.idx import load_idx

__all__ = ["CLASS_NAMES", "load_data"]

#: The folder under the data directory that holds the four files (Keras' cache_subdir).
SUBDIR = "fashion-mnist"
#: File name -> the SHA-256 Keras publishes (keras/src/datasets/fashion_mnist.py), in the
#: order y_train, x_train, y_test, x_test.
FILES = {
    "train-labels-idx1-ubyte.gz": (
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
    ),
    "train-images-idx3-ubyte.gz": (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
    ),
}
CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load Fashion-MNIST: `(x_train, y_train), (x_test, y_test)`, uint8 arrays as in Keras.

    The four files are read from `data_dir() / "fashion-mnist"` (`~/.keras/datasets/
    fashion-mnist`, or `$GRAPHC_DATA_DIR/fashion-mnist`); missing ones are downloaded from
    Keras' URL and checked against Keras' SHA-256.

    Returns:
        x_train (60000, 28, 28), y_train (60000,), x_test (10000, 28, 28), y_test (10000,),
        all uint8, for the real files.

    Raises:
        DatasetNotFoundError: a file is missing and cannot be downloaded (the message says
            where to put it).
        SerializationError: a file is not a valid IDX file, or images and labels disagree.

    >>> import gzip, os, struct, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(folder, "fashion-mnist"))
    >>> def write(name, dims):
    ...     header = struct.pack(f">4B{len(dims)}I", 0, 0, 0x08, len(dims), *dims)
    ...     with gzip.open(os.path.join(folder, "fashion-mnist", name), "wb") as f:
    ...         _ = f.write(header + bytes(int(np.prod(dims))))
    >>> for split in ("train", "t10k"):
    ...     write(f"{split}-labels-idx1-ubyte.gz", (3,))
    ...     write(f"{split}-images-idx3-ubyte.gz", (3, 28, 28))
    >>> os.environ["GRAPHC_DATA_DIR"] = folder
    >>> (x_train, y_train), (x_test, y_test) = load_data()
    >>> del os.environ["GRAPHC_DATA_DIR"]
    >>> x_train.shape, y_train.dtype
    ((3, 28, 28), dtype('uint8'))
    """
    caller = "fashion_mnist.load_data"
    files = [(f"{SUBDIR}/{name}", KERAS_ORIGIN + name, sha256) for name, sha256 in FILES.items()]
    arrays = [load_idx(path) for path in fetch_all(files, caller=caller)]
    y_train, x_train, y_test, x_test = arrays
    source = f"{caller} ({SUBDIR}/)"
    check_split(source, x_train, y_train, "train")
    check_split(source, x_test, y_test, "test")
    return (x_train, y_train), (x_test, y_test)
