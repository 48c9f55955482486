"""Hostile files: refused with a clear error, never running code, never writing anything.

The corpus (`corpus.py`) is built at test time. Each file is loaded by the reader it targets
(container-level damage by every reader), must raise a `SerializationError` that names the file
and the problem, must not trigger its pickled canary, and must leave the directory as it was.
Sweeps over every truncation point and every single-byte corruption of a valid file, and
random mutations of the documents of random graphs, check the same on files nobody wrote by
hand; the command line turns every refusal into a one-line error and exit code 2.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from corpus import (
    Hostile,
    _Canary,
    archive_corpus,
    canary_path,
    corpus,
    npy_bytes,
    sample_graph,
    write_sample_graph,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphc
from graphc.archive import read_archive, write_archive
from graphc.cli import main
from graphc.errors import SerializationError
from graphc.fuzzing import random_arguments, random_graph
from graphc.passes import verify_graph
from graphc.serialization import load_graph

READERS = {"archive": read_archive, "graph": load_graph}


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*")}


def built(hostile: Hostile, directory: Path) -> Path:
    path = directory / f"{hostile.name}.graphc"
    hostile.build(path)
    return path


def assert_refused(reader, path: Path, match: str, **limits: int) -> str:
    before = snapshot(path.parent)
    with pytest.raises(SerializationError, match=match) as info:
        reader(path, **limits)
    assert str(path) in str(info.value)
    assert not canary_path(path).exists(), "something unpickled or executed the payload"
    assert snapshot(path.parent) == before, "reading wrote to the directory"
    return str(info.value)


@pytest.mark.parametrize("hostile", corpus(), ids=lambda h: h.name)
def test_the_corpus_is_refused_by_its_reader(hostile: Hostile, tmp_path: Path) -> None:
    assert_refused(READERS[hostile.kind], built(hostile, tmp_path), hostile.match, **hostile.limits)


@pytest.mark.parametrize(
    "hostile", [h for h in archive_corpus() if not h.limits], ids=lambda h: h.name
)
def test_container_damage_is_refused_by_the_graph_reader_too(
    hostile: Hostile, tmp_path: Path
) -> None:
    assert_refused(load_graph, built(hostile, tmp_path), hostile.match)


def test_the_pickled_payload_is_live(tmp_path: Path) -> None:
    """The canary really fires when unpickled, so its absence above means nothing unpickled."""
    target = tmp_path / "payload.npy"
    target.write_bytes(npy_bytes(np.array([_Canary(canary_path(target))], object), True))
    np.load(target, allow_pickle=True)
    assert canary_path(target).exists()


def test_every_truncation_of_a_valid_file_is_refused(tmp_path: Path) -> None:
    whole = tmp_path / "whole.graphc"
    write_sample_graph(whole)
    data = whole.read_bytes()
    cut = tmp_path / "cut.graphc"
    for length in range(len(data)):
        cut.write_bytes(data[:length])
        with pytest.raises(SerializationError):
            load_graph(cut)
    assert load_graph(whole).dump() == sample_graph().dump()


def test_every_single_byte_corruption_is_refused_or_harmless(tmp_path: Path) -> None:
    """Flipping any one byte gives a refusal or, where the byte carries no meaning (a
    timestamp, a version-made-by field), the very same graph: never anything else."""
    whole = tmp_path / "whole.graphc"
    write_sample_graph(whole)
    data = whole.read_bytes()
    expected = sample_graph().dump()
    damaged = tmp_path / "damaged.graphc"
    outcomes = {"refused": 0, "same graph": 0}
    for index in range(len(data)):
        flipped = bytearray(data)
        flipped[index] ^= 0xFF
        damaged.write_bytes(bytes(flipped))
        try:
            graph = load_graph(damaged)
        except SerializationError:
            outcomes["refused"] += 1
            continue
        assert graph.dump() == expected, f"flipping byte {index} changed the graph silently"
        outcomes["same graph"] += 1
    assert outcomes["refused"] > 0.8 * len(data)


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.lists(st.integers(-3, 3), max_size=3),
    st.sampled_from([{}, {"$float": "nan"}, {"$dtype": "float16"}, {"$array": "n1.value"}]),
)


def _paths(value, prefix=()):
    """Every (path, value) of a JSON document, containers included."""
    yield prefix, value
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in items:
        yield from _paths(child, (*prefix, key))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_mutated_documents_are_refused_or_sound(seed: int, data: st.DataObject, tmp_path_factory):
    """A random graph's document with one field replaced or removed: a refusal, or a graph
    that verifies and runs; never another exception."""
    graph = random_graph(np.random.default_rng(seed))
    path = tmp_path_factory.mktemp("mutation") / "g.graphc"
    graph.save(str(path))
    document, arrays = read_archive(path)
    paths = [p for p, _ in _paths(document) if p]
    where = data.draw(st.sampled_from(paths))
    parent = document
    for key in where[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[where[-1]]
    else:
        parent[where[-1]] = data.draw(JSON_LEAVES)
    write_archive(path, json.loads(json.dumps(document)), arrays)
    try:
        loaded = load_graph(path)
    except SerializationError as exc:
        assert str(path) in str(exc)
        return
    verify_graph(loaded)
    loaded(*random_arguments(loaded, np.random.default_rng(seed), 2))


def test_arrays_of_the_other_byte_order_load_as_native(tmp_path: Path) -> None:
    """A file written on a big-endian machine holds big-endian arrays: they load converted
    (compiled code reads weights as native numbers, so they must never stay swapped)."""
    path = tmp_path / "g.graphc"
    write_sample_graph(path)
    document, arrays = read_archive(path)
    write_archive(
        path, document, {k: v.astype(v.dtype.newbyteorder(">")) for k, v in arrays.items()}
    )
    loaded = load_graph(path)
    constants = [loaded.attrs(n)["value"].array for n in loaded.order if "value" in loaded.attrs(n)]
    assert constants and all(c.dtype.isnative for c in constants)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x), sample_graph()(x))
    compiled = graphc.compile(loaded, cache=False)(x)
    np.testing.assert_allclose(compiled, sample_graph()(x), rtol=1e-4)  # vector math: few ulp


def test_saving_writes_only_the_target_whatever_the_names(tmp_path: Path) -> None:
    """Names from users (graph, nodes) never become paths: only the target file appears."""
    x = graphc.placeholder((None, 2), name="../../x")
    w = graphc.constant(np.ones((2, 2), np.float32), name="/etc/passwd")
    graph = graphc.Graph([x], graphc.exp(x @ w), name="..\\..\\evil")
    target = tmp_path / "out" / "g.graphc"
    target.parent.mkdir()
    graph.save(str(target))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "out",
        "out/g.graphc",
    ]
    with zipfile.ZipFile(target) as zf:
        assert all(".." not in n and not n.startswith("/") for n in zf.namelist())
    assert load_graph(target).dump() == graph.dump()


def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "g.graphc"
    write_sample_graph(target)
    old = target.read_bytes()
    with pytest.raises(SerializationError):
        write_archive(target, {"bad": object()}, {})
    with pytest.raises(SerializationError):
        write_archive(target, {}, {"../evil": np.ones(2)})
    assert target.read_bytes() == old and sorted(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("hostile", corpus(), ids=lambda h: h.name)
def test_the_command_line_reports_one_line_and_exit_code_2(
    hostile: Hostile, tmp_path: Path, capsys
) -> None:
    if hostile.limits:
        pytest.skip("the command line uses the default limits")
    path = built(hostile, tmp_path)
    assert main(["dump", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("graphc dump: error: ") and err.count("\n") == 1
    assert "Traceback" not in err and not canary_path(path).exists()
