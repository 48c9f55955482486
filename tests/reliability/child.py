"""Run a function of a test module in a child Python process.

Code that could crash the interpreter (native calls on hostile arguments, threads racing in
native code) or that must measure a fresh process (memory) runs in a child, so a crash fails a
test instead of killing pytest. The child imports the module by file name, calls the function
and prints its return value as JSON on the last line of its output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

_TEMPLATE = """
import json, resource, sys
if {limit} > 0:
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
sys.path.insert(0, {directory!r})
import importlib
module = importlib.import_module({module!r})
result = getattr(module, {function!r})(*json.loads({args!r}))
print(json.dumps(result), flush=True)
"""


class ChildFailed(AssertionError):
    """The child process crashed or raised; the message has its exit code and stderr."""


def start_child(
    module_file: str,
    function: str,
    *args: Any,
    address_space: int = 0,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Start `function(*args)` of the module at `module_file` in a child; see `run_in_child`."""
    path = Path(module_file)
    script = _TEMPLATE.format(
        limit=address_space,
        directory=str(path.parent),
        module=path.stem,
        function=function,
        args=json.dumps(list(args)),
    )
    return subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def result_of(child: subprocess.Popen, timeout: float = 300) -> Any:
    """Wait for a child from `start_child`; return its result or raise `ChildFailed`."""
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        stdout, stderr = child.communicate()
        raise ChildFailed(f"the child timed out after {timeout} s:\n{stderr[-3000:]}") from None
    lines = stdout.strip().splitlines()
    if child.returncode != 0 or not lines:
        raise ChildFailed(f"the child exited with code {child.returncode}:\n{stderr[-3000:]}")
    return json.loads(lines[-1])


def run_in_child(
    module_file: str,
    function: str,
    *args: Any,
    timeout: float = 300,
    address_space: int = 0,
    env: dict[str, str] | None = None,
) -> Any:
    """Call `function(*args)` of the module at `module_file` in a child; return its result.

    Args:
        module_file: the module's path (its directory is put on the child's sys.path).
        function: the name of a function returning JSON-serializable data.
        args: JSON-serializable arguments.
        timeout: seconds before the child is killed (a hang fails the test).
        address_space: if > 0, the child's RLIMIT_AS in bytes, so a huge allocation fails
            instead of overcommitting memory.
        env: the child's environment (default: this process's).
    """
    child = start_child(module_file, function, *args, address_space=address_space, env=env)
    return result_of(child, timeout)
