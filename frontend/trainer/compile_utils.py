"""What `compile(loss=..., metrics=...)` turns into: per-output losses and metrics, as Keras 3.

`CompileLoss` and `CompileMetrics` are resolved lazily, on the first batch, because the
string shortcuts ("accuracy", "crossentropy") depend on the shapes of the targets and the
predictions. Both work on graph Values inside a traced step: losses return a scalar Value,
metrics record their batch statistics in the step (`step.record_metric`).

Multi-output models: a single loss applies to every output; a list gives one per output; a
dict maps output names to losses (outputs missing from it get none). With several losses, each
output's unweighted loss is also tracked as "<output>_loss". Metrics of a multi-output model
are given per output (a list of lists, or a dict by output name) and logged as
"<output>_<metric>".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graphc.core import Value, unwrap_symbolic
from graphc.frontend import losses as losses_module
from graphc.frontend import metrics as metrics_module
from graphc.frontend.engine import tree
from graphc.frontend.trainer.step import current_step, record_metric
from graphc.primitives.cast import cast
from graphc.primitives.shape import dim_size


def align_to_outputs(
    values: Any, output_names: Sequence[str], what: str, broadcast: bool = False
) -> list[Any]:
    """Targets (or sample weights) as one entry per model output (None where absent).

    A dict is read by output name; a list or tuple must have one entry per output; a single
    value serves a single-output model (or, with `broadcast`, every output).

    >>> align_to_outputs({"b": 2}, ["a", "b"], "y")
    [None, 2]
    """
    count = len(output_names)
    if values is None:
        return [None] * count
    if isinstance(values, dict):
        unknown = sorted(set(values) - set(output_names))
        if unknown:
            raise ValueError(
                f"{what}: keys {unknown} do not name model outputs; the outputs are "
                f"{list(output_names)}"
            )
        return [values.get(name) for name in output_names]
    if isinstance(values, (list, tuple)) and count > 1:
        flat = list(values)
        if len(flat) != count:
            raise ValueError(
                f"{what}: the model has {count} outputs ({', '.join(output_names)}), got a "
                f"list of {len(flat)}"
            )
        return flat
    if isinstance(values, (list, tuple)) and len(values) == 1:
        values = values[0]
    if count == 1 or broadcast:
        return [values] * count
    raise ValueError(
        f"{what}: the model has {count} outputs ({', '.join(output_names)}); give a list or a "
        f"dict with one entry per output"
    )


def _per_output(spec: Any, output_names: Sequence[str], what: str) -> list[Any]:
    """A loss/metric/weight spec as one entry per output (dict by name, list by position,
    anything else shared by all outputs)."""
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - set(output_names))
        if unknown:
            raise ValueError(
                f"In the dict argument `{what}`, keys {unknown} do not correspond to any model "
                f"output; the outputs are {list(output_names)}"
            )
        return [spec.get(name) for name in output_names]
    if isinstance(spec, (list, tuple)) and len(output_names) > 1:
        if len(spec) != len(output_names):
            raise ValueError(
                f"For a model with multiple outputs, when providing the `{what}` argument as a "
                f"list, it should have as many entries as the model has outputs. Received "
                f"{what}={spec} of length {len(spec)} whereas the model has "
                f"{len(output_names)} outputs."
            )
        return list(spec)
    return [spec] * len(output_names)


def _is_sparse_crossentropy(loss: Any) -> bool:
    return getattr(loss, "fn", None) is losses_module.sparse_categorical_crossentropy


def resolve_loss(identifier: Any, y_true: Value, y_pred: Value) -> losses_module.Loss:
    """A Loss from a compile() identifier; "crossentropy"/"ce" pick binary, sparse or
    categorical cross-entropy from the shapes, as Keras does."""
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        kind = type(metrics_module.resolve_accuracy(None, y_true.shape, y_pred.shape))
        fn = {
            metrics_module.BinaryAccuracy: losses_module.binary_crossentropy,
            metrics_module.SparseCategoricalAccuracy: (
                losses_module.sparse_categorical_crossentropy
            ),
        }.get(kind, losses_module.categorical_crossentropy)
        return losses_module.LossFunctionWrapper(fn, name=identifier)
    return losses_module.get(identifier)


class CompileLoss:
    """The total loss of `compile(loss=..., loss_weights=...)` for a model's outputs.

    Built on the first call, when the predictions show how many outputs there are.

    Args:
        loss: a loss identifier, or a list/dict of them (see the module docstring).
        loss_weights: None, a float (single output), or a list/dict of floats.
        names_of: gives the output names (flattened order) from the predictions.
    """

    def __init__(self, loss: Any, loss_weights: Any, names_of: Callable[[Any], list[str]]):
        if loss_weights is not None and (
            isinstance(loss_weights, bool)
            or not isinstance(loss_weights, (list, tuple, dict, float, int))
        ):
            raise ValueError(
                "Expected `loss_weights` argument to be a float (single output case) or a "
                "list, tuple, or dict (multiple output case). Received instead: "
                f"loss_weights={loss_weights} of type {type(loss_weights)}"
            )
        self._loss = loss
        self._loss_weights = loss_weights
        self._names_of = names_of
        self.output_names: list[str] = []
        self._resolved: list[losses_module.Loss | None] | None = None
        self._weights: list[Any] = []
        self.metrics: list[metrics_module.Metric] = []

    @property
    def built(self) -> bool:
        return self._resolved is not None

    def _build(self, y_true: Any, y_pred: Any, predictions: list[Value]) -> None:
        self.output_names = self._names_of(y_pred)
        targets = align_to_outputs(y_true, self.output_names, "y")
        identifiers = _per_output(self._loss, self.output_names, "loss")
        self._weights = _per_output(self._loss_weights, self.output_names, "loss_weights")
        self._resolved = [
            None if identifier is None else resolve_loss(identifier, yt, yp)
            for identifier, yt, yp in zip(identifiers, targets, predictions)
        ]
        if sum(loss is not None for loss in self._resolved) > 1:
            self.metrics = [
                metrics_module.Mean(name=f"{name}_loss")
                for name, loss in zip(self.output_names, self._resolved)
                if loss is not None
            ]

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Value | None:
        """The weighted sum of the outputs' losses (None if no output has a loss)."""
        predictions = [unwrap_symbolic(v) for v in tree.flatten(y_pred)]
        if not self.built:
            self._build(y_true, y_pred, predictions)
        targets = align_to_outputs(y_true, self.output_names, "y")
        weights = align_to_outputs(sample_weight, self.output_names, "sample_weight", True)
        trackers = iter(self.metrics)
        total = None
        for index, (loss, yt, yp, sw, factor) in enumerate(
            zip(self._resolved, targets, predictions, weights, self._weights)
        ):
            if loss is None:
                continue
            if yt is None:
                raise ValueError(
                    f"compute_loss: output {self.output_names[index]!r} has a loss but no "
                    "target was given for it"
                )
            step = current_step()
            if step is not None and _is_sparse_crossentropy(loss):
                step.check_labels(yt, yp.shape[-1], getattr(loss, "ignore_class", None))
            value = cast(loss(yt, yp, sw), "float32")
            if self.metrics:
                record_metric(next(trackers), value, sample_weight=batch_size_of(yp))
            if factor is not None:
                value = value * float(factor)
            total = value if total is None else total + value
        return total


