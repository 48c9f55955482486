"""Eager calls: a layer or model called on numpy arrays, traced once per input signature.

`layer(x)` with arrays traces the layer's call on placeholders shaped like the arrays (the
first axis becomes the batch dimension, None), turns the trace into a `graphc.Graph` whose
extra inputs are the weights (and a seed when training), and evaluates it with the
interpreter. The graph is cached per signature (shapes without the batch size, dtypes, the
non-array arguments, `training`), so later calls at any batch size reuse it; weights are
inputs, so changing them needs no retrace. State updates recorded in a training trace
(BatchNormalization's moving averages) are applied after the call, as Keras does eagerly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphc.core import Value, placeholder
from graphc.errors import GraphcError
from graphc.frontend.engine import tree
from graphc.frontend.engine.caches import structure_epoch
from graphc.frontend.engine.trace import TraceContext
from graphc.frontend.utils.random_seed import global_generator
from graphc.frontend.variables import Variable, variables_in
from graphc.graph import Graph


class _Slot:
    """Marks where an array argument sits in a call's structure."""

    def __repr__(self) -> str:
        return "<array>"


_SLOT = _Slot()


def as_array_leaves(structure: Any) -> Any:
    """Turn numeric leaves (and plain nested lists of numbers) into numpy arrays.

    >>> as_array_leaves([[1.0, 2.0]]).shape, type(as_array_leaves([np.ones(2), np.ones(3)]))
    ((1, 2), <class 'list'>)
    """
    if isinstance(structure, (list, tuple)) and _is_plain_numbers(structure):
        return np.asarray(structure)
    if isinstance(structure, dict):
        return {key: as_array_leaves(value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(as_array_leaves(item) for item in structure)
    if isinstance(structure, (np.ndarray, np.generic, int, float, bool)):
        return np.asarray(structure)
    return structure


def _is_plain_numbers(items: Any) -> bool:
    if isinstance(items, (list, tuple)):
        return len(items) > 0 and all(_is_plain_numbers(item) for item in items)
    return isinstance(items, (int, float, bool, np.generic)) and not isinstance(items, np.ndarray)


class EagerFunction:
    """One traced call: the graph, which weights it reads, and how to pack its outputs."""

    def __init__(self, layer: Any, template: Any, types: Sequence[tuple], training: bool):
        inputs = [
            placeholder(shape, dtype, name=f"{layer.name}_arg{i}")
            for i, (shape, dtype) in enumerate(types)
        ]
        slots = iter(inputs)
        args, kwargs = tree.map_structure(
            lambda leaf: next(slots) if leaf is _SLOT else leaf, template
        )
        self.seed = placeholder((), "int64", name="seed") if training else None
        with TraceContext(training, self.seed) as ctx:
            outputs = layer(*args, training=training, **kwargs)
        self.structure = outputs
        flat = tree.flatten(outputs)
        for out in flat:
            if not isinstance(out, Value):
                raise TypeError(
                    f"{type(layer).__name__} '{layer.name}': call() must return graphc Values "
                    f"(or structures of them), got {type(out).__name__}"
                )
        self.updates: list[Variable] = [variable for variable, _ in ctx.updates]
        outputs_and_updates = flat + [value for _, value in ctx.updates]
        self.variables = variables_in(outputs_and_updates)
        graph_inputs = inputs + ([self.seed] if self.seed is not None else [])
        try:
            self.graph = Graph(
                graph_inputs + [v.symbol for v in self.variables], outputs_and_updates
            )
        except GraphcError as exc:
            raise type(exc)(f"{type(layer).__name__} '{layer.name}': {exc}") from exc
        self.num_outputs = len(flat)

    def __call__(self, arrays: Sequence[np.ndarray]) -> Any:
        feed = list(arrays)
        if self.seed is not None:
            feed.append(np.int64(global_generator().integers(0, 2**62)))
        feed += [variable.value for variable in self.variables]
        results = self.graph(*feed)
        for variable, new_value in zip(self.updates, results[self.num_outputs :]):
            variable.assign(new_value)
        return tree.pack_sequence_as(self.structure, list(results[: self.num_outputs]))


def eager_call(layer: Any, args: tuple, kwargs: dict) -> Any:
    """Call `layer` on arrays: trace (or reuse the trace for this signature) and evaluate.

    >>> from graphc.frontend import layers
    >>> dense = layers.Dense(2, kernel_initializer="ones")
    >>> dense(np.ones((3, 4), "float32")).tolist()
    [[4.0, 4.0], [4.0, 4.0], [4.0, 4.0]]
    """
    kwargs = dict(kwargs)
    training = bool(kwargs.pop("training", None) or False)
    args = (as_array_leaves(args[0]), *args[1:])
    template = tree.map_structure(
        lambda leaf: _SLOT if isinstance(leaf, np.ndarray) else leaf, (args, kwargs)
    )
    arrays = [
        _coerce(leaf, layer)
        for leaf in tree.flatten((args, kwargs))
        if isinstance(leaf, np.ndarray)
    ]
    batched = _shared_batch(arrays)
    types = tuple(((None, *a.shape[1:]) if batched else a.shape, a.dtype) for a in arrays)
    cache = layer._eager_cache
    if cache.get("epoch") != structure_epoch():
        cache.clear()
        cache["epoch"] = structure_epoch()
    key = (repr(template), types, training)
    function = cache.get(key)
    if function is None:
        function = cache[key] = EagerFunction(layer, template, types, training)
    return function(arrays)


def graph_dtype(dtype: np.dtype, compute_dtype: str) -> np.dtype:
    """The dtype an array of `dtype` takes as a graph input of a layer computing in
    `compute_dtype`: floats in the layer's float dtype (Keras converts eager inputs so), half
    floats as float32, small and unsigned ints widened."""
    target = np.dtype(compute_dtype)
    if dtype.kind == "f":
        if target.kind == "f":
            return target
        return np.dtype(np.float32) if dtype.itemsize < 4 else dtype
    if dtype.kind == "u" or (dtype.kind == "i" and dtype.itemsize < 4):
        return np.dtype(np.int32 if dtype.itemsize < 4 else np.int64)
    return dtype


def _coerce(array: np.ndarray, layer: Any) -> np.ndarray:
    return array.astype(graph_dtype(array.dtype, layer.compute_dtype), copy=False)


def _shared_batch(arrays: Sequence[np.ndarray]) -> bool:
    """Axis 0 is the batch when every array has one and they agree on its size."""
    return (
        bool(arrays)
        and all(a.ndim >= 1 for a in arrays)
        and (len({a.shape[0] for a in arrays}) == 1)
    )
