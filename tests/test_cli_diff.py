"""`graphc diff`: the expression workflow on the command line."""

from __future__ import annotations

import json
import sys

import pytest

import graphc.scaling
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
        (["diff", "sin(1)+2"], "'sin(1)+2' has no variables, so there is nothing to differentiate"),
        (["diff", "x", "--at", "x=1,x=2"], "--at gives x more than once"),
        (["diff", "x @ y", "--at", "x=1,y=2"], "the operator @ is not supported"),
        (["diff", "x*1" + "0" * 400, "--at", "x=1.5"], "too large for a float"),
        (["diff", "x", "--at", "x=1", "--plot", "p.png"], "--plot needs --scaling"),
        (["diff", "--scaling", "--plot", "plot.txt"], "'plot.txt' must end in .png or .svg"),
        (["diff", "--scaling", "x", "--at", "x=1"], "drop an expression, --at"),
    ],
)
def test_diff_errors_are_one_line_with_exit_code_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.fixture
def quick_study(monkeypatch):
    """The scaling study on its smallest sizes (the full one takes seconds)."""
    mode_scaling, expression_swell = graphc.scaling.mode_scaling, graphc.scaling.expression_swell
    monkeypatch.setattr(graphc.scaling, "mode_scaling", lambda: mode_scaling(((1, 2), (2, 1))))
    monkeypatch.setattr(graphc.scaling, "expression_swell", lambda: expression_swell((1, 2)))


def test_diff_scaling_prints_both_studies_and_plots_to_scaling_png(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "--scaling"]) == 0
    out = capsys.readouterr().out
    assert "Forward vs reverse mode" in out and "Expression swell" in out
    assert out.rstrip().endswith("plot written to scaling.png")
    assert (tmp_path / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scaling.png"]  # no temporary file left


def test_diff_scaling_plot_is_written(tmp_path, capsys, quick_study):
    pytest.importorskip("matplotlib")
    target = tmp_path / "scaling.svg"
    assert main(["diff", "--scaling", "--plot", str(target)]) == 0
    assert f"plot written to {target}" in capsys.readouterr().out
    assert target.read_text().lstrip().startswith("<?xml")


def test_diff_scaling_without_matplotlib_says_how_to_get_the_plot(
    tmp_path, monkeypatch, capsys, quick_study
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert main(["diff", "--scaling"]) == 0
    out = capsys.readouterr().out
    assert "no plot: matplotlib is not installed (pip install 'graphc[plot]'" in out
    assert not list(tmp_path.iterdir())
    assert main(["diff", "--scaling", "--plot", "scaling.png"]) == 2
    assert "--plot needs matplotlib: pip install 'graphc[plot]'" in capsys.readouterr().err


@pytest.mark.parametrize("expression", ["9**9**9**9 + x", "2**2**2**2**2**2**2*x"])
def test_diff_of_constant_power_towers_finishes(capsys, expression):
    assert main(["diff", expression, "--at", "x=1.5"]) == 0
    assert "symbolic" in capsys.readouterr().out


@pytest.mark.parametrize("expression, at", [("1/x", "x=0"), ("log(x)", "x=0"), ("sqrt(x)", "x=-1")])
def test_diff_at_a_singular_point_reports_nan(capsys, expression, at):
    assert main(["diff", expression, "--at", at]) == 0
    out = capsys.readouterr().out
    symbolic_row = next(line for line in out.splitlines() if line.startswith("symbolic"))
    assert symbolic_row.split()[1] == "nan"
    assert "note: symbolic: df/dx is not a real number at this point" in out


def test_diff_json_is_strict_json(capsys):
    assert main(["diff", "log(x)", "--at", "x=-1", "--json"]) == 0
    out = capsys.readouterr().out
    assert "NaN" not in out
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert data["value"] is None and data["modes"]["reverse"]["x"] == pytest.approx(-1.0)


def test_diff_of_deep_nesting_reports_symbolic_as_unavailable(capsys):
    text = "sin(" * 190 + "x" + ")" * 190
    assert main(["diff", text, "--at", "x=1"]) == 0
    out = capsys.readouterr().out
    assert "symbolic  unavailable" in out
    assert "note: symbolic: unavailable: sympy's recursion limit was exceeded" in out
