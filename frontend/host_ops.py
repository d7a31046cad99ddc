"""Ops a Session runs on the host, in Python, between compiled segments.

Compiled programs hold numeric buffers only. Some graph ops are not compute: queues and
readers (input pipelines with blocking and threads), Example parsing and other string ops,
and questions about the session's own state (is this variable initialized?). The Session
runs those here, feeding their results into the compiled program(s) as if fed by the user
(see Session._execute). A run with no host ops is ONE native call.

A host op implementation is `fn(run: RunContext, op, inputs: list[np.ndarray]) -> list[np.ndarray]`
registered with `@host_op(op_type)`. Compiler ops that produce or consume strings (no native
representation) run through their reference implementation, as in eager mode.
"""
from __future__ import annotations

import numpy as np

from fuseflow.compiler.ir import Attrs
from fuseflow.compiler.ops.registry import get_op

_HOST_OPS: dict = {}


def host_op(op_type: str):
    def deco(fn):
        _HOST_OPS[op_type] = fn
        return fn
    return deco


def _is_compiler_op(op_type: str) -> bool:
    try:
        get_op(op_type)
        return True
    except NotImplementedError:
        return False


def _touches_strings(op) -> bool:
    return any(t.dtype.is_string for t in op.outputs) or any(t.dtype.is_string for t in op.inputs)


# String-typed frontend-only ops that are plain forwarding.
_STRING_FORWARDING = {"placeholder_with_default", "identity", "stop_gradient"}


# Variable ops on string variables (e.g. match_filenames_once): the value stays on the host.
_STRING_STATE = {"read_variable", "assign"}


def is_host_op(op) -> bool:
    if op.ir_op in _HOST_OPS:
        return True
    if not _touches_strings(op):
        return False
    return op.ir_op in _STRING_FORWARDING or op.ir_op in _STRING_STATE or _is_compiler_op(op.ir_op)


def run_host_op(run, op, inputs: list) -> list:
    fn = _HOST_OPS.get(op.ir_op)
    if fn is not None:
        return list(fn(run, op, inputs))
    if op.ir_op in _STRING_FORWARDING and not _is_compiler_op(op.ir_op):
        return [inputs[0]]
    if op.ir_op in _STRING_STATE:
        return _string_state(run, op, inputs)
    return _reference(op, inputs)


def _reference(op, inputs) -> list:
    from .tensor import Tensor
    attrs = {}
    for k, v in op.attrs.items():
        if isinstance(v, Tensor):
            raise TypeError(f"{op.type} '{op.name}': string ops with tensor-valued attributes ({k}) are not "
                            f"supported by fuseflow")
        attrs[k] = v
    outs = get_op(op.ir_op).reference(list(inputs), Attrs(attrs))
    results = []
    for arr, t in zip(outs, op.outputs):
        arr = np.asarray(arr)
        if not t.dtype.is_string and arr.dtype != t.dtype.np:
            arr = arr.astype(t.dtype.np)
        results.append(arr)
    return results


def _string_state(run, op, inputs) -> list:
    from .variables import uninitialized_error
    var = op._variable
    if op.ir_op == "assign":
        value = np.array(inputs[0], dtype=object, copy=True)
        run.store.set(var, value)
        return [value]
    buf = run.store.buffer(var)
    if buf is None:
        raise uninitialized_error(var)
    return [np.array(buf, dtype=object, copy=True)]


class RunContext:
    """What a host op sees of the run: the session (its variable store and resources) and options."""

    def __init__(self, session, options=None):
        self.session = session
        self.options = options

    @property
    def store(self):
        return self.session._store

    def resource(self, key, factory):
        """A per-session object (a queue's contents, a reader's position), created on first use."""
        return self.session._resource(key, factory)

    @property
    def timeout(self):
        """Seconds a blocking host op may wait (RunOptions.timeout_in_ms), or None."""
        ms = getattr(self.options, "timeout_in_ms", 0) if self.options is not None else 0
        return ms / 1000.0 if ms and ms > 0 else None


# ------------------------------------------------------------------------------ variable state
@host_op("var_is_initialized")
def _var_is_initialized(run, op, inputs):
    return [np.asarray(run.store.buffer(op.attrs["variable"]) is not None)]


@host_op("report_uninitialized_variables")
def _report_uninitialized(run, op, inputs):
    names = [v._op_name.encode() for v in op.attrs["variables"] if run.store.buffer(v) is None]
    return [np.asarray(names, dtype=object).reshape(-1)]


@host_op("assert_variables_initialized")
def _assert_initialized(run, op, inputs):
    from .variables import uninitialized_error
    for v in op.attrs["variables"]:
        if run.store.buffer(v) is None:
            raise uninitialized_error(v)
    return []
