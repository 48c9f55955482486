"""Building and running the train/test step: one traced graph, compiled once, called per batch.

`trace_step` calls the model's `train_step` (or `test_step`) on placeholders shaped like one
batch, inside a `StepTrace`, which is a `TraceContext` (training mode, a seed input for random
ops, state updates) plus what the trainer needs: the metrics' batch statistics
(`record_metric`) and the labels to validate. The resulting graph is

    inputs:  the batch's arrays, the step seed (int64 scalar, training only), and every
             Variable the step reads (weights, BatchNormalization statistics, optimizer
             iterations / learning rate / slots), as their symbols;
    outputs: the values `train_step` returns as logs, the metrics' batch statistics, and the
             new value of every Variable the step updates.

`graphc.compile` turns it into one native function (or, with `jit_compile=False`, it runs in
the interpreter). `StepRunner` calls it batch after batch: it keeps the Variables' arrays
between calls and replaces each updated one by the step's output (no copies), feeds the metric
statistics to the metrics, and writes the arrays back into the Variables (`store`) when
someone outside the step may look at them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import graphc
from graphc.core import Value, placeholder, unwrap_symbolic
from graphc.errors import GraphError
from graphc.frontend.engine import tree
from graphc.frontend.engine.trace import TraceContext
from graphc.frontend.metrics import StepResult
from graphc.frontend.variables import Variable, variables_in
from graphc.graph import Graph

_state = threading.local()


class StepTrace(TraceContext):
    """The trace of one train or test step (enter it with `with`).

    Besides the `TraceContext` records (updates, losses), it collects each metric's batch
    statistics and the sparse labels to check, and knows the batch's placeholders.

    Args:
        training: whether layers run in training mode.
        seed: the int64 scalar input random ops derive their seeds from (training steps).
        data: the batch's placeholders, flat (None where the batch has no array).
    """

    def __init__(self, training: bool, seed: Value | None, data: Sequence[Value | None]):
        super().__init__(training, seed)
        self.metric_records: list[tuple[Any, list[Value]]] = []
        self.label_checks: list[tuple[int, int, int | None]] = []
        self._data_index = {id(v): i for i, v in enumerate(data) if v is not None}

    def __enter__(self) -> StepTrace:
        super().__enter__()
        _steps().append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _steps().pop()
        super().__exit__(*exc_info)

    def check_labels(self, labels: Any, num_classes: int, ignore_class: int | None) -> None:
        """Validate these sparse labels before each step, when they come straight from the
        batch (labels computed in the graph cannot be checked beforehand)."""
        index = self._data_index.get(id(unwrap_symbolic(labels)))
        if index is not None:
            self.label_checks.append((index, num_classes, ignore_class))


def _steps() -> list[StepTrace]:
    if not hasattr(_state, "steps"):
        _state.steps = []
    return _state.steps


def current_step() -> StepTrace | None:
    """The step being traced, or None."""
    steps = _steps()
    return steps[-1] if steps else None


def record_metric(metric: Any, *args: Any, sample_weight: Any = None) -> None:
    """Update a metric with one batch: inside a traced step, its batch statistics become step
    outputs (accumulated after each call); outside, `metric.update_state` runs now on arrays.

    >>> from graphc.frontend import metrics
    >>> mean = metrics.Mean()
    >>> record_metric(mean, np.array([1.0, 3.0]))
    >>> mean.result()
    2.0
    """
    step = current_step()
    if step is None or not hasattr(metric, "batch_statistics"):
        # Eager use, or a container of metrics (CompileMetrics) that records each member.
        metric.update_state(*args, sample_weight=sample_weight)
        return
    stats = metric.batch_statistics(*args, sample_weight=sample_weight)
    step.metric_records.append((metric, [unwrap_symbolic(s) for s in stats]))


@dataclass
class Step:
    """A traced (and usually compiled) step and the bookkeeping to call it."""

    graph: Graph
    function: Callable[..., Any]
    training: bool
    data_positions: list[int]
    state: list[Variable]
    assignments: list[tuple[int, int]]
    metric_outputs: list[tuple[Any, int, int]]
    log_values: list[tuple[str, int]]
    log_metrics: list[tuple[str, Any]]
    label_checks: list[tuple[int, int, int | None]]
    schedules: list[tuple[Any, int, int]] = field(default_factory=list)

    @property
    def metrics(self) -> list[Any]:
        """Every metric the step updates, each once."""
        seen: dict[int, Any] = {}
        for metric, _, _ in self.metric_outputs:
            seen.setdefault(id(metric), metric)
        return list(seen.values())


def _batch_placeholders(leaves: Sequence[np.ndarray | None]) -> list[Value | None]:
    return [
        None if a is None else placeholder((None, *a.shape[1:]), a.dtype, name=f"batch_{i}")
        for i, a in enumerate(leaves)
    ]


def _log_entries(logs: Any, who: str) -> list[tuple[str, Any]]:
    """The (name, Metric or Value) pairs a step returned; nested dicts are merged in, and a
    `metric.result()` stands for its metric."""
    if logs is None:
        return []
    if not isinstance(logs, dict):
        raise TypeError(f"{who} must return a dict of logs, got {type(logs).__name__}")
    entries: list[tuple[str, Any]] = []
    for name, value in logs.items():
        value = unwrap_symbolic(value)
        if hasattr(value, "named_metrics"):  # the compiled metrics' container
            value = value.named_metrics()
        if isinstance(value, StepResult):  # `metric.result()` called in the step
            value = value.metric
        if isinstance(value, dict):
            entries += _log_entries(value, who)
        elif hasattr(value, "batch_statistics") and hasattr(value, "result"):
            entries.append((name, value))
        elif isinstance(value, Value):
            if value.shape != ():
                raise ValueError(
                    f"{who} returned a non-scalar Value for log {name!r} ({value.type}); "
                    "reduce it to a scalar"
                )
            entries.append((name, value))
        else:
            raise TypeError(
                f"{who} returned {value!r} (a {type(value).__name__}) for log {name!r}. Inside "
                "the compiled step, return `metric.result()` or the Metric object itself (its "
                "result is read after each batch), or a scalar graph Value"
            )
    return entries


def trace_step(
    model: Any,
    structure: Any,
    leaves: Sequence[np.ndarray | None],
    training: bool,
    jit_compile: bool,
    optimizers: Sequence[Any] = (),
    threads: int = 1,
) -> Step:
    """Trace `model.train_step` / `model.test_step` for batches like `leaves` and compile it.

    Args:
        model: the model (its `train_step`/`test_step` receive the batch structure).
        structure: the `(x, y, sample_weight)` structure of the data, to pack placeholders.
        leaves: one batch, flat (None where a part is absent); only shapes and dtypes are used.
        training: train step (True) or test step (False).
        jit_compile: compile with `graphc.compile`; False runs the interpreter.
        optimizers: optimizers whose learning-rate schedule must be fed before each call.
        threads: threads the compiled step may use (`graphc.compile`'s `threads`).
    """
    holders = _batch_placeholders(leaves)
    data = tree.pack_sequence_as(structure, holders)
    seed = placeholder((), "int64", name="seed") if training else None
    who = f"{type(model).__name__}.{'train_step' if training else 'test_step'}"
    with StepTrace(training, seed, holders) as trace:
        logs = (model.train_step if training else model.test_step)(data)
    entries = _log_entries(logs, who)
    log_values = [(name, v) for name, v in entries if isinstance(v, Value)]
    log_metrics = [(name, m) for name, m in entries if not isinstance(m, Value)]
    outputs: list[Value] = [v for _, v in log_values]
    metric_outputs = []
    for metric, stats in trace.metric_records:
        metric_outputs.append((metric, len(outputs), len(outputs) + len(stats)))
        outputs += stats
    latest: dict[int, tuple[Variable, Value]] = {}
    for variable, value in trace.updates:
        latest[id(variable)] = (variable, value)
    update_start = len(outputs)
    outputs += [value for _, value in latest.values()]
    if not outputs:
        raise GraphError(f"{who} computes nothing: it returned no logs and updated nothing")
    state = variables_in(outputs)
    known = {id(v) for v in state}
    state += [v for v, _ in latest.values() if id(v) not in known]
    index = {id(v): i for i, v in enumerate(state)}
    inputs = [h for h in holders if h is not None] + ([seed] if seed is not None else [])
    graph = Graph(inputs + [v.symbol for v in state], outputs, name=who)
    # subnormals flushed to zero during the step, as XLA does (see graphc.backend.fpenv)
    function = (
        graphc.compile(graph, flush_denormals=True, threads=threads) if jit_compile else graph
    )
    schedules = [
        (opt, index[id(opt.learning_rate_variable)], index[id(opt.iterations_variable)])
        for opt in optimizers
        if opt.has_schedule and id(opt.learning_rate_variable) in index
    ]
    return Step(
        graph=graph,
        function=function,
        training=training,
        data_positions=[i for i, h in enumerate(holders) if h is not None],
        state=state,
        assignments=[(index[id(v)], update_start + k) for k, (v, _) in enumerate(latest.values())],
        metric_outputs=metric_outputs,
        log_values=[(name, k) for k, (name, _) in enumerate(log_values)],
        log_metrics=log_metrics,
        label_checks=trace.label_checks,
        schedules=schedules,
    )


class StepRunner:
    """Calls a step batch after batch, holding the state arrays in between.

    `load()` reads the Variables' current arrays (no copy); each call replaces the updated
    ones by the step's outputs; `store()` assigns them back to the Variables. Between `load`
    and `store` the Variables are stale: store before anything else reads them.

    A compiled step runs with subnormal floats flushed to zero, as Keras' XLA and TensorFlow
    kernels do (`graphc.compile(..., flush_denormals=True)`); the interpreter
    (`jit_compile=False`) computes them exactly.
    """

    def __init__(self, step: Step):
        self.step = step
        self.arrays: list[np.ndarray] = []
        self.dirty = False
        self.load()

    def load(self) -> None:
        self.arrays = [v.value for v in self.step.state]
        self.dirty = False

    def store(self) -> None:
        if self.dirty:
            for index, _ in self.step.assignments:
                self.step.state[index].assign(self.arrays[index])
            self.dirty = False

    def __call__(self, leaves: Sequence[np.ndarray | None], seed: int | None) -> list[Any]:
        """Run one batch; return the outputs (the logged Values come first)."""
        step = self.step
        arrays = self.arrays
        for optimizer, lr_index, iteration_index in step.schedules:
            arrays[lr_index] = np.array(
                optimizer.learning_rate_at(int(arrays[iteration_index])), np.float32
            )
        args = [leaves[i] for i in step.data_positions]
        if step.training:
            args.append(np.array(seed, np.int64))
        results = step.function(*args, *arrays)
        if not isinstance(results, list):
            results = [results]
        for state_index, output_index in step.assignments:
            arrays[state_index] = results[output_index]
        self.dirty = self.dirty or bool(step.assignments)
        for metric, lo, hi in step.metric_outputs:
            metric.accumulate(results[lo:hi])
        return results
