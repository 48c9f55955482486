"""A corpus of hostile graphc files, built at test time (no binary blobs are committed).

Every entry is a file a reader must refuse with a `SerializationError` whose message matches
`Hostile.match`: damaged or exotic zips, bad or oversized JSON, pickled and other non-numeric
arrays, `.npy` headers that lie about their size, member names that would escape a directory,
wrong formats and versions, and graph documents that are inconsistent or name things that do
not exist. Entries are grouped by the reader they target:

- `archive`: `graphc.archive.read_archive`, the container every format shares;
- `graph`: `graphc.serialization.load_graph` (format "graphc.graph");
- `model` / `weights`: `graphc.frontend.saving.load_model` and `Model.load_weights`
  (formats "graphc.model" and "graphc.weights"), built from a small saved model.

Pickled payloads are live: unpickled, they would create a canary file next to the hostile file
(`canary_path`), so a test can check that nothing ran.
"""

from __future__ import annotations

import io
import json
import pathlib
import struct
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import graphc
from graphc.archive import read_archive, write_archive

Builder = Callable[[Path], None]
Change = Callable[[dict, dict], None]


@dataclass(frozen=True)
class Hostile:
    """One hostile file: how to build it, which reader it targets, how the refusal reads."""

    name: str
    kind: str  # "archive", "graph", "model" or "weights"
    build: Builder
    match: str
    limits: dict[str, int] = field(default_factory=dict)


def canary_path(path: Path) -> Path:
    """The file a pickled payload in `path` would create if anything unpickled it."""
    return path.with_name(path.name + ".canary")


class _Canary:
    """Pickles as a call that creates a file: the proof that unpickling happened."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return pathlib.Path.touch, (pathlib.Path(self.target),)


# --- raw building blocks -----------------------------------------------------------------------


def npy_bytes(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def npy_raw(header: str, data: bytes = b"", version: tuple[int, int] = (1, 0)) -> bytes:
    """A `.npy` member with a hand-written header dict (numpy's own layout, any content)."""
    text = header.encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    body = text + b" " * pad + b"\n"
    size = struct.pack("<H", len(body)) if version == (1, 0) else struct.pack("<I", len(body))
    return b"\x93NUMPY" + bytes(version) + size + body + data


def zip_members(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]]) -> None:
    """A zip with exactly these members (duplicates allowed), bypassing `write_archive`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)


def sample_graph() -> graphc.Graph:
    """A small valid graph with a named constant array and a batch dimension."""
    x = graphc.placeholder((None, 3), "float32", name="x")
    w = graphc.constant(np.arange(6, dtype=np.float32).reshape(3, 2), name="dense/kernel")
    return graphc.Graph([x], graphc.tanh(x @ w) + 1.0, name="sample")


def write_sample_graph(path: Path) -> None:
    sample_graph().save(str(path))


def sample_document() -> tuple[dict, dict[str, np.ndarray]]:
    """The document and arrays of `sample_graph` as saved."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        target = Path(directory) / "g.graphc"
        write_sample_graph(target)
        return read_archive(target)


def valid_members() -> list[tuple[str, bytes]]:
    document, arrays = sample_document()
    return [("document.json", json.dumps(document).encode())] + [
        (f"arrays/{name}.npy", npy_bytes(array)) for name, array in arrays.items()
    ]


def with_members(changes: Callable[[list[tuple[str, bytes]], Path], list]) -> Builder:
    """A builder that writes the sample graph's members after `changes(members, path)`."""

    def build(path: Path) -> None:
        zip_members(path, changes(valid_members(), path))

    return build


def replace_array(data: Callable[[Path], bytes]) -> Builder:
    """The sample graph with its constant's `.npy` member replaced by `data(path)`."""

    def change(members: list[tuple[str, bytes]], path: Path) -> list:
        return [(n, data(path) if n.startswith("arrays/") else d) for n, d in members]

    return with_members(change)


def add_member(name: str, data: bytes = b"") -> Builder:
    return with_members(lambda members, path: members + [(name, data)])


def document_text(text: bytes) -> Builder:
    """The sample graph's arrays with `document.json` replaced by raw bytes."""

    def change(members: list[tuple[str, bytes]], path: Path) -> list:
        return [(n, text if n == "document.json" else d) for n, d in members]

    return with_members(change)


def tampered(change: Change, loader_write: Callable[..., None] = write_sample_graph) -> Builder:
    """A valid file whose document (and arrays) went through `change(document, arrays)`."""

    def build(path: Path) -> None:
        loader_write(path)
        document, arrays = read_archive(path)
        change(document, arrays)
        write_archive(path, document, arrays)

    return build