def batch_size_of(value: Any) -> Any:
    """The batch size of a Value as a float32 scalar Value (of an array, as an int)."""
    value = unwrap_symbolic(value)
    if isinstance(value, Value):
        return cast(dim_size(value, 0), "float32")
    return len(value)


class _OutputMetrics:
    """The metrics of one output: built from identifiers on the first batch."""

    def __init__(self, identifiers: list[Any], output_name: str | None, weighted: bool):
        self.identifiers = identifiers
        self.output_name = output_name
        self.weighted = weighted
        self.metrics: list[metrics_module.Metric] = []


class CompileMetrics:
    """The metrics of `compile(metrics=..., weighted_metrics=...)`, a container as Keras'
    `CompileMetrics` (its `metrics` list holds the Metric objects; empty until the first
    batch, which resolves names such as "accuracy" from the shapes).

    Args:
        metrics: identifiers (names, functions, Metric objects, classes); a list for a
            single-output model, a list of lists or a dict by output name otherwise.
        weighted_metrics: the same, for metrics weighted by sample weights.
        loss: the compile loss spec, for resolving "accuracy".
        names_of: gives the output names (flattened order) from the predictions.
    """

    name = "compile_metrics"

    def __init__(
        self,
        metrics: Any,
        weighted_metrics: Any,
        loss: Any,
        names_of: Callable[[Any], list[str]],
    ):
        for spec, what in ((metrics, "metrics"), (weighted_metrics, "weighted_metrics")):
            if spec and not isinstance(spec, (list, tuple, dict)):
                raise ValueError(
                    f"Expected `{what}` argument to be a list, tuple, or dict. Received "
                    f"instead: {what}={spec} of type {type(spec)}"
                )
        self._specs = ((metrics, False), (weighted_metrics, True))
        self._loss = loss
        self._names_of = names_of
        self.output_names: list[str] = []
        self._groups: list[_OutputMetrics | None] = []
        self.built = False

    def _groups_for(self, spec: Any, weighted: bool) -> list[_OutputMetrics | None]:
        what = "weighted_metrics" if weighted else "metrics"
        if not spec:
            return [None] * len(self.output_names)
        if len(self.output_names) == 1:
            items = tree.flatten(spec) if isinstance(spec, dict) else list(spec)
            return [_OutputMetrics([m for m in items if m is not None], None, weighted)]
        groups: list[_OutputMetrics | None] = []
        for name, entry in zip(self.output_names, _per_output(spec, self.output_names, what)):
            if entry is None:
                groups.append(None)
                continue
            items = entry if isinstance(entry, (list, tuple)) else [entry]
            groups.append(_OutputMetrics([m for m in items if m is not None], name, weighted))
        return groups

    def _build(self, y_true: Any, y_pred: Any, predictions: list[Value]) -> None:
        self.output_names = self._names_of(y_pred)
        self._groups = [g for spec, w in self._specs for g in self._groups_for(spec, w)]
        targets = align_to_outputs(y_true, self.output_names, "y")
        losses = _per_output(self._loss, self.output_names, "loss") if self._loss else None
        for index, group in enumerate(self._groups):
            if group is None:
                continue
            output = index % len(self.output_names)
            loss = losses[output] if losses else None
            group.metrics = [
                _resolve_metric(m, loss, targets[output], predictions[output])
                for m in group.identifiers
            ]
        self.built = True

    @property
    def metrics(self) -> list[metrics_module.Metric]:
        """The Metric objects (empty until the first batch)."""
        return [m for group in self._groups if group is not None for m in group.metrics]

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Record every metric's statistics for this batch (in the step being traced)."""
        predictions = [unwrap_symbolic(v) for v in tree.flatten(y_pred)]
        if not self.built:
            self._build(y_true, y_pred, predictions)
        targets = align_to_outputs(y_true, self.output_names, "y")
        weights = align_to_outputs(sample_weight, self.output_names, "sample_weight", True)
        for index, group in enumerate(self._groups):
            if group is None:
                continue
            output = index % len(self.output_names)
            if targets[output] is None:
                continue
            weight = weights[output] if group.weighted else None
            for metric in group.metrics:
                record_metric(metric, targets[output], predictions[output], sample_weight=weight)

    def named_metrics(self) -> dict[str, metrics_module.Metric]:
        """The metrics by their log names: "<output>_<name>" for multi-output models, and a
        weighted metric clashing with an unweighted one becomes "weighted_<name>"."""
        named: dict[str, metrics_module.Metric] = {}
        for group in self._groups:
            if group is None:
                continue
            for metric in group.metrics:
                base = metric.name
                if group.weighted and _prefixed(group, base) in named:
                    base = f"weighted_{base}"
                name = _prefixed(group, base)
                if name in named:
                    suffix = 1
                    while f"{name}_{suffix}" in named:
                        suffix += 1
                    name = f"{name}_{suffix}"
                named[name] = metric
        return named

    def result(self) -> dict[str, Any]:
        return {name: metric.result() for name, metric in self.named_metrics().items()}

    def reset_state(self) -> None:
        for metric in self.metrics:
            metric.reset_state()


def _prefixed(group: _OutputMetrics, name: str) -> str:
    return f"{group.output_name}_{name}" if group.output_name else name


def _resolve_metric(identifier: Any, loss: Any, y_true: Any, y_pred: Value) -> Any:
    """A Metric from a compile() identifier, named as Keras names it in the logs."""
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        return metrics_module.resolve_accuracy(
            loss, _shape_of(y_true), y_pred.shape, name=identifier
        )
    return metrics_module.get(identifier)


def _shape_of(value: Any) -> tuple:
    value = unwrap_symbolic(value)
    return tuple(value.shape)
