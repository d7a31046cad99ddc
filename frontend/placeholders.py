"""`tf.placeholder` and `tf.placeholder_with_default` (TF1 graph inputs fed through Session.run).

A placeholder is a frontend-only op: it has no value of its own, so running a graph that needs
one without feeding it raises InvalidArgumentError naming it (build.py's replay handler).
Feeds are checked against the static shape given here (None dims accept any size).
"""
from __future__ import annotations

from fuseflow.compiler import dtypes as dt

from . import graph as graph_mod
from .core import convert_to_tensor
from .tensor import TensorShape


def _graph():
    # TF raises here when eager execution is on; we build into the default graph instead, so
    # TF1 snippets (placeholder + Session.run) also run in a script that used TF2 eager code.
    return graph_mod.get_default_graph()


def placeholder(dtype, shape=None, name=None):
    g = _graph()
    dtype = dt.as_dtype(dtype)
    shape = TensorShape(shape)
    loc = graph_mod.user_location(g.get_name_scope())
    op = g.create_op("placeholder", [], {"dtype": dtype, "shape": shape}, [(dtype, shape)],
                     name=name or "Placeholder", loc=loc)
    return op.outputs[0]


def placeholder_with_default(input, shape, name=None):
    """`input` unless a value is fed for the result (whose static shape is `shape`)."""
    g = _graph()
    default = convert_to_tensor(input)
    shape = TensorShape(shape)
    if not shape.is_compatible_with(default.shape):
        raise ValueError(f"placeholder_with_default: the default's shape {default.shape} is not compatible "
                         f"with shape {shape}")
    loc = graph_mod.user_location(g.get_name_scope())
    op = g.create_op("placeholder_with_default", [default], {"dtype": default.dtype, "shape": shape},
                     [(default.dtype, shape)], name=name or "PlaceholderWithDefault", loc=loc)
    return op.outputs[0]