def raw_bytes(data: Callable[[], bytes]) -> Builder:
    return lambda path: path.write_bytes(data())


def patched(edit: Callable[[bytearray], None]) -> Builder:
    """The sample graph file with its bytes edited in place (zip-level damage)."""

    def build(path: Path) -> None:
        write_sample_graph(path)
        data = bytearray(path.read_bytes())
        edit(data)
        path.write_bytes(bytes(data))

    return build


def _set_flag_bits(flag: int) -> Callable[[bytearray], None]:
    """Set general-purpose flag bits in every local and central header (e.g. 1: encrypted)."""

    def edit(data: bytearray) -> None:
        for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            start = data.find(signature)
            while start >= 0:
                value = struct.unpack_from("<H", data, start + offset)[0] | flag
                struct.pack_into("<H", data, start + offset, value)
                start = data.find(signature, start + 4)

    return edit


def _set_method(method: int) -> Callable[[bytearray], None]:
    """Declare an unsupported compression method in every header."""

    def edit(data: bytearray) -> None:
        for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
            start = data.find(signature)
            while start >= 0:
                struct.pack_into("<H", data, start + offset, method)
                start = data.find(signature, start + 4)

    return edit


def _flip_array_data(data: bytearray) -> None:
    """Flip the last byte of the file's stored data (a CRC mismatch in the last member)."""
    central = data.find(b"PK\x01\x02")
    data[central - 1] ^= 0xFF


