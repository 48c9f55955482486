"""Graph optimization passes on networkx, and the pass manager that runs them.

Each pass is a pure `Graph -> Graph` function registered by name: `dce`, `fold`, `simplify`,
`cse`, `inference`, `fuse`, and the `memory` analysis. `optimize(graph, level)` runs the standard
pipelines; docs/passes.md describes every pass and shows their effect on two autodiff graphs.

>>> import graphc
>>> from graphc.passes import optimize
>>> x = graphc.placeholder((None, 3), name="x")
>>> g = graphc.Graph([x], graphc.exp(x * 1.0) - 0.0)
>>> len(g), len(optimize(g))
(6, 2)
"""

from graphc.passes.algebra import simplify
from graphc.passes.cse import eliminate_common_subexpressions
from graphc.passes.dce import eliminate_dead_code
from graphc.passes.equality import structurally_equal
from graphc.passes.fold import fold_constants
from graphc.passes.fusion import FusionGroup, find_fusion_groups, fuse, fused_p
from graphc.passes.inference import specialize_for_inference
from graphc.passes.manager import (
    PASSES,
    FixedPoint,
    PassInfo,
    PassManager,
    PassReport,
    PassRow,
    fixed_point,
    optimize,
    pipeline_for,
    register_pass,
)
from graphc.passes.memory import Buffer, MemoryPlan, plan_memory
from graphc.passes.patterns import Match, Pattern, PatternRule, match_pattern, rewrite_matches
from graphc.passes.rewrite import REWRITES, NodeView, Rewrite, apply_rewrites, rewrite
from graphc.passes.verify import verify_graph, verify_signature

__all__ = [
    "PASSES",
    "REWRITES",
    "Buffer",
    "FixedPoint",
    "FusionGroup",
    "Match",
    "MemoryPlan",
    "NodeView",
    "PassInfo",
    "PassManager",
    "PassReport",
    "PassRow",
    "Pattern",
    "PatternRule",
    "Rewrite",
    "apply_rewrites",
    "eliminate_common_subexpressions",
    "eliminate_dead_code",
    "find_fusion_groups",
    "fixed_point",
    "fold_constants",
    "fuse",
    "fused_p",
    "match_pattern",
    "optimize",
    "pipeline_for",
    "plan_memory",
    "register_pass",
    "rewrite",
    "rewrite_matches",
    "simplify",
    "specialize_for_inference",
    "structurally_equal",
    "verify_graph",
    "verify_signature",
]
