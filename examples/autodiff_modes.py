"""Forward vs reverse vs symbolic differentiation on the textbook example.

f(x1, x2) = ln(x1) + x1*x2 - sin(x2) at (2, 5), as in Baydin et al., "Automatic differentiation
in machine learning: a survey" (Table 2 and 3). Shows:

1. the function as a graph (the primal trace's structure),
2. all four modes side by side, with the primal, tangent and adjoint traces,
3. the forward-mode (jvp) and reverse-mode (vjp) graphs graphc builds,
4. sympy's symbolic derivative, turned back into a graph and evaluated,
5. the Hessian (forward-over-reverse) next to sympy's.

Run: python examples/autodiff_modes.py          (about a second: there is no separate quick mode)
"""

from __future__ import annotations

import sympy as sp

import graphc


def main() -> None:
    x1, x2 = graphc.scalars("x1 x2")
    f = graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2), name="f")
    print("1. The function as a graph\n")
    print(f.dump(), "\n")

    print("2. Every mode at (2, 5)\n")
    print(graphc.compare_modes(f, {"x1": 2.0, "x2": 5.0}, traces=True), "\n")

    print("3. Forward mode: the jvp graph (primals, then tangents)\n")
    print(graphc.jvp(f).dump(), "\n")
    print("   Reverse mode: the gradient graph\n")
    gradient = graphc.grad(f)
    print(gradient.dump())
    print("   grad f(2, 5) =", [round(float(g), 6) for g in gradient(2.0, 5.0)], "\n")

    print("4. sympy's derivative, as a graph\n")
    expr = graphc.to_sympy(f)
    symbols = graphc.symbolic.input_symbols(f)
    derivatives = [graphc.symbolic.diff(expr, s) for s in symbols]
    print("   f  =", expr)
    print("   df =", derivatives)
    symbolic = graphc.from_sympy(derivatives, symbols)
    print("   evaluated:", [round(float(v), 6) for v in symbolic(2.0, 5.0)], "\n")

    print("5. Hessian (forward-over-reverse) and sympy's\n")
    print(graphc.hessian(f)(2.0, 5.0))
    print(sp.hessian(expr, symbols).subs(dict(zip(symbols, (2, 5)))).evalf(6))


if __name__ == "__main__":
    main()
