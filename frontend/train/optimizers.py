"""TF1 optimizers with TF's update rules, written as TF's kernels (training_ops.cc) compute them.

All hyper-parameters are float tensors of the variable's dtype and every intermediate is
computed in that dtype, as the kernels do (so `1 - beta1` is the float32 difference, not
the double one). Defaults and slot initial values are TF1's:

    GradientDescent  var -= grad * lr
    Momentum         accum = accum * momentum + grad
                     var -= accum * lr                                  (use_nesterov=False)
                     var -= grad * lr + accum * momentum * lr           (use_nesterov=True)
    Adagrad          accum += grad^2 (accum starts at initial_accumulator_value=0.1)
                     var -= grad * lr * rsqrt(accum)
    RMSProp          ms += (grad^2 - ms) * (1 - decay)            (ms starts at 1.0)
                     [centered: mg += (grad - mg) * (1 - decay); denom = ms - mg^2 + eps]
                     mom = mom * momentum + grad * lr / sqrt(ms + eps)
                     var -= mom                                   (decay=0.9, momentum=0, eps=1e-10)
    Adam             alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
                     m += (grad - m) * (1 - beta1);  v += (grad^2 - v) * (1 - beta2)
                     var -= m * alpha / (sqrt(v) + epsilon)       (epsilon=1e-8, outside the sqrt)
                     beta1_power *= beta1, beta2_power *= beta2 after the updates
    Adadelta         see AdadeltaOptimizer                        (rho=0.95, epsilon=1e-8)
"""
from __future__ import annotations

import numpy as np

from . import _ops
from .optimizer import Optimizer, _control_deps, _var_dtype


def _f(value, dtype):
    """A Python hyper-parameter as the kernel sees it: a scalar of the variable's dtype."""
    return np.asarray(value, dtype=dtype.np)


class GradientDescentOptimizer(Optimizer):
    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate

    def _apply_dense(self, grad, var):
        lr = self._hyper(self._learning_rate, _var_dtype(var), "learning_rate")
        return var.assign_sub(_ops.mul(grad, lr))


class MomentumOptimizer(Optimizer):
    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum", use_nesterov=False):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = use_nesterov

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _apply_dense(self, grad, var):
        dtype = _var_dtype(var)
        lr = self._hyper(self._learning_rate, dtype, "learning_rate")
        momentum = self._hyper(self._momentum, dtype, "momentum")
        accum = self.get_slot(var, "momentum")
        new_accum = _ops.add(_ops.mul(accum, momentum), grad)
        upd_accum = accum.assign(new_accum)
        with _control_deps([_ops.as_op(upd_accum)]):
            if self._use_nesterov:
                delta = _ops.add(_ops.mul(grad, lr), _ops.mul(_ops.mul(new_accum, momentum), lr))
            else:
                delta = _ops.mul(new_accum, lr)
            return var.assign_sub(delta)


class AdagradOptimizer(Optimizer):
    def __init__(self, learning_rate, initial_accumulator_value=0.1, use_locking=False, name="Adagrad"):
        if initial_accumulator_value <= 0.0:
            raise ValueError("initial_accumulator_value must be positive: %s" % initial_accumulator_value)
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value

    def _create_slots(self, var_list):
        for v in var_list:
            self._constant_slot(v, self._initial_accumulator_value, "accumulator", self._name)

    def _apply_dense(self, grad, var):
        lr = self._hyper(self._learning_rate, _var_dtype(var), "learning_rate")
        acc = self.get_slot(var, "accumulator")
        new_acc = _ops.add(acc, _ops.square(grad))
        upd = acc.assign(new_acc)
        with _control_deps([_ops.as_op(upd)]):
            return var.assign_sub(_ops.mul(_ops.mul(grad, lr), _ops.rsqrt(new_acc)))


