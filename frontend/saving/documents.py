"""What model files and weights files share: the header, the weight list, nested structures,
and the messages for files that are not ours.

Both are `graphc.archive` files (a zip of `document.json` plus `.npy` arrays, see
docs/saving.md). Their documents start with the same header, `{"format", "version",
"graphc_version"}`, and describe weights the same way: one entry per weight in
`model.weights` order (Keras' `get_weights` order),

    {"name": "dense/kernel", "layer": "dense", "shape": [784, 64], "dtype": "float32",
     "key": "weights/0"}

where `layer` is the top-level layer of the model that owns the weight (the model's name for
weights the model creates itself) and `key` names the array. Everything read from a file is
checked before it is used, and every refusal is a `SerializationError` naming the file.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, NoReturn

import numpy as np

from graphc import dtypes
from graphc._version import __version__
from graphc.archive import read_archive
from graphc.errors import SerializationError
from graphc.frontend.engine import tree
from graphc.serialization import FORMAT as GRAPH_FORMAT

MODEL_FORMAT = "graphc.model"
WEIGHTS_FORMAT = "graphc.weights"
VERSION = 1

#: File name endings of other libraries' formats, refused when saving so that no graphc file
#: is mistaken for one of them.
FOREIGN_SUFFIXES = {".keras": "Keras' .keras", ".h5": "HDF5 (.h5)", ".hdf5": "HDF5 (.hdf5)"}

#: Templates of nested structures nest at most this deep.
MAX_DEPTH = 32

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

_WHAT_IT_IS = {
    GRAPH_FORMAT: "a graph file (written by Graph.save); load it with graphc.Graph.load",
    MODEL_FORMAT: "a model file (written by model.save); load it with models.load_model",
    WEIGHTS_FORMAT: (
        "a weights file (written by save_weights); build the model and call "
        "model.load_weights on it"
    ),
}


def fail(path: Any, problem: str) -> NoReturn:
    """Raise the `SerializationError` for `problem` in the file at `path`."""
    raise SerializationError(f"{path}: {problem}")


def header(fmt: str) -> dict[str, Any]:
    """The first keys of every document: format name, format version, writer's version.

    >>> header("graphc.model")["version"]
    1
    """
    return {"format": fmt, "version": VERSION, "graphc_version": __version__}


def check_save_path(path: str | os.PathLike, overwrite: bool) -> str:
    """The path as a string; without `overwrite`, an existing file is refused.

    Keras' names (`.keras`, `.weights.h5`, `.h5`) are accepted so that Keras code pasted as it
    is keeps working, with a warning: the file holds graphc's format, which graphc reads back
    (loading recognizes real Keras files by their content and refuses them).

    >>> check_save_path("model.graphc", overwrite=True)
    'model.graphc'
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix in FOREIGN_SUFFIXES:
        warnings.warn(
            f"{path}: graphc writes its own file format here, not {FOREIGN_SUFFIXES[suffix]}; "
            f"graphc loads it back, Keras cannot (prefer a .graphc name)",
            stacklevel=3,
        )
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} already exists and overwrite=False")
    return path


