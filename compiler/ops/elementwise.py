"""Elementwise ops: unary math, binary arithmetic with numpy broadcasting, comparisons,
logical ops, select and cast. Each op: type rule, numpy reference, scalar lowering, gradient.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..ir import TensorType
from ..loopir import Binary, Cast, Const, Select, Unary
from .common import broadcast_types, require, same_dtype, unbroadcast
from .registry import OpDef, OpError, register

_FLOAT = (lambda d: d.is_floating, "a floating-point")
_NUMERIC = (lambda d: d.is_numeric, "a numeric")
_SIGNED = (lambda d: d.is_floating or d.kind == "i", "a signed numeric")
_BOOL = (lambda d: d.is_bool, "a bool")
_ANY = (lambda d: d.native, "a numeric or bool")


def _c(value, like):
    return Const(value, like.dtype)


def _with_errstate(fn):
    def run(*a):
        with np.errstate(all="ignore"):
            return fn(*a)
    return run


# ------------------------------------------------------------------------------- unary ops
def unary(name, reference, scalar, grad=None, allowed=_FLOAT, out_dtype=None, cheap=True):
    check, what = allowed

    def infer(types, attrs):
        (t,) = types
        require(name, t, check, what)
        return [TensorType(t.shape, out_dtype or t.dtype)]

    def ref(arrays, attrs):
        x = arrays[0]
        r = np.asarray(_with_errstate(reference)(x))
        return [r.astype(out_dtype.np if out_dtype else x.dtype, copy=False)]

    def lower(args, attrs, dtype):
        return scalar(args[0], attrs, dtype)

    def gradient(em, inputs, outputs, attrs, grads):
        return [grad(em, inputs[0], outputs[0], grads[0], attrs)]

    return register(OpDef(name, "elementwise", infer, ref, arity=1, scalar=lower,
                          grad=gradient if grad else None, differentiable=grad is not None, cheap=cheap))


def _u(op):
    return lambda x, attrs, dtype: Unary(op, x, dtype)


unary("neg", np.negative, _u("neg"), lambda em, x, y, g, a: em.neg(g), allowed=_SIGNED)
unary("abs", np.abs, _u("abs"), lambda em, x, y, g, a: em.mul(g, em.sign(x)), allowed=_SIGNED)
unary("sign", np.sign, _u("sign"), lambda em, x, y, g, a: em.mul(g, em.scalar_like(0, x)), allowed=_SIGNED)
unary("exp", np.exp, _u("exp"), lambda em, x, y, g, a: em.mul(g, y), cheap=False)
unary("expm1", np.expm1, _u("expm1"), lambda em, x, y, g, a: em.mul(g, em.exp(x)), cheap=False)
unary("log", np.log, _u("log"), lambda em, x, y, g, a: em.div(g, x), cheap=False)
unary("log1p", np.log1p, _u("log1p"),
      lambda em, x, y, g, a: em.div(g, em.add(x, em.scalar_like(1, x))), cheap=False)
unary("sqrt", np.sqrt, _u("sqrt"),
      lambda em, x, y, g, a: em.div(em.mul(g, em.scalar_like(0.5, x)), y))
unary("rsqrt", lambda x: 1 / np.sqrt(x), _u("rsqrt"),
      lambda em, x, y, g, a: em.mul(g, em.mul(em.scalar_like(-0.5, x), em.mul(y, em.mul(y, y)))))
unary("square", np.square, lambda x, a, d: Binary("mul", x, x),
      lambda em, x, y, g, a: em.mul(g, em.mul(x, em.scalar_like(2, x))), allowed=_NUMERIC)
unary("reciprocal", np.reciprocal, _u("reciprocal"),
      lambda em, x, y, g, a: em.neg(em.mul(g, em.mul(y, y))))
unary("sin", np.sin, _u("sin"), lambda em, x, y, g, a: em.mul(g, em.cos(x)), cheap=False)
unary("cos", np.cos, _u("cos"), lambda em, x, y, g, a: em.neg(em.mul(g, em.sin(x))), cheap=False)
unary("tanh", np.tanh, _u("tanh"),
      lambda em, x, y, g, a: em.mul(g, em.sub(em.scalar_like(1, x), em.mul(y, y))), cheap=False)
unary("sigmoid", lambda x: 1 / (1 + np.exp(-x)), _u("sigmoid"),
      lambda em, x, y, g, a: em.mul(g, em.mul(y, em.sub(em.scalar_like(1, x), y))), cheap=False)
unary("erf", lambda x: _erf(x), _u("erf"),
      lambda em, x, y, g, a: em.mul(g, em.mul(em.scalar_like(2 / np.sqrt(np.pi), x),
                                                 em.exp(em.neg(em.mul(x, x))))), cheap=False)
unary("floor", np.floor, _u("floor"), lambda em, x, y, g, a: em.mul(g, em.scalar_like(0, x)))
unary("ceil", np.ceil, _u("ceil"), lambda em, x, y, g, a: em.mul(g, em.scalar_like(0, x)))
unary("round", np.round, _u("round"), lambda em, x, y, g, a: em.mul(g, em.scalar_like(0, x)))
unary("relu", lambda x: np.maximum(x, np.zeros((), x.dtype)),
      lambda x, a, d: Binary("max", x, _c(0, x)),
      lambda em, x, y, g, a: em.select(em.greater(y, em.scalar_like(0, y)), g, em.scalar_like(0, g)),
      allowed=_NUMERIC)
unary("relu6", lambda x: np.minimum(np.maximum(x, np.zeros((), x.dtype)), np.asarray(6, x.dtype)),
      lambda x, a, d: Binary("min", Binary("max", x, _c(0, x)), _c(6, x)),
      lambda em, x, y, g, a: em.select(
          em.logical_and(em.greater(x, em.scalar_like(0, x)), em.less(x, em.scalar_like(6, x))),
          g, em.scalar_like(0, g)), allowed=_NUMERIC)
unary("elu", lambda x: np.where(x > 0, x, np.expm1(x)),
      lambda x, a, d: Select(Binary("gt", x, _c(0, x)), x, Unary("expm1", x, d)),
      lambda em, x, y, g, a: em.select(em.greater(x, em.scalar_like(0, x)), g,
                                       em.mul(g, em.add(y, em.scalar_like(1, y)))), cheap=False)
unary("selu", lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
      lambda x, a, d: Binary("mul", _c(1.0507009873554805, x),
                             Select(Binary("gt", x, _c(0, x)), x,
                                    Binary("mul", _c(1.6732632423543772, x), Unary("expm1", x, d)))),
      lambda em, x, y, g, a: em.select(  # TF's SeluGrad tests the output: y < 0
          em.less(y, em.scalar_like(0, y)),
          em.mul(g, em.add(y, em.scalar_like(1.0507009873554805 * 1.6732632423543772, y))),
          em.mul(g, em.scalar_like(1.0507009873554805, x))), cheap=False)
unary("softplus", lambda x: np.logaddexp(np.zeros((), x.dtype), x).astype(x.dtype),
      lambda x, a, d: Binary("add", Binary("max", x, _c(0, x)),
                             Unary("log1p", Unary("exp", Unary("neg", Unary("abs", x, d), d), d), d)),
      lambda em, x, y, g, a: em.mul(g, em.sigmoid(x)), cheap=False)
unary("softsign", lambda x: x / (1 + np.abs(x)),
      lambda x, a, d: Binary("div", x, Binary("add", _c(1, x), Unary("abs", x, d))),
      lambda em, x, y, g, a: em.div(g, em.square(em.add(em.scalar_like(1, x), em.abs(x)))))
unary("logical_not", np.logical_not, _u("not"), allowed=_BOOL)
unary("is_nan", np.isnan, _u("isnan"), out_dtype=dt.bool_)
unary("is_inf", np.isinf, _u("isinf"), out_dtype=dt.bool_)
unary("is_finite", np.isfinite, _u("isfinite"), out_dtype=dt.bool_)


def _erf(x):
    from math import erf
    return np.vectorize(erf, otypes=[x.dtype])(x) if x.size else x.copy()


# leaky_relu carries its slope as an attribute, so it is registered with attribute-aware hooks.

def _leaky_infer(types, attrs):
    (t,) = types
    require("leaky_relu", t, *_FLOAT)
    return [t]


register(OpDef(
    "leaky_relu", "elementwise", _leaky_infer,
    lambda arrays, attrs: [np.where(arrays[0] > 0, arrays[0],
                                    arrays[0] * np.asarray(attrs["alpha"], arrays[0].dtype)).astype(arrays[0].dtype)],
    arity=1,
    scalar=lambda args, attrs, d: Select(Binary("gt", args[0], _c(0, args[0])), args[0],
                                         Binary("mul", args[0], _c(attrs["alpha"], args[0]))),
    grad=lambda em, ins, outs, attrs, gs: [em.select(em.greater(ins[0], em.scalar_like(0, ins[0])), gs[0],
                                                     em.mul(gs[0], em.scalar_like(attrs["alpha"], ins[0])))]))


# ------------------------------------------------------------------------------ binary ops
def binary(name, reference, scalar, grad=None, allowed=_NUMERIC, out_dtype=None, cheap=True):
    check, what = allowed

    def infer(types, attrs):
        d = same_dtype(name, types)
        for t in types:
            require(name, t, check, what)
        return [broadcast_types(name, types, out_dtype or d)]

    def ref(arrays, attrs):
        a, b = arrays
        r = np.asarray(_with_errstate(reference)(a, b))
        return [r.astype(out_dtype.np if out_dtype else a.dtype, copy=False)]

    def gradient(em, inputs, outputs, attrs, grads):
        x, y = inputs
        gx, gy = grad(em, x, y, outputs[0], grads[0])
        return [None if gx is None else unbroadcast(em, gx, em.type(x).shape),
                None if gy is None else unbroadcast(em, gy, em.type(y).shape)]

    return register(OpDef(name, "elementwise", infer, ref, arity=2,
                          scalar=lambda args, attrs, d: scalar(args[0], args[1]),
                          grad=gradient if grad else None, differentiable=grad is not None, cheap=cheap))


def _b(op):
    return lambda a, b: Binary(op, a, b)


def _floordiv_ref(a, b):
    if a.dtype.kind in "iu":
        return np.where(b == 0, 0, np.floor_divide(a, np.where(b == 0, 1, b)))
    # TF's float FloorDiv is floor(x / y) of the rounded quotient (numpy's floor_divide works from
    # fmod and differs, e.g. 1 // 0.1f is 10 in TF and 9 in numpy).
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.floor(np.true_divide(a, b)).astype(np.result_type(a, b))


def _mod_ref(a, b):
    if a.dtype.kind in "iu":
        return np.where(b == 0, 0, np.mod(a, np.where(b == 0, 1, b)))
    return np.fmod(a, b) + np.where((np.fmod(a, b) != 0) & ((np.fmod(a, b) < 0) != (b < 0)), b, 0)


def _div_ref(a, b):
    if a.dtype.kind in "iu":  # C-style truncating division, x/0 == 0 (TF's truncatediv)
        q = np.where(b == 0, 0, np.abs(a) // np.where(b == 0, 1, np.abs(b)))
        return np.where((a < 0) != (b < 0), -q, q)
    return np.true_divide(a, b)


def _pow_ref(a, b):
    if a.dtype.kind in "iu":
        if np.any(b < 0):
            raise ValueError("pow: integers to negative integer powers are not allowed")
    return np.power(a, b)


binary("add", np.add, _b("add"), lambda em, x, y, z, g: (g, g))
binary("sub", np.subtract, _b("sub"), lambda em, x, y, z, g: (g, em.neg(g)))
binary("mul", np.multiply, _b("mul"), lambda em, x, y, z, g: (em.mul(g, y), em.mul(g, x)))
binary("div", _div_ref, _b("div"),
       lambda em, x, y, z, g: (em.div(g, y), em.neg(em.div(em.mul(g, z), y))))
binary("floordiv", _floordiv_ref, _b("floordiv"))
binary("mod", _mod_ref, _b("mod"),  # TF's FloorModGrad: (g, -g * floor(x / y))
       lambda em, x, y, z, g: (g, em.neg(em.mul(g, em.floordiv(x, y)))))
binary("pow", _pow_ref, _b("pow"), lambda em, x, y, z, g: (
    em.mul(g, em.mul(y, em.pow(x, em.sub(y, em.scalar_like(1, y))))),
    em.mul(g, em.mul(z, em.select(em.greater(x, em.scalar_like(0, x)),
                                  em.log(em.select(em.greater(x, em.scalar_like(0, x)), x,
                                                   em.scalar_like(1, x))),
                                  em.scalar_like(0, x))))), cheap=False)
binary("maximum", np.maximum, _b("max"), lambda em, x, y, z, g: _minmax_grad(em, em.greater_equal(x, y), g))
binary("minimum", np.minimum, _b("min"), lambda em, x, y, z, g: _minmax_grad(em, em.less_equal(x, y), g))
binary("squared_difference", lambda a, b: np.square(a - b),
       lambda a, b: Binary("mul", Binary("sub", a, b), Binary("sub", a, b)),
       lambda em, x, y, z, g: (lambda d: (d, em.neg(d)))(
           em.mul(g, em.mul(em.scalar_like(2, x), em.sub(x, y)))))
binary("atan2", np.arctan2, _b("atan2"), lambda em, y, x, z, g: (  # atan2(y, x)
    lambda scale: (em.mul(scale, x), em.neg(em.mul(scale, y))))(
        em.div(g, em.add(em.square(x), em.square(y)))), allowed=_FLOAT, cheap=False)

for _name, _op, _ref in (("equal", "eq", np.equal), ("not_equal", "ne", np.not_equal),
                         ("less", "lt", np.less), ("less_equal", "le", np.less_equal),
                         ("greater", "gt", np.greater), ("greater_equal", "ge", np.greater_equal)):
    binary(_name, _ref, _b(_op), allowed=_ANY, out_dtype=dt.bool_)

binary("logical_and", np.logical_and, _b("and"), allowed=_BOOL)
binary("logical_or", np.logical_or, _b("or"), allowed=_BOOL)
binary("logical_xor", np.logical_xor, _b("xor"), allowed=_BOOL)


def _minmax_grad(em, xmask, g):
    zero = em.scalar_like(0, g)
    return em.select(xmask, g, zero), em.select(xmask, zero, g)


# ------------------------------------------------------------------------- select and cast
def _select_infer(types, attrs):
    c, a, b = types
    if not c.dtype.is_bool:
        raise OpError(f"select: condition must be bool, got {c.dtype.name}")
    d = same_dtype("select", [a, b])
    return [broadcast_types("select", types, d)]


def _select_grad(em, inputs, outputs, attrs, grads):
    c, x, y = inputs
    g = grads[0]
    zero = em.scalar_like(0, g)
    return [None, unbroadcast(em, em.select(c, g, zero), em.type(x).shape),
            unbroadcast(em, em.select(c, zero, g), em.type(y).shape)]


register(OpDef("select", "elementwise", _select_infer,
               lambda arrays, attrs: [np.where(*arrays).astype(arrays[1].dtype, copy=False)], arity=3,
               scalar=lambda args, attrs, d: Select(args[0], args[1], args[2]), grad=_select_grad))


def _cast_infer(types, attrs):
    (t,) = types
    return [TensorType(t.shape, attrs["dtype"])]


def _cast_ref(arrays, attrs):
    x = arrays[0]
    target = attrs["dtype"]
    with np.errstate(all="ignore"):
        if target.is_string or x.dtype == object:
            return [x.astype(target.np)]
        return [x.astype(target.np)]


def _cast_grad(em, inputs, outputs, attrs, grads):
    src = em.type(inputs[0]).dtype
    if not src.is_floating or not attrs["dtype"].is_floating:
        return [None]
    return [em.cast(grads[0], dtype=src)]


register(OpDef("cast", "elementwise", _cast_infer, _cast_ref, arity=1,
               scalar=lambda args, attrs, d: Cast(args[0], attrs["dtype"]), grad=_cast_grad))
