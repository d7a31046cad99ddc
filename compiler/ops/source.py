"""Ops that bring values into a graph: parameters (call inputs) and constants."""
from __future__ import annotations


from .. import dtypes as dt
from ..ir import TensorType
from .registry import OpDef, register


def _param_infer(types, attrs):
    return [TensorType(tuple(attrs["shape"]), attrs["dtype"])]


def _param_ref(arrays, attrs):
    raise RuntimeError("parameter nodes are bound by the interpreter, not evaluated")


register(OpDef("parameter", "source", _param_infer, _param_ref, arity=0, differentiable=False,
               doc="A call input. attrs: index (position), shape, dtype."))


def _const_infer(types, attrs):
    a = attrs["value"].array
    return [TensorType(tuple(a.shape), dt.from_numpy(a.dtype))]


register(OpDef("constant", "source", _const_infer, lambda arrays, attrs: [attrs["value"].array], arity=0,
               differentiable=False, doc="A literal array. attrs: value (Literal)."))