class RMSPropOptimizer(Optimizer):
    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10, use_locking=False,
                 centered=False, name="RMSProp"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._decay = decay
        self._momentum = momentum
        self._epsilon = epsilon
        self._centered = centered

    def _create_slots(self, var_list):
        for v in var_list:
            self._constant_slot(v, 1.0, "rms", self._name)
            if self._centered:
                self._zeros_slot(v, "mg", self._name)
            self._zeros_slot(v, "momentum", self._name)

    def _apply_dense(self, grad, var):
        dtype = _var_dtype(var)
        lr = self._hyper(self._learning_rate, dtype, "learning_rate")
        rho = self._hyper(self._decay, dtype, "decay")
        momentum = self._hyper(self._momentum, dtype, "momentum")
        eps = self._hyper(self._epsilon, dtype, "epsilon")
        one_minus_rho = _ops.sub(_ops.const(1, dtype), rho)
        ms = self.get_slot(var, "rms")
        mom = self.get_slot(var, "momentum")
        new_ms = _ops.add(ms, _ops.mul(_ops.sub(_ops.square(grad), ms), one_minus_rho))
        updates = [ms.assign(new_ms)]
        if self._centered:
            mg = self.get_slot(var, "mg")
            new_mg = _ops.add(mg, _ops.mul(_ops.sub(grad, mg), one_minus_rho))
            updates.append(mg.assign(new_mg))
            denom = _ops.add(_ops.sub(new_ms, _ops.square(new_mg)), eps)
        else:
            denom = _ops.add(new_ms, eps)
        new_mom = _ops.add(_ops.mul(mom, momentum), _ops.div(_ops.mul(grad, lr), _ops.sqrt(denom)))
        updates.append(mom.assign(new_mom))
        with _control_deps([_ops.as_op(u) for u in updates]):
            return var.assign_sub(new_mom)


class AdamOptimizer(Optimizer):
    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, use_locking=False, name="Adam"):
        super().__init__(use_locking, name)
        self._lr = learning_rate
        self._beta1 = beta1
        self._beta2 = beta2
        self._epsilon = epsilon

    def _get_beta_accumulators(self):
        return self._get_non_slot_variable("beta1_power"), self._get_non_slot_variable("beta2_power")

    def _create_slots(self, var_list):
        first_var = min(var_list, key=lambda x: x.name)
        self._create_non_slot_variable(initial_value=_beta_init(self._beta1, first_var), name="beta1_power",
                                       colocate_with=first_var)
        self._create_non_slot_variable(initial_value=_beta_init(self._beta2, first_var), name="beta2_power",
                                       colocate_with=first_var)
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name)

    def _apply_dense(self, grad, var):
        dtype = _var_dtype(var)
        beta1_power, beta2_power = self._get_beta_accumulators()
        b1p = _ops.cast(_ops.tensor(beta1_power), dtype)
        b2p = _ops.cast(_ops.tensor(beta2_power), dtype)
        lr = self._hyper(self._lr, dtype, "learning_rate")
        beta1 = self._hyper(self._beta1, dtype, "beta1")
        beta2 = self._hyper(self._beta2, dtype, "beta2")
        eps = self._hyper(self._epsilon, dtype, "epsilon")
        one = _ops.const(1, dtype)
        alpha = _ops.div(_ops.mul(lr, _ops.sqrt(_ops.sub(one, b2p))), _ops.sub(one, b1p))
        m = self.get_slot(var, "m")
        v = self.get_slot(var, "v")
        new_m = _ops.add(m, _ops.mul(_ops.sub(grad, m), _ops.sub(one, beta1)))
        new_v = _ops.add(v, _ops.mul(_ops.sub(_ops.square(grad), v), _ops.sub(one, beta2)))
        updates = [m.assign(new_m), v.assign(new_v)]
        with _control_deps([_ops.as_op(u) for u in updates]):
            return var.assign_sub(_ops.div(_ops.mul(new_m, alpha), _ops.add(_ops.sqrt(new_v), eps)))

    def _finish(self, update_ops, name_scope):
        with _control_deps(update_ops):
            beta1_power, beta2_power = self._get_beta_accumulators()
            dtype = _var_dtype(beta1_power)
            update_beta1 = beta1_power.assign(_ops.mul(_ops.tensor(beta1_power), self._hyper(self._beta1, dtype, "beta1")))
            update_beta2 = beta2_power.assign(_ops.mul(_ops.tensor(beta2_power), self._hyper(self._beta2, dtype, "beta2")))
        return _ops.group(list(update_ops) + [_ops.as_op(update_beta1), _ops.as_op(update_beta2)], name=name_scope)


def _beta_init(beta, like):
    if callable(beta):
        beta = beta()
    if hasattr(beta, "_as_tensor") or hasattr(beta, "numpy"):
        return beta
    return np.asarray(beta, dtype=_var_dtype(like).np)


