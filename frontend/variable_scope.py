"""TF1 variable sharing: `variable_scope`, `get_variable`, `VariableScope`, and `name_scope`.

Names follow TF1 exactly:
  * `name_scope` prefixes op names and `tf.Variable` names (uniquified: `a`, `a_1`, ...).
  * `variable_scope("s")` names variables made by `get_variable` (`s/w`), is NOT uniquified, and
    also opens a name scope (uniquified) for the ops inside.
  * `get_variable` ignores the current name scope; it creates a variable unless reuse is on,
    returns the existing one when reuse is True (error if missing) or AUTO_REUSE (create if
    missing), and raises on a duplicate without reuse. `reuse` is inherited by sub-scopes.
  * A scope's initializer/regularizer/dtype/constraint/custom_getter are defaults for
    `get_variable` inside it; a new variable's regularization loss goes to
    REGULARIZATION_LOSSES.
In eager mode (no graph) `get_variable` always creates a new variable, as in TF2.
"""
from __future__ import annotations

import contextlib
import functools
import inspect

from fuseflow.compiler import dtypes as dt

from . import graph as graph_mod
from .tensor import Tensor, TensorShape, is_tensor


class _ReuseMode:
    """`tf.AUTO_REUSE`: get_variable creates the variable if missing, else returns it."""

    def __repr__(self):
        return "_ReuseMode.AUTO_REUSE"


AUTO_REUSE = _ReuseMode()

REGULARIZATION_LOSSES = "regularization_losses"
LOCAL_VARIABLES = "local_variables"


class VariableScope:
    """A variable scope: a name prefix for get_variable plus defaults for the variables in it."""

    def __init__(self, reuse, name="", initializer=None, regularizer=None, caching_device=None,
                 partitioner=None, custom_getter=None, name_scope="", dtype=dt.float32, use_resource=None,
                 constraint=None):
        self._name = name
        self._initializer = initializer
        self._regularizer = regularizer
        self._reuse = reuse
        self._caching_device = caching_device
        self._partitioner = partitioner
        self._custom_getter = custom_getter
        self._name_scope = name_scope
        self._dtype = dt.as_dtype(dtype)
        self._use_resource = use_resource
        self._constraint = constraint

    @property
    def name(self) -> str:
        return self._name

    @property
    def original_name_scope(self) -> str:
        return self._name_scope

    @property
    def reuse(self):
        return self._reuse

    @property
    def initializer(self):
        return self._initializer

    @property
    def dtype(self):
        return self._dtype

    @property
    def use_resource(self):
        return self._use_resource

    @property
    def regularizer(self):
        return self._regularizer

    @property
    def caching_device(self):
        return self._caching_device

    @property
    def partitioner(self):
        return self._partitioner

    @property
    def custom_getter(self):
        return self._custom_getter

    @property
    def constraint(self):
        return self._constraint

    def reuse_variables(self):
        self._reuse = True

    def set_initializer(self, initializer):
        self._initializer = initializer

    def set_dtype(self, dtype):
        self._dtype = dt.as_dtype(dtype)

    def set_use_resource(self, use_resource):
        self._use_resource = use_resource

    def set_regularizer(self, regularizer):
        self._regularizer = regularizer

    def set_caching_device(self, caching_device):
        self._caching_device = caching_device

    def set_partitioner(self, partitioner):
        self._partitioner = partitioner

    def set_custom_getter(self, custom_getter):
        self._custom_getter = custom_getter

    def get_collection(self, name):
        scope = self._name + "/" if self._name else ""
        return graph_mod.get_default_graph().get_collection(name, scope)

    def trainable_variables(self):
        return self.get_collection("trainable_variables")

    def global_variables(self):
        return self.get_collection("variables")

    def local_variables(self):
        return self.get_collection(LOCAL_VARIABLES)

    def get_variable(self, var_store, name, shape=None, dtype=None, initializer=None, regularizer=None,
                     reuse=None, trainable=None, collections=None, caching_device=None, partitioner=None,
                     validate_shape=True, use_resource=None, custom_getter=None, constraint=None,
                     synchronization=None, aggregation=None):
        if dtype is not None and initializer is not None and not callable(initializer):
            from .core import convert_to_tensor
            init_dtype = convert_to_tensor(initializer).dtype
            if init_dtype != dt.as_dtype(dtype):
                raise ValueError(f"Initializer type '{init_dtype!r}' and explicit dtype '{dt.as_dtype(dtype)!r}' "
                                 f"don't match.")
        initializer = self._initializer if initializer is None else initializer
        regularizer = self._regularizer if regularizer is None else regularizer
        constraint = self._constraint if constraint is None else constraint
        custom_getter = self._custom_getter if custom_getter is None else custom_getter
        dtype = self._dtype if dtype is None else dt.as_dtype(dtype)
        reuse = self._reuse if reuse is None else reuse
        full_name = f"{self._name}/{name}" if self._name else name
        g = graph_mod.get_default_graph()
        with g.name_scope(None):
            return var_store.get_variable(full_name, shape=shape, dtype=dtype, initializer=initializer,
                                          regularizer=regularizer, reuse=reuse, trainable=trainable,
                                          collections=collections, validate_shape=validate_shape,
                                          custom_getter=custom_getter, constraint=constraint,
                                          synchronization=synchronization, aggregation=aggregation)

    def __repr__(self):
        return f"<VariableScope name={self._name!r} reuse={self._reuse!r}>"