def read_document(
    path: str | os.PathLike, formats: Sequence[str]
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read an archive and check its header is one of `formats`; return (document, arrays).

    Keras files (.keras zips, .h5) and other graphc formats are refused with a message that
    says what the file is and what reads it.
    """
    try:
        document, arrays = read_archive(path)
    except SerializationError:
        what = foreign_format(path)
        if what is not None:
            fail(
                path,
                f"is {what}, which graphc cannot read; graphc reads only its own .graphc "
                f"files: rebuild the model with graphc.frontend and copy the weights over with "
                f"set_weights",
            )
        raise
    check_header(path, document, formats)
    return document, arrays


def foreign_format(path: str | os.PathLike) -> str | None:
    """A description of the file if it is a Keras file, else None.

    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "m.h5")
    >>> _ = open(target, "wb").write(b"\\x89HDF\\r\\n\\x1a\\n" + bytes(8))
    >>> foreign_format(target)
    "an HDF5 file (Keras 2's .h5 format)"
    """
    try:
        with open(path, "rb") as f:
            if f.read(len(_HDF5_MAGIC)) == _HDF5_MAGIC:
                return "an HDF5 file (Keras 2's .h5 format)"
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (OSError, zipfile.BadZipFile, EOFError):
        return None
    if "config.json" in names and names & {"metadata.json", "model.weights.h5"}:
        return "a Keras 3 .keras archive (config.json + model.weights.h5)"
    return None


def check_header(path: Any, document: Mapping[str, Any], formats: Sequence[str]) -> None:
    """Refuse documents of another format or of a newer version than this graphc reads."""
    fmt = document.get("format")
    if fmt not in formats:
        what = _WHAT_IT_IS.get(fmt) if isinstance(fmt, str) else None
        expected = " or ".join(repr(f) for f in formats)
        if what is not None:
            fail(path, f"is {what}, not a file of format {expected}")
        fail(path, f"is not a graphc file of format {expected} (its format is {fmt!r})")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        fail(path, f"has an invalid format version {version!r}")
    if version > VERSION:
        written_by = document.get("graphc_version", "a newer graphc")
        fail(
            path,
            f"uses {fmt} format version {version} (written by graphc {written_by}), but this "
            f"graphc ({__version__}) reads version {VERSION}; upgrade graphc to load it",
        )


# --- nested structures -------------------------------------------------------------------------


def structure_template(structure: Any) -> tuple[Any, list[Any]]:
    """`structure` with its leaves replaced by their positions in `tree.flatten` order, as
    JSON data (tuples become lists), and the leaves.

    >>> structure_template({"b": "x", "a": ["y", "z"]})
    ({'b': 2, 'a': [0, 1]}, ['y', 'z', 'x'])
    """
    leaves = tree.flatten(structure)
    positions = iter(range(len(leaves)))
    return _as_lists(tree.map_structure(lambda _: next(positions), structure)), leaves


def _as_lists(structure: Any) -> Any:
    if isinstance(structure, (list, tuple)):
        return [_as_lists(s) for s in structure]
    if isinstance(structure, dict):
        return {str(k): _as_lists(v) for k, v in structure.items()}
    return structure


def read_template(path: Any, doc: Any, count: int, where: str) -> Any:
    """Validate a template read from a file: lists and dicts whose leaves are exactly the
    positions 0..count-1 in `tree.flatten` order, so `tree.pack_sequence_as` can fill it."""
    _check_template(path, doc, where, 0)
    if tree.flatten(doc) != list(range(count)):
        fail(path, f"{where}: the structure {doc!r} does not describe {count} tensor(s)")
    return doc


def _check_template(path: Any, doc: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        fail(path, f"{where}: the structure nests deeper than {MAX_DEPTH} levels")
    if isinstance(doc, list):
        for item in doc:
            _check_template(path, item, where, depth + 1)
    elif isinstance(doc, dict):
        for item in doc.values():
            _check_template(path, item, where, depth + 1)
    elif not is_int(doc):
        fail(path, f"{where}: unexpected {doc!r} in a structure (expected lists, dicts, ints)")


def is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def expect_list(path: Any, document: Mapping[str, Any], key: str) -> list[Any]:
    """`document[key]`, which must be a list."""
    value = document.get(key)
    if not isinstance(value, list):
        fail(path, f"'{key}' must be a list, got {type(value).__name__}")
    return value


def expect_dict(path: Any, value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        fail(path, f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def read_array(
    path: Any, arrays: Mapping[str, np.ndarray], key: Any, where: str, used: set[str]
) -> np.ndarray:
    """The array a document refers to by `key`, marked as used."""
    if not isinstance(key, str) or key not in arrays:
        fail(path, f"{where} refers to the array {key!r}, which the file does not hold")
    used.add(key)
    return arrays[key]


def check_all_used(path: Any, arrays: Iterable[str], used: set[str]) -> None:
    """Refuse files with arrays nothing refers to (a tampered or mis-assembled file)."""
    unused = sorted(set(arrays) - used)
    if unused:
        fail(path, f"holds arrays nothing in it refers to: {unused[:10]}")


# --- weights -----------------------------------------------------------------------------------


class StoredWeight(NamedTuple):
    """One weight read from a file."""

    name: str
    layer: str
    array: np.ndarray


def weight_owners(model: Any) -> list[tuple[str, list[Any]]]:
    """The model's weights grouped by the top-level layer owning them, in `model.weights`
    order: `[(layer name, [Variable, ...]), ...]`. Weights the model itself creates are
    grouped under the model's name; layers without weights do not appear.
    """
    owner: dict[int, str] = {}
    for layer in model._layers:
        for variable in layer.weights:
            owner.setdefault(id(variable), layer.name)
    groups: dict[str, list[Any]] = {}
    for variable in model.weights:
        groups.setdefault(owner.get(id(variable), model.name), []).append(variable)
    return list(groups.items())


def encode_weights(model: Any, arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """The weight entries of the model's document; the arrays go to `arrays`."""
    entries = []
    for layer, variables in weight_owners(model):
        for variable in variables:
            key = f"weights/{len(entries)}"
            arrays[key] = variable.numpy()
            entries.append(
                {
                    "name": variable.name,
                    "layer": layer,
                    "shape": list(variable.shape),
                    "dtype": variable.dtype.name,
                    "key": key,
                }
            )
    return entries


