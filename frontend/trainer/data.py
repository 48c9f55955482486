"""Training data: numpy arrays (nested in lists and dicts), datasets and generators, as batches.

Whatever the source, a batch reaches the step as a *flat* list: the leaves of the
`(x, y, sample_weight)` structure in `tree.flatten` order (dicts by sorted key), None where a
part is absent. The structure itself is kept once (`structure`), so the step can pack its
placeholders back into the shape the user's data has (`train_step(data)` receives it so).

Sources, as Keras' data adapters:

- `ArrayData`: arrays in memory. Batches are slices (fancy-indexed when shuffled: a new
  permutation per epoch from the frontend's seeded generator). `validation_split` takes the
  last fraction of the samples, before any shuffling.
- `IterableData`: a dataset object (`__iter__` yielding `(x, y)` or `(x, y, sample_weight)`
  batches, `__len__` the batches per epoch, re-iterated each epoch), or a Python iterator
  or generator (read on across epochs, `steps_per_epoch` batches at a time).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from graphc import dtypes
from graphc.errors import InputError
from graphc.frontend.engine import tree
from graphc.frontend.engine.eager import as_array_leaves, graph_dtype
from graphc.frontend.utils.random_seed import global_generator

Batch = list[np.ndarray | None]


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """Split a batch into `(x, y, sample_weight)`: tuples (and lists) of length 1 to 3 are
    unpacked, anything else is x alone, as Keras does.

    >>> unpack_x_y_sample_weight(("x", "y"))
    ('x', 'y', None)
    >>> unpack_x_y_sample_weight({"a": 1})
    ({'a': 1}, None, None)
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(
        "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
        f"found a tuple of {len(data)} elements"
    )


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """The inverse of `unpack_x_y_sample_weight`, as Keras packs batches: `x` alone (`(x,)` if
    x is a list, tuple or dict), `(x, y)`, or `(x, y, sample_weight)`.

    >>> pack_x_y_sample_weight("x", "y"), pack_x_y_sample_weight("x")
    (('x', 'y'), 'x')
    """
    if sample_weight is not None:
        return (x, y, sample_weight)
    if y is None:
        return (x,) if tree.is_nested(x) else x
    return (x, y)


def structure_key(structure: Any) -> Any:
    """A hashable description of a structure's shape (containers and None leaves), so steps
    traced for one data layout are reused only for the same layout.

    >>> structure_key(({"b": 1, "a": 2}, [3], None))
    ('tuple', (('dict', (('a', 'leaf'), ('b', 'leaf'))), ('list', ('leaf',)), None))
    """
    if isinstance(structure, dict):
        return ("dict", tuple((k, structure_key(structure[k])) for k in sorted(structure)))
    if isinstance(structure, (list, tuple)):
        return (type(structure).__name__, tuple(structure_key(s) for s in structure))
    return None if structure is None else "leaf"


def as_batch_array(array: Any) -> np.ndarray:
    """A data leaf in the dtype its graph input takes (floats as float32, small and unsigned
    ints widened), converted once rather than at every step."""
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise InputError(f"expected numeric data, got an array of dtype {array.dtype}")
    target = (
        np.dtype(dtypes.bool_) if array.dtype.kind == "b" else graph_dtype(array.dtype, "float32")
    )
    return np.ascontiguousarray(array, dtype=target)


def _converted(x: Any, y: Any, sample_weight: Any) -> Any:
    """The batch structure `pack_x_y_sample_weight` gives, leaves as graph-ready arrays."""
    return tree.map_structure(
        lambda a: None if a is None else as_batch_array(a),
        pack_x_y_sample_weight(
            as_array_leaves(x), as_array_leaves(y), as_array_leaves(sample_weight)
        ),
    )