class _VariableStore:
    """The variables made by get_variable in one graph, by full name."""

    def __init__(self, eager: bool = False):
        self._vars: dict = {}
        self._eager = eager

    def get_variable(self, name, shape=None, dtype=dt.float32, initializer=None, regularizer=None, reuse=None,
                     trainable=None, collections=None, validate_shape=True, custom_getter=None,
                     constraint=None, synchronization=None, aggregation=None):
        dtype = dt.as_dtype(dtype) if dtype is not None else None

        def true_getter(name, shape=None, dtype=dtype, initializer=None, regularizer=None, reuse=None,
                        trainable=None, collections=None, validate_shape=True, constraint=None,
                        synchronization=None, aggregation=None, **unused):
            return self._get_single_variable(name, shape, dtype, initializer, regularizer, reuse, trainable,
                                             collections, validate_shape, constraint)

        kwargs = dict(shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer, reuse=reuse,
                      trainable=trainable, collections=collections, validate_shape=validate_shape,
                      constraint=constraint, synchronization=synchronization, aggregation=aggregation)
        if custom_getter is not None:
            if not callable(custom_getter):
                raise ValueError(f"Passed a custom_getter which is not callable: {custom_getter}")
            return custom_getter(true_getter, name, **kwargs)
        return true_getter(name, **kwargs)

    def _get_single_variable(self, name, shape, dtype, initializer, regularizer, reuse, trainable, collections,
                             validate_shape, constraint):
        initializing_from_value = initializer is not None and not callable(initializer)
        if shape is not None and initializing_from_value:
            raise ValueError("If initializer is a constant, do not specify shape.")
        shape = TensorShape(shape)
        if not self._eager and name in self._vars:
            found = self._vars[name]
            if reuse is False or reuse is None:
                raise ValueError(f"Variable {name} already exists, disallowed. Did you mean to set reuse=True or "
                                 f"reuse=tf.AUTO_REUSE in VarScope?")
            if not shape.is_compatible_with(found.get_shape()):
                raise ValueError(f"Trying to share variable {name}, but specified shape {shape} and found shape "
                                 f"{found.get_shape()}.")
            if dtype is not None and dtype != found.dtype:
                raise ValueError(f"Trying to share variable {name}, but specified dtype {dtype!r} and found dtype "
                                 f"{found.dtype!r}.")
            return found
        if reuse is True and not self._eager:
            raise ValueError(f"Variable {name} does not exist, or was not created with tf.get_variable(). Did you "
                             f"mean to set reuse=tf.AUTO_REUSE in VarScope?")
        if initializer is None:
            initializer = _default_initializer(name, dtype)
        if initializing_from_value:
            init_val, var_dtype = initializer, None
        else:
            if isinstance(initializer, type):
                initializer = initializer()
            if shape.is_fully_defined():
                init_val = _bind_initializer(initializer, shape.as_list(), dtype)
                var_dtype = dtype
            elif _needs_no_arguments(initializer):
                init_val, var_dtype = initializer, None
            else:
                raise ValueError(f"Shape of a new variable ({name}) must be fully defined, but instead was {shape}.")
        from .variables import VariableV1
        v = VariableV1(initial_value=init_val, name=name, trainable=trainable, collections=collections,
                       dtype=var_dtype, validate_shape=validate_shape, constraint=constraint)
        if not self._eager:
            self._vars[name] = v
        if regularizer is not None:
            g = graph_mod.get_default_graph()
            with g.name_scope(name + "/Regularizer/"):
                loss = regularizer(v)
            if loss is not None:
                g.add_to_collection(REGULARIZATION_LOSSES, loss)
        return v


