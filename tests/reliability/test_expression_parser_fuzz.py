"""The expression parser (`graphc diff "..."`) evaluates nothing and refuses what is not math.

Malicious inputs (attribute chains, imports, calls of builtins, comprehensions, f-strings,
walrus) are refused with an `ExpressionError` while `eval`, `exec` and `__import__` are booby
trapped, and their payloads' canary file never appears. Oversized and deeply nested inputs are
refused quickly, in a subprocess so that a parser crash would fail the test rather than pytest.
Hypothesis feeds random text and random token soups: the answer is a graph or an
`ExpressionError`, never another exception; accepted text computes what Python computes.
"""

from __future__ import annotations

import builtins
import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphc.cli import main
from graphc.expression import (
    MAX_LENGTH,
    ExpressionError,
    expression_variables,
    parse_expression,
)

CANARY = "graphc-expression-canary"

MALICIOUS = [
    f"__import__('os').system('touch {CANARY}')",
    f"open('{CANARY}', 'w')",
    "eval('1')",
    "exec('x = 1')",
    "getattr(x, 'real')",
    "x.__class__.__bases__[0].__subclasses__()",
    "().__class__.__mro__[1]",
    "sin.__call__(x)",
    "sin(x).real",
    "x.real",
    "globals()",
    "breakpoint()",
    "[i for i in (1, 2)]",
    "{x: 1}",
    "{x}",
    "(x, x)",
    "lambda: x",
    "x if x else 1",
    "(y := 1)",
    "f'{x}'",
    "b'x'",
    "'x'",
    "True",
    "None",
    "...",
    "x[0]",
    "x[0:1]",
    "sin(*x)",
    "sin(**x)",
    "sin(x=1)",
    "x @ x",
    "x << 1",
    "x & 1",
    "~x",
    "not x",
    "x and 1",
    "x < 1 < 2",
    "sin",
    "pi(1)",
    "x(1)",
    "await x",
]


@pytest.fixture
def booby_trapped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """`eval`, `exec` and imports of new modules raise; the cwd is a fresh directory."""
    real_import = builtins.__import__
    loaded = set(sys.modules)

    def refuse(*args, **kwargs):
        raise AssertionError("the parser evaluated code")

    def imports(name, *args, **kwargs):
        if name not in loaded and name.split(".")[0] not in loaded:
            raise AssertionError(f"the parser imported {name}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(builtins, "__import__", imports)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("text", MALICIOUS)
def test_malicious_expressions_are_refused_without_evaluation(text: str, booby_trapped: Path):
    with pytest.raises(ExpressionError):
        parse_expression(text)
    with pytest.raises(ExpressionError):
        parse_expression(text, ["x"])
    assert not (booby_trapped / CANARY).exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("x.y", "attribute access"),
        ("foo(x)", "unknown function 'foo'"),
        ("__import__('os')", "unknown function '__import__'"),
        ("sin.__call__(x)", "only calls of plain function names"),
    ],
)
def test_refusals_say_why(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse_expression(text)


OVERSIZED = {
    "too long": "x+" * (MAX_LENGTH // 2) + "x",
    "deep parentheses": "(" * 5000 + "x" + ")" * 5000,
    "deep unary minus": "-" * (MAX_LENGTH - 1) + "x",
    "long left-deep sum": "x+" * (MAX_LENGTH // 2 - 1) + "x",
    "deep calls": "sin(" * 199 + "x" + ")" * 199 + "+" + "-" * 300 + "x",
    "huge integer": "9" * (MAX_LENGTH - 2) + "*x",
    "integer beyond float": "x*1" + "0" * 400,
    "many nodes": "+".join(["x*1"] * 2400),
    "null byte": "x\x00+1",
}


def test_oversized_and_deep_inputs_are_refused_quickly_without_crashing() -> None:
    """All cases in one subprocess: a C-level crash of the parser would show as its exit code."""
    script = textwrap.dedent(
        f"""
        import time
        from graphc.expression import ExpressionError, parse_expression
        for name, text in {OVERSIZED!r}.items():
            start = time.perf_counter()
            try:
                parse_expression(text)
                print(name, "accepted", time.perf_counter() - start)
            except ExpressionError as exc:
                print(name, "refused", time.perf_counter() - start)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    outcomes = dict(
        (line.rsplit(" ", 2)[0], line.rsplit(" ", 2)[1:]) for line in run.stdout.splitlines()
    )
    assert sorted(outcomes) == sorted(OVERSIZED)
    for name, (outcome, seconds) in outcomes.items():
        assert outcome == "refused", name
        assert float(seconds) < 2.0, f"{name} took {seconds} s"


def test_a_long_expression_with_many_calls_parses_fast() -> None:
    """Hundreds of calls side by side are not deep nesting (only depth is limited)."""
    term = "sin(x1)*cos(x2)*exp(-x1)*log(x2+1.0)/sqrt(x1+2.0)"
    text = "+".join([term] * 100)
    start = time.perf_counter()
    graph = parse_expression(text)
    assert time.perf_counter() - start < 5.0
    one = math.sin(1.0) * math.cos(2.0) * math.exp(-1.0) * math.log(3.0) / math.sqrt(3.0)
    assert float(graph(1.0, 2.0)) == pytest.approx(100 * one)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_random_text_gives_a_graph_or_an_expression_error(text: str) -> None:
    try:
        graph = parse_expression(text)
    except ExpressionError:
        return
    assert [graph.node_name(n) for n in graph.inputs] == expression_variables(text)


TOKENS = st.sampled_from(
    ["x", "y", "1", "2.5", "1e3", "pi", "e", "sin", "log", "max", "pow", "os", "__import__",
     "(", ")", "+", "-", "*", "/", "**", "//", "%", ",", ".", "[", "]", "'", "=", ":", "lambda",
     "if", "else", "for", "in", " "]
)  # fmt: skip


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # "1in" and the like, from the parser
@settings(max_examples=400, deadline=None)
@given(tokens=st.lists(TOKENS, max_size=25))
def test_token_soups_give_a_graph_or_an_expression_error(tokens: list[str]) -> None:
    """Accepted soups compute what Python computes on the same text (where Python succeeds)."""
    text = "".join(tokens)
    try:
        graph = parse_expression(text, ["x", "y"])
    except ExpressionError:
        return
    names = {"x": 0.7, "y": 1.3, "pi": math.pi, "e": math.e, "sin": math.sin, "log": math.log,
             "max": max, "pow": pow}  # fmt: skip
    try:
        expected = eval(text, {"__builtins__": {}}, names)  # noqa: S307 (whitelisted by the parser)
    except (ArithmeticError, ValueError, TypeError):
        return
    if not isinstance(expected, float | int) or not math.isfinite(expected):
        return
    assert float(graph(0.7, 1.3)) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_the_diff_command_refuses_without_running_anything(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(["diff", f"__import__('os').system('touch {CANARY}')", "--at", "x=1"])
    assert code == 2 and not (tmp_path / CANARY).exists()
    assert "only calls of plain function names" in capsys.readouterr().err
