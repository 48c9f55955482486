"""The training examples run end to end (in quick mode: few epochs)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_moons_mlp_learns_the_moons(capsys):
    accuracy = load("two_moons_mlp").main(epochs=4, verbose=0)
    assert accuracy > 0.9  # logistic regression gets 0.886 on this data; 30 epochs reach 0.958
    assert "test accuracy" in capsys.readouterr().out


def test_seed_binary_classifier_runs_the_keras_workflow(capsys):
    loss, accuracy = load("seed_binary_classifier").main(epochs=2, verbose=1)
    assert 0.0 <= accuracy <= 1.0 and loss == pytest.approx(0.69, abs=0.1)  # random labels
    output = capsys.readouterr().out
    assert "Epoch 2/2" in output and "8/8 ━━━━━━━━━━━━━━━━━━━━" in output