def _default_initializer(name, dtype):
    from . import initializers_v1 as initializers
    dtype = dtype or dt.float32
    if dtype.is_floating:
        return initializers.GlorotUniform()
    if dtype.is_integer or dtype.is_bool or dtype.is_string:
        return initializers.Zeros()
    raise ValueError(f"An initializer for variable {name} of {dtype!r} is required")


def _bind_initializer(initializer, shape, dtype):
    try:
        params = inspect.signature(initializer).parameters
    except (TypeError, ValueError):
        params = {}
    if "partition_info" in params:
        return functools.partial(initializer, shape, dtype=dtype, partition_info=None)
    return functools.partial(initializer, shape, dtype=dtype)


def _needs_no_arguments(fn) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in params)


# ------------------------------------------------------------------------------ per-graph state
class _ScopeStore:
    def __init__(self):
        self.current_scope = VariableScope(False)
        self.variable_scopes_count: dict = {}

    def open_variable_scope(self, scope_name):
        self.variable_scopes_count[scope_name] = self.variable_scopes_count.get(scope_name, 0) + 1

    def close_variable_subscopes(self, scope_name):
        prefix = scope_name + "/" if scope_name else ""
        for k in list(self.variable_scopes_count):
            if not scope_name or k.startswith(prefix):
                self.variable_scopes_count[k] = 0

    def variable_scope_count(self, scope_name):
        return self.variable_scopes_count.get(scope_name, 0)


def _state(g):
    store = getattr(g, "_fuseflow_scope_store", None)
    if store is None:
        store = g._fuseflow_scope_store = _ScopeStore()
    return store


def _var_store(g):
    if not graph_mod.graph_is_active():
        return _VariableStore(eager=True)
    store = getattr(g, "_fuseflow_var_store", None)
    if store is None:
        store = g._fuseflow_var_store = _VariableStore()
    return store


def get_variable_scope() -> VariableScope:
    return _state(graph_mod.get_default_graph()).current_scope


def _get_unique_variable_scope(prefix: str) -> str:
    store = _state(graph_mod.get_default_graph())
    current = store.current_scope
    name = f"{current.name}/{prefix}" if current.name else prefix
    if store.variable_scope_count(name) == 0:
        return prefix
    idx = 1
    while store.variable_scope_count(f"{name}_{idx}") > 0:
        idx += 1
    return f"{prefix}_{idx}"


@contextlib.contextmanager
def _pure_variable_scope(name_or_scope, reuse=None, initializer=None, regularizer=None, caching_device=None,
                         partitioner=None, custom_getter=None, old_name_scope=None, dtype=dt.float32,
                         use_resource=None, constraint=None):
    store = _state(graph_mod.get_default_graph())
    old = store.current_scope
    if isinstance(name_or_scope, VariableScope):
        new_name = name_or_scope.name
        scope = VariableScope(reuse if reuse else name_or_scope.reuse, name=new_name,
                              initializer=name_or_scope.initializer, regularizer=name_or_scope.regularizer,
                              caching_device=name_or_scope.caching_device, partitioner=name_or_scope.partitioner,
                              dtype=name_or_scope.dtype, custom_getter=name_or_scope.custom_getter,
                              name_scope=name_or_scope.original_name_scope,
                              use_resource=name_or_scope.use_resource, constraint=constraint)
        store.open_variable_scope(new_name)
        saved_counts = dict(store.variable_scopes_count)
    else:
        new_name = f"{old.name}/{name_or_scope}" if old.name else name_or_scope
        reuse = reuse or old.reuse
        ns = name_or_scope if old_name_scope is None else old_name_scope
        scope = VariableScope(reuse, name=new_name, initializer=old.initializer, regularizer=old.regularizer,
                              caching_device=old.caching_device, partitioner=old.partitioner, dtype=old.dtype,
                              use_resource=old.use_resource, custom_getter=old.custom_getter, name_scope=ns,
                              constraint=constraint if constraint is not None else old.constraint)
        store.open_variable_scope(new_name)
        saved_counts = None
    if initializer is not None:
        scope.set_initializer(initializer)
    if regularizer is not None:
        scope.set_regularizer(regularizer)
    if caching_device is not None:
        scope.set_caching_device(caching_device)
    if partitioner is not None:
        scope.set_partitioner(partitioner)
    if custom_getter is not None:
        scope.set_custom_getter(_compose_getters(custom_getter, scope.custom_getter))
    if dtype is not None:
        scope.set_dtype(dtype)
    if use_resource is not None:
        scope.set_use_resource(use_resource)
    store.current_scope = scope
    try:
        yield scope
    finally:
        if saved_counts is not None:
            store.variable_scopes_count = saved_counts
        else:
            store.close_variable_subscopes(new_name)
        store.current_scope = old