def decode_weights(
    path: Any, document: Mapping[str, Any], arrays: Mapping[str, np.ndarray], used: set[str]
) -> list[StoredWeight]:
    """The weights a document lists, each checked against its array."""
    supported = {d.name for d in dtypes.SUPPORTED}
    stored = []
    for index, entry in enumerate(expect_list(path, document, "weights")):
        where = f"weights[{index}]"
        entry = expect_dict(path, entry, where)
        name, layer, shape, dtype = (entry.get(k) for k in ("name", "layer", "shape", "dtype"))
        if not (isinstance(name, str) and isinstance(layer, str)):
            fail(path, f"{where}: 'name' and 'layer' must be strings")
        if not (isinstance(shape, list) and all(is_int(d) and d >= 0 for d in shape)):
            fail(path, f"{where} ({name!r}): 'shape' must be a list of ints, got {shape!r}")
        if dtype not in supported:
            fail(path, f"{where} ({name!r}): unsupported dtype {dtype!r}")
        array = read_array(path, arrays, entry.get("key"), f"{where} ({name!r})", used)
        if array.shape != tuple(shape) or array.dtype.name != dtype:
            fail(
                path,
                f"{where} ({name!r}) is declared {dtype}{tuple(shape)} but its array is "
                f"{array.dtype.name}{array.shape}",
            )
        stored.append(StoredWeight(name, layer, array))
    return stored


def weight_mismatch(variables: Sequence[Any], stored: Sequence[StoredWeight]) -> str | None:
    """Why `stored` cannot be loaded into `variables` (count, shape, dtype), or None.

    >>> from graphc.frontend import Variable
    >>> w = [Variable(np.zeros((2, 3)), name="d/kernel")]
    >>> weight_mismatch(w, [StoredWeight("d/kernel", "d", np.zeros((3, 2)))])
    "weight 'd/kernel' has shape (2, 3) in the model but (3, 2) in the file"
    """
    if len(variables) != len(stored):
        return (
            f"the model has {len(variables)} weight(s) {_shapes(v.shape for v in variables)}, "
            f"the file has {len(stored)} {_shapes(s.array.shape for s in stored)}"
        )
    for variable, weight in zip(variables, stored):
        if variable.shape != weight.array.shape:
            return (
                f"weight {variable.name!r} has shape {variable.shape} in the model but "
                f"{weight.array.shape} in the file"
            )
        if not np.can_cast(weight.array.dtype, variable.dtype, "same_kind"):
            return (
                f"weight {variable.name!r} is {variable.dtype.name} in the model but "
                f"{weight.array.dtype.name} in the file"
            )
    return None


def _shapes(shapes: Iterable[tuple[int, ...]]) -> str:
    return "[" + ", ".join(str(tuple(s)) for s in shapes) + "]"


def assign_all(pairs: Iterable[tuple[Any, np.ndarray]]) -> None:
    """Assign already-checked arrays to variables."""
    for variable, array in pairs:
        variable.assign(array)


def build_from_signature(model: Any, template: Any, types: Sequence[Any]) -> None:
    """Build a model that from_config left unbuilt (subclassed models, Sequential models
    without an input shape) by calling it once on placeholders of its saved input types,
    as its first call on data did."""
    from graphc.core import placeholder
    from graphc.frontend.engine.trace import no_trace

    values = [placeholder(t.shape, t.dtype) for t in types]
    with no_trace():
        model(tree.pack_sequence_as(template, values))
