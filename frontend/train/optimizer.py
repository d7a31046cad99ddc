"""TF1's `tf.train.Optimizer`: minimize = compute_gradients + apply_gradients.

In graph mode nothing runs here: `compute_gradients` records one `gradients` op (an IR
transform at replay time, see fuseflow/gradients.py) and `apply_gradients` records the
update rule as ordinary ops ending in variable assignments. `sess.run(train_op)` then
replays forward, backward and updates into ONE compiled program whose variable updates are
donated (in-place) outputs.

Slot variables are named as TF names them (`w/Adam:0`, `w/Adam_1:0`, `w/Momentum:0`), are
not trainable, and are created outside any name scope or control dependency (TF's
`init_scope`); non-slot accumulators (`beta1_power`) are plain variables of the optimizer.
"""
from __future__ import annotations

import contextlib

import numpy as np

from .. import graph as graph_mod
from ..tensor import EagerTensor, Tensor
from . import _ops


def _variable_cls():
    from ..variables import Variable
    return Variable


def _var_key(var):
    return id(var)


def _op_name_of(var) -> str:
    op = getattr(var, "op", None)
    name = getattr(op, "name", None)
    if name:
        return name
    return var.name.split(":")[0]


@contextlib.contextmanager
def _init_scope(keep_name_scope: bool = True):
    """Leave function traces and control dependencies, as TF's init_scope does."""
    try:
        from ..function import init_scope
    except ImportError:              # function.py absent: nothing to leave
        init_scope = contextlib.nullcontext
    with init_scope():
        if graph_mod.graph_is_active():
            g = graph_mod.get_default_graph()
            scope = g.get_name_scope()
            with g.control_dependencies(None):
                with g.name_scope(scope + "/" if keep_name_scope and scope else ""):
                    yield
        else:
            yield


def _root_scope():
    """Variables whose TF names ignore the caller's name scope (slots)."""
    if graph_mod.graph_is_active():
        return graph_mod.get_default_graph().name_scope("")
    return contextlib.nullcontext()


def _name_scope(name):
    if graph_mod.graph_is_active():
        return graph_mod.get_default_graph().name_scope(name)
    return contextlib.nullcontext(name)


def _control_deps(ops):
    if graph_mod.graph_is_active():
        return graph_mod.get_default_graph().control_dependencies([o for o in ops if o is not None])
    return contextlib.nullcontext()


def _var_dtype(var):
    return var.dtype.base_dtype if hasattr(var.dtype, "base_dtype") else var.dtype


def _static_shape(var) -> tuple:
    shape = var.shape
    dims = shape.as_list() if hasattr(shape, "as_list") else list(shape)
    if any(d is None for d in dims):
        raise ValueError(f"Optimizer slots need a fully defined variable shape; {var.name} has {shape}")
    return tuple(dims)


