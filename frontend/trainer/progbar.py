"""Keras 3's progress display: `Progbar` and the `ProgbarLogger` callback `fit` adds.

verbose=1 shows, per epoch, a bar with the step count, the ETA (the elapsed time once done),
the time per step and the running metric values:

    Epoch 1/5
    1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 2ms/step - accuracy: 0.9137 - loss: 0.2954

On a terminal the line is redrawn in place (at most every `interval` seconds); when stdout is
not a terminal (a log file, a pipe) only the final line of each epoch is printed, without
colours. verbose=2 prints one line per epoch, `1875/1875 - 3s - 2ms/step - ...`; 0 prints
nothing. The time per step leaves out the first step (which includes compilation).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from graphc.frontend.callbacks import Callback

_BOLD, _GREEN, _GREY, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"


def format_time(seconds: float, unit_name: str) -> str:
    """A duration per unit as Keras prints it: seconds, milliseconds or microseconds.

    >>> format_time(0.0023, "step"), format_time(2.5, "epoch"), format_time(4e-5, "step")
    (' 2ms/step', ' 2s/epoch', ' 40us/step')
    """
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit_name}"
    return f" {seconds * 1e6:.0f}us/{unit_name}"


def format_value(value: Any) -> str:
    """A metric value: 4 decimals, or scientific notation when tiny.

    >>> format_value(0.29541), format_value(1.5e-05), format_value("n/a")
    ('0.2954', '1.5000e-05', 'n/a')
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.4f}" if abs(number) > 1e-3 else f"{number:.4e}"


def _eta(seconds: float) -> str:
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


class Progbar:
    """A progress bar for `target` steps (None: unknown), as `keras.utils.Progbar`.

    Values passed to `update` are shown as given (the trainer passes running averages).

    Args:
        target: the number of steps, or None.
        width: the bar's width in characters.
        verbose: 1 (live bar), 2 (one line when finished) or 0 (nothing).
        interval: the minimum time between two redraws, in seconds.
        unit_name: the unit of the time per step.
        stream: where to print (default sys.stdout).
        dynamic: redraw in place (default: when the stream is a terminal).

    >>> import io
    >>> out = io.StringIO()
    >>> bar = Progbar(3, verbose=2, stream=out)
    >>> for step in (1, 2, 3):
    ...     bar.update(step, [("loss", 0.5)])
    >>> line = out.getvalue()
    >>> line.split(" - ")[0], line.split(" - ")[-1].strip()
    ('3/3', 'loss: 0.5000')
    """

    def __init__(
        self,
        target: int | None,
        width: int = 20,
        verbose: int = 1,
        interval: float = 0.05,
        unit_name: str = "step",
        stream: TextIO | None = None,
        dynamic: bool | None = None,
    ):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stream = stream if stream is not None else sys.stdout
        if dynamic is None:
            dynamic = bool(getattr(self.stream, "isatty", lambda: False)())
        self.dynamic = dynamic
        self._values: dict[str, Any] = {}
        self._start = time.perf_counter()
        # -inf: the first update always draws (perf_counter's origin is arbitrary, e.g. boot)
        self._last_update = -math.inf
        self._time_after_first_step: float | None = None
        self._previous_width = 0

    def due(self) -> bool:
        """Whether a non-final update would redraw now (the trainer skips computing the logs
        otherwise)."""
        return (
            self.verbose == 1
            and self.dynamic
            and time.perf_counter() - self._last_update >= self.interval
        )

    def update(
        self,
        current: int,
        values: Sequence[tuple[str, Any]] | None = None,
        finalize: bool | None = None,
    ) -> None:
        """Record progress to step `current` with these (name, value) pairs and redraw."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            self._values[name] = value
        now = time.perf_counter()
        per_step = self._step_duration(current, now)
        if self.verbose == 1:
            if not finalize and not (self.dynamic and now - self._last_update >= self.interval):
                return
            self._draw(current, now, per_step, finalize)
        elif self.verbose == 2 and finalize:
            count = self._count(current)
            line = f"{count} - {now - self._start:.0f}s -{format_time(per_step, self.unit_name)}"
            self.stream.write(line + self._metrics_text() + "\n")
            self.stream.flush()
        self._last_update = now

    def _count(self, current: int) -> str:
        if self.target is None or self.target <= 0:
            return f"{current:7d}/Unknown"
        digits = int(math.log10(self.target)) + 1
        return f"{current:{digits}d}/{self.target}"

    def _metrics_text(self) -> str:
        return "".join(f" - {name}: {format_value(v)}" for name, v in self._values.items())

    def _draw(self, current: int, now: float, per_step: float, finalize: bool) -> None:
        style = (
            (lambda code, text: f"{code}{text}{_RESET}")
            if self.dynamic
            else (lambda code, text: text)
        )
        count = self._count(current)
        parts = [style(_BOLD, count)]
        if self.target:
            done = int(self.width * min(current, self.target) / self.target)
            bar = (style(_GREEN, "━" * done) if done else "") + style(
                _GREY, "━" * (self.width - done)
            )
            parts.append(" " + bar)
        if self.target and not finalize:
            timing = _eta(per_step * (self.target - current))
        else:
            timing = f"{now - self._start:.0f}s"
        text = "".join(parts) + " " + style(_BOLD, timing)
        text += format_time(per_step, self.unit_name) + self._metrics_text()
        visible = _visible_width(text)
        if self.dynamic:
            padding = " " * max(0, self._previous_width - visible)
            self.stream.write("\r" + text + padding + ("\n" if finalize else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self._previous_width = visible

    def _step_duration(self, current: int, now: float) -> float:
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_step = (now - self._time_after_first_step) / (current - 1)
        else:
            per_step = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_step


def _visible_width(text: str) -> int:
    """Characters on screen (ANSI colour codes take none)."""
    width, escape = 0, False
    for char in text:
        if char == "\x1b":
            escape = True
        elif escape:
            escape = char != "m"
        else:
            width += 1
    return width


class ProgbarLogger(Callback):
    """The callback that prints training progress; `fit` and `evaluate` add it when
    `verbose` is not 0. Inside `fit`, validation runs silently (its results appear on the
    epoch's line)."""

    def __init__(self, stream: TextIO | None = None):
        super().__init__()
        self.stream = stream
        self.verbose = 1
        self.epochs = 1
        self.target: int | None = None
        self.progbar: Progbar | None = None
        self._called_in_fit = False
        self._seen = 0

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _new_bar(self) -> None:
        self.progbar = Progbar(self.target, verbose=self.verbose, stream=self.stream)
        self._seen = 0

    def due(self) -> bool:
        """Whether the next batch update will redraw (see `Progbar.due`)."""
        return self.progbar is not None and self.progbar.due()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._called_in_fit = True

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._new_bar()
        if self.verbose and self.epochs > 1:
            stream = self.progbar.stream
            stream.write(f"Epoch {epoch + 1}/{self.epochs}\n")
            stream.flush()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._update(batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._finalize(logs)

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._new_bar()

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._called_in_fit:
            self._finalize(logs)

    def _update(self, batch: int, logs: dict[str, Any] | None) -> None:
        if self.progbar is None:
            self._new_bar()
        if self.verbose == 1:
            self.progbar.update(batch + 1, sorted((logs or {}).items()), finalize=False)
        self._seen = batch + 1

    def _finalize(self, logs: dict[str, Any] | None) -> None:
        if self.progbar is None:
            self._new_bar()
        if self.progbar.target is None:
            self.progbar.target = self._seen
        self.progbar.update(self.progbar.target, list((logs or {}).items()), finalize=True)
