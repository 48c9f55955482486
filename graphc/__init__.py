"""graphc: a symbolic computation-graph compiler.

Build values with `placeholder`, `scalars`, `constant`, operators and `graphc.<op>` functions;
materialize them with `Graph(inputs, outputs)`; call the graph to evaluate it with numpy.

>>> import graphc
>>> x1, x2 = graphc.scalars("x1 x2")
>>> f = graphc.Graph([x1, x2], graphc.log(x1) + x1 * x2 - graphc.sin(x2))
>>> print(f.dump())
graph(%0 x1: f64[], %1 x2: f64[]) {
  %2 = log %0 : f64[]
  %3 = mul %0, %1 : f64[]
  %4 = add %2, %3 : f64[]
  %5 = sin %1 : f64[]
  %6 = sub %4, %5 : f64[]
  return %6
}
"""

from graphc import autodiff, passes, symbolic, testing
from graphc import operators as _operators  # noqa: F401  (installs Value's operators)
from graphc._version import __version__
from graphc.compiler import compile
from graphc.core import Primitive, Property, Value, constant, placeholder, scalars
from graphc.differentiate import grad, hessian, jacobian, jvp, numeric_grad, vjp
from graphc.errors import (
    DTypeError,
    GraphcError,
    GraphError,
    InputError,
    MissingDependencyError,
    SerializationError,
    ShapeError,
)
from graphc.graph import Graph
from graphc.lambdify import lambdify
from graphc.modes import compare_modes
from graphc.nn import *  # noqa: F401,F403
from graphc.passes import optimize
from graphc.primitives.cast import *  # noqa: F401,F403
from graphc.primitives.compare import *  # noqa: F401,F403
from graphc.primitives.conv import *  # noqa: F401,F403
from graphc.primitives.elementwise import *  # noqa: F401,F403
from graphc.primitives.gather import *  # noqa: F401,F403
from graphc.primitives.linalg import *  # noqa: F401,F403
from graphc.primitives.random import *  # noqa: F401,F403
from graphc.primitives.reduce import *  # noqa: F401,F403
from graphc.primitives.shape import *  # noqa: F401,F403
from graphc.primitives.window import *  # noqa: F401,F403
from graphc.symbolic import from_sympy, to_sympy
from graphc.types import TensorType
