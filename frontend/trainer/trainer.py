"""`Trainer`: `compile`, `fit`, `evaluate`, `train_on_batch`, ... — the mixin `Model` inherits.

Keras 3's training API and semantics. What happens underneath:

- `compile` records the optimizer, loss and metrics (resolved on the first batch, when the
  shapes are known).
- The first `fit`/`evaluate`/`train_on_batch` for a data layout traces `train_step` (or
  `test_step`) into one graph — forward pass in training mode with a seed input for dropout,
  loss, reverse-mode gradient of the trained weights only, optimizer update, metric batch
  statistics — and compiles it to one native function (`step.trace_step`). It is reused for
  every batch and epoch; the last, smaller batch runs the same code (the batch size is a
  runtime argument).
- After each call the weights, BatchNormalization statistics and optimizer slots are the
  step's outputs (held by a `StepRunner`, written into the Variables at the end of each epoch,
  and before any callback hook that might read them).

Override `train_step(data)` / `test_step(data)` to customize a step; they are traced the same
way. Inside, use graph ops: `self(x, training=True)`, `self.compute_loss(...)`,
`gradients(loss, variables)` (graphc.frontend.trainer), `self.optimizer.apply(grads,
variables)`, `self.compute_metrics(...)` or `metric.update_state(...)` (which record the
metric's batch statistics in the step), and return a dict of `metric.result()`s or Metric
objects (their results are read after each batch) or scalar Values.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np

from graphc.errors import InputError
from graphc.frontend import losses as losses_module
from graphc.frontend import metrics as metrics_module
from graphc.frontend import optimizers
from graphc.frontend.backend import num_threads
from graphc.frontend.callbacks import Callback, CallbackList, History
from graphc.frontend.engine import tree
from graphc.frontend.engine.caches import structure_epoch
from graphc.frontend.engine.node import history_of
from graphc.frontend.trainer.compile_utils import (
    CompileLoss,
    CompileMetrics,
    batch_size_of,
)
from graphc.frontend.trainer.data import (
    ArrayData,
    IterableData,
    class_weight_to_sample_weight,
    make_data,
    split_validation,
    structure_key,
    unpack_x_y_sample_weight,
)
from graphc.frontend.trainer.gradients import gradients
from graphc.frontend.trainer.progbar import ProgbarLogger
from graphc.frontend.trainer.step import (
    Step,
    StepRunner,
    record_metric,
    trace_step,
)
from graphc.frontend.utils.random_seed import global_generator
from graphc.frontend.utils.serialization import serialize_keras_object
from graphc.primitives.cast import cast
from graphc.primitives.reduce import sum as reduce_sum


class _TrainerState:
    """What `compile` sets up, in one object (Layer's attribute tracking looks into lists and
    dicts for weights; it must not find the trainer's caches)."""

    def __init__(
        self,
        loss: Any,
        loss_weights: Any,
        metrics: Any,
        weighted_metrics: Any,
        jit_compile: bool,
        names_of: Any,
    ):
        self.jit_compile = jit_compile
        self.loss_tracker = metrics_module.Mean(name="loss")
        self.compile_loss = None if loss is None else CompileLoss(loss, loss_weights, names_of)
        self.compile_metrics = (
            CompileMetrics(metrics, weighted_metrics, loss, names_of)
            if metrics is not None or weighted_metrics is not None
            else None
        )
        self.trained_variables: list[Any] | None = None
        self.steps: dict[Any, Step] = {}
        self.seed: int | None = None


class _Hooks:
    """Which batch-level callback hooks someone other than the progress bar and History
    implements (calling them costs a log dict and a state write-back per batch)."""

    def __init__(self, callbacks: CallbackList, mode: str):
        names = {
            "train": (
                ("on_train_batch_begin", "on_batch_begin"),
                ("on_train_batch_end", "on_batch_end"),
            ),
            "test": (("on_test_batch_begin",), ("on_test_batch_end",)),
        }[mode]
        own = [c for c in callbacks.callbacks if not isinstance(c, (ProgbarLogger, History))]
        self.begin = any(_implements(c, name) for c in own for name in names[0])
        self.end = any(_implements(c, name) for c in own for name in names[1])
        self.progbar = next((c for c in callbacks.callbacks if isinstance(c, ProgbarLogger)), None)


def _implements(callback: Callback, name: str) -> bool:
    return name in vars(callback) or getattr(type(callback), name) is not getattr(Callback, name)


class Trainer:
    """Training methods for `Model` (a mixin: Model's constructor sets nothing up for it; all
    state comes from `compile`)."""

    compiled = False
    optimizer: Any = None
    loss: Any = None
    stop_training = False
    history: History | None = None
    _trainer_state: _TrainerState | None = None

    # --- compile -------------------------------------------------------------------------

    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        loss_weights: Any = None,
        metrics: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        jit_compile: bool = True,
    ) -> None:
        """Configure the model for training.

        Args:
            optimizer: an optimizer name ("adam", "sgd", "rmsprop", ...) or instance.
            loss: a loss name, function `f(y_true, y_pred)` in graph ops, or `Loss`; for
                multi-output models, a list (per output) or a dict by output name.
            loss_weights: a float, or a list/dict of floats weighting the outputs' losses.
            metrics: metric names, functions or `Metric`s (a list; per output, a list of lists
                or a dict); "accuracy" picks the right accuracy for the loss and shapes.
            weighted_metrics: metrics that take `sample_weight` / `class_weight` into account.
            run_eagerly: run the step in the interpreter instead of compiling it (debugging).
            jit_compile: compile the step to native code (default); False is `run_eagerly`.

        >>> from graphc.frontend import Sequential, layers
        >>> model = Sequential([layers.Input((4,)), layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        >>> model.optimizer.name, model.compiled
        ('SGD', True)
        """
        self.optimizer = optimizers.get(optimizer)
        if self.optimizer is None:
            raise ValueError("compile: an optimizer is required (got None)")
        self.loss = loss
        self._trainer_state = _TrainerState(
            loss,
            loss_weights,
            metrics,
            weighted_metrics,
            bool(jit_compile and not run_eagerly),
            self._output_names,
        )
        self._compile_config = {
            "optimizer": serialize_keras_object(self.optimizer),
            "loss": _serialize_spec(loss),
            "loss_weights": loss_weights,
            "metrics": _serialize_spec(metrics),
            "weighted_metrics": _serialize_spec(weighted_metrics),
            "run_eagerly": run_eagerly,
            "jit_compile": jit_compile,
        }
        self.compiled = True
        self.stop_training = False

    def get_compile_config(self) -> dict[str, Any]:
        """The `compile` arguments as JSON data ({} before compile)."""
        return dict(getattr(self, "_compile_config", {})) if self.compiled else {}

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Compile with the arguments `get_compile_config` returned."""
        config = dict(config)
        config["optimizer"] = optimizers.deserialize(config["optimizer"])
        for key in ("loss", "metrics", "weighted_metrics"):
            config[key] = _deserialize_spec(config.get(key))
        self.compile(**config)

    def _state(self, who: str) -> _TrainerState:
        if not self.compiled or self._trainer_state is None:
            raise ValueError(f"You must call `compile()` before calling `{who}()`.")
        return self._trainer_state

    # --- metrics -------------------------------------------------------------------------

    @property
    def metrics(self) -> list[Any]:
        """The loss tracker, the compiled metrics (one container), the per-output loss
        trackers, then Metric objects assigned as attributes of the model, as Keras lists
        them."""
        found: list[Any] = []
        state = self._trainer_state
        if self.compiled and state is not None:
            found.append(state.loss_tracker)
            if state.compile_metrics is not None:
                found.append(state.compile_metrics)
            if state.compile_loss is not None:
                found += state.compile_loss.metrics
        for value in vars(self).values():
            items = value if isinstance(value, (list, tuple)) else [value]
            found += [m for m in items if isinstance(m, metrics_module.Metric)]
        return found

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        """Zero every metric's state (done at the start of each epoch and evaluation)."""
        for metric in self.metrics:
            metric.reset_state()

    def get_metrics_result(self) -> dict[str, Any]:
        """The metrics' results by log name (the compiled metrics' dict merged in), as Keras.
        Inside a traced step, `StepResult` stand-ins (the trainer reads the results after each
        batch)."""
        results: dict[str, Any] = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, dict):
                results.update(result)
            else:
                results[metric.name] = result
        return results

    # --- the step's building blocks ------------------------------------------------------

    def _output_names(self, y_pred: Any) -> list[str]:
        """The outputs' names: dict keys, else the model's `output_names` (the output layers'
        names unless the user renamed them, as Keras allows), else output_0, output_1, ..."""
        flat = tree.flatten(y_pred)
        if isinstance(y_pred, dict) and len(y_pred) == len(flat):
            return sorted(y_pred)
        given = getattr(self, "output_names", None)  # functional models have it
        if isinstance(given, (list, tuple)) and len(given) == len(flat):
            names = [str(name) for name in given]
        else:
            names = self._output_layer_names(len(flat))
        seen: dict[str, int] = {}
        unique = []
        for name in names:
            count = seen.get(name, 0)
            seen[name] = count + 1
            unique.append(name if count == 0 else f"{name}_{count}")
        return unique

    def _output_layer_names(self, count: int) -> list[str]:
        """The names of the layers giving the model's `count` outputs (Sequential and
        subclassed models), else output, or output_0, output_1, ..."""
        try:
            outputs = list(self.outputs)
        except AttributeError:
            outputs = []
        histories = [history_of(v) for v in outputs]
        if len(outputs) == count and all(h is not None for h in histories):
            return [h.layer.name for h in histories]
        return ["output"] if count == 1 else [f"output_{i}" for i in range(count)]

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        """The total loss: the compiled loss plus the model's regularization and `add_loss`
        terms (`self.losses`), as a scalar graph Value inside a step.

        Override it for a custom loss; it is called by the default train and test steps.
        """
        state = self._state("compute_loss")
        terms = []
        if state.compile_loss is not None:
            value = state.compile_loss(y, y_pred, sample_weight)
            if value is not None:
                terms.append(value)
        terms += [reduce_sum(cast(extra, "float32")) for extra in self.losses]
        if not terms:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total

    def _compute_loss(self, x: Any, y: Any, y_pred: Any, sample_weight: Any, training: bool) -> Any:
        """`compute_loss`, also for overrides written without the `training` argument."""
        if "training" in inspect.signature(self.compute_loss).parameters:
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    def compute_metrics(
        self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None
    ) -> dict[str, Any]:
        """Update the compiled metrics with this batch and return `get_metrics_result()`."""
        state = self._state("compute_metrics")
        if state.compile_metrics is not None and y is not None:
            state.compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def _trained_variables(self) -> list[Any]:
        """The variables the optimizer updates: the model's trainable weights when the first
        training step after `compile` was built (freezing a layer later takes effect at the
        next `compile`, as in Keras)."""
        state = self._state("fit")
        if state.trained_variables is None:
            state.trained_variables = list(self.trainable_weights)
        return state.trained_variables

    def train_step(self, data: Any) -> dict[str, Any]:
        """One training step on a batch `(x, y, sample_weight)` of graph Values: forward pass
        in training mode, loss, gradients of the trained weights, optimizer update, metrics.
        """
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=True)
        loss = self._compute_loss(x, y, y_pred, sample_weight, training=True)
        state = self._state("train_step")
        record_metric(state.loss_tracker, loss, sample_weight=batch_size_of(tree.flatten(x)[0]))
        variables = self._trained_variables()
        if variables:
            self.optimizer.apply(gradients(loss, variables), variables)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data: Any) -> dict[str, Any]:
        """One evaluation step: forward pass in inference mode, loss and metrics."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self._compute_loss(x, y, y_pred, sample_weight, training=False)
        state = self._state("test_step")
        record_metric(state.loss_tracker, loss, sample_weight=batch_size_of(tree.flatten(x)[0]))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    # --- steps and runners ---------------------------------------------------------------

    def _step_runner(self, data: ArrayData | IterableData, training: bool, who: str) -> StepRunner:
        """A runner for the (cached) step matching the data's layout."""
        state = self._state(who)
        try:
            leaves = data.first_batch()
        except StopIteration:
            raise ValueError(f"{who}: the data yields no batches") from None
        if not self.built:
            x = unpack_x_y_sample_weight(tree.pack_sequence_as(data.structure, leaves))[0]
            self._build_from_data(x)
        threads = num_threads()
        key = (
            training,
            threads,
            structure_epoch(),
            structure_key(data.structure),
            tuple(None if a is None else (a.shape[1:], a.dtype.str) for a in leaves),
        )
        step = state.steps.get(key)
        if step is None:
            if training:
                variables = self._trained_variables()
                if not self.optimizer.built:
                    self.optimizer.build(variables)
            step = trace_step(
                self,
                data.structure,
                leaves,
                training,
                state.jit_compile,
                self._optimizers(),
                threads,
            )
            state.steps[key] = step
        if isinstance(data, ArrayData):
            _check_labels(step, data.leaves)
        return StepRunner(step)

    def _optimizers(self) -> list[Any]:
        """The optimizers a step may update (the compiled one and optimizer attributes)."""
        found = [self.optimizer] if self.optimizer is not None else []
        for value in vars(self).values():
            if isinstance(value, optimizers.Optimizer) and all(value is not o for o in found):
                found.append(value)
        return found

    def _next_seed(self) -> int:
        """The seed input of the next training step: a stream started from the frontend's
        generator (reproducible after `utils.set_random_seed`)."""
        state = self._trainer_state
        if state.seed is None:
            state.seed = int(global_generator().integers(0, 2**62))
        state.seed += 1
        return state.seed

    def _logs(self, step: Step, results: list[Any] | None) -> dict[str, Any]:
        """The step's logs after a batch, by name in sorted order (as Keras shows them)."""
        logs = {name: metric.result() for name, metric in step.log_metrics}
        if results is not None:
            for name, index in step.log_values:
                logs[name] = float(results[index])
        return dict(sorted(logs.items()))

    def _callbacks(self, callbacks: Any, verbose: Any, add_history: bool, **params: Any):
        if isinstance(callbacks, CallbackList):
            return callbacks
        verbose = 1 if verbose == "auto" else verbose
        callback_list = CallbackList(
            callbacks, add_history=add_history, model=self, verbose=verbose, **params
        )
        if verbose:
            progbar = ProgbarLogger()
            progbar.set_model(self)
            progbar.set_params(callback_list.params)
            callback_list.callbacks.insert(0, progbar)
        return callback_list

    def _run_batches(
        self,
        runner: StepRunner,
        data: ArrayData | IterableData,
        callbacks: CallbackList,
        mode: str,
    ) -> list[Any] | None:
        """One pass over the data; returns the last batch's outputs."""
        hooks = _Hooks(callbacks, mode)
        step = runner.step
        checks = step.label_checks if isinstance(data, IterableData) else ()
        training = mode == "train"
        begin = callbacks.on_train_batch_begin if training else callbacks.on_test_batch_begin
        end = callbacks.on_train_batch_end if training else callbacks.on_test_batch_end
        results = None
        for index, batch in enumerate(data.epoch()):
            if hooks.begin:
                runner.store()
                begin(index)
                runner.load()
            for leaf, classes, ignore in checks:
                losses_module.check_sparse_labels(batch[leaf], classes, ignore)
            results = runner(batch, self._next_seed() if training else None)
            if hooks.end:
                runner.store()
                end(index, self._logs(step, results))
                runner.load()
            elif hooks.progbar is not None and hooks.progbar.due():
                progress = (
                    hooks.progbar.on_train_batch_end
                    if training
                    else (hooks.progbar.on_test_batch_end)
                )
                progress(index, self._logs(step, results))
            if training and self.stop_training:
                break
        return results

    def _reset_step_metrics(self, step: Step) -> None:
        self.reset_metrics()
        for metric in step.metrics:
            metric.reset_state()

    # --- fit -----------------------------------------------------------------------------

    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Any = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: dict[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int | list[int] = 1,
    ) -> History:
        """Train the model for `epochs` passes over the data; return the `History`.

        Args:
            x: input arrays (a list or dict for several inputs), a dataset yielding
                `(x, y[, sample_weight])` batches, or a generator (with `steps_per_epoch`).
            y: target arrays (a list or dict for several outputs); None with datasets.
            batch_size: samples per step (default 32); not with datasets.
            epochs: the index of the last epoch (training starts at `initial_epoch`).
            verbose: "auto"/1 progress bar, 2 one line per epoch, 0 silent.
            callbacks: Callback objects (History is always added).
            validation_split: the fraction of the array data (taken from the end, before
                shuffling) held out for validation.
            validation_data: `(x_val, y_val[, sample_weight])` or a dataset, evaluated at the
                end of each epoch; overrides `validation_split`.
            shuffle: reshuffle array data every epoch.
            class_weight: {class index: weight}, multiplied into the sample weights.
            sample_weight: per-sample loss weights (arrays only).
            initial_epoch: the epoch to start at (to resume training).
            steps_per_epoch: batches per epoch (required for endless generators).
            validation_steps: batches per validation (default: all).
            validation_batch_size: batch size for validation (default: `batch_size`).
            validation_freq: validate every this many epochs, or at the listed epochs.

        Returns:
            The History callback: `history.history` maps each logged name to its per-epoch
            values.
        """
        self._state("fit")
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = split_validation(
                x, y, sample_weight, validation_split
            )
        if class_weight is not None:
            sample_weight = _with_class_weight(x, y, sample_weight, class_weight)
        data = make_data(x, y, sample_weight, batch_size, steps_per_epoch, shuffle, "fit")
        validation = None
        if validation_data is not None:
            validation = self._validation_source(
                validation_data, validation_batch_size or batch_size, validation_steps
            )
        runner = self._step_runner(data, training=True, who="fit")
        if validation is not None:
            self._step_runner(validation, training=False, who="fit")  # compile before epoch 1
        callbacks = self._callbacks(
            callbacks, verbose, add_history=True, epochs=epochs, steps=data.num_batches
        )
        self.stop_training = False
        callbacks.on_train_begin()
        logs: dict[str, Any] = {}
        for epoch in range(initial_epoch, epochs):
            self._reset_step_metrics(runner.step)
            callbacks.on_epoch_begin(epoch)
            runner.load()
            results = self._run_batches(runner, data, callbacks, "train")
            runner.store()
            if results is None:
                _warn_out_of_data(steps_per_epoch, epochs)
                break
            logs = self._logs(runner.step, results)
            if validation is not None and _should_validate(epoch, validation_freq):
                val_logs = self._test_loop(validation, callbacks, "fit")
                logs.update({f"val_{name}": value for name, value in val_logs.items()})
            callbacks.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callbacks.on_train_end(logs)
        return self.history

    def _validation_source(self, validation_data: Any, batch_size: Any, steps: Any) -> Any:
        if isinstance(validation_data, (tuple, list)):
            val_x, val_y, val_weight = unpack_x_y_sample_weight(validation_data)
            return make_data(val_x, val_y, val_weight, batch_size, steps, False, "fit")
        return make_data(validation_data, None, None, None, steps, False, "fit")

    def _test_loop(self, data: Any, callbacks: CallbackList, who: str) -> dict[str, Any]:
        runner = self._step_runner(data, training=False, who=who)
        self._reset_step_metrics(runner.step)
        callbacks.on_test_begin()
        results = self._run_batches(runner, data, callbacks, "test")
        if results is None:
            raise ValueError(f"{who}: the evaluation data yields no batches")
        logs = self._logs(runner.step, results)
        callbacks.on_test_end(logs)
        return logs

    # --- evaluate and single batches -----------------------------------------------------

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: Any = None,
        return_dict: bool = False,
    ) -> Any:
        """The loss and metrics on the given data, in inference mode.

        Returns:
            A float when the model has only a loss, else a list in `metrics_names` order (the
            compiled metrics in compile order), or a dict with `return_dict=True`.
        """
        self._state("evaluate")
        data = make_data(x, y, sample_weight, batch_size, steps, False, "evaluate")
        callback_list = self._callbacks(
            callbacks, verbose, add_history=False, epochs=1, steps=data.num_batches
        )
        logs = self._test_loop(data, callback_list, "evaluate")
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def _flatten_metrics_in_order(self, logs: dict[str, Any]) -> Any:
        names: list[str] = []
        for metric in self.metrics:
            if isinstance(metric, CompileMetrics):
                names += [m.name for m in metric.metrics]
            else:
                names.append(metric.name)
        results = [logs[name] for name in names if name in logs]
        results += [logs[key] for key in sorted(logs) if key not in names]
        return results[0] if len(results) == 1 else results

    def _single_batch(self, x: Any, y: Any, sample_weight: Any, training: bool, who: str):
        data = ArrayData(x, y, sample_weight, who=who)
        data.batch_size, data.num_batches = data.num_samples, 1
        runner = self._step_runner(data, training=training, who=who)
        results = runner(data.first_batch(), self._next_seed() if training else None)
        runner.store()
        return runner.step, results

    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: dict[int, float] | None = None,
        return_dict: bool = False,
    ) -> Any:
        """One gradient update on one batch; metrics keep accumulating across calls (reset
        them with `reset_metrics`).

        Returns:
            The loss (a float) when there are no metrics, else a list of floats in
            `metrics_names` order, or a dict with `return_dict=True` (as Keras 3).
        """
        self._state("train_on_batch")
        if class_weight is not None:
            sample_weight = _with_class_weight(x, y, sample_weight, class_weight)
        step, results = self._single_batch(x, y, sample_weight, True, "train_on_batch")
        return self._batch_result(step, results, return_dict)

    def test_on_batch(
        self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False
    ) -> Any:
        """The loss and metrics on one batch, in inference mode (as `train_on_batch`)."""
        self._state("test_on_batch")
        step, results = self._single_batch(x, y, sample_weight, False, "test_on_batch")
        return self._batch_result(step, results, return_dict)

    def _batch_result(self, step: Step, results: list[Any], return_dict: bool) -> Any:
        logs = {k: float(v) for k, v in self._logs(step, results).items()}  # Keras 3 pythonifies
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def predict_on_batch(self, x: Any) -> Any:
        """The model's outputs for one batch of inputs (numpy arrays)."""
        leaves = tree.flatten(x)
        samples = len(np.asarray(leaves[0])) if leaves else 0
        return self.predict(x, batch_size=max(samples, 1), verbose=0)


