"""The command-line side of saved models: `graphc summary FILE` and
`graphc predict FILE INPUT -o OUT`, and the loader that lets `graphc dump` read model files.

A file is recognized by its document's format, so the commands take graph files (written by
`Graph.save`) and model files (written by `model.save`) alike where both make sense. Model
files whose configs name custom classes cannot be rebuilt here (the command line has no
`custom_objects`); the error says which class is missing.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from graphc.archive import atomic_output
from graphc.core import constant_p
from graphc.errors import InputError
from graphc.graph import Graph
from graphc.serialization import FORMAT as GRAPH_FORMAT


def load_saved(path: str) -> Graph | Any:
    """The graph or model saved in `path` (a model comes back uncompiled).

    >>> import graphc, tempfile, os
    >>> x = graphc.placeholder((None, 2), name="x")
    >>> target = os.path.join(tempfile.mkdtemp(), "g.graphc")
    >>> graphc.Graph([x], x * 2.0).save(target)
    >>> type(load_saved(target)).__name__
    'Graph'
    """
    from graphc.frontend.saving.documents import MODEL_FORMAT, read_document
    from graphc.frontend.saving.model_file import model_from_document

    document, arrays = read_document(path, (GRAPH_FORMAT, MODEL_FORMAT))
    if document["format"] == GRAPH_FORMAT:
        return Graph.load(path)
    return model_from_document(path, document, arrays, compile=False)


def load_inference_graph(path: str) -> Graph:
    """The graph of a graph file, or the inference graph (weights as constants) of a model
    file: what `graphc dump` shows and compiles."""
    saved = load_saved(path)
    return saved if isinstance(saved, Graph) else saved.graph


# --- graphc summary ----------------------------------------------------------------------------


def add_summary_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a model saved with model.save, or a graph (Graph.save)")


def run_summary(args: argparse.Namespace) -> int:
    saved = load_saved(args.file)
    if isinstance(saved, Graph):
        print(graph_summary(saved))
    else:
        saved.summary()
    return 0


def graph_summary(graph: Graph) -> str:
    """A graph's signature and size, for `graphc summary` on a graph file.

    >>> import graphc
    >>> x = graphc.placeholder((None, 3), name="x")
    >>> print(graph_summary(graphc.Graph([x], x @ np.ones((3, 2), "float32"), name="proj")))
    Graph: "proj"
      inputs:  x: f32[None,3]
      outputs: f32[None,2]
      nodes:   3 (1 constant holding 6 numbers)
    """
    constants = [
        graph.attrs(n)["value"].array.size for n in graph.order if graph.primitive(n) is constant_p
    ]
    inputs = ", ".join(
        f"{name}: {t}" if name else str(t) for name, t in zip(graph.input_names, graph.input_types)
    )
    plural = "" if len(constants) == 1 else "s"
    return "\n".join(
        [
            f'Graph: "{graph.name}"' if graph.name else "Graph:",
            f"  inputs:  {inputs or '(none)'}",
            f"  outputs: {', '.join(str(t) for t in graph.output_types)}",
            f"  nodes:   {len(graph)} ({len(constants)} constant{plural} holding "
            f"{sum(constants)} numbers)",
        ]
    )


# --- graphc predict ----------------------------------------------------------------------------


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a model saved with model.save")
    parser.add_argument(
        "input",
        help="the input samples: a .npy array, or a .npz file with one array per model input "
        "(named like the inputs, or arr_0, arr_1, ... in input order)",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="where to write the predictions: a .npy file, or a .npz file (needed for models "
        "with several outputs)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=32, metavar="N", help="samples per batch (default 32)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="threads to run the model on (default: every core, or $GRAPHC_NUM_THREADS); "
        "the predictions are the same for any number",
    )


def run_predict(args: argparse.Namespace) -> int:
    from graphc.frontend import backend

    if args.threads is not None:
        if args.threads < 1:
            raise InputError(
                f"--threads: expected a positive number of threads, got {args.threads}"
            )
        backend.set_num_threads(args.threads)
    model = load_saved(args.file)
    if isinstance(model, Graph):
        raise InputError(
            f"{args.file}: is a graph file; graphc predict runs model files (saved with model.save)"
        )
    _check_output_name(args.output)
    inputs = read_inputs(args.input)
    for name, array in _named(inputs, "input"):
        print(f"{name}: {_describe(array)}")
    outputs = model.predict(inputs, batch_size=args.batch_size, verbose=0)
    named = _named(outputs, "output")
    write_outputs(args.output, named)
    for name, array in named:
        print(f"{name}: {_describe(array)}")
    print(f"wrote {args.output}")
    return 0


def read_inputs(path: str) -> np.ndarray | dict[str, np.ndarray] | list[np.ndarray]:
    """The arrays of a .npy or .npz file, never unpickling anything.

    A .npz file saved with positional arrays (arr_0, arr_1, ...) gives a list in that order;
    otherwise a dict by name, which `predict` matches to the input names.
    """
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return loaded
        with loaded:
            if "document.json" in loaded.files:  # a zip, but a graphc model or graph file
                raise InputError(
                    f"{path}: this is a graphc model or graph file, not samples; give the "
                    f"input samples as a .npy or .npz array file"
                )
            arrays = {name: loaded[name] for name in loaded.files}
    except (ValueError, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npy or .npz array file: {exc}") from None
    positional = [f"arr_{i}" for i in range(len(arrays))]
    if sorted(arrays) == sorted(positional):
        return [arrays[name] for name in positional]
    return arrays


def write_outputs(path: str, named: list[tuple[str, np.ndarray]]) -> None:
    """Write predictions atomically: one array to .npy, any number to .npz."""
    if path.endswith(".npz"):
        with atomic_output(path) as out:
            np.savez(out, **dict(named))
        return
    if len(named) != 1:
        raise InputError(
            f"{path}: the model has {len(named)} outputs ({', '.join(n for n, _ in named)}); "
            f"write them to a .npz file"
        )
    with atomic_output(path) as out:
        np.save(out, named[0][1], allow_pickle=False)


def _check_output_name(path: str) -> None:
    if not path.endswith((".npy", ".npz")):
        raise InputError(f"{path}: the output file name must end in .npy or .npz")


def _named(structure: Any, prefix: str) -> list[tuple[str, np.ndarray]]:
    if isinstance(structure, dict):
        return [(str(key), np.asarray(value)) for key, value in structure.items()]
    if isinstance(structure, (list, tuple)):
        return [(f"{prefix}_{i}", np.asarray(value)) for i, value in enumerate(structure)]
    return [(prefix, np.asarray(structure))]


def _describe(array: np.ndarray) -> str:
    return f"{array.shape} {array.dtype.name}"
