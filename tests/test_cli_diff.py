"""`graphc diff`: the expression workflow on the command line."""

from __future__ import annotations

import json

import pytest

from graphc.cli import main

TEXTBOOK = "log(x1) + x1*x2 - sin(x2)"


def test_diff_prints_every_mode(capsys):
    assert main(["diff", TEXTBOOK, "--at", "x1=2,x2=5"]) == 0
    out = capsys.readouterr().out
    for mode in ("forward", "reverse", "symbolic", "numeric"):
        assert mode in out
    assert "5.5" in out and "1.71634" in out and "Primal trace" not in out


def test_diff_trace_and_json(capsys):
    assert main(["diff", TEXTBOOK, "--at", "x1=2,x2=5", "--trace", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["expression"] == TEXTBOOK
    assert data["at"] == {"x1": 2.0, "x2": 5.0}
    assert data["value"] == pytest.approx(11.652071455)
    assert set(data["modes"]) == {"forward", "reverse", "symbolic", "numeric"}
    assert data["modes"]["reverse"]["x1"] == pytest.approx(5.5)
    assert set(data["stats"]["reverse"]) >= {"size", "derive_seconds", "eval_seconds"}
    assert [row["value"] for row in data["traces"]["primal"]][:2] == [2.0, 5.0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["diff", TEXTBOOK], "needs --at"),
        (["diff", TEXTBOOK, "--at", "x1=2"], "missing ['x2']"),
        (["diff", TEXTBOOK, "--at", "x1=2,x2=5,y=1"], "not in the expression ['y']"),
        (["diff", "open('/etc/passwd')", "--at", "x=1"], "unknown function 'open'"),
        (["diff"], "needs an expression"),
    ],
)
def test_diff_errors_are_one_line_with_exit_code_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_diff_scaling_prints_both_studies(capsys):
    assert main(["diff", "--scaling"]) == 0
    out = capsys.readouterr().out
    assert "Forward vs reverse mode" in out and "Expression swell" in out


def test_diff_scaling_plot_is_written(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    target = tmp_path / "scaling.png"
    assert main(["diff", "--scaling", "--plot", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
