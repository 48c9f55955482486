"""Nested structures of tensors: flatten them to a list and pack a list back into the shape.

Models take and return lists, tuples and dicts of tensors (Keras' `tree` module). Dicts flatten
in sorted key order, as Keras 3 (optree) does, so `model.inputs` of a dict-input model is
ordered by key. Everything that is not a list, tuple or dict is a leaf, including None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def is_nested(structure: Any) -> bool:
    """True for the containers this module walks into: list, tuple and dict."""
    return isinstance(structure, (list, tuple, dict))


def flatten(structure: Any) -> list[Any]:
    """The leaves of `structure`, depth first, dicts in sorted key order.

    >>> flatten({"b": 1, "a": [2, (3, None)]})
    [2, 3, None, 1]
    """
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack_sequence_as(structure: Any, flat: list[Any]) -> Any:
    """Rebuild `structure` with the leaves taken from `flat` in `flatten` order.

    >>> pack_sequence_as({"b": 0, "a": [0, 0]}, [1, 2, 3])
    {'b': 3, 'a': [1, 2]}
    """
    leaves = iter(flat)
    packed = _pack(structure, leaves)
    if next(leaves, _END) is not _END:
        raise ValueError(f"pack_sequence_as: too many leaves for the structure {structure!r}")
    return packed


_END = object()


def _pack(structure: Any, leaves: Any) -> Any:
    if isinstance(structure, dict):
        packed = {key: _pack(structure[key], leaves) for key in sorted(structure)}
        return {key: packed[key] for key in structure}
    if isinstance(structure, (list, tuple)):
        items = [_pack(item, leaves) for item in structure]
        return type(structure)(items) if isinstance(structure, list) else tuple(items)
    leaf = next(leaves, _END)
    if leaf is _END:
        raise ValueError(f"pack_sequence_as: too few leaves for the structure {structure!r}")
    return leaf


def map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    """Apply `fn` to every leaf, keeping the structure.

    >>> map_structure(lambda x: x * 10, [1, {"k": 2}])
    [10, {'k': 20}]
    """
    return pack_sequence_as(structure, [fn(leaf) for leaf in flatten(structure)])
