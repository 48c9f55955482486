"""The benchmark suite stays runnable: every benchmark at its tiny --quick size, numpy only.

Timings are never asserted; the benchmarks themselves check that every implementation
computes the same numbers before timing it.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks import BENCHMARKS  # noqa: E402
from benchmarks.harness import Peers, Settings, Target  # noqa: E402
from benchmarks.report import NOTES_MARKER, render, write  # noqa: E402

pytestmark = pytest.mark.backend


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path / "cache"))


def quick_settings() -> Settings:
    return Settings(quick=True, repeats=1, min_seconds=0.0, threads=2, peers=Peers(["numpy"], 2))


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHMARKS)
def test_each_benchmark_runs_at_its_quick_size(name: str) -> None:
    settings = quick_settings()
    section = importlib.import_module(f"benchmarks.{name}").run(settings)
    assert section.name == name
    graphc_rows = [r for r in section.rows if r.kind == "graphc"]
    assert graphc_rows and all(r.seconds and r.seconds > 0 for r in graphc_rows)
    skipped = {r.impl for r in section.rows if r.kind == "peer" and r.seconds is None}
    assert "numpy" not in skipped and skipped <= {"torch", "jax", "onnxruntime", "sympy"}
    assert all(r.note for r in section.rows if r.seconds is None)  # a skip says why
    text = render([section], settings, "test")
    assert f"## {name}:" in text and "| machine |" in text


def test_the_command_line_writes_the_results(tmp_path: Path) -> None:
    output = tmp_path / "RESULTS.md"
    command = [sys.executable, "-m", "benchmarks", "--quick", "--only", "sgemm"]
    command += ["--peers", "numpy", "--output", str(output)]
    env = {**os.environ, "GRAPHC_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    text = output.read_text()
    assert "## sgemm:" in text and "GFLOP/s" in text and NOTES_MARKER in text


def test_regenerating_keeps_the_notes(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    write(path, "# first\n")
    path.write_text(path.read_text() + "\nWhy sgemm is slow.\n")
    write(path, "# second\n")
    text = path.read_text()
    assert text.startswith("# second") and text.endswith("\nWhy sgemm is slow.\n")
    assert "# first" not in text


def test_targets_say_by_how_much_they_are_missed() -> None:
    assert Target("t", 1.2, 0.8).miss == "1.50x off"
    assert Target("t", 0.6, 0.8, at_least=True).miss == "1.33x off"
    assert Target("t", 0.5, 0.8).met and Target("t", None, 0.8).met is None


@pytest.mark.slow
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_the_training_epoch_benchmark_runs(model: str, tmp_path: Path) -> None:
    """benchmarks/train_epoch.py on a few samples, graphc only (its peers are optional)."""
    command = [sys.executable, "benchmarks/train_epoch.py", "--model", model, "--only", "graphc"]
    command += ["--epochs", "2", "--samples", "96"]
    env = {**os.environ, "GRAPHC_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("MLP" if model == "mlp" else "CNN") and "96 samples" in lines[0]
    assert any(
        line.startswith("graphc (compiled step)") and line.endswith("1.00x") for line in lines
    )
