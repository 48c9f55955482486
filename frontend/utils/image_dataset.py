"""`image_dataset_from_directory`: a folder of class subfolders of images as a dataset, as Keras.

Keras returns a `tf.data.Dataset`; graphc has no TensorFlow, so it returns an `ImageDataset`,
which follows the same steps: the files are indexed exactly as Keras indexes them (class
folders in alphanumeric order, files sorted, the list shuffled with `np.random.RandomState(seed)`,
the last `validation_split` fraction kept for validation), so the same folder and seed give the
same training and validation files as in Keras, and the same log lines. Images are decoded with
Pillow (the optional extra `graphc[images]`) only when a batch is produced, so a folder larger
than memory can be iterated.

The dataset protocol that `Model.fit`/`evaluate`/`predict` accept: an iterable whose iteration
yields `(x, y)` numpy batches (`x` only when there are no labels), with `len(dataset)` the number
of batches per epoch; each `iter()` is one epoch.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from graphc.errors import SerializationError
from graphc.frontend.datasets._optional import import_optional

__all__ = ["ALLOWLIST_FORMATS", "ImageDataset", "image_dataset_from_directory"]

#: File extensions that are indexed (case-insensitive), as in Keras.
ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
_LABEL_MODES = ("int", "categorical", "binary", None)
_SUBSETS = ("training", "validation", "both", None)
# Keras' interpolation names and the Pillow filters that implement them. Pillow has no
# equivalent of TensorFlow's "lanczos5", "gaussian" and "mitchellcubic".
_PILLOW_FILTERS = {
    "nearest": "NEAREST",
    "bilinear": "BILINEAR",
    "bicubic": "BICUBIC",
    "area": "BOX",
    "lanczos3": "LANCZOS",
}
_CALLER = "image_dataset_from_directory"


def image_dataset_from_directory(
    directory: str | os.PathLike,
    labels: str | Sequence[int] | None = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int | None = 32,
    image_size: int | tuple[int, int] = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    verbose: bool = True,
) -> ImageDataset | tuple[ImageDataset, ImageDataset]:
    """Make a dataset of `(images, labels)` batches from a folder of class subfolders.

    With `directory/daisy/1.jpg`, `directory/tulips/2.png`, ... the classes are the subfolder
    names in alphanumeric order (label 0 = "daisy"). Arguments, defaults, error messages and
    the split rule are Keras'. Two differences: images are resized with Pillow, whose
    bilinear/bicubic filters smooth when shrinking (TensorFlow's resize does not), so pixel
    values can differ slightly from Keras'; and `interpolation` supports "nearest",
    "bilinear", "bicubic", "area" and "lanczos3".

    Args:
        directory: the folder; with `labels="inferred"` it holds one subfolder per class.
        labels: "inferred" (from the subfolders), None (images only), or a list of integer
            labels, one per image file in the alphanumeric order of their paths.
        label_mode: "int" (int32 (b,)), "categorical" (one-hot float32 (b, classes)),
            "binary" (float32 (b, 1), exactly 2 classes) or None (images only).
        class_names: with `labels="inferred"`, the subfolders to use, in label order.
        color_mode: "grayscale", "rgb" or "rgba": 1, 3 or 4 channels.
        batch_size: images per batch; None yields single images.
        image_size: (height, width) every image is resized to.
        shuffle: shuffle the files (and the training batches each epoch); otherwise they are
            in alphanumeric order.
        seed: the shuffling seed; required with `validation_split` and `shuffle`, so the
            training and validation calls see the same file order and do not overlap.
        validation_split: the fraction of files kept for validation.
        subset: "training", "validation" or "both" (returns `(train, validation)`).
        interpolation: the resize filter.
        follow_links: also visit subfolders that are symbolic links.
        crop_to_aspect_ratio: crop the largest centred window with the target aspect ratio
            before resizing, instead of distorting the image.
        verbose: print "Found N files belonging to K classes."

    Returns:
        An `ImageDataset` (a pair of them for `subset="both"`). Images are float32
        (b, height, width, channels) with values 0-255.

    Raises:
        ValueError: an invalid argument (Keras' messages) or no images.
        MissingDependencyError: Pillow is not installed.

    >>> import os, tempfile, numpy as np
    >>> from PIL import Image
    >>> root = tempfile.mkdtemp()
    >>> for name in ("cats", "dogs"):
    ...     os.makedirs(os.path.join(root, name))
    ...     for i in range(5):
    ...         Image.new("RGB", (8, 6)).save(os.path.join(root, name, f"{i}.png"))
    >>> train = image_dataset_from_directory(root, validation_split=0.2, subset="training",
    ...                                      seed=1, image_size=(4, 4), batch_size=3)
    Found 10 files belonging to 2 classes.
    Using 8 files for training.
    >>> train.class_names, len(train)
    (['cats', 'dogs'], 3)
    >>> x, y = next(iter(train))
    >>> x.shape, x.dtype, y.dtype
    ((3, 4, 4, 3), dtype('float32'), dtype('int32'))
    """
    labels, label_mode = _check_labels(labels, label_mode, class_names)
    if color_mode not in _CHANNELS:
        raise ValueError(
            '`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
            f"Received: color_mode={color_mode}"
        )
    image_size = _check_image_size(image_size)
    interpolation = _check_interpolation(interpolation)
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(
            f"`batch_size` must be a positive integer or None. Received: batch_size={batch_size}"
        )
    _check_validation_split(validation_split, subset, shuffle, seed)
    import_optional("PIL.Image", "images", _CALLER)  # fail now, not at the first batch
    if seed is None:
        seed = int(np.random.randint(1e6))
    file_paths, label_ids, class_names = _index_directory(
        directory, labels, class_names, shuffle, seed, follow_links, verbose
    )
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(
            'When passing `label_mode="binary"`, there must be exactly 2 '
            f"class_names. Received: class_names={class_names}"
        )
    encoded = _encode_labels(label_ids, label_mode, len(class_names or ()))
    loader = _ImageLoader(image_size, _CHANNELS[color_mode], interpolation, crop_to_aspect_ratio)

    def dataset(subset: str | None, shuffle: bool, missing: str) -> ImageDataset:
        paths, subset_labels = _split(file_paths, encoded, validation_split, subset)
        if not paths:
            raise ValueError(
                f"No {missing}images found in directory {directory}. "
                f"Allowed formats: {ALLOWLIST_FORMATS}"
            )
        return ImageDataset(
            paths, subset_labels, loader, class_names=class_names, batch_size=batch_size,
            shuffle=shuffle, seed=seed,
        )  # fmt: skip

    if subset == "both":
        training = dataset("training", shuffle, "training ")
        return training, dataset("validation", False, "validation ")
    return dataset(subset, shuffle, "")


class ImageDataset:
    """Image files and their labels, decoded batch by batch: what `image_dataset_from_directory`
    returns in place of Keras' `tf.data.Dataset`.

    Iterating is one epoch: it yields `(images, labels)` batches (`images` only without
    labels) as numpy arrays; a shuffled dataset draws a new order every epoch from a generator
    seeded with `seed`, so runs are reproducible. `len()` is the number of batches.

    Attributes:
        file_paths: the image files, in the (seed-shuffled) order Keras lists them.
        class_names: the class names, label order; None without labels.
        batch_size: images per batch, or None for single images.
    """

    def __init__(
        self,
        file_paths: Sequence[str],
        labels: np.ndarray | None,
        loader: _ImageLoader,
        *,
        class_names: list[str] | None,
        batch_size: int | None,
        shuffle: bool,
        seed: int,
        limit: int | None = None,
    ) -> None:
        self.file_paths = list(file_paths)
        self.class_names = class_names
        self.batch_size = batch_size
        self._labels = labels
        self._loader = loader
        self._shuffle = shuffle
        self._seed = seed
        self._limit = limit
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        batches = math.ceil(len(self.file_paths) / (self.batch_size or 1))
        return batches if self._limit is None else min(batches, self._limit)

    def cardinality(self) -> int:
        """The number of batches per epoch (`len(dataset)`), as tf.data's `cardinality()`."""
        return len(self)

    def __iter__(self) -> Iterator[Any]:
        order = self._epoch_order()
        step = self.batch_size or 1
        for start in range(0, len(order), step):
            batch = self._gather(order[start : start + step])
            if self.batch_size is None:
                batch = tuple(part[0] for part in batch) if isinstance(batch, tuple) else batch[0]
            yield batch

    def take(self, count: int) -> ImageDataset:
        """The first `count` batches of each epoch (all of them for -1), as tf.data's `take`.

        The new dataset's shuffling starts again from the seed, so its first epoch is the
        first `count` batches of this dataset's first epoch.
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < -1:
            raise ValueError(f"take: `count` must be an integer >= -1. Received: count={count}")
        limit = count if self._limit is None else min(count, self._limit)
        if count == -1:
            limit = self._limit
        return ImageDataset(
            self.file_paths, self._labels, self._loader, class_names=self.class_names,
            batch_size=self.batch_size, shuffle=self._shuffle, seed=self._seed, limit=limit,
        )  # fmt: skip

    def as_numpy(self) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        """One epoch as full arrays: `(x, y)` (`x` alone without labels), decoded at once.

        For a shuffled dataset the order is the next epoch's (images and labels stay paired).
        """
        return self._gather(self._epoch_order())

    def _epoch_order(self) -> np.ndarray:
        count = len(self.file_paths)
        order = self._rng.permutation(count) if self._shuffle else np.arange(count)
        return order[: len(self) * (self.batch_size or 1)]

    def _gather(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
        images = np.empty((len(indices), *self._loader.shape), np.float32)
        for row, index in enumerate(indices):
            images[row] = self._loader(self.file_paths[index])
        return images if self._labels is None else (images, self._labels[indices])

    def __repr__(self) -> str:
        labels = "no labels" if self._labels is None else f"labels {self._labels.dtype}"
        return (
            f"<ImageDataset: {len(self.file_paths)} files, {len(self)} batches of "
            f"{self.batch_size}, images float32 {self._loader.shape}, {labels}>"
        )


@dataclasses.dataclass(frozen=True)
class _ImageLoader:
    """Decode one file to float32 (height, width, channels), as Keras' Pillow-based loader."""

    image_size: tuple[int, int]
    num_channels: int
    interpolation: str
    crop_to_aspect_ratio: bool

    @property
    def shape(self) -> tuple[int, int, int]:
        return (*self.image_size, self.num_channels)

    def __call__(self, path: str) -> np.ndarray:
        image_module = import_optional("PIL.Image", "images", _CALLER)
        try:
            with image_module.open(path) as image:  # an animated GIF gives its first frame
                array = np.asarray(self._convert(image), dtype=np.float32)
        except (OSError, ValueError) as exc:
            raise SerializationError(f"{_CALLER}: cannot decode the image {path}: {exc}") from None
        if array.ndim == 2:
            array = array[:, :, None]
        if self.crop_to_aspect_ratio:
            array = self._crop(array)
        if array.shape[:2] == self.image_size:
            return array
        height, width = self.image_size
        resample = image_module.Resampling[_PILLOW_FILTERS[self.interpolation]]
        channels = [  # float images (mode "F") keep the resized values unrounded, as Keras
            np.asarray(
                image_module.fromarray(np.ascontiguousarray(array[:, :, c])).resize(
                    (width, height), resample=resample
                )
            )
            for c in range(self.num_channels)
        ]
        return np.stack(channels, axis=-1)

    def _convert(self, image: Any) -> Any:
        if self.num_channels == 1:  # 16- and 32-bit grayscale are kept, as in Keras
            return image if image.mode in ("L", "I;16", "I") else image.convert("L")
        mode = "RGB" if self.num_channels == 3 else "RGBA"
        return image if image.mode == mode else image.convert(mode)

    def _crop(self, array: np.ndarray) -> np.ndarray:
        """The largest centred window with the target aspect ratio (Keras' smart_resize)."""
        height, width = array.shape[:2]
        target_height, target_width = self.image_size
        crop_height = max(1, min(height, int(width * target_height / target_width)))
        crop_width = max(1, min(width, int(height * target_width / target_height)))
        top, left = (height - crop_height) // 2, (width - crop_width) // 2
        return array[top : top + crop_height, left : left + crop_width]


def _check_labels(
    labels: Any, label_mode: Any, class_names: Any
) -> tuple[str | list[int] | None, str | None]:
    if not (labels is None or (isinstance(labels, str) and labels == "inferred")):
        if not isinstance(labels, (list, tuple)) or not all(
            isinstance(label, (int, np.integer)) and not isinstance(label, bool) for label in labels
        ):
            raise ValueError(
                "`labels` argument should be a list/tuple of integer labels, of the same size "
                "as the number of image files in the target directory. If you wish to infer "
                "the labels from the subdirectory names in the target directory, pass "
                '`labels="inferred"`. If you wish to get a dataset that only contains images '
                f"(no labels), pass `labels=None`. Received: labels={labels}"
            )
        if class_names:
            raise ValueError(
                'You can only pass `class_names` if `labels="inferred"`. '
                f"Received: labels={labels}, and class_names={class_names}"
            )
        labels = [int(label) for label in labels]
    if label_mode not in _LABEL_MODES:
        raise ValueError(
            '`label_mode` argument must be one of "int", "categorical", "binary", '
            f"or None. Received: label_mode={label_mode}"
        )
    if labels is None or label_mode is None:
        return None, None
    return labels, label_mode


def _check_image_size(image_size: Any) -> tuple[int, int]:
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    if (
        not isinstance(image_size, (list, tuple))
        or len(image_size) != 2
        or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in image_size)
    ):
        raise ValueError(
            "Invalid `image_size` value. Expected a tuple of 2 integers. "
            f"Received: image_size={image_size}"
        )
    return tuple(image_size)


def _check_interpolation(interpolation: Any) -> str:
    name = interpolation.lower() if isinstance(interpolation, str) else interpolation
    if name not in _PILLOW_FILTERS:
        raise ValueError(
            f"Argument `interpolation` should be one of {tuple(_PILLOW_FILTERS)} (graphc "
            f"resizes with Pillow, which has no lanczos5, gaussian or mitchellcubic filter). "
            f"Received: interpolation={interpolation}"
        )
    return name


def _check_validation_split(
    validation_split: Any, subset: Any, shuffle: bool, seed: int | None
) -> None:
    """Keras' `check_validation_split_arg`, with its messages."""
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(
            f"`validation_split` must be between 0 and 1, received: {validation_split}"
        )
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in _SUBSETS:
        raise ValueError(
            f'`subset` must be either "training", "validation" or "both", received: {subset}'
        )
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "If using `validation_split` and shuffling the data, you must provide a `seed` "
            "argument, to make sure that there is no overlap between the training and "
            "validation subset."
        )


