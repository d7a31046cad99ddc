"""The one ordered list of graph passes, and the runner that applies it.

A pass is a plain function `graph -> graph` with a `__name__`. The runner copies the input
graph once, applies each pass, verifies after every pass in debug mode (FUSEFLOW_VERIFY=1
or `verify_each=True`, as tests do), snapshots stages for the dump tool, and when a pass
fails re-raises naming the pass.
"""
from __future__ import annotations

import os
from typing import Callable, Optional, Sequence

from ..ir import Graph, verify
from .simplify import algebraic_simplify, constant_fold, cse, dce

Pass = Callable[[Graph], Graph]

SIMPLIFY_PASSES: Sequence[Pass] = (constant_fold, algebraic_simplify, cse, dce)
MAX_SIMPLIFY_ROUNDS = 4


def simplify_to_fixed_point(g: Graph) -> Graph:
    """Repeat the simplification passes until the graph stops shrinking (bounded)."""
    for _ in range(MAX_SIMPLIFY_ROUNDS):
        before = (g.number_of_nodes(), g.number_of_edges())
        for p in SIMPLIFY_PASSES:
            g = p(g)
        if (g.number_of_nodes(), g.number_of_edges()) == before:
            break
    return g


simplify_to_fixed_point.__name__ = "simplify"

def decompose(g: Graph) -> Graph:
    """Rewrite composite ops (softmax, cross-entropies, ...) into primitives."""
    from .decompose import decompose as run
    return run(g)


def legalize(g: Graph) -> Graph:
    """Rewrite shapes the code generator cannot take directly (partially broadcast batched matmul)."""
    from .legalize import legalize as run
    return run(g)


PIPELINE: Sequence[Pass] = (decompose, simplify_to_fixed_point, legalize)


class PassError(RuntimeError):
    pass


def run_passes(g: Graph, passes: Sequence[Pass] = PIPELINE, *, verify_each: Optional[bool] = None,
               snapshot: Optional[Callable[[str, Graph], None]] = None) -> Graph:
    if verify_each is None:
        verify_each = os.environ.get("FUSEFLOW_VERIFY", "") not in ("", "0")
    g = g.copy_graph()
    if verify_each:
        verify(g)
    for p in passes:
        try:
            g = p(g)
            if verify_each:
                verify(g)
        except Exception as e:
            if isinstance(e, PassError) or getattr(e, "_fuseflow_user_error", False):
                raise
            raise PassError(f"pass '{p.__name__}' failed: {type(e).__name__}: {e}") from e
        if snapshot is not None:
            snapshot(p.__name__, g)
    return g