def symlink_member(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # unix
    info.external_attr = 0o120777 << 16  # a symbolic link, as `zip --symlinks` stores it
    return info


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def zip_bomb_document(path: Path, size: int = 300 * 2**20) -> None:
    """A tiny file whose document.json inflates to `size` bytes (over the 256 MiB default)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("document.json", "w", force_zip64=True) as member:
            chunk = b" " * 2**20
            for _ in range(size // len(chunk)):
                member.write(chunk)


def _node(document: dict, op: str) -> dict:
    return next(n for n in document["nodes"] if n["op"] == op)


def _set_node(which: str, **fields: Any) -> Change:
    """Update the fields of the first node whose op is `which`."""
    return lambda document, arrays: _node(document, which).update(fields)


# --- the corpus --------------------------------------------------------------------------------

NOT_A_ZIP = "not a readable graphc file"


def archive_corpus() -> list[Hostile]:
    """Container-level damage, refused by `read_archive` whatever the format."""
    a = "archive"
    traversal = [
        "../evil.npy",
        "/etc/passwd",
        "arrays/../../evil.npy",
        "arrays/../document.json",
        "C:/windows/evil.npy",
        "arrays\\..\\evil.npy",
        "arrays//w.npy",
        "arrays/./w.npy",
    ]
    return [
        Hostile("empty-file", a, raw_bytes(lambda: b""), NOT_A_ZIP),
        Hostile("random-bytes", a, raw_bytes(lambda: bytes(range(256)) * 8), NOT_A_ZIP),
        Hostile("zip-signature-only", a, raw_bytes(lambda: b"PK\x05\x06" + bytes(18)), "missing"),
        Hostile(
            "truncated-half",
            a,
            patched(lambda d: d.__delitem__(slice(len(d) // 2, None))),
            NOT_A_ZIP,
        ),
        Hostile(
            "truncated-central-directory",
            a,
            patched(lambda d: d.__delitem__(slice(-10, None))),
            NOT_A_ZIP,
        ),
        Hostile("crc-mismatch", a, patched(_flip_array_data), "not a readable|CRC|npy"),
        Hostile("encrypted-members", a, patched(_set_flag_bits(0x1)), NOT_A_ZIP),
        Hostile("unknown-compression", a, patched(_set_method(99)), NOT_A_ZIP),
        Hostile(
            "no-document",
            a,
            lambda p: zip_members(p, [("arrays/w.npy", npy_bytes(np.ones(2)))]),
            "document.json is missing",
        ),
        Hostile("document-not-utf8", a, document_text(b'{"format": "\xff\xfe"}'), "not valid JSON"),
        Hostile("document-invalid-json", a, document_text(b'{"format": '), "not valid JSON"),
        Hostile("document-nan-constant", a, document_text(b'{"v": NaN}'), "not standard JSON"),
        Hostile(
            "document-infinity-constant", a, document_text(b'{"v": -Infinity}'), "not standard JSON"
        ),
        Hostile("document-is-a-list", a, document_text(b"[1, 2]"), "must hold a JSON object"),
        Hostile("document-deeply-nested", a, document_text(deep_json(100_000)), "not valid JSON"),
        Hostile(
            "document-over-limit",
            a,
            document_text(b'{"pad": "' + b"x" * 5000 + b'"}'),
            "larger than the limit",
            {"max_document_bytes": 4096},
        ),
        Hostile("document-zip-bomb", a, zip_bomb_document, "larger than the limit of 268435456"),
        Hostile("duplicate-document", a, add_member("document.json", b"{}"), "appears twice"),
        Hostile(
            "duplicate-array",
            a,
            with_members(lambda m, p: m + [x for x in m if x[0].startswith("arrays/")]),
            "appears twice",
        ),
        *[
            Hostile(
                f"traversal-{i}",
                a,
                add_member(name, npy_bytes(np.ones(1))),
                "unsafe member name|unexpected member|invalid array name",
            )
            for i, name in enumerate(traversal)
        ],
        Hostile(
            "symlink-member",
            a,
            with_members(
                lambda m, p: (
                    m + [(symlink_member("arrays/link.npy", "/etc/passwd"), b"/etc/passwd")]
                )
            ),
            "not a valid .npy array",
        ),
        Hostile(
            "python-module-member",
            a,
            add_member("evil.py", b"import os"),
            "unexpected member 'evil.py'",
        ),
        Hostile("pickle-member", a, add_member("arrays/w.pkl", b"\x80\x04."), "unexpected member"),
        Hostile(
            "too-many-members",
            a,
            with_members(
                lambda m, p: (
                    m + [(f"arrays/extra{i}.npy", npy_bytes(np.ones(1))) for i in range(20)]
                )
            ),
            "more than the limit of 10",
            {"max_members": 10},
        ),
        Hostile(
            "pickled-object-array",
            a,
            replace_array(
                lambda p: npy_bytes(np.array([_Canary(canary_path(p))], object), allow_pickle=True)
            ),
            "dtype object.*never does",
        ),
        Hostile(
            "structured-with-object-field",
            a,
            replace_array(
                lambda p: npy_raw(
                    "{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (1,), }", bytes(8)
                )
            ),
            "only arrays of bools, ints and floats",
        ),
        Hostile(
            "unicode-array",
            a,
            replace_array(lambda p: npy_bytes(np.array(["evil"]))),
            "only arrays of bools, ints and floats",
        ),
        Hostile(
            "complex-array",
            a,
            replace_array(lambda p: npy_bytes(np.zeros(2, complex))),
            "only arrays of bools, ints and floats",
        ),
        Hostile(
            "datetime-array",
            a,
            replace_array(lambda p: npy_bytes(np.zeros(2, "datetime64[s]"))),
            "only arrays of bools, ints and floats",
        ),
        Hostile(
            "void-array",
            a,
            replace_array(lambda p: npy_bytes(np.zeros(2, "V8"))),
            "only arrays of bools, ints and floats",
        ),
        Hostile(
            "code-in-npy-header",
            a,
            replace_array(
                lambda p: npy_raw(
                    "{'descr': __import__('os').system('touch "
                    f"{canary_path(p)}'), 'fortran_order': False, "
                    "'shape': (1,), }",
                    bytes(8),
                )
            ),
            "not a valid .npy array",
        ),
        Hostile(
            "npy-bad-magic",
            a,
            replace_array(lambda p: b"NOTNUMPY" + bytes(64)),
            "not a valid .npy array",
        ),
        Hostile(
            "npy-truncated-header",
            a,
            replace_array(lambda p: npy_bytes(np.ones(3))[:20]),
            "not a valid .npy array",
        ),
        Hostile(
            "npy-huge-declared-shape",
            a,
            replace_array(
                lambda p: npy_raw(
                    "{'descr': '<f8', 'fortran_order': False, "
                    "'shape': (1000000, 1000000, 1000000), }"
                )
            ),
            "more than the limit",
        ),
        Hostile(
            "npy-declares-more-than-it-holds",
            a,
            replace_array(
                lambda p: npy_raw(
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 1000), }", bytes(16)
                )
            ),
            "declares 4000000 bytes of data but holds 16",
        ),
        Hostile(
            "npy-holds-more-than-it-declares",
            a,
            replace_array(
                lambda p: npy_raw(
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", bytes(4096)
                )
            ),
            "declares 8 bytes of data but holds 4096",
        ),
        Hostile(
            "npy-negative-shape",
            a,
            replace_array(
                lambda p: npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 4), }")
            ),
            "negative shape|not a valid .npy",
        ),
        Hostile(
            "npy-over-budget",
            a,
            replace_array(lambda p: npy_bytes(np.zeros(64))),
            "more than the limit of 100 bytes",
            {"max_array_bytes": 100},
        ),
    ]


def graph_corpus() -> list[Hostile]:
    """Valid containers holding graph documents that are wrong, inconsistent or malicious."""
    g = "graph"

    def doc(name: str, change: Change, match: str) -> Hostile:
        return Hostile(name, g, tampered(change), match)

    def huge_dims(document: dict, arrays: dict) -> None:
        for node in document["nodes"]:
            node["type"]["shape"] = [2**70 if d is not None else d for d in node["type"]["shape"]]

    def cycle(document: dict, arrays: dict) -> None:
        document["nodes"][-1]["inputs"] = [document["nodes"][-1]["id"]]

    return [
        doc("format-model", lambda d, a: d.update(format="graphc.model"), "not a graphc graph"),
        doc("format-missing", lambda d, a: d.pop("format"), "its format is None"),
        doc("format-keras", lambda d, a: d.update(format="keras"), "'keras'"),
        doc(
            "version-newer",
            lambda d, a: d.update(version=2, graphc_version="9.0"),
            "version 2 .*graphc 9.0.*upgrade graphc",
        ),
        *[
            doc(
                f"version-invalid-{i}",
                lambda d, a, v=v: d.update(version=v),
                "invalid format version",
            )
            for i, v in enumerate([0, -1, "1", True, 1.5, None])
        ],
        doc("op-os-system", _set_node("tanh", op="os.system"), "unknown primitive 'os.system'"),
        doc("op-import", _set_node("tanh", op="__import__"), "unknown primitive '__import__'"),
        doc("op-eval", _set_node("tanh", op="eval"), "unknown primitive 'eval'"),
        doc("op-not-a-string", _set_node("tanh", op=["tanh"]), "unknown primitive"),
        doc(
            "array-traversal-reference",
            _set_node("constant", attrs={"value": {"$array": "../../etc/passwd"}}),
            "refers to the array '../../etc/passwd', which the file does not hold",
        ),
        doc("unknown-tag", _set_node("tanh", attrs={"x": {"$pickle": "gASV"}}), "unknown value"),
        doc(
            "dtype-object",
            _set_node("tanh", type={"shape": [None, 2], "dtype": "object"}),
            "unsupported dtype 'object'",
        ),
        doc(
            "dtype-complex",
            _set_node("tanh", type={"shape": [None, 2], "dtype": "complex128"}),
            "unsupported dtype 'complex128'",
        ),
        doc(
            "type-tampered",
            _set_node("tanh", type={"shape": [None, 3], "dtype": "float32"}),
            "stored type f32\\[None,3\\] differs",
        ),
        doc("huge-declared-dims", huge_dims, "differs|invalid|too large"),
        doc(
            "negative-dims",
            _set_node("tanh", type={"shape": [None, -2], "dtype": "float32"}),
            "shape|non-negative",
        ),
        doc("edge-to-itself", cycle, "must list ids of earlier nodes"),
        doc(
            "edge-to-missing-node",
            lambda d, a: d["nodes"][-1].update(inputs=[999]),
            "must list ids of earlier nodes",
        ),
        doc("duplicate-id", lambda d, a: d["nodes"][1].update(id=0), "the id is used twice"),
        doc("bool-id", lambda d, a: d["nodes"][0].update(id=True), "expected an int"),
        doc("outputs-missing", lambda d, a: d.update(outputs=[]), "needs at least one output"),
        doc("outputs-unknown", lambda d, a: d.update(outputs=[12345]), "is not a node id"),
        doc(
            "inputs-not-the-input-nodes",
            lambda d, a: d.update(inputs=[]),
            "are not exactly the input nodes",
        ),
        doc(
            "unreferenced-array",
            lambda d, a: a.update(extra=np.zeros(3, np.float32)),
            "arrays no node refers to",
        ),
        doc("nodes-not-a-list", lambda d, a: d.update(nodes={"0": {}}), "'nodes': expected a list"),
        doc(
            "nested-graph-bomb",
            _set_node("tanh", attrs={"x": _nested_graphs(40)}),
            "nest deeper than",
        ),
        Hostile("node-count-limit", g, write_sample_graph, "more than 3 nodes", {"max_nodes": 3}),
    ]


def _nested_graphs(depth: int) -> Any:
    body: Any = {"nodes": [], "inputs": [], "outputs": [], "single_output": True, "name": None}
    for _ in range(depth):
        body = {
            "$graph": {
                "nodes": [
                    {
                        "id": 0,
                        "op": "tanh",
                        "attrs": {"body": body},
                        "type": {"shape": [], "dtype": "float32"},
                        "name": None,
                        "inputs": [],
                    }
                ],
                "inputs": [],
                "outputs": [0],
                "single_output": True,
                "name": None,
            }
        }
    return body


def corpus() -> list[Hostile]:
    """Every hostile file of the archive and graph levels."""
    return archive_corpus() + graph_corpus()