def _index_directory(
    directory: str | os.PathLike,
    labels: str | list[int] | None,
    class_names: Sequence[str] | None,
    shuffle: bool,
    seed: int,
    follow_links: bool,
    verbose: bool,
) -> tuple[list[str], np.ndarray | None, list[str] | None]:
    """Keras' `index_directory`: `(file_paths, labels, class_names)` in Keras' exact order."""
    directory = os.fspath(directory)
    if labels == "inferred":
        subdirs = [
            name
            for name in sorted(os.listdir(directory))
            if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")
        ]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError(
                    "The `class_names` passed did not match the names of the subdirectories "
                    f"of the target directory. Expected: {subdirs} (or a subset of it), but "
                    f"received: class_names={class_names}"
                )
            subdirs = list(class_names)
    else:  # explicit labels or none: every file under `directory`
        subdirs = [""]
    filenames, label_ids = [], []
    for index, subdir in enumerate(subdirs):
        found = _valid_files(os.path.join(directory, subdir), follow_links)
        filenames += [os.path.join(subdir, name) for name in found]
        label_ids += [index] * len(found)
    if labels == "inferred":
        label_array, class_names = np.array(label_ids, dtype=np.int32), subdirs
    elif labels is None:
        label_array, class_names = None, None
    else:
        if len(labels) != len(filenames):
            raise ValueError(
                "Expected the lengths of `labels` to match the number of files in the target "
                f"directory. len(labels) is {len(labels)} while we found {len(filenames)} "
                f"files in directory {directory}."
            )
        label_array = np.array(labels, dtype=np.int32)
        class_names = [str(label) for label in sorted(set(labels))]
    if verbose:
        classes = "" if class_names is None else f" belonging to {len(class_names)} classes"
        print(f"Found {len(filenames)} files{classes}.")
    file_paths = [os.path.join(directory, name) for name in filenames]
    if shuffle:  # Keras shuffles paths and labels with two RandomState(seed): one permutation
        order = np.arange(len(file_paths))
        np.random.RandomState(seed).shuffle(order)
        file_paths = [file_paths[i] for i in order]
        label_array = None if label_array is None else label_array[order]
    return file_paths, label_array, class_names