def class_weight_to_sample_weight(y: np.ndarray, class_weight: dict[int, float]) -> np.ndarray:
    """Per-sample weights from a {class index: weight} dict: labels are class indices of shape
    (n,) or (n, 1), or one-hot rows (n, classes). Classes without an entry weigh 1.

    >>> class_weight_to_sample_weight(np.array([0, 1, 1]), {1: 3.0}).tolist()
    [1.0, 3.0, 3.0]
    """
    y = np.asarray(y)
    labels = y.argmax(axis=-1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(len(y))
    labels = np.round(labels).astype(np.int64)
    table = {int(k): float(v) for k, v in class_weight.items()}
    return np.array([table.get(int(label), 1.0) for label in labels], np.float32)


def _samples(leaves: list[np.ndarray | None], names: list[str], who: str) -> int:
    sizes = {name: leaf.shape[0] for leaf, name in zip(leaves, names) if leaf is not None}
    for name, leaf in zip(names, leaves):
        if leaf is not None and leaf.ndim == 0:
            raise InputError(f"{who}: {name} must have a batch axis, got a scalar")
    if len(set(sizes.values())) > 1:
        listing = ", ".join(f"{name} has {size}" for name, size in sizes.items())
        raise InputError(
            f"{who}: all inputs, targets and sample weights must have the same number of "
            f"samples; {listing}"
        )
    if not sizes or not next(iter(sizes.values())):
        raise InputError(f"{who}: got 0 samples; expected at least one")
    return next(iter(sizes.values()))


def _leaf_names(structure: Any) -> list[str]:
    names = []
    for part, label in zip(unpack_x_y_sample_weight(structure), ("x", "y", "sample_weight")):
        count = len(tree.flatten(part)) if part is not None else 0
        names += [label] if count == 1 else [f"{label}[{i}]" for i in range(count)]
    return names


class ArrayData:
    """In-memory arrays as batches of `batch_size` (the last one smaller).

    Args:
        x, y, sample_weight: arrays, or lists/dicts of arrays (y and sample_weight may be None).
        batch_size: samples per batch (default 32).
        shuffle: draw a new permutation of the samples each epoch.
        steps: cap on the batches per epoch (None: all).
        who: the calling method, for error messages.

    >>> data = ArrayData(np.arange(5.0).reshape(5, 1), np.arange(5), batch_size=2)
    >>> [len(batch[0]) for batch in data.epoch()], data.num_batches
    ([2, 2, 1], 3)
    """

    def __init__(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        batch_size: int | None = None,
        shuffle: bool = False,
        steps: int | None = None,
        who: str = "fit",
    ):
        self.batch_size = _check_batch_size(batch_size, who)
        structure = _converted(x, y, sample_weight)
        self.structure = structure
        self.leaves: Batch = tree.flatten(structure)
        self.num_samples = _samples(self.leaves, _leaf_names(structure), who)
        self.shuffle = shuffle
        full = math.ceil(self.num_samples / self.batch_size)
        self.num_batches = full if steps is None else min(int(steps), full)

    def epoch(self) -> Iterator[Batch]:
        """The batches of one epoch, reshuffled when `shuffle` is set."""
        order = global_generator().permutation(self.num_samples) if self.shuffle else None
        for index in range(self.num_batches):
            lo, hi = index * self.batch_size, (index + 1) * self.batch_size
            if order is None:
                yield [None if a is None else a[lo:hi] for a in self.leaves]
            else:
                take = order[lo:hi]
                yield [None if a is None else a.take(take, axis=0) for a in self.leaves]

    def first_batch(self) -> Batch:
        return [None if a is None else a[: self.batch_size] for a in self.leaves]

    def map_leaves(self, fn: Callable[[Batch], Batch]) -> None:
        """Replace the leaves (whole arrays) by `fn(leaves)`, e.g. to add class weights."""
        self.leaves = fn(self.leaves)


def split_validation(
    x: Any, y: Any, sample_weight: Any, validation_split: float
) -> tuple[tuple[Any, Any, Any], tuple[Any, Any, Any]]:
    """(training, validation) parts of array data: the validation part is the last
    `validation_split` fraction of the samples, as Keras takes it (before shuffling).

    >>> (xt, _, _), (xv, _, _) = split_validation(np.arange(10), None, None, 0.2)
    >>> xt.tolist(), xv.tolist()
    ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
    """
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split!r}")
    leaves = tree.flatten((x, y, sample_weight))
    if any(leaf is not None and not _is_array_like(leaf) for leaf in leaves):
        raise ValueError(
            "fit: `validation_split` is only supported for NumPy arrays (and lists and dicts of "
            "them); pass `validation_data` with datasets and generators"
        )
    arrays = tree.map_structure(
        lambda a: None if a is None else np.asarray(a), (x, y, sample_weight)
    )
    flat = [a for a in tree.flatten(arrays) if a is not None]
    samples = _samples(flat, [f"array {i}" for i in range(len(flat))], "fit")
    split_at = int(math.floor(samples * (1.0 - validation_split)))
    if split_at == 0 or split_at == samples:
        raise ValueError(
            f"fit: validation_split={validation_split} leaves no training or no validation "
            f"samples out of {samples}"
        )
    train = tree.map_structure(lambda a: None if a is None else a[:split_at], arrays)
    valid = tree.map_structure(lambda a: None if a is None else a[split_at:], arrays)
    return train, valid


