"""The exception hierarchy: every error graphc raises on purpose derives from `GraphcError`.

Each subclass also derives from the builtin that Python users already catch for that kind of
mistake (a wrong shape is a `ValueError`, a wrong dtype a `TypeError`), so
`except ValueError` keeps working in code that does not know graphc.
"""

from __future__ import annotations


class GraphcError(Exception):
    """Base class of all errors raised by graphc."""


class ShapeError(GraphcError, ValueError):
    """Operand shapes do not fit an operation (raised at build time by shape rules)."""


class DTypeError(GraphcError, TypeError):
    """Operand dtypes do not fit an operation, or a dtype is not supported."""


class GraphError(GraphcError, ValueError):
    """A graph is malformed: a missing input, a cycle, an unknown primitive, a bad output."""


class InputError(GraphcError, ValueError):
    """A runtime argument does not match the graph's input (count, shape, dtype, batch size)."""


class SerializationError(GraphcError, ValueError):
    """A saved file is truncated, corrupted, of the wrong version or otherwise unreadable."""


class MissingDependencyError(GraphcError, ImportError):
    """An optional package or program a feature needs (Pillow, matplotlib, Graphviz) is missing."""