class AdadeltaOptimizer(Optimizer):
    """accum = accum * rho + grad^2 * (1 - rho)
    update = sqrt(accum_update + eps) * rsqrt(accum + eps) * grad; var -= update * lr
    accum_update = accum_update * rho + update^2 * (1 - rho)        (rho=0.95, epsilon=1e-8)"""

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-8, use_locking=False, name="Adadelta"):
        super().__init__(use_locking, name)
        self._lr = learning_rate
        self._rho = rho
        self._epsilon = epsilon

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "accum", self._name)
            self._zeros_slot(v, "accum_update", self._name)

    def _apply_dense(self, grad, var):
        dtype = _var_dtype(var)
        lr = self._hyper(self._lr, dtype, "lr")
        rho = self._hyper(self._rho, dtype, "rho")
        eps = self._hyper(self._epsilon, dtype, "epsilon")
        one_minus_rho = _ops.sub(_ops.const(1, dtype), rho)
        accum = self.get_slot(var, "accum")
        accum_update = self.get_slot(var, "accum_update")
        new_accum = _ops.add(_ops.mul(accum, rho), _ops.mul(_ops.square(grad), one_minus_rho))
        update = _ops.mul(_ops.mul(_ops.sqrt(_ops.add(accum_update, eps)), _ops.rsqrt(_ops.add(new_accum, eps))), grad)
        new_accum_update = _ops.add(_ops.mul(accum_update, rho), _ops.mul(_ops.square(update), one_minus_rho))
        updates = [accum.assign(new_accum), accum_update.assign(new_accum_update)]
        with _control_deps([_ops.as_op(u) for u in updates]):
            return var.assign_sub(_ops.mul(update, lr))


def _shrink(prox_var, lr, l1, l2):
    """TF's proximal step: sign(p) * max(|p| - lr*l1, 0) / (1 + lr*l2) (l1 = 0 skips the max)."""
    denom = _ops.add(_ops.const(1, prox_var.dtype), _ops.mul(lr, l2))
    shrunk = _ops.mul(_ops.sign(prox_var),
                      _ops.maximum(_ops.sub(_ops.abs_(prox_var), _ops.mul(lr, l1)), _ops.const(0, prox_var.dtype)))
    return _ops.div(shrunk, denom)


