"""TF1 learning-rate schedules (`tf.train.exponential_decay`, ...): tensors of the global step.

Same formulas and dtypes as TF: everything is cast to the learning rate's dtype (float32 for
Python floats) before the arithmetic, e.g.
    exponential_decay = lr * decay_rate ^ (step / decay_steps)   (floor of the ratio if staircase)
"""
from __future__ import annotations

import math

from . import _ops


def _check_step(global_step, fn):
    if global_step is None:
        raise ValueError(f"global_step is required for {fn}.")


def _lr_tensor(learning_rate):
    t = _ops.tensor(learning_rate)
    if not t.dtype.is_floating:
        t = _ops.cast(t, "float32")
    return t


def _ratio(global_step, decay_steps, dtype):
    """global_step / decay_steps in `dtype` (TF's Div: correctly rounded, so a staircase floor of
    41 / 41 is exactly 1)."""
    return _ops.div(_ops.tensor(global_step, dtype), _ops.tensor(decay_steps, dtype))


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None):
    _check_step(global_step, "exponential_decay")
    lr = _lr_tensor(learning_rate)
    dtype = lr.dtype
    p = _ratio(global_step, decay_steps, dtype)
    if staircase:
        p = _ops.floor(p)
    return _ops.mul(lr, _ops.pow_(_ops.tensor(decay_rate, dtype), p), name=name or "ExponentialDecay")


def natural_exp_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None):
    _check_step(global_step, "natural_exp_decay")
    lr = _lr_tensor(learning_rate)
    dtype = lr.dtype
    p = _ratio(global_step, decay_steps, dtype)
    if staircase:
        p = _ops.floor(p)
    exponent = _ops.exp(_ops.mul(_ops.neg(_ops.tensor(decay_rate, dtype)), p))
    return _ops.mul(lr, exponent, name=name or "NaturalExpDecay")


def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False, name=None):
    _check_step(global_step, "inverse_time_decay")
    lr = _lr_tensor(learning_rate)
    dtype = lr.dtype
    p = _ratio(global_step, decay_steps, dtype)
    if staircase:
        p = _ops.floor(p)
    denom = _ops.add(_ops.const(1, dtype), _ops.mul(_ops.tensor(decay_rate, dtype), p))
    return _ops.div(lr, denom, name=name or "InverseTimeDecay")


def polynomial_decay(learning_rate, global_step, decay_steps, end_learning_rate=0.0001, power=1.0,
                     cycle=False, name=None):
    _check_step(global_step, "polynomial_decay")
    lr = _lr_tensor(learning_rate)
    dtype = lr.dtype
    end_lr = _ops.tensor(end_learning_rate, dtype)
    step = _ops.tensor(global_step, dtype)
    steps = _ops.tensor(decay_steps, dtype)
    if cycle:
        ratio = _ops.ceil(_ratio(step, steps, dtype))
        multiplier = _ops.select(_ops.equal(step, _ops.const(0, dtype)), _ops.const(1, dtype), ratio)
        steps = _ops.mul(steps, multiplier)
    else:
        step = _ops.minimum(step, steps)
    p = _ratio(step, steps, dtype)
    decayed = _ops.mul(_ops.sub(lr, end_lr), _ops.pow_(_ops.sub(_ops.const(1, dtype), p), _ops.tensor(power, dtype)))
    return _ops.add(decayed, end_lr, name=name or "PolynomialDecay")


def cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0, name=None):
    _check_step(global_step, "cosine_decay")
    lr = _lr_tensor(learning_rate)
    dtype = lr.dtype
    steps = _ops.tensor(decay_steps, dtype)
    step = _ops.minimum(_ops.tensor(global_step, dtype), steps)
    fraction = _ratio(step, steps, dtype)
    cosine = _ops.mul(_ops.const(0.5, dtype),
                      _ops.add(_ops.const(1, dtype), _ops.cos(_ops.mul(_ops.const(math.pi, dtype), fraction))))
    a = _ops.const(alpha, dtype)
    decayed = _ops.add(_ops.mul(_ops.sub(_ops.const(1, dtype), a), cosine), a)
    return _ops.mul(lr, decayed, name=name or "CosineDecay")


