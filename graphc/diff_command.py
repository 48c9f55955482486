"""`graphc diff`: differentiate an expression in every mode and compare (see graphc.modes).

graphc diff "log(x1) + x1*x2 - sin(x2)" --at x1=2,x2=5 [--trace] [--json]
graphc diff --scaling [--plot FILE]

`--scaling` prints the scaling study and, when matplotlib is installed, plots it to FILE
(default scaling.png in the current directory; written atomically). `--json` output is strict
JSON: nan and ±inf values are null.
"""

from __future__ import annotations

import argparse
import json

from graphc.errors import MissingDependencyError
from graphc.expression import ExpressionError, expression_variables, parse_expression

#: Where `--scaling` writes its plot when --plot is not given.
DEFAULT_PLOT = "scaling.png"
PLOT_FORMATS = ("png", "svg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "expression", nargs="?", help='the function, e.g. "log(x1) + x1*x2 - sin(x2)"'
    )
    parser.add_argument(
        "--at",
        metavar="NAME=VALUE,...",
        help="the point, e.g. x1=2,x2=5 (every variable of the expression)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="print the primal, tangent and adjoint evaluation traces",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="run the scaling study (forward vs reverse, expression swell)",
    )
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help=f"with --scaling: where to write the plot (.png or .svg; needs matplotlib; "
        f"default {DEFAULT_PLOT})",
    )


def parse_point(text: str) -> dict[str, float]:
    """`x1=2,x2=5` -> {"x1": 2.0, "x2": 5.0}, with clear errors.

    >>> parse_point("x1=2, x2=-0.5")
    {'x1': 2.0, 'x2': -0.5}
    """
    point: dict[str, float] = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name.isidentifier():
            raise ExpressionError(
                f"--at expects NAME=VALUE pairs separated by commas, got {item.strip()!r}"
            )
        if name in point:
            raise ExpressionError(f"--at gives {name} more than once; give each variable once")
        try:
            point[name] = float(value)
        except ValueError:
            raise ExpressionError(f"--at: the value of {name} is not a number: {value!r}") from None
    return point


def run(args: argparse.Namespace) -> int:
    from graphc.modes import compare_modes

    if args.scaling:
        return _run_scaling(args)
    if args.plot:
        raise ExpressionError("--plot needs --scaling: it names where the scaling plot goes")
    if not args.expression:
        raise ExpressionError("graphc diff needs an expression (or --scaling)")
    variables = expression_variables(args.expression)
    graph = parse_expression(args.expression, variables)  # bad syntax or functions fail first
    if not variables:
        raise ExpressionError(
            f"the expression {args.expression!r} has no variables, so there is nothing to "
            f'differentiate; use a name such as x, e.g. "sin(x) + 2"'
        )
    if not args.at:
        raise ExpressionError(
            f"graphc diff needs --at with a value for each of {variables}, "
            f"e.g. --at {','.join(f'{v}=1' for v in variables)}"
        )
    point = parse_point(args.at)
    missing = [v for v in variables if v not in point]
    unknown = [v for v in point if v not in variables]
    if missing or unknown:
        raise ExpressionError(
            f"--at must give exactly the expression's variables {variables}; "
            f"missing {missing}, not in the expression {unknown}"
        )
    report = compare_modes(graph, point, traces=args.trace, expression=args.expression)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(report)
    return 0


def _run_scaling(args: argparse.Namespace) -> int:
    from graphc.scaling import expression_swell, mode_scaling, plot_scaling, scaling_report

    given = [f for f, v in (("an expression", args.expression), ("--at", args.at)) if v]
    given += [f for f, v in (("--trace", args.trace), ("--json", args.json)) if v]
    if given:
        raise ExpressionError(
            f"--scaling runs a fixed study and takes no expression or other options; "
            f"drop {', '.join(given)}"
        )
    target = args.plot or DEFAULT_PLOT
    if target.rsplit(".", 1)[-1].lower() not in PLOT_FORMATS or "." not in target:
        raise ExpressionError(f"--plot: {target!r} must end in .png or .svg")
    matplotlib = _has_matplotlib()
    if args.plot and not matplotlib:
        raise MissingDependencyError(
            "--plot needs matplotlib: pip install 'graphc[plot]' (without --plot, --scaling "
            "prints the tables alone)"
        )
    modes, swell = mode_scaling(), expression_swell()
    print(scaling_report(modes, swell))
    if matplotlib:
        print(f"\nplot written to {plot_scaling(modes, swell, target)}")
    else:
        print("\nno plot: matplotlib is not installed (pip install 'graphc[plot]' to get one)")
    return 0


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True