class ProximalGradientDescentOptimizer(Optimizer):
    """prox = var - grad * lr; var = sign(prox) * max(|prox| - lr*l1, 0) / (1 + lr*l2)
    (ApplyProximalGradientDescent; with l1 = 0 it is prox / (1 + lr*l2))."""

    def __init__(self, learning_rate, l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 use_locking=False, name="ProximalGradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._l1 = l1_regularization_strength
        self._l2 = l2_regularization_strength

    def _apply_dense(self, grad, var):
        dtype = _var_dtype(var)
        lr = self._hyper(self._learning_rate, dtype, "learning_rate")
        l1 = self._hyper(self._l1, dtype, "l1_regularization_strength")
        l2 = self._hyper(self._l2, dtype, "l2_regularization_strength")
        prox = _ops.sub(_ops.tensor(var), _ops.mul(grad, lr))
        return var.assign(_shrink(prox, lr, l1, l2))


class ProximalAdagradOptimizer(Optimizer):
    """accum += grad^2; step = lr * rsqrt(accum); prox = var - grad * step;
    var = sign(prox) * max(|prox| - step*l1, 0) / (1 + step*l2)   (ApplyProximalAdagrad)."""

    def __init__(self, learning_rate, initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, use_locking=False, name="ProximalAdagrad"):
        if initial_accumulator_value <= 0.0:
            raise ValueError("initial_accumulator_value must be positive: %s" % initial_accumulator_value)
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value
        self._l1 = l1_regularization_strength
        self._l2 = l2_regularization_strength

    def _create_slots(self, var_list):
        for v in var_list:
            self._constant_slot(v, self._initial_accumulator_value, "accumulator", self._name)

    def _apply_dense(self, grad, var):
        dtype = _var_dtype(var)
        lr = self._hyper(self._learning_rate, dtype, "learning_rate")
        l1 = self._hyper(self._l1, dtype, "l1_regularization_strength")
        l2 = self._hyper(self._l2, dtype, "l2_regularization_strength")
        acc = self.get_slot(var, "accumulator")
        new_acc = _ops.add(acc, _ops.square(grad))
        upd = acc.assign(new_acc)
        with _control_deps([_ops.as_op(upd)]):
            step = _ops.mul(lr, _ops.rsqrt(new_acc))
            prox = _ops.sub(_ops.tensor(var), _ops.mul(grad, step))
            return var.assign(_shrink(prox, step, l1, l2))


class FtrlOptimizer(Optimizer):
    """FTRL-Proximal (ApplyFtrl / ApplyFtrlV2), slots "accum" (initial_accumulator_value) and "linear":
        new_accum = accum + grad^2
        linear += grad - (new_accum^-p - accum^-p) / lr * var        (p = learning_rate_power)
        quadratic = new_accum^-p / lr + 2 * l2
        var = |linear| > l1 ? (sign(linear) * l1 - linear) / quadratic : 0
    With l2_shrinkage the gradient in `linear` is grad + 2 * l2_shrinkage * var; `beta` adds beta / (2 lr) to l2."""

    def __init__(self, learning_rate, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0, use_locking=False, name="Ftrl",
                 accum_name=None, linear_name=None, l2_shrinkage_regularization_strength=0.0, beta=None):
        if initial_accumulator_value < 0.0:
            raise ValueError("initial_accumulator_value %f needs to be positive or zero" % initial_accumulator_value)
        if learning_rate_power > 0.0:
            raise ValueError("learning_rate_power %f needs to be negative or zero" % learning_rate_power)
        for label, v in (("l1_regularization_strength", l1_regularization_strength),
                         ("l2_regularization_strength", l2_regularization_strength),
                         ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):
            if v < 0.0:
                raise ValueError("%s %f needs to be positive or zero" % (label, v))
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._lr_power = learning_rate_power
        self._initial_accumulator_value = initial_accumulator_value
        self._l1 = l1_regularization_strength
        self._l2 = l2_regularization_strength
        self._l2_shrinkage = l2_shrinkage_regularization_strength
        self._beta = 0.0 if beta is None else beta
        self._accum_name = accum_name
        self._linear_name = linear_name

    def _create_slots(self, var_list):
        for v in var_list:
            self._constant_slot(v, self._initial_accumulator_value, "accum", self._accum_name or self._name)
            self._zeros_slot(v, "linear", self._linear_name or self._name)

    def _apply_dense(self, grad, var):
        dtype = _var_dtype(var)
        lr = self._hyper(self._learning_rate, dtype, "learning_rate")
        l1 = self._hyper(self._l1, dtype, "l1_regularization_strength")
        # TF1 folds beta into l2 in Python double precision: l2 + beta / (2 * lr).
        adjusted_l2 = self._l2
        if self._beta:
            adjusted_l2 = _ops.add(self._hyper(self._l2, dtype, "l2_regularization_strength"),
                                   _ops.div(_ops.const(self._beta, dtype), _ops.mul(lr, _ops.const(2, dtype))))
        l2 = self._hyper(adjusted_l2, dtype, "adjusted_l2_regularization_strength")
        lr_power = self._hyper(self._lr_power, dtype, "learning_rate_power")
        accum = self.get_slot(var, "accum")
        linear = self.get_slot(var, "linear")
        w = _ops.tensor(var)
        grad_lin = grad
        if self._l2_shrinkage:
            shrink = self._hyper(self._l2_shrinkage, dtype, "l2_shrinkage_regularization_strength")
            grad_lin = _ops.add(grad, _ops.mul(_ops.mul(_ops.const(2, dtype), shrink), w))
        acc_t = _ops.tensor(accum)
        new_accum = _ops.add(acc_t, _ops.square(grad))
        neg_power = _ops.neg(lr_power)
        if self._lr_power == -0.5:
            new_pow, old_pow = _ops.sqrt(new_accum), _ops.sqrt(acc_t)
        else:
            new_pow, old_pow = _ops.pow_(new_accum, neg_power), _ops.pow_(acc_t, neg_power)
        new_linear = _ops.add(_ops.tensor(linear), _ops.sub(grad_lin, _ops.mul(_ops.div(_ops.sub(new_pow, old_pow), lr), w)))
        quadratic = _ops.add(_ops.div(new_pow, lr), _ops.mul(_ops.const(2, dtype), l2))
        pre = _ops.div(_ops.sub(_ops.mul(_ops.sign(new_linear), l1), new_linear), quadratic)
        new_var = _ops.select(_ops.greater(_ops.abs_(new_linear), l1), pre, _ops.const(0, dtype))
        updates = [accum.assign(new_accum), linear.assign(new_linear)]
        with _control_deps([_ops.as_op(u) for u in updates]):
            return var.assign(new_var)