def _compose_getters(new, old):
    if old is None:
        return new

    def composed(getter, *args, **kwargs):
        return new(functools.partial(old, getter), *args, **kwargs)
    return composed


@contextlib.contextmanager
def variable_scope(name_or_scope, default_name=None, values=None, initializer=None, regularizer=None,
                   caching_device=None, partitioner=None, custom_getter=None, reuse=None, dtype=None,
                   use_resource=None, constraint=None, auxiliary_name_scope=True):
    """A context manager for defining ops that create variables (TF1 semantics; see module doc)."""
    if default_name is None and name_or_scope is None:
        raise TypeError("If default_name is None then name_or_scope is required")
    if not (name_or_scope is None or isinstance(name_or_scope, (VariableScope, str))):
        raise TypeError("VariableScope: name_or_scope must be a string or VariableScope.")
    if reuse is False:
        reuse = None          # TF: False means "inherit", like None
    g = graph_mod.get_default_graph()
    with contextlib.ExitStack() as stack:
        current_ns = None
        if not auxiliary_name_scope:
            current = g.get_name_scope()
            current_ns = g.name_scope(current + "/" if current else "")
        if name_or_scope is not None:
            if isinstance(name_or_scope, str):
                ns_name = name_or_scope
            else:
                ns_name = name_or_scope.name.split("/")[-1]
            if ns_name or current_ns is not None:
                ns_cm = current_ns if current_ns is not None else g.name_scope(ns_name)
                entered = stack.enter_context(ns_cm)
                old_ns = entered if isinstance(name_or_scope, str) else name_or_scope.original_name_scope
                scope = stack.enter_context(_pure_variable_scope(
                    name_or_scope, reuse=reuse, initializer=initializer, regularizer=regularizer,
                    caching_device=caching_device, partitioner=partitioner, custom_getter=custom_getter,
                    old_name_scope=old_ns, dtype=dtype, use_resource=use_resource, constraint=constraint))
            else:
                scope = stack.enter_context(_pure_variable_scope(
                    name_or_scope, reuse=reuse, initializer=initializer, regularizer=regularizer,
                    caching_device=caching_device, partitioner=partitioner, custom_getter=custom_getter,
                    dtype=dtype, use_resource=use_resource, constraint=constraint))
        else:
            if reuse:
                raise ValueError("reuse=True cannot be used without a name_or_scope")
            ns_cm = current_ns if current_ns is not None else g.name_scope(default_name)
            entered = stack.enter_context(ns_cm)
            unique = _get_unique_variable_scope(default_name)
            scope = stack.enter_context(_pure_variable_scope(
                unique, initializer=initializer, regularizer=regularizer, caching_device=caching_device,
                partitioner=partitioner, custom_getter=custom_getter, old_name_scope=entered, dtype=dtype,
                use_resource=use_resource, constraint=constraint))
        yield scope


def variable_op_scope(values, name_or_scope, default_name=None, initializer=None, regularizer=None,
                      caching_device=None, partitioner=None, custom_getter=None, reuse=None, dtype=None,
                      use_resource=None, constraint=None):
    """Deprecated TF1 spelling of variable_scope with `values` first."""
    return variable_scope(name_or_scope, default_name=default_name, values=values, initializer=initializer,
                          regularizer=regularizer, caching_device=caching_device, partitioner=partitioner,
                          custom_getter=custom_getter, reuse=reuse, dtype=dtype, use_resource=use_resource,
                          constraint=constraint)


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=None,
                 collections=None, caching_device=None, partitioner=None, validate_shape=True, use_resource=None,
                 custom_getter=None, constraint=None, synchronization=None, aggregation=None):
    """Get an existing variable with these parameters or create a new one (see module doc)."""
    g = graph_mod.get_default_graph()
    return get_variable_scope().get_variable(
        _var_store(g), name, shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
        trainable=trainable, collections=collections, caching_device=caching_device, partitioner=partitioner,
        validate_shape=validate_shape, use_resource=use_resource, custom_getter=custom_getter,
        constraint=constraint, synchronization=synchronization, aggregation=aggregation)


