"""`predict` through the LLVM backend: compiled once, reused until the weights change."""

import numpy as np
import pytest

import graphc
from graphc.frontend import Input, Model, layers

pytestmark = pytest.mark.backend


@pytest.fixture
def compile_calls(monkeypatch):
    from graphc.compiler import compile as compile_graph

    calls = []

    def counting_compile(graph, **options):
        calls.append(graph)
        return compile_graph(graph, cache=False, **options)

    monkeypatch.setattr(graphc, "compile", counting_compile, raising=False)
    return calls


def test_predict_compiles_once_until_weights_change(compile_calls):
    x = Input((4,), name="x")
    model = Model(x, layers.Dense(3, activation="softmax")(layers.Dense(8, activation="relu")(x)))
    data = np.random.default_rng(0).standard_normal((50, 4)).astype("float32")
    first = model.predict(data, batch_size=16, verbose=0)
    np.testing.assert_allclose(first, model.graph(data), rtol=1e-5, atol=1e-6)
    model.predict(data, verbose=0)
    assert len(compile_calls) == 1
    model.set_weights([w * 2 for w in model.get_weights()])
    second = model.predict(data, verbose=0)
    assert len(compile_calls) == 2
    np.testing.assert_allclose(second, model(data), rtol=1e-5, atol=1e-6)
    assert not np.allclose(first, second)


def test_compiled_multi_input_model(compile_calls):
    a, b = Input((3,), name="a"), Input((3,), name="b")
    model = Model([a, b], layers.Add()([layers.Dense(2)(a), layers.Dense(2)(b)]))
    xa, xb = np.ones((5, 3), "float32"), np.full((5, 3), 2.0, "float32")
    np.testing.assert_allclose(
        model.predict({"a": xa, "b": xb}, verbose=0), model([xa, xb]), rtol=1e-5, atol=1e-6
    )


def test_compiled_dict_outputs(compile_calls):
    x = Input((3,))
    model = Model(x, {"a": layers.Dense(2)(x), "b": layers.Dense(1)(x)})
    result = model.predict(np.ones((40, 3)), verbose=0)
    assert {k: v.shape for k, v in result.items()} == {"a": (40, 2), "b": (40, 1)}


def test_predict_folds_batch_normalization_into_the_weights():
    x = Input((6, 6, 2), name="x")
    h = layers.BatchNormalization()(layers.Conv2D(4, 3, use_bias=False)(x))
    y = layers.BatchNormalization()(layers.Dense(3)(layers.Flatten()(layers.Activation("relu")(h))))
    model = Model(x, y)
    rng = np.random.default_rng(1)
    for layer in model.layers:  # moving statistics away from 0 and 1, so folding matters
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            shape = gamma.shape
            layer.set_weights(
                [
                    rng.uniform(0.5, 2, shape),
                    rng.normal(size=shape),
                    rng.normal(size=shape),
                    rng.uniform(0.5, 2, shape),
                ]
            )
    data = rng.standard_normal((5, 6, 6, 2)).astype("float32")
    np.testing.assert_allclose(model.predict(data, verbose=0), model(data), rtol=1e-4, atol=1e-5)
    folded = all_ops(model._runner().graph)
    assert folded.count("conv") == 1 and folded.count("matmul") == 1
    assert "sub" not in folded and "mul" not in folded  # (x - mean) * scale is in the weights
    assert "sub" in all_ops(graphc.compile(model.graph, cache=False).graph)  # not folded


def all_ops(graph):
    """The primitives of a graph, those inside its fused nodes included."""
    ops = []
    for node in graph.order:
        ops.append(graph.primitive(node).name)
        if ops[-1] == "fused":
            ops += all_ops(graph.attrs(node)["body"])
    return ops
