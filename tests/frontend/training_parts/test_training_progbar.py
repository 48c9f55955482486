"""Keras 3's progress display: live redraws on a terminal, final lines otherwise, verbose=2."""

from __future__ import annotations

import io

import pytest

from graphc.frontend.trainer import progbar
from graphc.frontend.trainer.progbar import Progbar, ProgbarLogger, format_time, format_value


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_bar_redraws_in_place_with_colours_and_eta():
    out = Terminal()
    bar = Progbar(4, verbose=1, stream=out, interval=0.0)
    bar.update(1, [("loss", 0.5)])
    bar.update(2, [("loss", 0.25)])
    bar.update(4, [("loss", 0.125)])
    text = out.getvalue()
    frames = text.split("\r")[1:]
    assert len(frames) == 3 and text.endswith("\n")
    assert "\x1b[1m1/4\x1b[0m" in frames[0] and "\x1b[32m━━━━━\x1b[0m" in frames[0]
    assert frames[0].count("━") == 20 and "loss: 0.5000" in frames[0]
    assert "loss: 0.1250" in frames[2]


def test_plain_stream_prints_only_the_final_line():
    out = io.StringIO()
    bar = Progbar(3, verbose=1, stream=out, interval=0.0)
    for step in (1, 2, 3):
        bar.update(step, [("accuracy", 0.9137), ("loss", 0.00001)])
    (line,) = out.getvalue().splitlines()
    assert line.startswith("3/3 ━━━━━━━━━━━━━━━━━━━━ 0s ")
    assert line.endswith("/step - accuracy: 0.9137 - loss: 1.0000e-05")
    assert "\x1b" not in line


class Clock:
    """A fake `time.perf_counter` starting at `now` (a machine just booted: near zero)."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("boot", [0.0, 1.5, 1e6], ids=["at-boot", "just-booted", "long-up"])
def test_throttling_and_due(monkeypatch, boot):
    clock = Clock(boot)
    monkeypatch.setattr(progbar.time, "perf_counter", clock)
    out = Terminal()
    bar = Progbar(100, verbose=1, stream=out, interval=10.0)
    assert bar.due()  # the first update always draws, whatever the clock's origin
    bar.update(1)
    assert out.getvalue().count("\r") == 1
    clock.now += 9.0
    assert not bar.due()
    bar.update(2)
    assert out.getvalue().count("\r") == 1  # the second update came too soon
    clock.now += 1.0
    assert bar.due()
    bar.update(3)
    assert out.getvalue().count("\r") == 2
    bar.update(100)  # the final update always draws
    assert out.getvalue().count("\r") == 3 and out.getvalue().endswith("\n")
    assert not Progbar(5, verbose=2).due()
    assert not Progbar(5, verbose=1, stream=io.StringIO()).due()  # not a terminal


def test_unknown_target_and_verbose_two():
    out = io.StringIO()
    bar = Progbar(None, verbose=2, stream=out)
    bar.update(7, [("loss", 1.0)], finalize=True)
    assert out.getvalue().startswith("      7/Unknown - ")
    out = io.StringIO()
    Progbar(10, verbose=0, stream=out).update(10, [("loss", 1.0)])
    assert out.getvalue() == ""


def test_logger_prints_epochs_and_stays_silent_in_fit_validation():
    out = io.StringIO()
    logger = ProgbarLogger(stream=out)
    logger.set_params({"verbose": 1, "epochs": 2, "steps": 2})
    logger.on_train_begin()
    logger.on_epoch_begin(0)
    logger.on_train_batch_end(0, {"loss": 1.0})
    logger.on_test_begin()
    logger.on_test_batch_end(0, {"loss": 9.0})
    logger.on_test_end({"loss": 9.0})
    logger.on_epoch_end(0, {"loss": 0.5, "val_loss": 9.0})
    lines = out.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and len(lines) == 2
    assert lines[1].endswith(" - loss: 0.5000 - val_loss: 9.0000")


def test_formatting_helpers():
    assert format_time(0, "step") == " 0s/step"
    assert format_time(0.5, "step") == " 500ms/step"
    assert format_value(-0.5) == "-0.5000" and format_value(0.0) == "0.0000e+00"
