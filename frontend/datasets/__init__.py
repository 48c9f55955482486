"""Datasets, as `keras.datasets`: `mnist.load_data()`, `fashion_mnist.load_data()`.

The loaders read Keras' own file formats from Keras' cache folder (`~/.keras/datasets`, or
`$GRAPHC_DATA_DIR`), download missing files with checksum verification when the machine is
online, and otherwise raise `DatasetNotFoundError` saying which file to put where (see
docs/datasets.md). `load_idx` reads any IDX file, e.g. the original MNIST `.gz` files.
"""

from graphc.frontend.datasets import fashion_mnist, mnist
from graphc.frontend.datasets._files import DatasetNotFoundError, data_dir
from graphc.frontend.datasets.idx import load_idx

__all__ = ["DatasetNotFoundError", "data_dir", "fashion_mnist", "load_idx", "mnist"]
