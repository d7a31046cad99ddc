"""`tf.keras.optimizers` with Keras 3's update rules, defaults and state.

Keras computes its constants in Python double and lets them meet float32 tensors (so
`1 - beta_1` is the double difference rounded once), and derives Adam's bias correction from
`iterations` instead of keeping beta powers:

    SGD      m = m * momentum - g * lr; var += m            (nesterov: var += m * momentum - g * lr)
             var -= g * lr                                  (momentum == 0)
    Adam     t = iterations + 1; alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
             m += (g - m) * (1 - beta_1); v += (g^2 - v) * (1 - beta_2)
             var -= m * alpha / (sqrt(v) + epsilon)         (epsilon=1e-7; amsgrad: v_hat = max(v_hat, v))
    RMSprop  velocity = rho * velocity + (1 - rho) * g^2    (rho=0.9, epsilon=1e-7, velocity starts at 0)
             [centered: avg = rho * avg + (1 - rho) * g; denominator = velocity - avg^2 + epsilon]
             increment = lr * g / sqrt(velocity + epsilon)
             momentum > 0: mom = momentum * mom + increment; var -= mom, else var -= increment
    Adagrad  accumulator += g^2 (starts at 0.1); var -= lr * g / sqrt(accumulator + epsilon)

`apply_gradients(zip(grads, vars))` filters None gradients (with Keras' warning), builds slot
variables on first use, clips (clipnorm / clipvalue / global_clipnorm), applies weight decay,
runs the update and increments `iterations`. Under `fuseflow.function` tracing the whole
update is recorded into the traced program; eagerly each op runs as it is issued.
"""
from __future__ import annotations

import warnings

import numpy as np

from fuseflow.compiler import dtypes as dt

from .. import graph as graph_mod
from ..tensor import EagerTensor, Tensor
from ..train import _ops


def _init_scope():
    try:
        from ..function import init_scope
        return init_scope()
    except ImportError:
        import contextlib
        return contextlib.nullcontext()


def _variable_cls():
    from .engine import _keras_variable_class       # Keras 3 names: 'iteration', path 'adam/iteration'
    return _keras_variable_class()


def _dtype(var):
    d = var.dtype
    return d.base_dtype if hasattr(d, "base_dtype") else d


def _shape(var) -> tuple:
    s = var.shape
    return tuple(s.as_list() if hasattr(s, "as_list") else s)


def _var_name(var) -> str:
    path = getattr(var, "path", None)
    name = path if isinstance(path, str) and path else str(getattr(var, "name", "variable"))
    return name.split(":")[0].replace("/", "_")


