"""The global step: `get_or_create_global_step`, `get_global_step`, `global_step`."""
from __future__ import annotations

import contextlib

import numpy as np

from fuseflow.compiler import dtypes as dt

from .. import graph as graph_mod

GLOBAL_STEP = "global_step"


def get_global_step(graph=None):
    g = graph or graph_mod.get_default_graph()
    items = g.get_collection(GLOBAL_STEP)
    if len(items) == 1:
        return items[0]
    if len(items) > 1:
        raise TypeError("There must be at most one global step, found %d" % len(items))
    try:
        return g.get_tensor_by_name("global_step:0")
    except (KeyError, ValueError):
        return None


def create_global_step(graph=None):
    g = graph or graph_mod.get_default_graph()
    if get_global_step(g) is not None:
        raise ValueError("'global_step' already exists.")
    from ..variables import Variable
    from .optimizer import _init_scope
    with contextlib.ExitStack() as stack:
        if graph is not None:
            stack.enter_context(graph.as_default())
        stack.enter_context(_init_scope(keep_name_scope=False))
        v = Variable(np.int64(0), trainable=False, name=GLOBAL_STEP, dtype=dt.int64)
    g.add_to_collection(GLOBAL_STEP, v)
    return v


def get_or_create_global_step(graph=None):
    g = graph or graph_mod.get_default_graph()
    step = get_global_step(g)
    if step is None:
        step = create_global_step(graph)
    return step


def global_step(sess, global_step_tensor):
    """The global step as a Python int (runs the tensor in `sess`)."""
    if hasattr(global_step_tensor, "numpy") and not graph_mod.graph_is_active():
        return int(global_step_tensor.numpy())
    return int(sess.run(global_step_tensor))


def assert_global_step(global_step_tensor):
    dtype = getattr(global_step_tensor, "dtype", None)
    if dtype is None or not dtype.base_dtype.is_integer:
        raise TypeError("Existing \"global_step\" does not have integer type: %s" % dtype)