def _is_array_like(value: Any) -> bool:
    return isinstance(value, (np.ndarray, np.generic, list, tuple, int, float))


class IterableData:
    """Batches from a dataset object or a Python iterator/generator.

    Each element is `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` of arrays. A dataset with
    `__len__` is iterated afresh every epoch (`len(dataset)` batches, or `steps`); a plain
    iterator continues across epochs, `steps` batches per epoch (until it is exhausted when
    `steps` is None).

    >>> batches = IterableData(iter([(np.ones((2, 1)), np.ones(2))] * 3), steps=2)
    >>> len(list(batches.epoch())), len(list(batches.epoch()))
    (2, 1)
    """

    def __init__(self, source: Any, steps: int | None = None, who: str = "fit"):
        self.who = who
        self.reiterable = hasattr(source, "__len__") and not isinstance(source, Iterator)
        self.source = source
        self.num_batches: int | None = steps
        if self.reiterable and steps is None:
            self.num_batches = len(source)
        self._iterator: Iterator[Any] | None = None if self.reiterable else iter(source)
        self._peeked: list[Any] = []
        self.structure: Any = None
        self.exhausted = False

    def _next_element(self, iterator: Iterator[Any]) -> Any:
        return self._peeked.pop(0) if self._peeked else next(iterator)

    def to_batch(self, element: Any) -> Batch:
        """One element as a flat batch; its structure becomes `structure` (first element)."""
        structure = _converted(*unpack_x_y_sample_weight(element))
        leaves = tree.flatten(structure)
        _samples(leaves, _leaf_names(structure), self.who)
        if self.structure is None:
            self.structure = structure
        return leaves

    def first_batch(self) -> Batch:
        """The first batch, without consuming it."""
        if self.reiterable:
            return self.to_batch(next(iter(self.source)))
        if not self._peeked:
            self._peeked.append(next(self._iterator))
        return self.to_batch(self._peeked[0])

    def epoch(self) -> Iterator[Batch]:
        iterator = iter(self.source) if self.reiterable else self._iterator
        count = 0
        while self.num_batches is None or count < self.num_batches:
            try:
                element = self._next_element(iterator)
            except StopIteration:
                self.exhausted = not self.reiterable
                return
            count += 1
            yield self.to_batch(element)


def is_iterable_source(x: Any) -> bool:
    """True for datasets, iterators and generators (not arrays, lists, tuples or dicts)."""
    if isinstance(x, (np.ndarray, np.generic, list, tuple, dict, str, bytes)) or x is None:
        return False
    return isinstance(x, Iterable) or hasattr(x, "__iter__")


def _check_batch_size(batch_size: Any, who: str) -> int:
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise ValueError(f"{who}: batch_size must be a positive int, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"{who}: batch_size must be a positive int, got {batch_size!r}")
    return int(batch_size)


def make_data(
    x: Any,
    y: Any,
    sample_weight: Any,
    batch_size: int | None,
    steps: int | None,
    shuffle: bool,
    who: str,
) -> ArrayData | IterableData:
    """The right adapter for `x` (and `y`, `sample_weight` for arrays)."""
    if is_iterable_source(x):
        if y is not None or sample_weight is not None:
            raise ValueError(
                f"{who}: when `x` is a dataset or generator, `y` and `sample_weight` must not "
                "be given (the batches carry them)"
            )
        if batch_size is not None:
            raise ValueError(
                f"{who}: do not specify `batch_size` when `x` is a dataset or generator "
                "(it generates batches)"
            )
        return IterableData(x, steps, who)
    if x is None:
        raise ValueError(f"{who}: no input data (`x` is None)")
    return ArrayData(x, y, sample_weight, batch_size, shuffle, steps, who)