def _valid_files(directory: str, follow_links: bool) -> list[str]:
    """Image files under `directory` (recursively), relative to it, sorted as Keras sorts them."""
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links)):
        found += [
            os.path.relpath(os.path.join(root, name), directory)
            for name in sorted(files)
            if name.lower().endswith(ALLOWLIST_FORMATS)
        ]
    return found


def _split(
    file_paths: list[str], labels: np.ndarray | None, validation_split: float | None, subset: Any
) -> tuple[list[str], np.ndarray | None]:
    """Keras' `get_training_or_validation_split`: validation is the last fraction of the files.

    When `validation_split * n` rounds down to 0 files, Keras' `[:-0]` slice leaves no training
    files; here training keeps them all and validation is empty.
    """
    if not validation_split:
        return file_paths, labels
    num_val = int(validation_split * len(file_paths))
    cut = len(file_paths) - num_val
    if subset == "training":
        print(f"Using {cut} files for training.")
        return file_paths[:cut], None if labels is None else labels[:cut]
    print(f"Using {num_val} files for validation.")
    return file_paths[cut:], None if labels is None else labels[cut:]


def _encode_labels(
    label_ids: np.ndarray | None, label_mode: str | None, num_classes: int
) -> np.ndarray | None:
    """int32 ids (b,), binary float32 (b, 1), or categorical one-hot float32 (b, classes)."""
    if label_ids is None:
        return None
    if label_mode == "binary":
        return label_ids.astype(np.float32)[:, None]
    if label_mode == "categorical":
        if len(label_ids) and not 0 <= label_ids.min() <= label_ids.max() < num_classes:
            raise ValueError(
                f'label_mode="categorical" needs labels in [0, {num_classes}), the number of '
                f"distinct labels. Received labels from {label_ids.min()} to {label_ids.max()}"
            )
        return np.eye(num_classes, dtype=np.float32)[label_ids]
    return label_ids
