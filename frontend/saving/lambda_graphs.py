"""Lambda layers in model files: saved as the graphs their functions trace to, replayed on load.

A `Lambda` wraps arbitrary Python. Keras saves the function's bytecode and refuses to load it
unless `safe_mode=False`; graphc saves what the function computes instead. For each input
signature the layer was called with in the model (and for training and inference separately
when the function takes `training`), the function is traced on placeholders into a graphc
`Graph`, stored with graphc.serialization's encoding (primitives, attributes, constants).
Loading rebuilds a `Lambda` whose function is a `GraphFunction` replaying those graphs: no code
from the file runs, every node is checked against its primitive's shape rule, and the original
Python function need not exist in the loading program.

The price of running no code: a reloaded Lambda accepts exactly the input types it was saved
with, and a function that reads anything besides its inputs (a weight, a random seed, another
model tensor) or takes `mask` cannot be saved; write a custom layer for those.

In the document, `"lambdas"` maps each Lambda layer's name to

    {"traces": [{"training": null | true | false, "inputs": <template>,
                 "outputs": <template>, "graph": <graph document>}, ...]}

where the templates give the nesting of the inputs and outputs (see `documents`). The
function's name stays in the layer's config, as a label: it is never looked up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

import numpy as np

from graphc.core import Value, placeholder, unwrap_symbolic
from graphc.errors import GraphcError, SerializationError, ShapeError
from graphc.frontend.engine import tree
from graphc.frontend.engine.trace import TraceContext
from graphc.frontend.layers.core.lambda_layer import Lambda
from graphc.frontend.saving.documents import (
    expect_dict,
    fail,
    read_template,
    structure_template,
)
from graphc.graph import Graph
from graphc.serialization import _encode_graph, _Loader
from graphc.types import TensorType

#: The class name of the layers saved as graphs (subclasses of Lambda are custom layers).
LAMBDA = "Lambda"


class Trace(NamedTuple):
    """One saved computation of a Lambda: for inputs of `graph.input_types`, in `training`
    mode (None: the function ignores the mode)."""

    training: bool | None
    inputs: Any
    outputs: Any
    graph: Graph


class GraphFunction:
    """The function of a reloaded Lambda: replays the saved graph matching its inputs.

    Calls get the Lambda's `arguments` as keyword arguments; they were fixed when the graph
    was traced, so they are accepted and not used again.

    >>> import graphc
    >>> x = graphc.placeholder((None, 2))
    >>> twice = GraphFunction("double", "twice", [Trace(None, 0, 0, Graph([x], x * 2.0))])
    >>> twice(graphc.placeholder((None, 2))).shape
    (None, 2)
    """

    def __init__(self, layer_name: str, function_name: str, traces: list[Trace]):
        self.__name__ = function_name
        self.layer_name = layer_name
        self.traces = traces

    def __call__(self, inputs: Any, training: bool | None = None, **arguments: Any) -> Any:
        flat = [unwrap_symbolic(v) for v in tree.flatten(inputs)]
        types = [v.type if isinstance(v, Value) else type(v).__name__ for v in flat]
        for trace in self.traces:
            if trace.training in (None, bool(training)) and trace.graph.input_types == types:
                return tree.pack_sequence_as(trace.outputs, trace.graph.to_values(flat))
        saved = "; ".join(_describe(t.graph.input_types) for t in self.traces)
        raise ShapeError(
            f"Lambda '{self.layer_name}' was loaded from a saved graph of {self.__name__!r} "
            f"that takes inputs {saved}; got {_describe(types)}"
        )

    def __repr__(self) -> str:
        return f"<GraphFunction {self.__name__!r} of Lambda '{self.layer_name}'>"


def _describe(types: list[Any]) -> str:
    return "(" + ", ".join(str(t) for t in types) + ")"


# --- saving ------------------------------------------------------------------------------------


def encode_lambdas(model: Any, model_config: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The `"lambdas"` section for the Lambda layers named in `model_config`."""
    configs = lambda_configs(model_config)
    names = [config.get("name") for config in configs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SerializationError(
            f"cannot save model '{model.name}': several Lambda layers are named "
            f"{duplicated[0]!r}; give them distinct names"
        )
    layers = {layer.name: layer for layer in model._flatten_layers() if type(layer) is Lambda}
    section = {}
    for index, config in enumerate(configs):
        name = config.get("name")
        if name not in layers:
            raise SerializationError(
                f"cannot save model '{model.name}': its config has a Lambda layer {name!r} "
                f"that is not one of its layers"
            )
        section[name] = {"traces": _encode_traces(layers[name], f"lambdas/{index}/", arrays)}
    return section


def lambda_configs(config: Any) -> list[dict[str, Any]]:
    """The configs of the Lambda layers in a (nested) model config, in order.

    >>> lambda_configs({"layers": [{"class_name": "Lambda", "config": {"name": "f"}}]})
    [{'name': 'f'}]
    """
    found = []
    if isinstance(config, dict):
        inner = config.get("config")
        if config.get("class_name") == LAMBDA and isinstance(inner, dict):
            found.append(inner)
        for value in config.values():
            found += lambda_configs(value)
    elif isinstance(config, list):
        for value in config:
            found += lambda_configs(value)
    return found


def _encode_traces(
    layer: Lambda, prefix: str, arrays: dict[str, np.ndarray]
) -> list[dict[str, Any]]:
    who = f"cannot save Lambda '{layer.name}'"
    if layer._fn_has_mask:
        raise SerializationError(
            f"{who}: its function takes `mask`, which a saved graph cannot replay; write a "
            f"custom layer with compute_mask instead"
        )
    modes = (False, True) if layer._fn_has_training else (None,)
    traces = []
    for template, types in _signatures(layer, who):
        for mode in modes:
            graph, outputs = _trace(layer, template, types, mode, who)
            traces.append(
                {
                    "training": mode,
                    "inputs": template,
                    "outputs": structure_template(outputs)[0],
                    "graph": _encode_graph(graph, f"{prefix}{len(traces)}/", arrays),
                }
            )
    return traces


def _signatures(layer: Lambda, who: str) -> list[tuple[Any, list[TensorType]]]:
    """The distinct (input template, input types) the layer's calls had, after autocasting."""
    if not layer._inbound_nodes:
        raise SerializationError(f"{who}: it was never called; build the model first")
    found: dict[str, tuple[Any, list[TensorType]]] = {}
    for node in layer._inbound_nodes:
        inputs = layer._autocast_inputs((node.call_args[0],))[0]
        template, leaves = structure_template(inputs)
        values = [unwrap_symbolic(v) for v in leaves]
        if not all(isinstance(v, Value) for v in values):
            raise SerializationError(f"{who}: it was called with inputs that are not tensors")
        types = [v.type for v in values]
        found.setdefault(json.dumps([template, [str(t) for t in types]]), (template, types))
    return list(found.values())


def _trace(
    layer: Lambda, template: Any, types: list[TensorType], mode: bool | None, who: str
) -> tuple[Graph, Any]:
    """The layer's computation on placeholders of `types`, as a Graph of exactly them, and
    the nested structure of its outputs."""
    inputs = [placeholder(t.shape, t.dtype, name=f"input_{i}") for i, t in enumerate(types)]
    seed = placeholder((), "int64", name="random_seed")  # random ops would depend on it
    with TraceContext(training=bool(mode), seed=seed):
        outputs = layer.call(tree.pack_sequence_as(template, inputs), training=mode)
    flat = [unwrap_symbolic(v) for v in tree.flatten(outputs)]
    if not flat or not all(isinstance(v, Value) for v in flat):
        raise SerializationError(f"{who}: its function must return tensors")
    try:
        graph = Graph(inputs, flat, name=layer.name)
    except GraphcError as exc:
        raise SerializationError(
            f"{who}: its function uses more than its inputs ({exc}); weights, random numbers "
            f"and other tensors cannot be saved in a Lambda: write a custom layer instead"
        ) from exc
    return graph, outputs


# --- loading -----------------------------------------------------------------------------------


def decode_lambdas(path: Any, section: Any, loader: _Loader) -> dict[str, list[Trace]]:
    """The traces of a `"lambdas"` section by layer name, validated (graphs, templates).

    `loader` decodes the graphs and records which arrays they use.
    """
    section = expect_dict(path, section, "'lambdas'")
    decoded = {}
    for name, entry in section.items():
        where = f"Lambda {name!r}"
        traces = expect_dict(path, entry, where).get("traces")
        if not isinstance(traces, list) or not traces:
            fail(path, f"{where}: 'traces' must be a non-empty list")
        decoded[name] = [
            _decode_trace(path, t, f"{where} trace {i}", loader) for i, t in enumerate(traces)
        ]
    return decoded


def _decode_trace(path: Any, doc: Any, where: str, loader: _Loader) -> Trace:
    doc = expect_dict(path, doc, where)
    training = doc.get("training")
    if training not in (None, True, False):
        fail(path, f"{where}: 'training' must be true, false or null, got {training!r}")
    graph = loader.graph(doc.get("graph"), f"{where}: ", 0)
    inputs = read_template(path, doc.get("inputs"), len(graph.inputs), f"{where} inputs")
    outputs = read_template(path, doc.get("outputs"), len(graph.outputs), f"{where} outputs")
    return Trace(training, inputs, outputs, graph)


_replaying: ContextVar[tuple[Mapping[str, list[Trace]], set[str]] | None] = ContextVar(
    "graphc_lambda_replay", default=None
)


@contextmanager
def replaying(traces: Mapping[str, list[Trace]]) -> Iterator[set[str]]:
    """Make `LambdaLoader` build Lambdas from `traces` (by layer name) inside the block;
    yields the set of names it used, so the caller can refuse graphs no layer asked for."""
    used: set[str] = set()
    token = _replaying.set((traces, used))
    try:
        yield used
    finally:
        _replaying.reset(token)


class LambdaLoader:
    """Stands for `Lambda` in `custom_objects` while a model file's config is deserialized:
    builds each Lambda with its saved graphs (inside `replaying`) instead of looking its
    function up."""

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Lambda:
        state = _replaying.get()
        if state is None:
            raise SerializationError("LambdaLoader is only used while loading a model file")
        traces, used = state
        name = config.get("name")
        if name not in traces:
            raise SerializationError(
                f"the model has a Lambda layer {name!r} but the file holds no graph for it"
            )
        used.add(name)
        label = config.get("function")
        label = label if isinstance(label, str) else f"{name}_function"
        config = {**config, "function": GraphFunction(name, label, traces[name])}
        if not isinstance(config.get("output_shape"), (list, type(None))):
            config["output_shape"] = None  # a function name: the graph gives the shape
        return Lambda.from_config(config, custom_objects)
