"""Per-run counters of random ops: the state that makes counter-based RNG draw fresh values.

The compiler's random ops take a scalar int64 `counter` operand (compiler/ops/random.py).
`counter_operand(graph, name)` makes that operand for a new op: a `random_counter` op owning
a `RandomStream`, which replays like a variable read plus increment (see variables.py):
one graph parameter bound to the stream's buffer, and an output donated back with +1. So
every run draws fresh values, programs stay pure functions of their inputs, and a new
session (or an identically built graph with the same seeds) replays the same sequence.

Where the counter lives: in a Session for TF1 graphs (every session starts at 0, no
initializer needed: `_auto_initial`), in the stream object for ops traced by
`fuseflow.function` (like an eager variable). Eager ops use `eager_counter(key)`.
"""
from __future__ import annotations

import numpy as np

from fuseflow.compiler import dtypes as dt

from . import graph as graph_mod
from .build import replay_handler
from .tensor import EagerTensor, TensorShape

COUNTER_OP = "random_counter"
_eager_counters: dict = {}


class RandomStream:
    """The run counter of one random op: variable-like state (see module docstring)."""

    dtype = dt.int64

    def __init__(self, graph, name: str):
        self._graph = graph
        self._op_name = name
        self._validate_shape = True
        self._eager_value = np.zeros((), np.int64) if graph is None else None

    @property
    def name(self) -> str:
        return f"{self._op_name}/counter"

    @property
    def shape(self) -> TensorShape:
        return TensorShape([])

    def _auto_initial(self) -> np.ndarray:
        """A session starts every stream at 0 (no initializer op needed)."""
        return np.zeros((), np.int64)

    def __repr__(self):
        return f"RandomStream({self._op_name})"


@replay_handler(COUNTER_OP)
def _replay_counter(ctx, op, inputs):
    from .variables import variable_state
    state = variable_state(ctx)
    stream = op.attrs["stream"]
    current = state.start_value(stream)
    em = ctx.emitter(op)
    state.record_update(stream, op, em.add(current, em.constant(np.asarray(1, np.int64)), name=op.name))
    return [current]


def counter_operand(g, name):
    """The counter operand of a new random op: a graph op, or an eager value."""
    if g is None:
        return None
    stream = RandomStream(None if g.is_function_graph() else g, name)
    loc = graph_mod.user_location(g.get_name_scope())
    op = g.create_op(COUNTER_OP, [], {"stream": stream}, [(dt.int64, TensorShape([]))], name="counter", loc=loc)
    return op.outputs[0]


def eager_counter(key) -> EagerTensor:
    """The counter for one eager draw from the stream named by `key` (e.g. the op's seeds)."""
    n = _eager_counters.get(key, 0)
    _eager_counters[key] = n + 1
    return EagerTensor(np.asarray(n, np.int64), dt.int64)


def reset_eager_counters():
    _eager_counters.clear()
