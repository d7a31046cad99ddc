"""`tf.train.ExponentialMovingAverage` and `assign_moving_average` (TF1 semantics).

    shadow -= (shadow - value) * (1 - decay)
    decay = min(decay, (1 + num_updates) / (10 + num_updates))   when num_updates is given

Shadow variables are named `<var op name>/ExponentialMovingAverage`, start at the variable's
initial value, are not trainable, and are what `variables_to_restore()` maps the averaged
variables' names to (so a Saver restores averages into the model variables).
"""
from __future__ import annotations

import numpy as np

from fuseflow.compiler import dtypes as dt

from .. import graph as graph_mod
from . import _ops
from .optimizer import _control_deps, _init_scope, _op_name_of, _root_scope, _var_dtype

MOVING_AVERAGE_VARIABLES = "moving_average_variables"


def _name_scope(name):
    import contextlib
    if graph_mod.graph_is_active():
        return graph_mod.get_default_graph().name_scope(name)
    return contextlib.nullcontext(name)


def assign_moving_average(variable, value, decay, zero_debias=True, name=None):
    """variable -= (variable - value) * (1 - decay); returns the update (TF1 signature).

    With zero_debias (TF's default) the average is kept in a `biased` companion variable
    started at zero and `variable` receives biased / (1 - decay^t), t counted in `local_step`."""
    dtype = _var_dtype(variable)
    with _name_scope(name or "AssignMovingAvg"):
        decay = _ops.tensor(decay)
        complement = _ops.cast(_ops.sub(_ops.const(1.0, decay.dtype), decay), dtype)
        if zero_debias:
            return _zero_debias_update(variable, _ops.tensor(value, dtype), complement)
        delta = _ops.mul(_ops.sub(_ops.tensor(variable), _ops.tensor(value, dtype)), complement)
        return variable.assign_sub(delta)


def _zero_debias_update(unbiased, value, complement):
    from ..variables import Variable
    dtype = _var_dtype(unbiased)
    base = _op_name_of(unbiased)
    with _init_scope(keep_name_scope=False):
        biased = Variable(np.zeros(tuple(unbiased.shape.as_list()), dtype.np), trainable=False,
                          name=f"{base}/biased", dtype=dtype)
        local_step = Variable(np.zeros((), dtype.np), trainable=False, name=f"{base}/local_step", dtype=dtype)
    new_biased = _ops.sub(_ops.tensor(biased), _ops.mul(_ops.sub(_ops.tensor(biased), value), complement))
    upd_biased = biased.assign(new_biased)
    new_step = _ops.add(_ops.tensor(local_step), _ops.const(1, dtype))
    upd_step = local_step.assign(new_step)
    with _control_deps([_ops.as_op(upd_biased), _ops.as_op(upd_step)]):
        one = _ops.const(1, dtype)
        bias_factor = _ops.sub(one, _ops.pow_(_ops.sub(one, complement), new_step))
        return unbiased.assign(_ops.div(new_biased, bias_factor))


def _is_plain_tensor(x) -> bool:
    """A graph/eager tensor rather than a Variable (variables expose `_as_tensor`)."""
    from ..tensor import EagerTensor, Tensor
    return isinstance(x, (Tensor, EagerTensor)) and not hasattr(x, "_as_tensor")


class ExponentialMovingAverage:
    def __init__(self, decay, num_updates=None, zero_debias=False, name="ExponentialMovingAverage"):
        self._decay = decay
        self._num_updates = num_updates
        self._zero_debias = zero_debias
        self._name = name
        self._averages: dict = {}        # id(var) -> shadow variable
        self._keep: dict = {}            # id(var) -> var (keeps ids stable)

    @property
    def name(self):
        return self._name

    def _initial_value(self, var):
        """TF starts the average at the variable's current value when it is initialized, else at
        its initial value: eagerly that is the current value; in a graph, the initial value (the
        shadow's initializer runs with the variable's)."""
        if not graph_mod.graph_is_active():
            return var.read_value() if hasattr(var, "read_value") else var._as_tensor()
        init = getattr(var, "initial_value", None)
        if init is not None:
            return init
        return var._as_tensor()

    def apply(self, var_list=None):
        if var_list is None:
            var_list = graph_mod.get_default_graph().get_collection("trainable_variables")
        var_list = list(var_list)
        for var in var_list:
            dtype = _var_dtype(var)
            if dtype not in (dt.float16, dt.float32, dt.float64):
                raise TypeError("The variables must be half, float, or double: %s" % var.name)
            if id(var) in self._averages:
                continue
            with _init_scope():
                shadow = self._make_shadow(var)
            self._averages[id(var)] = shadow
            self._keep[id(var)] = var
            # TF adds only Variables (not averaged tensors) to the collection
            if graph_mod.graph_is_active() and not _is_plain_tensor(var):
                graph_mod.get_default_graph().add_to_collection(MOVING_AVERAGE_VARIABLES, var)
        with _name_scope(self._name) as scope:
            decay = _ops.const(self._decay, dt.float32) if not hasattr(self._decay, "dtype") \
                else _ops.cast(_ops.tensor(self._decay), dt.float32)
            if self._num_updates is not None:
                n = _ops.cast(_ops.tensor(self._num_updates), dt.float32)
                decay = _ops.minimum(decay, _ops.div(_ops.add(_ops.const(1.0, dt.float32), n),
                                                     _ops.add(_ops.const(10.0, dt.float32), n)))
            updates = []
            for var in var_list:
                shadow = self._averages[id(var)]
                # averages of tensors start at zero and are debiased when zero_debias=True (TF1)
                debias = self._zero_debias and _is_plain_tensor(var)
                updates.append(_ops.as_op(assign_moving_average(shadow, var, decay, zero_debias=debias)))
            name = scope if isinstance(scope, str) and scope.endswith("/") else self._name
            return _ops.group(updates, name=name)

    def _make_shadow(self, var):
        from ..variables import Variable
        if _is_plain_tensor(var):
            # a tensor's average is a zeros slot of its (static) shape
            shape = var.shape.as_list() if var.shape.ndims is not None else None
            if shape is None or any(d is None for d in shape):
                raise ValueError(f"ExponentialMovingAverage: the shape of {var.name} must be fully defined, "
                                 f"got {var.shape}")
            init = np.zeros(shape, dtype=_var_dtype(var).np)
        else:
            init = self._initial_value(var)
        with _root_scope():
            return Variable(init, trainable=False, name=f"{_op_name_of(var)}/{self._name}", dtype=_var_dtype(var))

    def average(self, var):
        return self._averages.get(id(var))

    def average_name(self, var):
        return f"{_op_name_of(var)}/{self._name}"

    def variables_to_restore(self, moving_avg_variables=None):
        g = graph_mod.get_default_graph()
        if moving_avg_variables is None:
            moving_avg_variables = list(g.get_collection("trainable_variables"))
            moving_avg_variables += [v for v in g.get_collection(MOVING_AVERAGE_VARIABLES)
                                     if all(v is not u for u in moving_avg_variables)]
        name_map = {}
        for v in moving_avg_variables:
            name_map[self.average_name(v)] = v
        avg_names = {v.name for v in moving_avg_variables}
        for v in g.get_collection("variables"):
            if v.name not in avg_names and _op_name_of(v) not in name_map:
                name_map[_op_name_of(v)] = v
        return name_map