def get_local_variable(name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=False,
                       collections=None, caching_device=None, partitioner=None, validate_shape=True,
                       use_resource=None, custom_getter=None, constraint=None, synchronization=None,
                       aggregation=None):
    collections = list(collections or []) + [LOCAL_VARIABLES]
    return get_variable(name, shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
                        trainable=False, collections=collections, caching_device=caching_device,
                        partitioner=partitioner, validate_shape=validate_shape, use_resource=use_resource,
                        custom_getter=custom_getter, constraint=constraint)


def no_regularizer(_):
    """Use as `regularizer=tf.no_regularizer` to turn off a scope's regularizer for one variable."""
    return None


# ------------------------------------------------------------------------------ name scopes
class name_scope_v1:  # noqa: N801 - TF's name
    """`tf.compat.v1.name_scope(name, default_name=None, values=None)`: yields the scope string
    ('a/'); None or '' resets to the root scope; a name ending in '/' re-enters that scope."""

    def __init__(self, name, default_name=None, values=None):
        self._name = default_name if name is None else name
        self._default_name = default_name
        self._values = values
        self._cm = None

    @property
    def name(self):
        return self._name

    def __enter__(self):
        if self._name is None and self._values is not None:
            raise ValueError(f"At least one of name ({self._name}) and default_name ({self._default_name}) must be "
                             f"provided.")
        g = _graph_from_values(self._values)
        self._cm = g.name_scope(self._name)
        return self._cm.__enter__()

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


class name_scope_v2:  # noqa: N801 - TF's name
    """`tf.name_scope(name)` (TF2): a string name is required."""

    def __init__(self, name):
        if not isinstance(name, str):
            raise ValueError(f"name for name_scope must be a string, got {name!r}")
        self._name = name
        self._cm = None

    @property
    def name(self):
        return self._name

    def __enter__(self):
        g = graph_mod.get_default_graph()
        self._cm = g.name_scope(self._name)
        return self._cm.__enter__()

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def _graph_from_values(values):
    if graph_mod._graph_stack or values is None:
        return graph_mod.get_default_graph()
    for v in values if isinstance(values, (list, tuple)) else [values]:
        if isinstance(v, Tensor):
            return v.graph
        if is_tensor(v) and getattr(v, "_graph", None) is not None:
            return v._graph
    return graph_mod.get_default_graph()


# ------------------------------------------------------------------------------ templates
class Template:
    """`tf.make_template`: a function whose get_variable calls create variables on the first
    call and share them (reuse=True) on every later call."""

    def __init__(self, name, func, create_scope_now=False, unique_name=None, custom_getter=None):
        self._name = name
        self._func = func
        self._unique_name = unique_name
        self._custom_getter = custom_getter
        self._variable_scope = None
        self._variables_created = False
        if create_scope_now:
            with variable_scope(unique_name, default_name=name, custom_getter=custom_getter) as vs:
                self._variable_scope = vs

    def __call__(self, *args, **kwargs):
        if self._variable_scope is None:
            with variable_scope(self._unique_name, default_name=self._name,
                                custom_getter=self._custom_getter) as vs:
                self._variable_scope = vs
                result = self._func(*args, **kwargs)
        else:
            with variable_scope(self._variable_scope, reuse=True if self._variables_created else None):
                result = self._func(*args, **kwargs)
        self._variables_created = True
        return result

    @property
    def name(self):
        return self._name

    @property
    def variable_scope(self):
        return self._variable_scope

    @property
    def variable_scope_name(self):
        return self._variable_scope.name if self._variable_scope is not None else None

    @property
    def variables(self):
        return self._variable_scope.global_variables() if self._variable_scope is not None else []

    global_variables = variables

    @property
    def trainable_variables(self):
        return self._variable_scope.trainable_variables() if self._variable_scope is not None else []


def make_template(name_, func_, create_scope_now_=False, unique_name_=None, custom_getter_=None, **kwargs):
    return Template(name_, functools.partial(func_, **kwargs) if kwargs else func_, create_scope_now_,
                    unique_name_, custom_getter_)
