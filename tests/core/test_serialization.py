"""Saving and loading graphs (graphc.serialization): round trips and refused files."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import networkx as nx
import numpy as np
import pytest

import graphc
import graphc.passes  # registers the `fused` primitive, so the coverage check is order-independent
from graphc import serialization
from graphc.archive import read_archive, write_archive
from graphc.core import PRIMITIVES, ConstantArray
from graphc.errors import SerializationError
from graphc.passes.verify import verify_graph
from graphc.primitives.conv import conv_kernel_grad_p
from graphc.primitives.window import select_and_scatter_add_p
from graphc.serialization import load_graph, save_graph
from graphc.types import TensorType

RNG = np.random.default_rng(7)


def f32(*shape: int, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    return RNG.uniform(low, high, size=shape).astype("float32")


# --- one graph per family; together they use every primitive -----------------------------------


def unary_float_graph():
    x = graphc.placeholder((None, 3), name="x")
    fns = [graphc.exp, graphc.log, graphc.log1p, graphc.expm1, graphc.sqrt, graphc.sin,
           graphc.cos, graphc.tan, graphc.tanh, graphc.sigmoid, graphc.erf, graphc.floor,
           graphc.ceil, graphc.round]  # fmt: skip
    return [x], [fn(x) for fn in fns], [f32(4, 3, low=0.1)]


def numeric_graph():
    a = graphc.placeholder((None, 3), "int32", name="a")
    b = graphc.placeholder((3,), "int32", name="b")
    outs = [-a, abs(a), graphc.sign(a), a + b, a - b, a * b, a**b, graphc.maximum(a, b),
            graphc.minimum(a, b), a // b, a % b, graphc.cast(a, "float64") / 3.0]  # fmt: skip
    return [a, b], outs, [np.arange(-6, 6, dtype="int32").reshape(4, 3), np.array([1, 2, 3])]


def logic_graph():
    x = graphc.placeholder((None, 2), "float64", name="x")
    y = graphc.placeholder((None, 2), "float64", name="y")
    p, q = x > 0, y <= x
    outs = [~p, p & q, p | q, x == y, x != y, x < y, x >= y, graphc.where(p, x, y)]
    return [x, y], outs, [RNG.normal(size=(5, 2)), RNG.normal(size=(5, 2))]


def shape_graph():
    x = graphc.placeholder((None, 4, 3), name="x")
    idx = graphc.placeholder((2,), "int64", name="idx")
    outs = [
        x.reshape(-1, 12),
        x.transpose(0, 2, 1),
        graphc.broadcast_to(x[:, :1, :], (None, 4, 3)),
        x[:, 1:3, ::-1],
        graphc.concatenate([x, x * 2.0], axis=1),
        graphc.pad(x, ((0, 0), (1, 0), (0, 2)), constant_values=-np.inf),
        graphc.take(x, idx, axis=1),
        graphc.scatter_add(x[:, :2, :], idx, axis=1, size=6),
        graphc.take_along_axis(x, graphc.cast(x[:, :2, :] * 4.0, "int32"), axis=1),
        graphc.scatter_add_along_axis(x[:, :2, :], graphc.cast(x[:, :2, :] * 4.0, "int32"), 1, 5),
        graphc.cast(graphc.dim_size(x, 0), "float32") * x,
    ]
    return [x, idx], outs, [f32(3, 4, 3), np.array([3, -1])]


def reduce_graph():
    x = graphc.placeholder((None, 5), name="x")
    outs = [x.sum(axis=1), x.max(axis=0), x.min(), graphc.argmax(x, axis=1),
            graphc.argmin(x, axis=1), x.mean(axis=0)]  # fmt: skip
    return [x], outs, [f32(4, 5)]


def dense_graph():
    x = graphc.placeholder((None, 4), name="x")
    h = graphc.relu(x @ f32(4, 8) + f32(8))
    return [x], graphc.softmax(h @ f32(8, 3), axis=-1), [f32(3, 4)]


def conv_graph():
    x = graphc.placeholder((None, 6, 6, 2), name="images")
    y = graphc.conv2d(x, f32(3, 3, 2, 4), padding="same")
    same = dict(strides=(1, 1), padding=((1, 1), (1, 1)), lhs_dilation=(1, 1), rhs_dilation=(1, 1))
    kernel_grad = conv_kernel_grad_p.bind(x, y, kernel_size=(3, 3), feature_group_count=1, **same)
    pooled = graphc.max_pool2d(y, 2)
    pool_grad = select_and_scatter_add_p.bind(
        y, pooled, pooled, window=(1, 2, 2, 1), strides=(1, 2, 2, 1)
    )
    return [x], [pooled, kernel_grad, pool_grad], [f32(2, 6, 6, 2)]


def random_graph():
    seed = graphc.placeholder((), "int64", name="seed")
    return [seed], graphc.random_uniform(seed, (2, 3)), [np.int64(42)]


def constant_graph():
    x = graphc.placeholder((), "float64", name="x")
    outs = [x * 2.0, x + graphc.constant(f32(30).astype("float64")),
            graphc.constant(np.array([True, False])), graphc.constant(np.int64(-3)),
            graphc.constant(np.array([np.nan, np.inf, -0.0]))]  # fmt: skip
    return [x], outs, [1.5]


def fused_graph():
    inputs, output, args = dense_graph()
    return graphc.passes.fuse(graphc.Graph(inputs, output, name="fused mlp")), args


GRAPHS: dict[str, Callable] = {
    "unary_float": unary_float_graph,
    "numeric": numeric_graph,
    "logic": logic_graph,
    "shape": shape_graph,
    "reduce": reduce_graph,
    "dense": dense_graph,
    "conv": conv_graph,
    "random": random_graph,
    "constant": constant_graph,
}


def build(name: str) -> tuple[graphc.Graph, list]:
    if name == "fused":
        return fused_graph()
    inputs, outputs, args = GRAPHS[name]()
    return graphc.Graph(inputs, outputs, name=name), args


ALL = [*GRAPHS, "fused"]


def primitives_in(graph: graphc.Graph) -> set[str]:
    names = set()
    for node in graph.nx.nodes:
        names.add(graph.primitive(node).name)
        for value in graph.attrs(node).values():
            if isinstance(value, graphc.Graph):
                names |= primitives_in(value)
    return names


def assert_same_results(a, b) -> None:
    a, b = (a, b) if isinstance(a, list) else ([a], [b])
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", ALL)
def test_round_trip(name, tmp_path):
    graph, args = build(name)
    path = tmp_path / f"{name}.graphc"
    graph.save(str(path))
    loaded = graphc.Graph.load(str(path))
    assert loaded.dump() == graph.dump()
    assert (loaded.name, loaded.inputs, loaded.outputs) == (graph.name, graph.inputs, graph.outputs)
    assert loaded.single_output == graph.single_output
    assert loaded.input_names == graph.input_names
    assert_same_results(loaded(*args), graph(*args))
    # Saving the loaded graph again gives the same bytes: nothing was lost or reordered.
    save_graph(loaded, tmp_path / "again.graphc")
    assert (tmp_path / "again.graphc").read_bytes() == path.read_bytes()


def test_every_primitive_is_covered_by_a_round_trip():
    covered = set().union(*(primitives_in(build(name)[0]) for name in ALL))
    missing = sorted(set(PRIMITIVES) - covered)
    assert not missing, f"add these primitives to a graph in {__file__}: {missing}"


def test_fused_bodies_round_trip_as_nested_graphs(tmp_path):
    graph, _ = build("fused")
    save_graph(graph, tmp_path / "f.graphc")
    loaded = load_graph(tmp_path / "f.graphc")
    bodies = [a["body"] for _, a in loaded.nx.nodes(data="attrs") if "body" in a]
    originals = [a["body"] for _, a in graph.nx.nodes(data="attrs") if "body" in a]
    assert bodies and [b.dump() for b in bodies] == [b.dump() for b in originals]


def test_file_layout(tmp_path):
    graph, _ = build("constant")
    save_graph(graph, tmp_path / "c.graphc")
    document, arrays = read_archive(tmp_path / "c.graphc")
    assert document["format"] == "graphc.graph" and document["version"] == 1
    assert document["graphc_version"] == graphc.__version__
    assert document["name"] == "constant" and document["single_output"] is False
    node = document["nodes"][0]
    assert node == {
        "id": 0,
        "op": "input",
        "attrs": {"type": {"$type": {"shape": [], "dtype": "float64"}}},
        "type": {"shape": [], "dtype": "float64"},
        "name": "x",
        "inputs": [],
    }
    references = [n["attrs"]["value"]["$array"] for n in document["nodes"] if n["op"] == "constant"]
    assert sorted(references) == sorted(arrays)


# --- attribute values --------------------------------------------------------------------------

ATTRS = {
    "int": -7,
    "big": 2**62,
    "float": 0.1,
    "neg_zero": -0.0,
    "inf": math.inf,
    "ninf": -math.inf,
    "nan": math.nan,
    "true": True,
    "none": None,
    "text": "max",
    "tuple": (1, (2, None), (), ("a", 1.5)),
    "dtype": np.dtype("int64"),
    "type": TensorType((None, 3), "bool"),
    "array": ConstantArray(np.arange(4, dtype="int32")),
    "np_float": np.float32(0.1),
    "np_int": np.int64(5),
    "np_bool": np.bool_(True),
    "inf_tuple": (-math.inf, 0, math.inf),
}


def round_trip_value(value):
    arrays: dict[str, np.ndarray] = {}
    encoded = serialization._encode_value(value, "k", arrays, "test")
    loader = serialization._Loader("test.graphc", arrays, 100)
    return loader.value(encoded, "test", 0), encoded


@pytest.mark.parametrize("key", list(ATTRS))
def test_attribute_values_round_trip_exactly(key):
    value = ATTRS[key]
    back, encoded = round_trip_value(value)
    assert type(back) is type(value)
    if isinstance(value, float) and math.isnan(value):
        assert math.isnan(back)
    else:
        assert back == value and hash(back) == hash(value)
    if isinstance(value, float):
        assert math.copysign(1, back) == math.copysign(1, value)
    if isinstance(value, tuple):
        assert repr(back) == repr(value)  # nested tuples stay tuples, floats stay floats
    json.dumps(encoded, allow_nan=False)  # the encoding is standard JSON


def test_unsupported_attribute_values_are_refused_on_save(tmp_path):
    x = graphc.placeholder((2,), name="x")
    graph = graphc.Graph([x], graphc.exp(x))
    node = graph.outputs[0]
    graph.nx.nodes[node]["attrs"] = {"weird": {1, 2}}
    with pytest.raises(SerializationError, match=r"node 1 \(exp\) attr 'weird'.*set"):
        save_graph(graph, tmp_path / "x.graphc")
    assert list(tmp_path.iterdir()) == []


# --- refused files -----------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    """A valid file of the textbook function plus a constant, and a way to tamper with it."""
    x1, x2 = graphc.scalars("x1 x2")
    graph = graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2) * 2.0)
    path = tmp_path / "f.graphc"
    save_graph(graph, path)

    def tamper(change: Callable[[dict, dict], None]) -> str:
        document, arrays = read_archive(path)
        change(document, arrays)
        write_archive(path, document, arrays)
        return str(path)

    return path, tamper


def node_by_op(document: dict, op: str) -> dict:
    return next(n for n in document["nodes"] if n["op"] == op)


def refused(path, match: str, **kwargs) -> str:
    with pytest.raises(SerializationError, match=match) as info:
        load_graph(path, **kwargs)
    assert str(path) in str(info.value)
    return str(info.value)


def test_untampered_file_loads(saved):
    path, _ = saved
    assert float(load_graph(path)(2.0, 5.0)) == pytest.approx(math.log(2) + 10 - 2 * math.sin(5))


def test_wrong_format(saved):
    path, tamper = saved
    tamper(lambda d, a: d.update(format="keras.model"))
    refused(path, "is not a graphc graph file.*'keras.model'")


def test_newer_version_names_both_versions(saved):
    path, tamper = saved
    tamper(lambda d, a: d.update(version=2, graphc_version="9.0"))
    message = refused(path, "version 2")
    assert "reads version 1" in message and "9.0" in message and "upgrade" in message


@pytest.mark.parametrize("version", ["1", 0, None, True, 1.0])
def test_invalid_version(saved, version):
    path, tamper = saved
    tamper(lambda d, a: d.update(version=version))
    refused(path, "invalid format version")


def test_unknown_primitive(saved):
    path, tamper = saved
    tamper(lambda d, a: node_by_op(d, "sin").update(op="os.system"))
    refused(path, "unknown primitive 'os.system'")


@pytest.mark.parametrize(
    "stored",
    [{"shape": [], "dtype": "float32"}, {"shape": [3], "dtype": "float64"}],
)
def test_tampered_type_is_refused(saved, stored):
    path, tamper = saved
    tamper(lambda d, a: node_by_op(d, "mul").update(type=stored))
    refused(path, r"\(mul\): the stored type .* differs from f64\[\]")


def test_tampered_constant_array_is_refused(saved):
    path, tamper = saved

    def change(document, arrays):
        (name,) = arrays
        arrays[name] = np.ones((1000,), "float64")

    tamper(change)
    refused(path, r"\(constant\): the stored type f64\[\] differs from f64\[1000\]")


def test_constant_of_unsupported_dtype_is_refused(saved):
    path, tamper = saved

    def change(document, arrays):
        (name,) = arrays
        arrays[name] = np.array(2, "uint8")

    tamper(change)
    refused(path, r"\(constant\): its operands or attributes are invalid.*uint8")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: node_by_op(d, "log").update(inputs=[99]), "ids of earlier nodes"),
        (lambda d: node_by_op(d, "log").update(inputs=[d["nodes"][-1]["id"]]), "earlier nodes"),
        (lambda d: node_by_op(d, "log").update(inputs=["0"]), "earlier nodes"),
        (lambda d: node_by_op(d, "log").update(inputs=[]), "operands or attributes are invalid"),
        (lambda d: node_by_op(d, "log").update(id=0), "the id is used twice"),
        (lambda d: node_by_op(d, "log").update(id="2"), "expected an int"),
        (lambda d: d.update(inputs=[0]), "not exactly the input nodes"),
        (lambda d: d.update(inputs=[0, 1, 2]), "not exactly the input nodes"),
        (lambda d: d.update(inputs=[0, 0]), "listed twice"),
        (lambda d: d.update(outputs=[1234]), "is not a node id"),
        (lambda d: d.update(outputs=[]), "at least one output"),
        (lambda d: d.update(outputs=[2, 3]), "single_output' is true but there are 2"),
        (lambda d: d.update(single_output="yes"), "expected true or false"),
        (lambda d: d.update(name=5), "'name': expected a string"),
        (lambda d: d.update(nodes={}), "'nodes': expected a list"),
        (lambda d: d["nodes"].append([1, 2]), "each node must be a JSON object"),
        (lambda d: node_by_op(d, "sin").update(attrs=[]), "'attrs' must be a JSON object"),
        (lambda d: node_by_op(d, "sin").update(name=3), "'name' must be a string"),
        (lambda d: node_by_op(d, "sin").update(type="f64[]"), "expected {'shape'"),
        (
            lambda d: node_by_op(d, "sin").update(type={"shape": [-1], "dtype": "float64"}),
            "non-negative",
        ),
        (
            lambda d: node_by_op(d, "sin").update(type={"shape": ["3"], "dtype": "float64"}),
            "list of ints and null",
        ),
        (
            lambda d: node_by_op(d, "sin").update(type={"shape": [], "dtype": "object"}),
            "unsupported dtype 'object'",
        ),
        (lambda d: node_by_op(d, "sin").update(attrs={"x": {"$evil": 1}}), "unknown value"),
        (lambda d: node_by_op(d, "sin").update(attrs={"x": {"$float": "big"}}), "unknown float"),
        (lambda d: node_by_op(d, "sin").update(attrs={"x": {"$float": [1]}}), "unknown float"),
        (lambda d: node_by_op(d, "sin").update(attrs={"x": {"$dtype": {}}}), "unsupported dtype"),
        (lambda d: node_by_op(d, "sin").update(attrs={"x": {"$array": [1]}}), "refers to the"),
        (lambda d: node_by_op(d, "sin").update(attrs={"x": {"$graph": []}}), "a JSON object"),
        (lambda d: node_by_op(d, "sin").update(op=["sin"]), "unknown primitive"),
        (lambda d: node_by_op(d, "sin").update(attrs={"x": {"$scalar": [1]}}), "dtype, value"),
        (
            lambda d: node_by_op(d, "sin").update(attrs={"x": {"$scalar": ["int32", 2**40]}}),
            "not a valid int32",
        ),
        (lambda d: node_by_op(d, "sin").update(attrs={"bogus": 1}), "invalid.*bogus"),
        (
            lambda d: node_by_op(d, "input").update(attrs={"type": {"$dtype": "float64"}}),
            r"\(input\): the stored type",
        ),
        (
            lambda d: node_by_op(d, "constant").update(attrs={"value": {"$array": "nope"}}),
            "refers to the array 'nope', which the file does not hold",
        ),  # fmt: skip
    ],
)
def test_inconsistent_documents_are_refused(saved, change, match):
    path, tamper = saved
    tamper(lambda d, a: change(d))
    refused(path, match)


def test_unreferenced_arrays_are_refused(saved):
    path, tamper = saved
    tamper(lambda d, a: a.update(extra=np.ones(2)))
    refused(path, r"holds arrays no node refers to: \['extra'\]")


def test_a_node_listed_after_its_user_is_refused(saved):
    path, tamper = saved
    tamper(lambda d, a: d["nodes"].reverse())
    refused(path, "earlier nodes")


def test_node_count_limit(saved):
    path, _ = saved
    count = len(load_graph(path))
    assert len(load_graph(path, max_nodes=count)) == count == 9
    refused(path, "more than 8 nodes", max_nodes=8)


def test_deeply_nested_values_are_refused(saved):
    path, tamper = saved
    deep: list = []
    for _ in range(serialization.MAX_DEPTH + 5):
        deep = [deep]
    tamper(lambda d, a: node_by_op(d, "sin").update(attrs={"x": deep}))
    refused(path, "nest deeper")


def test_archive_limits_are_passed_through(saved):
    path, _ = saved
    refused(path, "more than the limit of 4 bytes", max_array_bytes=4)


def test_archive_level_damage_is_a_serialization_error(tmp_path):
    (tmp_path / "g.graphc").write_bytes(b"PK\x03\x04 but not really")
    refused(tmp_path / "g.graphc", "not a zip archive")


def test_from_nx_result_is_a_real_graph(saved):
    path, _ = saved
    loaded = load_graph(path)
    assert isinstance(loaded.nx, nx.MultiDiGraph)
    assert loaded.order == sorted(loaded.order)


WEIRD = [None, True, -1, 10**30, 1e308, "x", [], [0], [[0]], {}, {"$float": "inf"}, {"a": 1}]


def test_any_damaged_field_gives_a_serialization_error_or_a_sound_graph(saved):
    """Every field of every node replaced by odd JSON: refused, or still a well-formed graph.

    A change can be accepted only when the result is a valid graph in its own right (an
    unnamed node, a sin of the other input): then it verifies and runs like any graph.
    """
    path, _ = saved
    original, arrays = read_archive(path)
    outcomes = []
    for index, node in enumerate(original["nodes"]):
        for field in node:
            for weird in WEIRD:
                document = json.loads(json.dumps(original))
                document["nodes"][index][field] = weird
                write_archive(path, document, arrays)
                try:
                    graph = load_graph(path)
                except SerializationError:
                    outcomes.append("refused")
                    continue
                verify_graph(graph)
                assert np.shape(graph(2.0, 5.0)) == ()
                outcomes.append("accepted")
    assert outcomes.count("refused") > 10 * outcomes.count("accepted") > 0
