"""`run_layer_test`: one call checks a layer the way Keras' own layer tests do.

It builds the layer on symbolic inputs and on arrays, compares both output shapes (and
`compute_output_shape`) with the expected one, counts the weights, round-trips the config
through JSON into a new layer that must compute the same numbers with the same weights,
checks `get_weights`/`set_weights`, optionally compares the output with a numpy reference,
and finally runs a training-mode call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from graphc.frontend import Input
from graphc.frontend.engine import tree


def _is_shape(shape: Any) -> bool:
    return isinstance(shape, (tuple, list)) and all(
        d is None or isinstance(d, (int, np.integer)) for d in shape
    )


def _map_shapes(fn: Callable[[tuple], Any], structure: Any) -> Any:
    if _is_shape(structure):
        return fn(tuple(structure))
    if isinstance(structure, dict):
        return {k: _map_shapes(fn, v) for k, v in structure.items()}
    return [_map_shapes(fn, s) for s in structure]


def _flat_shapes(structure: Any) -> list[tuple]:
    if _is_shape(structure):
        return [tuple(structure)]
    items = structure.values() if isinstance(structure, dict) else structure
    return [shape for item in items for shape in _flat_shapes(item)]


def _random_data(shape: tuple, dtype: str, rng: np.random.Generator) -> np.ndarray:
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) > 0.5
    return rng.integers(0, 10, shape).astype(dtype)


def _flat_outputs(outputs: Any) -> list[np.ndarray]:
    return [np.asarray(o) for o in tree.flatten(outputs)]


def run_layer_test(
    layer_cls: type,
    init_kwargs: dict[str, Any],
    input_shape: Any,
    expected_output_shape: Any,
    input_dtype: str = "float32",
    expected_num_trainable_weights: int | None = None,
    expected_num_non_trainable_weights: int | None = None,
    reference: Callable[[Any, list[np.ndarray]], Any] | None = None,
    input_data: Any = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> Any:
    """Check a layer class end to end; return the built layer for further checks.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        input_shape: the input's full shape with a concrete batch size, e.g. `(2, 3)`; a list
            of shapes for layers taking a list of inputs (merging layers).
        expected_output_shape: the output's full shape (a list of shapes for several outputs).
        input_dtype: the dtype of the generated inputs (ints are drawn from 0..9).
        expected_num_trainable_weights, expected_num_non_trainable_weights: weight counts.
        reference: `reference(x, weights) -> array(s)`, the layer's forward pass in numpy,
            given the input data (an array, or a list for several inputs) and
            `layer.get_weights()`.
        input_data: the input arrays to use instead of random ones.
        rtol, atol: tolerances of the numeric comparisons.
    """
    rng = np.random.default_rng(0)
    multi = not _is_shape(input_shape)
    shapes = _flat_shapes(input_shape)
    if input_data is None:
        arrays = [_random_data(s, input_dtype, rng) for s in shapes]
        data: Any = arrays if multi else arrays[0]
    else:
        data = input_data
        arrays = [np.asarray(a) for a in (data if multi else [data])]
    dtypes = [a.dtype.name for a in arrays]

    # Symbolic call: shapes with the batch axis symbolic.
    layer = layer_cls(**init_kwargs)
    inputs = [Input(batch_shape=(None, *s[1:]), dtype=d) for s, d in zip(shapes, dtypes)]
    symbolic = layer(inputs if multi else inputs[0])
    expected_symbolic = _flat_shapes(_map_shapes(lambda s: (None, *s[1:]), expected_output_shape))
    got_symbolic = [tuple(v.shape) for v in tree.flatten(symbolic)]
    assert got_symbolic == expected_symbolic, (
        f"symbolic output shape {got_symbolic} != expected {expected_symbolic}"
    )
    assert _flat_shapes(layer.compute_output_shape(input_shape)) == _flat_shapes(
        expected_output_shape
    ), f"compute_output_shape gave {layer.compute_output_shape(input_shape)}"

    # Weight counts.
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights, (
            f"{len(layer.trainable_weights)} trainable weights, expected "
            f"{expected_num_trainable_weights}"
        )
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights, (
            f"{len(layer.non_trainable_weights)} non-trainable weights, expected "
            f"{expected_num_non_trainable_weights}"
        )

    # Eager call on arrays.
    eager = _flat_outputs(layer(data))
    assert [o.shape for o in eager] == _flat_shapes(expected_output_shape), (
        f"eager output shapes {[o.shape for o in eager]} != expected {expected_output_shape}"
    )
    weights = layer.get_weights()

    # Numeric reference.
    if reference is not None:
        want = [np.asarray(r) for r in tree.flatten(reference(data, weights))]
        for got, expected in zip(eager, want):
            np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)

    # Config round trip through JSON: a new layer with the same weights computes the same.
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config, "the config is not plain JSON data"
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config, "from_config(get_config()) changed the config"
    clone(data)
    clone.set_weights(weights)
    for got, expected in zip(_flat_outputs(clone(data)), eager):
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)

    # get_weights / set_weights keep shapes and numbers.
    layer.set_weights(weights)
    for before, after in zip(weights, layer.get_weights()):
        assert before.shape == after.shape
        np.testing.assert_array_equal(before, after)

    # A training-mode call runs and keeps the shapes.
    training = _flat_outputs(layer(data, training=True))
    assert [o.shape for o in training] == _flat_shapes(expected_output_shape)
    return layer