def piecewise_constant(x, boundaries, values, name=None):
    """values[0] for x <= boundaries[0], values[i] for boundaries[i-1] < x <= boundaries[i],
    values[-1] for x > boundaries[-1]."""
    if len(boundaries) != len(values) - 1:
        raise ValueError("The length of boundaries should be 1 less than the length of values")
    x = _ops.tensor(x)
    vals = [_ops.tensor(v) for v in values]
    dtype = vals[0].dtype
    vals = [_ops.cast(v, dtype) for v in vals]
    bounds = [_ops.tensor(b, x.dtype) for b in boundaries]
    # Walk from the last interval back so the first matching predicate wins, as tf.case does.
    result = vals[-1]
    for b, v in reversed(list(zip(bounds, vals[:-1]))):
        result = _ops.select(_ops.less_equal(x, b), v, result)
    if name:
        result = _ops.add(result, _ops.const(0, dtype), name=name)
    return result


piecewise_constant_decay = piecewise_constant


def cosine_decay_restarts(learning_rate, global_step, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                          name=None):
    """SGDR: cosine annealing restarted after first_decay_steps * t_mul^i steps, each cycle's
    peak scaled by m_mul^i."""
    _check_step(global_step, "cosine_decay_restarts")
    lr = _lr_tensor(learning_rate)
    dtype = lr.dtype
    one = _ops.const(1, dtype)
    fraction = _ratio(global_step, first_decay_steps, dtype)
    t = _ops.const(t_mul, dtype)
    if t_mul == 1.0:
        i_restart = _ops.floor(fraction)
        fraction = _ops.sub(fraction, i_restart)
    else:
        i_restart = _ops.floor(_ops.div(_ops.log(_ops.sub(one, _ops.mul(fraction, _ops.sub(one, t)))), _ops.log(t)))
        sum_r = _ops.div(_ops.sub(one, _ops.pow_(t, i_restart)), _ops.sub(one, t))
        fraction = _ops.div(_ops.sub(fraction, sum_r), _ops.pow_(t, i_restart))
    m_fac = _ops.pow_(_ops.const(m_mul, dtype), i_restart)
    cosine = _ops.mul(_ops.mul(_ops.const(0.5, dtype), m_fac),
                      _ops.add(one, _ops.cos(_ops.mul(_ops.const(math.pi, dtype), fraction))))
    a = _ops.const(alpha, dtype)
    decayed = _ops.add(_ops.mul(_ops.sub(one, a), cosine), a)
    return _ops.mul(lr, decayed, name=name or "SGDRDecay")


def linear_cosine_decay(learning_rate, global_step, decay_steps, num_periods=0.5, alpha=0.0, beta=0.001,
                        name=None):
    """((alpha + (decay_steps - step) / decay_steps) * 0.5 * (1 + cos(2 pi num_periods step / decay_steps))
    + beta) * lr, with step clamped to decay_steps."""
    _check_step(global_step, "linear_cosine_decay")
    lr = _lr_tensor(learning_rate)
    dtype = lr.dtype
    steps = _ops.tensor(decay_steps, dtype)
    step = _ops.minimum(_ops.tensor(global_step, dtype), steps)
    linear = _ops.div(_ops.sub(steps, step), steps)
    fraction = _ops.mul(_ops.mul(_ops.const(2.0, dtype), _ops.const(num_periods, dtype)), _ops.div(step, steps))
    cosine = _ops.mul(_ops.const(0.5, dtype),
                      _ops.add(_ops.const(1, dtype), _ops.cos(_ops.mul(_ops.const(math.pi, dtype), fraction))))
    decayed = _ops.add(_ops.mul(_ops.add(_ops.const(alpha, dtype), linear), cosine), _ops.const(beta, dtype))
    return _ops.mul(lr, decayed, name=name or "LinearCosineDecay")
