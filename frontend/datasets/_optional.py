"""Optional third-party packages (Pillow, matplotlib): imported on first use, with an install hint.

The core of graphc needs only numpy, sympy, networkx and llvmlite; decoding images and drawing
plots are extras (`pip install "graphc[images]"`, `"graphc[plot]"`), so the modules that need
them import them when called and say which extra to install instead of failing at import time.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from graphc.errors import MissingDependencyError


def import_optional(module: str, extra: str, feature: str) -> ModuleType:
    """Import `module`, or raise `MissingDependencyError` naming the extra that provides it.

    Args:
        module: the module to import, e.g. "PIL.Image".
        extra: graphc's optional-dependency group that installs it, e.g. "images".
        feature: the public function that needs it, for the message.

    >>> import_optional("json", "none", "demo").__name__
    'json'
    >>> try:
    ...     import_optional("nopkg.sub", "plot", "plot_history")
    ... except ImportError as exc:
    ...     print(exc)
    plot_history needs the package nopkg, which is not installed: pip install "graphc[plot]"
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{feature} needs the package {module.split('.')[0]}, which is not installed: "
            f'pip install "graphc[{extra}]"'
        ) from exc