class Optimizer:
    """Base class of the TF1 optimizers (tf.compat.v1.train.Optimizer)."""

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking, name):
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        self._slots: dict = {}           # slot name -> {var key: slot variable}
        self._non_slot: dict = {}        # (name, graph id) -> variable
        self._slot_primary: dict = {}    # var key -> var (keep keys alive)

    def get_name(self):
        return self._name

    # -- minimize ------------------------------------------------------------------------
    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=GATE_OP,
                 aggregation_method=None, colocate_gradients_with_ops=False, name=None, grad_loss=None):
        grads_and_vars = self.compute_gradients(
            loss, var_list=var_list, gate_gradients=gate_gradients, aggregation_method=aggregation_method,
            colocate_gradients_with_ops=colocate_gradients_with_ops, grad_loss=grad_loss)
        vars_with_grad = [v for g, v in grads_and_vars if g is not None]
        if not vars_with_grad:
            raise ValueError(
                "No gradients provided for any variable, check your graph for ops that do not support "
                "gradients, between variables %s and loss %s." % ([str(v) for _, v in grads_and_vars], loss))
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss, var_list=None, gate_gradients=GATE_OP, aggregation_method=None,
                          colocate_gradients_with_ops=False, grad_loss=None):
        if callable(loss) and not isinstance(loss, (Tensor, EagerTensor)):
            if not graph_mod.graph_is_active():
                return self._compute_gradients_eager(loss, var_list, grad_loss)
            loss = loss()                # tracing (fuseflow.function) or a TF1 graph: symbolic loss
        if isinstance(loss, EagerTensor) or not graph_mod.graph_is_active() and not isinstance(loss, Tensor):
            raise RuntimeError("`loss` passed to Optimizer.compute_gradients should be a function when "
                               "eager execution is enabled.")
        if gate_gradients not in (self.GATE_NONE, self.GATE_OP, self.GATE_GRAPH):
            raise ValueError(f"gate_gradients must be one of: Optimizer.GATE_NONE, Optimizer.GATE_OP, "
                             f"Optimizer.GATE_GRAPH.  Not {gate_gradients}")
        if not loss.dtype.is_floating:
            raise ValueError(f"Invalid type {loss.dtype.name} for {loss.name}, expected: float32, float64, float16.")
        if var_list is None:
            g = loss.graph
            var_list = list(g.get_collection("trainable_variables"))
            var_list += [v for v in g.get_collection("trainable_resource_variables") if v not in var_list]
            if g.is_function_graph():    # eager variables used inside a trace
                var_list += [v for v in getattr(g, "variables", []) if getattr(v, "trainable", False)
                             and all(v is not u for u in var_list)]
        else:
            var_list = list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        from ..gradients import gradients
        grads = gradients(loss, var_list, grad_ys=grad_loss, aggregation_method=aggregation_method,
                          colocate_gradients_with_ops=colocate_gradients_with_ops)
        return list(zip(grads, var_list))

    def _compute_gradients_eager(self, loss_fn, var_list, grad_loss):
        from ..tape import GradientTape
        with GradientTape() as tape:
            if var_list is not None:
                tape.watch(var_list)
            loss = loss_fn()
        if var_list is None:
            var_list = [v for v in tape.watched_variables() if getattr(v, "trainable", True)]
        var_list = list(var_list)
        grads = tape.gradient(loss, var_list, output_gradients=grad_loss)
        return list(zip(grads, var_list))

    # -- apply ---------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        grads_and_vars = tuple(grads_and_vars)
        if not grads_and_vars:
            raise ValueError("No variables provided.")
        converted = []
        for g, v in grads_and_vars:
            if g is not None:
                g = _ops.tensor(g)
            if not hasattr(v, "assign_sub"):
                raise TypeError(f"Can not apply gradients to {v!r}: not a variable")
            converted.append((g, v))
        var_list = [v for g, v in converted if g is not None]
        if not var_list:
            raise ValueError("No gradients provided for any variable: %s." % ([str(v) for _, v in converted],))
        with _init_scope():
            self._create_slots(var_list)
        update_ops = []
        with _name_scope(name or self._name) as scope:
            # TF names the final op after the scope it opened ("Adam"), not "Adam/Adam".
            scope_name = scope if isinstance(scope, str) and scope.endswith("/") else (name or self._name)
            self._prepare()
            for grad, var in converted:
                if grad is None:
                    continue
                with _name_scope("update_" + _op_name_of(var)):
                    update_ops.append(_ops.as_op(self._update_for(grad, var)))
            if global_step is None:
                apply_updates = self._finish(update_ops, scope_name)
            else:
                with _control_deps([self._finish(update_ops, "update")]):
                    apply_updates = _ops.as_op(global_step.assign_add(
                        _ops.const(1, _var_dtype(global_step)), name=scope_name))
        if graph_mod.graph_is_active() and apply_updates is not None:
            g = graph_mod.get_default_graph()
            train_ops = g.get_collection_ref("train_op")
            if apply_updates not in train_ops:
                train_ops.append(apply_updates)
        return apply_updates

    # -- hooks for subclasses ------------------------------------------------------------
    def _create_slots(self, var_list):
        pass

    def _prepare(self):
        pass

    def _update_for(self, grad, var):
        """Custom optimizers written for TF1 override `_apply_dense` or (resource variables)
        `_resource_apply_dense`; either receives the variable object here."""
        cls = type(self)
        if cls._apply_dense is Optimizer._apply_dense and cls._resource_apply_dense is not Optimizer._resource_apply_dense:
            return self._resource_apply_dense(grad, var)
        return self._apply_dense(grad, var)

    def _apply_dense(self, grad, var):
        raise TypeError(f"{type(self).__name__} does not define an update rule (_apply_dense)")

    def _resource_apply_dense(self, grad, handle):
        return self._apply_dense(grad, handle)

    def _finish(self, update_ops, name_scope):
        return _ops.group(update_ops, name=name_scope)

    # -- learning rate and hyper-parameters ----------------------------------------------
    @staticmethod
    def _call_if_callable(param):
        return param() if callable(param) and not hasattr(param, "_as_tensor") else param

    def _hyper(self, value, var_dtype, name):
        """A hyper-parameter as a tensor of the variable's dtype (TF casts `*_t` per variable)."""
        value = self._call_if_callable(value)
        if isinstance(value, (Tensor, EagerTensor)) or hasattr(value, "_as_tensor"):
            return _ops.cast(_ops.tensor(value), var_dtype)
        return _ops.const(value, var_dtype)

    # -- slots ---------------------------------------------------------------------------
    def get_slot(self, var, name):
        named = self._slots.get(name)
        if not named:
            return None
        return named.get(_var_key(var))

    def get_slot_names(self):
        return sorted(self._slots)

    def variables(self):
        """The optimizer's own variables (slots and accumulators), in creation order."""
        out = list(self._non_slot.values())
        for named in self._slots.values():
            out.extend(named.values())
        return out

    def _slot_dict(self, slot_name):
        return self._slots.setdefault(slot_name, {})

    def _get_or_make_slot(self, var, initial: np.ndarray, slot_name, op_name):
        named = self._slot_dict(slot_name)
        key = _var_key(var)
        if key not in named:
            Variable = _variable_cls()
            with _root_scope():
                named[key] = Variable(initial, trainable=False, name=f"{_op_name_of(var)}/{op_name}",
                                      dtype=_var_dtype(var))
            self._slot_primary[key] = var
        return named[key]

    def _get_or_make_slot_with_initializer(self, var, initializer, shape, dtype, slot_name, op_name):
        shape = tuple(shape.as_list() if hasattr(shape, "as_list") else shape)
        value = initializer(shape, dtype=dtype) if callable(initializer) else initializer
        return self._get_or_make_slot(var, value, slot_name, op_name)

    def _zeros_slot(self, var, slot_name, op_name):
        dtype = _var_dtype(var)
        return self._get_or_make_slot(var, np.zeros(_static_shape(var), dtype.np), slot_name, op_name)

    def _constant_slot(self, var, value, slot_name, op_name):
        dtype = _var_dtype(var)
        return self._get_or_make_slot(var, np.full(_static_shape(var), value, dtype.np), slot_name, op_name)

    def _create_non_slot_variable(self, initial_value, name, colocate_with):
        key = (name, _outer_graph_id())
        v = self._non_slot.get(key)
        if v is None:
            Variable = _variable_cls()
            v = Variable(initial_value, name=name, trainable=False, dtype=_var_dtype(colocate_with))
            self._non_slot[key] = v
        return v

    def _get_non_slot_variable(self, name, graph=None):
        return self._non_slot.get((name, id(graph) if graph is not None else _outer_graph_id()))


def _outer_graph_id():
    """The graph non-slot variables belong to: the one outside any function trace (None: eager),
    as TF keys them with `executing_eagerly_outside_functions`."""
    with _init_scope():
        return id(graph_mod.get_default_graph()) if graph_mod.graph_is_active() else id(None)
