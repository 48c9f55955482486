import pytest

import graphc
from graphc.frontend import Input, layers
from graphc.frontend.engine.functional_graph import FunctionalGraph


def test_layers_ordered_by_depth_then_traversal():
    a, b = Input((2,), name="a"), Input((2,), name="b")
    left = layers.Dense(2, name="left")(a)
    right = layers.Dense(2, name="right")(b)
    out = layers.Add(name="join")([left, right])
    graph = FunctionalGraph([a, b], [out], "test")
    assert [layer.name for layer in graph.layers] == ["a", "b", "left", "right", "join"]
    join = graph.nodes[-1]
    assert [n.layer.name for n in graph.parents(join)] == ["left", "right"]
    assert graph.depth[id(join)] == 0 and graph.raw_ops == []


def test_raw_ops_are_walked_and_replayed():
    x = Input((3,), name="x")
    h = layers.Dense(3, name="h")(x)
    y = layers.Dense(1, name="y")(graphc.tanh(h) * 2.0)
    graph = FunctionalGraph([x], [y], "test")
    assert [v.primitive.name for v in graph.raw_ops] == ["tanh", "mul"]
    assert [n.layer.name for n in graph.parents(graph.nodes[-1])] == ["h"]
    assert [(n.layer.name, i) for n, i in graph.sources(y.origin.layer.input)] == [("h", 0)]
    new = graphc.placeholder((None, 3))
    (out,) = graph.run([new], lambda layer, args, kwargs: layer(*args, **kwargs))
    assert out.shape == (None, 1)
    weights = [w.symbol for layer in graph.layers for w in layer.weights]
    replayed = graphc.Graph([new, *weights], out)
    assert {"tanh", "mul"} <= {replayed.primitive(n).name for n in replayed.order}


def test_placeholders_that_are_not_inputs_are_refused():
    x = Input((2,))
    stray = graphc.placeholder((None, 2), name="stray")
    with pytest.raises(graphc.GraphError, match="placeholder 'stray'.*neither a model input"):
        FunctionalGraph([x], [layers.Add()([x, stray])], "test")


def test_outputs_must_be_values():
    with pytest.raises(TypeError, match=r"outputs\[0\] must be a symbolic tensor"):
        FunctionalGraph([Input((2,))], [3.0], "test")
