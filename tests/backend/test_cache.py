"""The on-disk object cache: hits skip LLVM, damaged entries are rebuilt, weights stay free."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import graphc
from graphc.backend import cache as disk_cache
from graphc.backend import compile_graph

pytestmark = pytest.mark.backend

LLVM_STAGES = {"lower", "optimize", "codegen"}


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv(disk_cache.CACHE_ENV, str(directory))
    return directory


def mlp(weight: float = 0.5, scale: float = 2.0) -> graphc.Graph:
    x = graphc.placeholder((None, 3), name="x")
    w = graphc.constant(np.full((3, 2), weight, np.float32), name="w")
    return graphc.Graph([x], graphc.tanh(x @ w) * scale)


def entries(directory: Path) -> list[Path]:
    """The cached graphs (not the shared micro-kernels, see backend.ukernels)."""
    return sorted(p for p in directory.glob("*.o") if not p.name.startswith("micro-kernels-"))


def test_a_second_compile_skips_llvm(empty_cache: Path) -> None:
    first = compile_graph(mlp())
    second = compile_graph(mlp())
    assert not first.from_cache and LLVM_STAGES <= set(first.timings)
    assert second.from_cache and not LLVM_STAGES & set(second.timings)
    assert len(entries(empty_cache)) == 1
    x = np.ones((5, 3), np.float32)
    np.testing.assert_array_equal(first(x), second(x))


def test_weights_are_not_part_of_the_key(empty_cache: Path) -> None:
    compile_graph(mlp(weight=0.5))
    other = compile_graph(mlp(weight=-1.0))
    assert other.from_cache  # same structure, new weights passed by pointer
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(other(x), mlp(weight=-1.0)(x), rtol=1e-6)


def test_literals_and_options_are_part_of_the_key(empty_cache: Path) -> None:
    compile_graph(mlp(scale=2.0))
    assert not compile_graph(mlp(scale=3.0)).from_cache  # a one-element constant is IR text
    assert not compile_graph(mlp(scale=2.0), opt_level=1).from_cache
    assert not compile_graph(mlp(scale=2.0), fast_math=True).from_cache
    assert len(entries(empty_cache)) == 4


def test_cache_false_neither_reads_nor_writes(empty_cache: Path) -> None:
    compile_graph(mlp())
    again = compile_graph(mlp(), cache=False)
    assert not again.from_cache
    (empty_cache / "unrelated").mkdir()
    compile_graph(mlp(scale=5.0), cache=False)
    assert len(entries(empty_cache)) == 1


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: data[:-10] + b"0123456789",  # corrupted payload
        lambda data: b"not a cache entry",  # garbage
        lambda data: b"",  # empty
    ],
)
def test_a_damaged_entry_is_ignored_and_rebuilt(empty_cache: Path, damage) -> None:
    compile_graph(mlp())
    (entry,) = entries(empty_cache)
    entry.write_bytes(damage(entry.read_bytes()))
    rebuilt = compile_graph(mlp())
    assert not rebuilt.from_cache
    np.testing.assert_allclose(rebuilt(np.ones((1, 3))), mlp()(np.ones((1, 3))), rtol=1e-6)
    assert compile_graph(mlp()).from_cache  # the rebuilt entry is good again


def test_an_unusable_cache_directory_does_not_stop_compiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(disk_cache.CACHE_ENV, str(blocker / "cache"))
    f = compile_graph(mlp())
    assert not f.from_cache
    assert f(np.zeros((1, 3))).shape == (1, 2)
    assert not disk_cache.store("0" * 64, b"code")


def test_the_default_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(disk_cache.CACHE_ENV)
    assert disk_cache.cache_dir() == Path.home() / ".cache" / "graphc"


SCRIPT = textwrap.dedent(
    """
    import numpy as np, graphc
    from graphc.backend import compile_graph
    x = graphc.placeholder((None, 3), name="x")
    w = graphc.constant(np.full((3, 2), 0.5, np.float32), name="w")
    f = compile_graph(graphc.Graph([x], graphc.tanh(x @ w) * 2.0))
    print(f.from_cache, float(f(np.ones((1, 3), np.float32)).sum()))
    """
)


def run_script(directory: Path) -> subprocess.Popen:
    env = {**os.environ, disk_cache.CACHE_ENV: str(directory)}
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE, text=True
    )


def test_concurrent_processes_share_the_cache(empty_cache: Path) -> None:
    racing = [run_script(empty_cache) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0].split() for p in racing]
    assert all(p.returncode == 0 for p in racing)
    later = run_script(empty_cache)
    hit, total = later.communicate(timeout=120)[0].split()
    assert later.returncode == 0 and hit == "True"
    assert {o[1] for o in outputs} == {total}
    assert len(entries(empty_cache)) == 1
    assert not list(empty_cache.glob("*.tmp"))