def _check_labels(step: Step, leaves: list[Any]) -> None:
    for leaf, classes, ignore in step.label_checks:
        losses_module.check_sparse_labels(leaves[leaf], classes, ignore)


def _with_class_weight(x: Any, y: Any, sample_weight: Any, class_weight: dict) -> Any:
    """Sample weights with the class weights of each sample's label multiplied in."""
    if y is None or tree.is_nested(y) or not hasattr(y, "__len__"):
        raise ValueError(
            "`class_weight` is only supported for a single output given as an array of labels "
            "(for datasets, put the weights in the batches as sample weights)"
        )
    weights = class_weight_to_sample_weight(y, class_weight)
    if sample_weight is None:
        return weights
    sample_weight = np.asarray(sample_weight, np.float32)
    if len(sample_weight) != len(weights):
        raise InputError(
            f"sample_weight has {len(sample_weight)} entries but y has {len(weights)} samples"
        )
    return sample_weight * weights.reshape((-1,) + (1,) * (sample_weight.ndim - 1))


def _should_validate(epoch: int, frequency: int | list[int]) -> bool:
    if isinstance(frequency, int):
        return (epoch + 1) % frequency == 0
    if isinstance(frequency, (list, tuple)):
        return epoch + 1 in frequency
    raise ValueError(
        f"Expected `validation_freq` to be a list or int. Received: validation_freq={frequency}"
    )


def _warn_out_of_data(steps_per_epoch: Any, epochs: int) -> None:
    warnings.warn(
        "Your input ran out of data; interrupting training. Make sure that your dataset or "
        f"generator can generate at least `steps_per_epoch * epochs` batches (here "
        f"{steps_per_epoch} * {epochs}).",
        stacklevel=3,
    )


def _serialize_spec(spec: Any) -> Any:
    if spec is None or isinstance(spec, (str, int, float, bool)):
        return spec
    if isinstance(spec, dict):
        return {k: _serialize_spec(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_serialize_spec(v) for v in spec]
    return serialize_keras_object(spec)


def _deserialize_spec(spec: Any) -> Any:
    if isinstance(spec, dict) and "class_name" in spec:
        for module in (losses_module, metrics_module):
            try:
                return module.deserialize(spec)
            except ValueError:
                continue
        raise ValueError(f"compile_from_config: cannot deserialize {spec!r}")
    if isinstance(spec, dict):
        return {k: _deserialize_spec(v) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_deserialize_spec(v) for v in spec]
    return spec
