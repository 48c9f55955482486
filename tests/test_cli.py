"""The `graphc` command line (graphc.cli): help, dump, errors, the console script (the demo and
the benchmark: test_cli_demo.py, test_cli_bench.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import graphc
from graphc import cli, printing
from graphc.cli import Command, main
from graphc.errors import GraphcError

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


@pytest.fixture
def saved(tmp_path) -> tuple[Path, graphc.Graph]:
    x = graphc.placeholder((None, 3), name="x")
    graph = graphc.Graph([x], graphc.exp(x) * 2.0, name="scaled")
    path = tmp_path / "scaled.graphc"
    graph.save(str(path))
    return path, graph


def one_line_error(capsys, prefix: str) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(prefix) and "Traceback" not in captured.err
    return lines[0]


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"graphc {graphc.__version__}"


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in cli.COMMANDS:
        assert command.name in out and command.help in out


def test_dump_help(capsys):
    with pytest.raises(SystemExit):
        main(["dump", "--help"])
    out = capsys.readouterr().out
    assert "--format" in out and "text,dot,svg,png" in out and "-o OUT" in out


@pytest.mark.parametrize("command", [c.name for c in cli.COMMANDS])
def test_every_command_has_help(capsys, command):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: graphc {command}") and "-h, --help" in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: graphc" in capsys.readouterr().err


def test_dump_text(saved, capsys):
    path, graph = saved
    assert main(["dump", str(path)]) == 0
    assert capsys.readouterr().out == graph.dump() + "\n"


def test_dump_dot_to_stdout(saved, capsys):
    path, graph = saved
    assert main(["dump", str(path), "--format", "dot"]) == 0
    assert capsys.readouterr().out == graph.to_dot() + "\n"


@pytest.mark.parametrize(("name", "expected"), [("out.txt", "dump"), ("out.dot", "to_dot")])
def test_dump_to_a_file(saved, tmp_path, capsys, name, expected):
    path, graph = saved
    assert main(["dump", str(path), "-o", str(tmp_path / name)]) == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / name).read_text() == getattr(graph, expected)() + "\n"


@needs_dot
def test_dump_picture_derives_the_file_name(saved, capsys):
    path, _ = saved
    assert main(["dump", str(path), "--format", "svg"]) == 0
    picture = path.with_suffix(".svg")
    assert capsys.readouterr().out.strip() == f"wrote {picture}"
    assert b"<svg" in picture.read_bytes()[:400]


@needs_dot
def test_dump_picture_format_from_the_output_name(saved, tmp_path, capsys):
    path, _ = saved
    assert main(["dump", str(path), "-o", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


def test_dump_picture_without_graphviz(saved, capsys, monkeypatch):
    path, _ = saved
    monkeypatch.setattr(printing.shutil, "which", lambda name: None)
    assert main(["dump", str(path), "--format", "png"]) == 2
    line = one_line_error(capsys, "graphc dump: error: ")
    assert "apt-get install graphviz" in line and "graph.to_dot()" in line
    assert not path.with_suffix(".png").exists()


def test_missing_file(tmp_path, capsys):
    assert main(["dump", str(tmp_path / "nope.graphc")]) == 2
    line = one_line_error(capsys, "graphc dump: error: ")
    assert "nope.graphc: No such file or directory" in line


def test_not_a_graph_file(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    assert main(["dump", str(path)]) == 2
    assert str(path) in one_line_error(capsys, "graphc dump: error: ")


def test_bad_argument_is_a_usage_error(saved, capsys):
    path, _ = saved
    with pytest.raises(SystemExit) as info:
        main(["dump", str(path), "--format", "pdf"])
    assert info.value.code == 2
    assert "invalid choice: 'pdf'" in capsys.readouterr().err


def test_commands_come_from_the_table(monkeypatch, capsys):
    def fail(args):
        raise GraphcError(f"first line {args.level}\n  second line")

    def add(parser):
        parser.add_argument("--level", type=int, default=3)

    extra = Command("explode", "a command added in one place", add, fail)
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, extra))
    assert main(["explode", "--level", "7"]) == 2
    assert one_line_error(capsys, "") == "graphc explode: error: first line 7 second line"


def test_a_closed_pipe_is_not_an_error(monkeypatch, capsys):
    def write_to_closed_pipe(args):
        raise BrokenPipeError(32, "Broken pipe")

    quiet = Command(
        "quiet", "stands for `graphc dump | head`", lambda p: None, write_to_closed_pipe
    )
    monkeypatch.setattr(cli, "COMMANDS", (quiet,))
    assert main(["quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_dump_format_choice():
    assert cli.dump_format(None, "x.PNG") == "png"
    assert cli.dump_format(None, "x.graphc") == "text"
    assert cli.dump_format("svg", None) == "svg"


def console_script() -> str:
    """The installed `graphc` script of this Python (pip install puts it next to python)."""
    beside = Path(sys.executable).parent / "graphc"
    found = str(beside) if beside.exists() else shutil.which("graphc")
    assert found, "the graphc console script is not installed; run `python3 -m pip install .`"
    return found


def test_console_script(saved):
    path, graph = saved
    run = subprocess.run([console_script(), "dump", str(path)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout == graph.dump() + "\n"
    run = subprocess.run(
        [console_script(), "dump", str(path) + ".missing"], capture_output=True, text=True
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "No such file or directory" in run.stderr


def test_python_dash_m(capsys):
    run = subprocess.run(
        [sys.executable, "-m", "graphc", "--version"], capture_output=True, text=True
    )
    assert run.returncode == 0 and run.stdout.strip() == f"graphc {graphc.__version__}"
