"""`Optimizer`: Keras' optimizer base class, with updates written as graph ops.

An optimizer's update rule is a function of graph Values, so the same code runs in two places:

- inside the compiled training step: `fit` traces `train_step`, where `apply_gradients` gets
  symbolic gradients and records the new weights and slots as updates of the active
  `TraceContext`; the step graph returns them and the trainer stores them after each call;
- eagerly, when `apply_gradients` gets numpy gradients (a hand-written loop): the update
  graph is evaluated with the interpreter and the Variables are assigned.

All state is made of frontend `Variable`s, so inside a step graph each one is an input (its
symbol) and its new value an output: the iteration count (int64), the learning rate (float32),
and the slots (momentums, ...). `variables` lists their numbers, in Keras' order: iteration,
learning rate (absent when the rate is a schedule), then the slots, slot kind by slot kind in
the order each optimizer creates them, one per trained variable in `build` order (then
optimizer-wide slots such as Nadam's `u_product`).

Per step, as Keras 3's `apply`: gradients are clipped (`clipnorm` per variable, or
`global_clipnorm`, or `clipvalue`), decoupled weight decay shrinks the variables
(`w -= w * weight_decay * lr`), `update_step` applies the rule, constraints project the
result, and the iteration count goes up by one.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from graphc.core import Value, placeholder, unwrap_symbolic
from graphc.frontend.engine.trace import current_context
from graphc.frontend.optimizers import schedules
from graphc.frontend.variables import Variable, variables_in
from graphc.graph import Graph
from graphc.primitives.cast import cast
from graphc.primitives.compare import where
from graphc.primitives.elementwise import maximum, minimum, sqrt
from graphc.primitives.reduce import sum as reduce_sum


class SlotState:
    """The slots of one variable during one update, for `update_step`.

    `slots["momentum"]` reads the slot's value (its new value once set), `slots["momentum"] =
    new` sets it. `step` is the 1-based step number (iterations + 1) in the variable's dtype,
    and `shared` holds optimizer-wide values computed once per step (Nadam's `u_product`).
    """

    def __init__(self, values: dict[str, Value], step: Value, shared: dict[str, Value]):
        self._values = dict(values)
        self.step = step
        self.shared = shared
        self.updated: dict[str, Value] = {}

    def __getitem__(self, name: str) -> Value:
        return self.updated.get(name, self._values[name])

    def __setitem__(self, name: str, value: Value) -> None:
        if name not in self._values:
            raise KeyError(f"no slot {name!r}; slots are {sorted(self._values)}")
        self.updated[name] = value


class Optimizer:
    """Base class of optimizers: hyperparameters, state, clipping and weight decay.

    Subclasses create their slots in `build` with `add_optimizer_variables` and define
    `update_step(gradient, variable, learning_rate, slots) -> new variable`, written in graph
    ops (see `SlotState`).

    Args:
        learning_rate: a float, a `schedules.LearningRateSchedule` (called with the iteration
            count before each step), or a callable without arguments returning the rate.
        weight_decay: if set, decoupled weight decay `w -= w * weight_decay * lr` each step.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient element to [-clipvalue, clipvalue].
        global_clipnorm: clip all gradients together to this global L2 norm.
        name: the optimizer's name, the prefix of its variables' names.

    >>> from graphc.frontend import optimizers
    >>> from graphc.frontend.variables import Variable
    >>> w = Variable(np.array([1.0, 2.0], np.float32), name="w")
    >>> sgd = optimizers.SGD(learning_rate=0.5)
    >>> sgd.apply_gradients([(np.array([1.0, -1.0], np.float32), w)])
    >>> w.numpy().tolist(), sgd.iterations
    ([0.5, 2.5], 1)
    """

    def __init__(
        self,
        learning_rate: Any,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        if kwargs.pop("decay", None) is not None:
            warnings.warn(
                "Argument `decay` is no longer supported and will be ignored.", stacklevel=2
            )
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        clip_args = [clipnorm, clipvalue, global_clipnorm]
        if sum(a is not None for a in clip_args) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}"
            )
        self.name = name or _snake(type(self).__name__)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.built = False
        self._variables: list[Variable] = []
        self._trainable_variables: list[Variable] = []
        self._slots: dict[str, list[Variable]] = {}
        self._shared: dict[str, Variable] = {}
        self._index: dict[int, int] = {}
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: re.Pattern[str] | None = None
        self._eager_updates: dict[Any, tuple[Graph, list[Variable], list[Variable]]] = {}
        self._iterations = Variable(np.int64(0), name=f"{self.name}/iteration", trainable=False)
        self._variables.append(self._iterations)
        self._learning_rate_variable = Variable(
            np.float32(0.0), name=f"{self.name}/learning_rate", trainable=False
        )
        self._learning_rate: Any = None
        self._set_learning_rate(learning_rate, initial=True)

    # --- learning rate and iterations --------------------------------------------------------

    @property
    def iterations(self) -> int:
        """The number of steps applied so far."""
        return int(self._iterations.value)

    @property
    def iterations_variable(self) -> Variable:
        """The int64 Variable holding `iterations` (a training step's input and output)."""
        return self._iterations

    @property
    def learning_rate_variable(self) -> Variable:
        """The float32 Variable a step reads the learning rate from. With a schedule, the
        trainer sets it to `learning_rate_at(iterations)` before each step."""
        return self._learning_rate_variable

    @property
    def learning_rate(self) -> float:
        """The current learning rate. Settable to a float (not when the optimizer was created
        with a schedule, as in Keras) or to a new schedule."""
        return self.learning_rate_at(self.iterations)

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self._set_learning_rate(value, initial=False)

    @property
    def has_schedule(self) -> bool:
        """True when the learning rate is a schedule or callable rather than a float."""
        return self._learning_rate is not self._learning_rate_variable

    def learning_rate_at(self, iterations: int) -> float:
        """The learning rate for the step after `iterations` steps."""
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            return float(self._learning_rate(iterations))
        if self.has_schedule:
            return float(self._learning_rate())
        return float(self._learning_rate_variable.value)

    def _set_learning_rate(self, value: Any, initial: bool) -> None:
        was_variable = not initial and not self.has_schedule
        if isinstance(value, schedules.LearningRateSchedule) or (
            callable(value) and not isinstance(value, Variable)
        ):
            self._learning_rate = value
            if was_variable:
                self._variables.remove(self._learning_rate_variable)
            return
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not "
                "settable. If you need the learning rate to be settable, you should "
                "instantiate the optimizer with a float `learning_rate` argument."
            )
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise ValueError(
                "Argument `learning_rate` should be float, or an instance of "
                "LearningRateSchedule, or a callable (that takes in the current iteration value "
                f"and returns the corresponding learning rate value). Received instead: "
                f"learning_rate={value!r}"
            )
        self._learning_rate_variable.assign(np.float32(value))
        if self._learning_rate is not self._learning_rate_variable:
            self._learning_rate = self._learning_rate_variable
            self._variables.insert(1, self._learning_rate_variable)

    # --- state ---------------------------------------------------------------------------------

    def build(self, var_list: Sequence[Variable]) -> None:
        """Create the slots for `var_list` (the variables this optimizer will update)."""
        self._trainable_variables = list(var_list)
        self._index = {id(v): i for i, v in enumerate(self._trainable_variables)}
        self.built = True

    def add_optimizer_variables(
        self, var_list: Sequence[Variable], name: str, initializer: float = 0.0
    ) -> list[Variable]:
        """One slot per variable, shaped like it, filled with `initializer`, named
        "<optimizer>/<variable path with _>_<name>" as Keras names them."""
        slots = [
            Variable(
                np.full(v.shape, initializer, v.dtype),
                name=f"{self.name}/{v.name.replace('/', '_')}_{name}",
                trainable=False,
            )
            for v in var_list
        ]
        self._slots[name] = slots
        self._variables.extend(slots)
        return slots

    def add_shared_variable(self, name: str, value: Any, dtype: Any) -> Variable:
        """An optimizer-wide scalar slot (one per optimizer, not per variable)."""
        variable = Variable(np.asarray(value, dtype), name=f"{self.name}/{name}", trainable=False)
        self._shared[name] = variable
        self._variables.append(variable)
        return variable

    @property
    def variables(self) -> list[np.ndarray]:
        """Copies of the state arrays, in the order the module docstring gives."""
        return [v.numpy() for v in self._variables]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Restore the state from arrays in `variables` order (the optimizer must be built)."""
        if not self.built:
            raise ValueError(
                "You are calling `set_weights()` on an optimizer that has not yet been built. "
                "Please call `optimizer.build(trainable_variables)` to create the optimizer "
                "weights before calling `set_weights()`."
            )
        if len(weights) != len(self._variables):
            raise ValueError(
                f"Optimizer '{self.name}': set_weights expected {len(self._variables)} arrays "
                f"(as `variables`), got {len(weights)}"
            )
        for variable, weight in zip(self._variables, weights):
            if np.shape(weight) != variable.shape:
                raise ValueError(
                    f"Optimizer variable {variable.name} has shape {variable.shape} not "
                    f"compatible with provided weight shape {np.shape(weight)}."
                )
        for variable, weight in zip(self._variables, weights):
            variable.assign(weight)

    def state_variables(self) -> list[Variable]:
        """The Variables behind `variables` (what a step graph reads and writes)."""
        return list(self._variables)

    def exclude_from_weight_decay(
        self, var_list: Iterable[Variable] | None = None, var_names: Iterable[str] | None = None
    ) -> None:
        """Exempt variables (by object, or by a substring of their name) from weight decay."""
        if self.built:
            raise ValueError(
                "`exclude_from_weight_decay()` can only be configured before the optimizer "
                "is built."
            )
        self._exclude_ids = {id(v) for v in var_list or ()}
        names = list(var_names or ())
        self._exclude_pattern = re.compile("|".join(names)) if names else None

    def _use_weight_decay(self, variable: Variable) -> bool:
        if id(variable) in self._exclude_ids:
            return False
        return self._exclude_pattern is None or not self._exclude_pattern.search(variable.name)

    # --- the update, in graph ops --------------------------------------------------------------

    def update_step(
        self, gradient: Value, variable: Value, learning_rate: Value, slots: SlotState
    ) -> Value:
        """The new value of one variable (and of its slots, set in `slots`)."""
        raise TypeError(f"{type(self).__name__} must define update_step(...)")

    def shared_updates(self, step: Value) -> dict[str, Value]:
        """New values of the optimizer-wide slots, computed once per step before the
        per-variable updates (which read them from `slots.shared`)."""
        return {}

    def updates(
        self, grads: Sequence[Any], variables: Sequence[Variable]
    ) -> list[tuple[Variable, Value]]:
        """The graph of one optimizer step: (Variable, new value) for the trained variables,
        the slots and the iteration count. Gradients that are None are skipped with a warning,
        as Keras does."""
        pairs = [(unwrap_symbolic(g), v) for g, v in zip(grads, variables)]
        missing = [v.name for g, v in pairs if g is None]
        pairs = [(g, v) for g, v in pairs if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(
                f"Gradients do not exist for variables {missing} when minimizing the loss. "
                "If using `model.compile()`, did you forget to provide a `loss` argument?",
                stacklevel=3,
            )
        self._check_known([v for _, v in pairs])
        grads_v = self._clip_gradients([cast(g, v.dtype) for g, v in pairs])
        lr = self._learning_rate_variable.symbol
        iteration = self._iterations.symbol
        results: list[tuple[Variable, Value]] = []
        shared = self.shared_updates(iteration + 1)
        results += [(self._shared[name], value) for name, value in shared.items()]
        for gradient, (_, variable) in zip(grads_v, pairs):
            results += self._update_one(gradient, variable, lr, iteration, shared)
        results.append((self._iterations, iteration + 1))
        return results

    def _update_one(
        self,
        gradient: Value,
        variable: Variable,
        lr: Value,
        iteration: Value,
        shared: dict[str, Value],
    ) -> list[tuple[Variable, Value]]:
        dtype = variable.dtype
        lr_v = cast(lr, dtype)
        w = variable.symbol
        if self.weight_decay is not None and self._use_weight_decay(variable):
            w = w - w * cast(self.weight_decay, dtype) * lr_v
        index = self._index[id(variable)]
        own = {name: slots[index] for name, slots in self._slots.items()}
        state = SlotState(
            {name: slot.symbol for name, slot in own.items()},
            cast(iteration + 1, dtype),
            {name: cast(value, dtype) for name, value in shared.items()},
        )
        new_w = self.update_step(gradient, w, lr_v, state)
        if variable.constraint is not None:
            new_w = variable.constraint(new_w)
        return [(variable, new_w)] + [(own[name], value) for name, value in state.updated.items()]

    def _check_known(self, variables: Sequence[Variable]) -> None:
        for v in variables:
            if id(v) not in self._index:
                raise ValueError(
                    f"Unknown variable: {v}. This optimizer can only be called for the "
                    "variables it was originally built with. When working with a new set of "
                    "variables, you should recreate a new optimizer instance."
                )

    def _clip_gradients(self, grads: list[Value]) -> list[Value]:
        if self.clipnorm and self.clipnorm > 0:
            return [self._clip_by_norm(g) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            v = self.clipvalue
            return [minimum(maximum(g, -v), v) for g in grads]
        return grads

    def _clip_by_norm(self, g: Value) -> Value:
        """Keras' clip: g * clipnorm / max(||g||, clipnorm), safe for zero gradients."""
        l2sum = reduce_sum(g * g, keepdims=True)
        positive = l2sum > 0
        l2norm = where(positive, sqrt(where(positive, l2sum, 1.0)), l2sum)
        return g * self.clipnorm / maximum(l2norm, self.clipnorm)

    # --- applying ------------------------------------------------------------------------------

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> None:
        """Apply one step: `apply(grads, variables)` from (gradient, variable) pairs."""
        pairs = list(grads_and_vars)
        if not pairs:
            return
        grads, variables = zip(*pairs)
        self.apply(list(grads), list(variables))

    def apply(self, grads: Sequence[Any], trainable_variables: Sequence[Variable] | None = None):
        """Update the variables from their gradients.

        With graph Values (inside a traced `train_step`) the new values are recorded in the
        step's trace; with arrays the update runs now, through the interpreter.
        """
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be "
                    "built on a list of variables. Call `optimizer.build(trainable_variables)` "
                    "first."
                )
            trainable_variables = self._trainable_variables
        variables = list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"Optimizer '{self.name}': got {len(grads)} gradients for {len(variables)} "
                f"variables"
            )
        if not self.built:
            self.build(variables)
        if any(isinstance(unwrap_symbolic(g), Value) for g in grads):
            self._apply_symbolic(grads, variables)
        else:
            self._apply_eager(grads, variables)

    def _apply_symbolic(self, grads: list[Any], variables: list[Variable]) -> None:
        ctx = current_context()
        if ctx is None or not ctx.training:
            raise ValueError(
                f"Optimizer '{self.name}': symbolic gradients can only be applied inside a "
                "training step (a `train_step` traced by `fit`/`train_on_batch`); pass numpy "
                "arrays to update the variables right away"
            )
        for variable, value in self.updates(grads, variables):
            ctx.add_update(variable, value)

    def _apply_eager(self, grads: list[Any], variables: list[Variable]) -> None:
        arrays = [None if g is None else np.asarray(g, v.dtype) for g, v in zip(grads, variables)]
        key = (
            tuple(id(v) for v in variables),
            tuple(None if a is None else a.shape for a in arrays),
        )
        if key not in self._eager_updates:
            holders = [None if a is None else placeholder(a.shape, a.dtype) for a in arrays]
            pairs = self.updates(holders, variables)
            targets = [v for v, _ in pairs]
            values = [value for _, value in pairs]
            state = variables_in(values)
            inputs = [h for h in holders if h is not None] + [v.symbol for v in state]
            self._eager_updates[key] = (Graph(inputs, values), targets, state)
        graph, targets, state = self._eager_updates[key]
        if self.has_schedule:
            self._learning_rate_variable.assign(np.float32(self.learning_rate_at(self.iterations)))
        results = graph(*[a for a in arrays if a is not None], *[v.value for v in state])
        for variable, result in zip(targets, results):
            variable.assign(result)

    # --- config --------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as JSON data (a schedule is serialized)."""
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            learning_rate: Any = schedules.serialize(self._learning_rate)
        elif self.has_schedule:
            raise TypeError(
                f"Optimizer '{self.name}': a learning rate given as a plain callable cannot be "
                "serialized; use a LearningRateSchedule subclass with get_config()"
            )
        else:
            learning_rate = float(self._learning_rate_variable.value)
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
        }

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Optimizer:
        """An optimizer (without its state) from `get_config()`'s output."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(
                config["learning_rate"], custom_objects=custom_objects
            )
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


def clip_by_global_norm(grads: Sequence[Value], clip_norm: float) -> list[Value]:
    """Scale all gradients by clip_norm / max(global norm, clip_norm), Keras' formula (a
    non-finite norm makes every gradient nan)."""
    total = None
    for g in grads:
        term = reduce_sum(g * g)
        total = term if total is None else total + cast(term, total.dtype)
    norm = sqrt(total)
    scale = clip_norm * minimum(1.0 / norm, 1.0 / clip_norm) + (norm - norm)
    return [g * cast(scale, g.dtype) for g in grads]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