# --------------------------------------------------------------------------- schedules
class LearningRateSchedule:
    """A learning rate as a function of the optimizer step: `schedule(step) -> scalar tensor`."""

    def __call__(self, step):
        raise TypeError(f"{type(self).__name__} must override __call__(step)")

    def get_config(self):
        raise TypeError(f"{type(self).__name__} must override get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _step_f32(step, dtype):
    return _ops.cast(_ops.tensor(step), dtype)


class ExponentialDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        if decay_steps <= 0:
            raise ValueError(f"Argument `decay_steps` must be > 0. Received: decay_steps={decay_steps}")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        lr = _ops.tensor(self.initial_learning_rate, dt.float32)
        dtype = lr.dtype
        p = _ops.div(_step_f32(step, dtype), _ops.const(self.decay_steps, dtype))
        if self.staircase:
            p = _ops.floor(p)
        return _ops.mul(lr, _ops.pow_(_ops.const(self.decay_rate, dtype), p))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        lr = _ops.tensor(self.initial_learning_rate, dt.float32)
        dtype = lr.dtype
        p = _ops.div(_step_f32(step, dtype), _ops.const(self.decay_steps, dtype))
        if self.staircase:
            p = _ops.floor(p)
        return _ops.div(lr, _ops.add(_ops.const(1, dtype), _ops.mul(_ops.const(self.decay_rate, dtype), p)))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        from ..train.learning_rate_decay import polynomial_decay
        return polynomial_decay(self.initial_learning_rate, _ops.tensor(step), self.decay_steps,
                                self.end_learning_rate, self.power, self.cycle)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of values. "
                             f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                             f"values={values} of length {len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        from ..train.learning_rate_decay import piecewise_constant
        return piecewise_constant(_ops.tensor(step), self.boundaries, self.values)

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        if warmup_target is not None or warmup_steps:
            raise ValueError("CosineDecay: warmup (warmup_target/warmup_steps) is not supported by fuseflow")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        from ..train.learning_rate_decay import cosine_decay
        return cosine_decay(self.initial_learning_rate, _ops.tensor(step), self.decay_steps, self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name}


class _SchedulesNamespace:
    LearningRateSchedule = LearningRateSchedule
    ExponentialDecay = ExponentialDecay
    InverseTimeDecay = InverseTimeDecay
    PolynomialDecay = PolynomialDecay
    PiecewiseConstantDecay = PiecewiseConstantDecay
    CosineDecay = CosineDecay

    @staticmethod
    def serialize(schedule):
        return {"class_name": type(schedule).__name__, "config": schedule.get_config()}

    @staticmethod
    def deserialize(config, custom_objects=None):
        classes = {c.__name__: c for c in (ExponentialDecay, InverseTimeDecay, PolynomialDecay,
                                           PiecewiseConstantDecay, CosineDecay)}
        classes.update(custom_objects or {})
        return classes[config["class_name"]].from_config(config["config"])


schedules = _SchedulesNamespace()


# --------------------------------------------------------------------------- base optimizer
class Optimizer:
    """Keras 3 optimizer base: slots per variable, `iterations`, clipping, weight decay."""

    _DEFAULT_NAME = "optimizer"

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if kwargs.pop("decay", None) is not None:
            raise ValueError("Argument `decay` is no longer supported in Keras 3; use a learning rate schedule.")
        if "lr" in kwargs:
            raise ValueError("Argument `lr` is no longer supported. Use `learning_rate` instead.")
        if kwargs:
            raise TypeError(f"Argument(s) not recognized: {kwargs}")
        if sum(x is not None for x in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set.")
        if use_ema or gradient_accumulation_steps or loss_scale_factor:
            raise ValueError("fuseflow's Keras optimizers do not support use_ema, gradient_accumulation_steps "
                             "or loss_scale_factor")
        self.name = name or self._DEFAULT_NAME
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = False
        self.built = False
        self._slots: dict = {}              # id(var) -> {slot name: variable}
        self._known: dict = {}              # id(var) -> var
        self._variables: list = []          # optimizer-owned variables in creation order
        self._exclude_from_wd: set = set()
        self._compiled_apply = None
        Variable = _variable_cls()
        with _init_scope():
            self._iterations = Variable(np.int64(0), name="iteration", trainable=False, dtype=dt.int64)
            self._iterations._keras_path = f"{self.name}/iteration"
            self._variables.append(self._iterations)
            if isinstance(learning_rate, LearningRateSchedule):
                self._learning_rate = learning_rate
            elif callable(learning_rate):
                self._learning_rate = learning_rate
            else:
                self._learning_rate = Variable(np.float32(learning_rate), name="learning_rate", trainable=False,
                                               dtype=dt.float32)
                self._learning_rate._keras_path = f"{self.name}/learning_rate"
                self._variables.append(self._learning_rate)

    # -- properties ----------------------------------------------------------------------
    @property
    def iterations(self):
        return self._iterations

    @property
    def variables(self):
        return list(self._variables)

    @property
    def learning_rate(self):
        return self._get_current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, LearningRateSchedule) or callable(value) and not hasattr(value, "_as_tensor"):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, LearningRateSchedule) or not hasattr(self._learning_rate, "assign"):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its "
                            "`learning_rate` constructor argument, hence its learning rate is not settable.")
        self._learning_rate.assign(np.float32(value) if not hasattr(value, "_as_tensor") and
                                   not isinstance(value, (Tensor, EagerTensor)) else value)

    def _get_current_learning_rate(self):
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            return lr(self._iterations)
        if callable(lr) and not hasattr(lr, "_as_tensor"):
            return lr()
        return lr

    # -- building ------------------------------------------------------------------------
    def build(self, var_list):
        for v in var_list:
            if id(v) not in self._known:
                self._known[id(v)] = v
                self._slots[id(v)] = {}
                with _init_scope():
                    self._build_slots(v)
        self.built = True
        if "_ff_deferred_restore" in self.__dict__:      # slots restored from a checkpoint before they existed
            from ..checkpoint import apply_deferred_restore
            apply_deferred_restore(self)

    def _build_slots(self, var):
        pass

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        name = name or "var"
        shape, dtype = _shape(reference_variable), _dtype(reference_variable)
        if initializer == "zeros":
            init = np.zeros(shape, dtype.np)
        elif isinstance(initializer, (int, float)):
            init = np.full(shape, initializer, dtype.np)
        elif callable(initializer):
            init = np.asarray(initializer(shape, dtype=dtype), dtype=dtype.np)
        else:
            raise ValueError(f"add_variable_from_reference: unsupported initializer {initializer!r}")
        Variable = _variable_cls()
        v = Variable(init, name=f"{_var_name(reference_variable)}_{name}", trainable=False, dtype=dtype)
        v._keras_path = f"{self.name}/{_var_name(reference_variable)}_{name}"
        self._variables.append(v)
        self._slots[id(reference_variable)][name] = v
        return v

    def _slot(self, var, name):
        return self._slots[id(var)][name]

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        for v in var_list or []:
            self._exclude_from_wd.add(id(v))
        self._exclude_names = list(var_names or [])

    # -- applying ------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        grads, trainable_variables = zip(*list(grads_and_vars)) if grads_and_vars is not None else ((), ())
        self.apply(list(grads), list(trainable_variables))
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        grads = list(grads)
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must already be built "
                                 "on a list of variables. Call `optimizer.build(trainable_variables)` first.")
            trainable_variables = list(self._known.values())
        trainable_variables = list(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(f"apply: got {len(grads)} gradients for {len(trainable_variables)} variables")
        grads, trainable_variables = _filter_empty_gradients(grads, trainable_variables)
        self.build(trainable_variables)
        lr = None
        if callable(self._learning_rate) and not isinstance(self._learning_rate, LearningRateSchedule) \
                and not hasattr(self._learning_rate, "_as_tensor"):
            lr = _ops.tensor(self._learning_rate(), dt.float32)     # Keras calls it at every step
        if graph_mod.graph_is_active():
            self._apply_ops([_ops.tensor(g) for g in grads], trainable_variables, lr)
            return
        # Eagerly, the whole update (clipping, weight decay, every variable, iterations) is one
        # compiled program, traced once per set of variables and gradient types.
        if self._compiled_apply is None:
            from ..function import Function
            self._compiled_apply = Function(self._apply_ops, name=f"{self.name}_apply")
        self._compiled_apply([_ops.tensor(g) for g in grads], trainable_variables, lr)

    def _apply_ops(self, grads, trainable_variables, lr=None):
        grads = self._clip_gradients(list(grads))
        if lr is None:
            lr = self._get_current_learning_rate()
        self._apply_weight_decay(trainable_variables, lr)
        updates = []
        for g, v in zip(grads, trainable_variables):
            updates.append(self.update_step(g, v, lr))
        self._increment_iterations(updates)
        self._apply_constraints(trainable_variables, updates)

    def _apply_constraints(self, variables, updates):
        """Keras 3 projects each variable with its `constraint` after the gradient step."""
        from ..train.optimizer import _control_deps
        for v, u in zip(variables, updates):
            constraint = getattr(v, "constraint", None)
            if constraint is None:
                continue
            with _control_deps([_ops.as_op(u)] if u is not None else []):
                v.assign(constraint(_ops.tensor(v)))

    def _increment_iterations(self, updates):
        from ..train.optimizer import _control_deps
        deps = [_ops.as_op(u) for u in updates if u is not None]
        with _control_deps(deps):
            self._iterations.assign_add(_ops.const(1, dt.int64))

    def update_step(self, gradient, variable, learning_rate):
        raise TypeError(f"{type(self).__name__} must define update_step(gradient, variable, learning_rate)")

    def minimize(self, loss, var_list, tape=None):
        """Compute gradients of `loss` (a tensor computed under `tape`, or a callable) and apply them."""
        from ..tape import GradientTape
        if callable(loss) and not isinstance(loss, (Tensor, EagerTensor)):
            with GradientTape() as tape:
                loss = loss()
        elif tape is None:
            raise ValueError("`tape` is required when a `Tensor` loss is passed. Received: loss=%s, tape=None." % loss)
        var_list = list(var_list() if callable(var_list) else var_list)
        grads = tape.gradient(loss, var_list)
        self.apply_gradients(zip(grads, var_list))

    # -- clipping and decay --------------------------------------------------------------
    def _clip_gradients(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            return [_clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return _clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue is not None and self.clipvalue > 0:
            v = self.clipvalue
            return [_ops.minimum(_ops.maximum(g, _ops.const(-v, g.dtype)), _ops.const(v, g.dtype)) for g in grads]
        return grads

    def _use_weight_decay(self, variable) -> bool:
        if id(variable) in self._exclude_from_wd:
            return False
        name = getattr(variable, "name", "")
        return not any(n in name for n in getattr(self, "_exclude_names", []))

    def _apply_weight_decay(self, variables, lr):
        if not self.weight_decay:
            return
        for v in variables:
            if self._use_weight_decay(v):
                dtype = _dtype(v)
                wd = _ops.const(self.weight_decay, dtype)
                lr_v = _ops.cast(_ops.tensor(lr), dtype)
                v.assign(_ops.sub(_ops.tensor(v), _ops.mul(_ops.mul(_ops.tensor(v), wd), lr_v)))

    # -- config --------------------------------------------------------------------------
    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr_cfg = schedules.serialize(lr)
        elif hasattr(lr, "numpy"):
            lr_cfg = float(np.asarray(lr.numpy()))
        else:
            lr_cfg = lr
        return {"name": self.name, "learning_rate": lr_cfg, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                "loss_scale_factor": None, "gradient_accumulation_steps": None}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict) and "class_name" in lr:
            config["learning_rate"] = schedules.deserialize(lr, custom_objects)
        for k in ("use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                  "gradient_accumulation_steps"):
            config.pop(k, None)
        return cls(**config)


def _filter_empty_gradients(grads, variables):
    kept_g, kept_v, missing = [], [], []
    for g, v in zip(grads, variables):
        if g is None:
            missing.append(getattr(v, "path", None) or getattr(v, "name", str(v)))
        else:
            kept_g.append(g)
            kept_v.append(v)
    if not kept_g:
        raise ValueError("No gradients provided for any variable.")
    if missing:
        warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss. If using "
                      f"`model.compile()`, did you forget to provide a `loss` argument?", stacklevel=3)
    return kept_g, kept_v


def _reduce_sum_all(x, keepdims):
    from ..core import apply_op
    rank = x.shape.rank
    return apply_op("reduce_sum", [x], {"axes": tuple(range(rank)), "keepdims": keepdims}, name="Sum")


def _clip_by_norm(g, clip_norm):
    """Keras 3 `_clip_by_norm`: g * clip_norm / max(||g||, clip_norm), safe at ||g|| = 0."""
    dtype = g.dtype
    l2sum = _reduce_sum_all(_ops.square(g), keepdims=True)
    pred = _ops.greater(l2sum, _ops.const(0, dtype))
    safe = _ops.select(pred, l2sum, _ops.const(1, dtype))
    l2norm = _ops.select(pred, _ops.sqrt(safe), l2sum)
    c = _ops.const(clip_norm, dtype)
    return _ops.div(_ops.mul(g, c), _ops.maximum(l2norm, c))


def _clip_by_global_norm(grads, clip_norm):
    dtype = grads[0].dtype
    total = None
    for g in grads:
        s = _reduce_sum_all(_ops.square(_ops.cast(g, dtype)), keepdims=False)
        total = s if total is None else _ops.add(total, s)
    use_norm = _ops.sqrt(total)
    c = _ops.const(clip_norm, dtype)
    one = _ops.const(1, dtype)
    scale = _ops.mul(c, _ops.minimum(_ops.div(one, use_norm), _ops.div(one, c)))
    scale = _ops.add(scale, _ops.sub(use_norm, use_norm))      # NaN norm -> NaN scale, as Keras
    return [_ops.mul(g, _ops.cast(scale, g.dtype)) for g in grads]


def _py(x, dtype):
    """A Python hyper-parameter meeting a tensor of `dtype` (Keras: double rounded once)."""
    return _ops.const(x, dtype)


# --------------------------------------------------------------------------- optimizers
class SGD(Optimizer):
    _DEFAULT_NAME = "SGD"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name="SGD", **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        if not isinstance(momentum, (int, float)) or momentum < 0 or momentum > 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = momentum
        self.nesterov = nesterov

    def _build_slots(self, var):
        if self.momentum != 0:
            self.add_variable_from_reference(var, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        dtype = _dtype(variable)
        lr = _ops.cast(_ops.tensor(learning_rate), dtype)
        g = _ops.cast(gradient, dtype)
        if self.momentum != 0:
            m = self._slot(variable, "momentum")
            momentum = _py(self.momentum, dtype)
            new_m = _ops.sub(_ops.mul(_ops.tensor(m), momentum), _ops.mul(g, lr))
            upd = m.assign(new_m)
            from ..train.optimizer import _control_deps
            with _control_deps([_ops.as_op(upd)]):
                if self.nesterov:
                    return variable.assign_add(_ops.sub(_ops.mul(new_m, momentum), _ops.mul(g, lr)))
                return variable.assign_add(new_m)
        return variable.assign_sub(_ops.mul(g, lr))

    def get_config(self):
        c = super().get_config()
        c.update(momentum=self.momentum, nesterov=self.nesterov)
        return c


class Adam(Optimizer):
    _DEFAULT_NAME = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="adam", **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def _build_slots(self, var):
        self.add_variable_from_reference(var, "momentum")
        self.add_variable_from_reference(var, "velocity")
        if self.amsgrad:
            self.add_variable_from_reference(var, "velocity_hat")

    def update_step(self, gradient, variable, learning_rate):
        from ..train.optimizer import _control_deps
        dtype = _dtype(variable)
        lr = _ops.cast(_ops.tensor(learning_rate), dtype)
        g = _ops.cast(gradient, dtype)
        local_step = _ops.cast(_ops.add(_ops.tensor(self._iterations), _ops.const(1, dt.int64)), dtype)
        beta_1_power = _ops.pow_(_py(self.beta_1, dtype), local_step)
        beta_2_power = _ops.pow_(_py(self.beta_2, dtype), local_step)
        m = self._slot(variable, "momentum")
        v = self._slot(variable, "velocity")
        one = _ops.const(1, dtype)
        alpha = _ops.div(_ops.mul(lr, _ops.sqrt(_ops.sub(one, beta_2_power))), _ops.sub(one, beta_1_power))
        new_m = _ops.add(_ops.tensor(m), _ops.mul(_ops.sub(g, _ops.tensor(m)), _py(1 - self.beta_1, dtype)))
        new_v = _ops.add(_ops.tensor(v), _ops.mul(_ops.sub(_ops.square(g), _ops.tensor(v)), _py(1 - self.beta_2, dtype)))
        updates = [m.assign(new_m), v.assign(new_v)]
        v_used = new_v
        if self.amsgrad:
            v_hat = self._slot(variable, "velocity_hat")
            v_used = _ops.maximum(_ops.tensor(v_hat), new_v)
            updates.append(v_hat.assign(v_used))
        with _control_deps([_ops.as_op(u) for u in updates]):
            return variable.assign_sub(_ops.div(_ops.mul(new_m, alpha), _ops.add(_ops.sqrt(v_used),
                                                                                _py(self.epsilon, dtype))))

    def get_config(self):
        c = super().get_config()
        c.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon, amsgrad=self.amsgrad)
        return c


class AdamW(Adam):
    _DEFAULT_NAME = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="adamw", **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)


class RMSprop(Optimizer):
    _DEFAULT_NAME = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="rmsprop", **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def _build_slots(self, var):
        self.add_variable_from_reference(var, "velocity")
        if self.momentum > 0:
            self.add_variable_from_reference(var, "momentum")
        if self.centered:
            self.add_variable_from_reference(var, "average_gradient")

    def update_step(self, gradient, variable, learning_rate):
        from ..train.optimizer import _control_deps
        dtype = _dtype(variable)
        lr = _ops.cast(_ops.tensor(learning_rate), dtype)
        g = _ops.cast(gradient, dtype)
        rho = self.rho
        velocity = self._slot(variable, "velocity")
        new_vel = _ops.add(_ops.mul(_py(rho, dtype), _ops.tensor(velocity)),
                           _ops.mul(_py(1 - rho, dtype), _ops.square(g)))
        updates = [velocity.assign(new_vel)]
        if self.centered:
            avg = self._slot(variable, "average_gradient")
            new_avg = _ops.add(_ops.mul(_py(rho, dtype), _ops.tensor(avg)), _ops.mul(_py(1 - rho, dtype), g))
            updates.append(avg.assign(new_avg))
            denominator = _ops.add(_ops.sub(new_vel, _ops.square(new_avg)), _py(self.epsilon, dtype))
        else:
            denominator = _ops.add(new_vel, _py(self.epsilon, dtype))
        increment = _ops.div(_ops.mul(lr, g), _ops.sqrt(denominator))
        if self.momentum > 0:
            mom = self._slot(variable, "momentum")
            new_mom = _ops.add(_ops.mul(_py(self.momentum, dtype), _ops.tensor(mom)), increment)
            updates.append(mom.assign(new_mom))
            with _control_deps([_ops.as_op(u) for u in updates]):
                return variable.assign_sub(new_mom)
        with _control_deps([_ops.as_op(u) for u in updates]):
            return variable.assign_sub(increment)

    def get_config(self):
        c = super().get_config()
        c.update(rho=self.rho, momentum=self.momentum, epsilon=self.epsilon, centered=self.centered)
        return c


class Adagrad(Optimizer):
    _DEFAULT_NAME = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name="adagrad", **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _build_slots(self, var):
        self.add_variable_from_reference(var, "accumulator", initializer=float(self.initial_accumulator_value))

    def update_step(self, gradient, variable, learning_rate):
        from ..train.optimizer import _control_deps
        dtype = _dtype(variable)
        lr = _ops.cast(_ops.tensor(learning_rate), dtype)
        g = _ops.cast(gradient, dtype)
        acc = self._slot(variable, "accumulator")
        new_acc = _ops.add(_ops.tensor(acc), _ops.square(g))
        upd = acc.assign(new_acc)
        with _control_deps([_ops.as_op(upd)]):
            return variable.assign_sub(_ops.div(_ops.mul(lr, g), _ops.sqrt(_ops.add(new_acc, _py(self.epsilon, dtype)))))

    def get_config(self):
        c = super().get_config()
        c.update(initial_accumulator_value=self.initial_accumulator_value, epsilon=self.epsilon)
        return c


class Adadelta(Optimizer):
    """accumulated_grad = rho * acc_g + (1 - rho) * g^2
    delta = -sqrt(acc_dx + eps) * g / sqrt(accumulated_grad + eps)
    acc_dx = rho * acc_dx + (1 - rho) * delta^2; var += lr * delta      (rho=0.95, epsilon=1e-7)"""
    _DEFAULT_NAME = "adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name="adadelta", **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def _build_slots(self, var):
        self.add_variable_from_reference(var, "accumulated_grad")
        self.add_variable_from_reference(var, "accumulated_delta_var")

    def update_step(self, gradient, variable, learning_rate):
        from ..train.optimizer import _control_deps
        dtype = _dtype(variable)
        lr = _ops.cast(_ops.tensor(learning_rate), dtype)
        g = _ops.cast(gradient, dtype)
        rho = self.rho
        acc_g = self._slot(variable, "accumulated_grad")
        acc_dx = self._slot(variable, "accumulated_delta_var")
        eps = _py(self.epsilon, dtype)
        new_acc_g = _ops.add(_ops.mul(_py(rho, dtype), _ops.tensor(acc_g)), _ops.mul(_py(1 - rho, dtype), _ops.square(g)))
        delta = _ops.neg(_ops.div(_ops.mul(_ops.sqrt(_ops.add(_ops.tensor(acc_dx), eps)), g),
                                  _ops.sqrt(_ops.add(new_acc_g, eps))))
        new_acc_dx = _ops.add(_ops.mul(_py(rho, dtype), _ops.tensor(acc_dx)),
                              _ops.mul(_py(1 - rho, dtype), _ops.square(delta)))
        updates = [acc_g.assign(new_acc_g), acc_dx.assign(new_acc_dx)]
        with _control_deps([_ops.as_op(u) for u in updates]):
            return variable.assign_add(_ops.mul(lr, delta))

    def get_config(self):
        c = super().get_config()
        c.update(rho=self.rho, epsilon=self.epsilon)
        return c


class Adamax(Optimizer):
    """Keras 3: m += (g - m) * (1 - beta_1); u = max(beta_2 * u, |g|);
    var -= lr * m / ((1 - beta_1^t) * (u + epsilon))."""
    _DEFAULT_NAME = "adamax"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name="adamax", **kwargs):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _build_slots(self, var):
        self.add_variable_from_reference(var, "m")
        self.add_variable_from_reference(var, "u")

    def update_step(self, gradient, variable, learning_rate):
        from ..train.optimizer import _control_deps
        dtype = _dtype(variable)
        lr = _ops.cast(_ops.tensor(learning_rate), dtype)
        g = _ops.cast(gradient, dtype)
        local_step = _ops.cast(_ops.add(_ops.tensor(self._iterations), _ops.const(1, dt.int64)), dtype)
        beta_1_power = _ops.pow_(_py(self.beta_1, dtype), local_step)
        m, u = self._slot(variable, "m"), self._slot(variable, "u")
        new_m = _ops.add(_ops.tensor(m), _ops.mul(_ops.sub(g, _ops.tensor(m)), _py(1 - self.beta_1, dtype)))
        new_u = _ops.maximum(_ops.mul(_py(self.beta_2, dtype), _ops.tensor(u)), _ops.abs_(g))
        updates = [m.assign(new_m), u.assign(new_u)]
        one = _ops.const(1, dtype)
        with _control_deps([_ops.as_op(x) for x in updates]):
            return variable.assign_sub(_ops.div(_ops.mul(lr, new_m),
                                                _ops.mul(_ops.sub(one, beta_1_power),
                                                         _ops.add(new_u, _py(self.epsilon, dtype)))))

    def get_config(self):
        c = super().get_config()
        c.update(beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)
        return c


