"""`graphc diff`: differentiate an expression in every mode and compare (see graphc.modes).

graphc diff "log(x1) + x1*x2 - sin(x2)" --at x1=2,x2=5 [--trace] [--json]
graphc diff --scaling [--plot scaling.png]
"""

from __future__ import annotations

import argparse
import json
import sys

from graphc.errors import GraphcError
from graphc.expression import ExpressionError, expression_variables, parse_expression


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
        help="with --scaling: also plot to FILE (.png or .svg; needs matplotlib)",
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
        try:
            point[name] = float(value)
        except ValueError:
            raise ExpressionError(f"--at: the value of {name} is not a number: {value!r}") from None
    return point


def run(args: argparse.Namespace) -> int:
    from graphc.modes import compare_modes

    if args.scaling:
        return _run_scaling(args.plot)
    if not args.expression:
        raise ExpressionError("graphc diff needs an expression (or --scaling)")
    variables = expression_variables(args.expression)
    graph = parse_expression(args.expression, variables)  # bad syntax or functions fail first
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
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report)
    return 0


def _run_scaling(plot: str | None) -> int:
    from graphc.scaling import expression_swell, mode_scaling, plot_scaling, scaling_report

    modes, swell = mode_scaling(), expression_swell()
    print(scaling_report(modes, swell))
    if plot:
        try:
            print(f"\nplot written to {plot_scaling(modes, swell, plot)}")
        except GraphcError as exc:
            print(f"\n{exc}", file=sys.stderr)
    return 0