def _unsupported_optimizer(name):
    class Unsupported(Optimizer):
        def __init__(self, *args, **kwargs):
            raise NotImplementedError(f"keras.optimizers.{name} is not supported by fuseflow (SGD, Adam, AdamW, "
                                      f"RMSprop, Adagrad, Adadelta and Adamax are)")
    Unsupported.__name__ = Unsupported.__qualname__ = name
    return Unsupported


Nadam = _unsupported_optimizer("Nadam")
Ftrl = _unsupported_optimizer("Ftrl")
Lion = _unsupported_optimizer("Lion")
Adafactor = _unsupported_optimizer("Adafactor")


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad,
            "adadelta": Adadelta, "adamax": Adamax, "nadam": Nadam, "ftrl": Ftrl, "lion": Lion}


def get(identifier):
    """An optimizer from a name ('adam'), a config dict or an instance (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Could not interpret optimizer identifier: {identifier}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(f"Could not interpret optimizer identifier: {identifier}")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config, custom_objects=None):
    classes = {c.__name__: c for c in _BY_NAME.values()}
    classes.update({k.lower(): v for k, v in classes.items()})
    classes.update(custom_objects or {})
    name = config["class_name"]
    cls = classes.get(name) or classes.get(name.lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer: {name}")
    return cls.from_config(config["config"])


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl",
           "Lion", "Adafactor", "schedules", "get", "serialize",
           "deserialize", "LearningRateSchedule", "ExponentialDecay"]
