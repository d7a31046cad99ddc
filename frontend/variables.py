"""`tf.Variable`: mutable state for TF1 graphs (values live in a Session) and TF2 eager code
(values live in the Variable object).

Frontend graph ops (all frontend-only; `op._variable` is the Variable, also in `attrs["variable"]`):

    var_handle          the variable itself (`v.op`, named like the variable: `counter`); no value
    read_variable       one read of the value (`v.value()`, every use of `v` as a tensor)
    assign / assign_add / assign_sub
                        input: the value (already of the variable's dtype); output: the new value
    var_is_initialized  host op (see host_ops.py): a bool scalar

Replay contract (how state becomes a pure compiled program)
----------------------------------------------------------
Whoever replays a frontend graph into IR (Session.run, fuseflow.function) passes
`extra={"variable_store": store}` to `build.replay`, where `store` is a `VariableStore`:

    store.buffer(var) -> np.ndarray | None      current value (None: uninitialized)
    store.set(var, array)                       replace the value (after a run, when not donated)

The handlers below keep a `VariableState` in `ctx.extra["variable_state"]` and implement TF's
ordering rules:
  * A read sees the value written by the latest assign to that variable among the read's
    transitive (data or control) dependencies, else the value at the start of the run.
  * Assignments apply one after another in creation order (a topological order of the graph):
    an assign_add/assign_sub starts from the value left by the previous assignment to that
    variable in this run (or the start value), so chained assigns apply in order and unordered
    increments all take effect, like TF's read-modify-write on the variable's buffer.
  * The start value is ONE graph parameter per variable, created on first need with key
    `VariableParam(var)` (`ctx.params` holds it; bind it to `store.buffer(var)`).
  * The variable's final value is the output of its last assign (in creation order).

After replay, `collect_updates(ctx)` gives `[(var, Value)]`: append those Values to the graph
outputs and donate each to the variable's parameter when the variable has one
(`param_index(ctx, var)`) and the types match, so the native code updates the buffer in
place; otherwise store the output array with `store.set`. Session does exactly that with
its own store; `fuseflow.function` does it with `EAGER_STORE` (whose buffers are the
Variable objects' own arrays) through `replay_setup`, `variable_of_param`,
`variable_buffer` and `write_variable` below (see function_state.py). `bind_arguments`
builds the call arguments for any store.

Other state can use the same machinery: anything with `_graph`, `_op_name`, `name`, `dtype`,
`shape`, `_validate_shape` (and `_eager_value` when `_graph` is None) can be read and
updated through VariableState; `_auto_initial()` gives it a value in a new session without
an initializer (random_streams.RandomStream, the per-op counters of random ops).

Gradients: reads are `read_variable` ops with `op._variable`; every read that sees the start
value is the same IR parameter, so differentiating with respect to that parameter covers them
all (gradients.py differentiates through every read of a variable).

Eager variables (TF2): `Variable(...)` outside any graph holds a numpy array; reads return
copies (EagerTensors never alias a buffer that a compiled program may later update in place);
assigns replace/update it at once. Inside a `fuseflow.function` trace, using an eager
variable records a `read_variable` op in the FuncGraph (bound by reference at call time).
"""
from __future__ import annotations

import itertools
from typing import Optional

import numpy as np

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler.ir import TensorType, Value

from . import graph as graph_mod
from .build import replay_handler
from .errors import FailedPreconditionError, InvalidArgumentError
from .graph import GLOBAL_VARIABLES, TRAINABLE_VARIABLES
from .tensor import EagerTensor, SymbolicValueError, Tensor, TensorShape, _TensorOperators

LOCAL_VARIABLES = "local_variables"
MODEL_VARIABLES = "model_variables"
MOVING_AVERAGE_VARIABLES = "moving_average_variables"

HANDLE_OP = "var_handle"
READ_OP = "read_variable"
ASSIGN_OPS = {"assign": "assign", "assign_add": "add", "assign_sub": "sub"}
IS_INITIALIZED_OP = "var_is_initialized"

_uid = itertools.count(1)


# ============================================================================== stores
class VariableStore:
    """Where variable values live during a run (see the module docstring)."""

    def buffer(self, var) -> Optional[np.ndarray]:
        raise TypeError(f"{type(self).__name__} does not hold variable values")

    def set(self, var, array: np.ndarray) -> None:
        raise TypeError(f"{type(self).__name__} cannot store variable values")

    def value_type(self, var) -> TensorType:
        buf = self.buffer(var)
        if buf is None:
            raise uninitialized_error(var)
        return TensorType(tuple(buf.shape), var.dtype)


class EagerVariableStore(VariableStore):
    """TF2 variables: the value is the Variable object's own array."""

    def buffer(self, var):
        return var._eager_value

    def set(self, var, array):
        var._eager_value = array


EAGER_STORE = EagerVariableStore()


def uninitialized_error(var) -> FailedPreconditionError:
    return FailedPreconditionError(
        None, getattr(var, "op", None),
        f"Attempting to use uninitialized value {var._op_name}: variable '{var.name}' was read before its "
        f"initializer ran (run tf.global_variables_initializer() or {var._op_name}.initializer first)")


class VariableParam:
    """The key of a replay parameter bound to a variable's buffer (in `ctx.params`)."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    @property
    def name(self):
        return self.variable.name

    def __repr__(self):
        return f"VariableParam({self.variable.name})"


# ============================================================================== replay
class VariableState:
    """Per-replay bookkeeping of variable reads and writes (ctx.extra["variable_state"])."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.store: VariableStore = ctx.extra.get("variable_store") or EAGER_STORE
        self.params: dict = {}     # id(var) -> (var, Value, param index)
        self.updates: dict = {}    # id(var) -> (var, Value, assign op id)
        self._closure: dict = {}   # op id -> {id(var): assign op} over the op and its dependencies

    # -- reads --------------------------------------------------------------------------
    def start_value(self, var) -> Value:
        entry = self.params.get(id(var))
        if entry is None:
            ttype = self.store.value_type(var)
            index = len(self.ctx.params)
            v = self.ctx.add_parameter(var, ttype, key=VariableParam(var))
            entry = self.params[id(var)] = (var, v, index)
        return entry[1]

    def value_seen_by(self, op, var) -> Value:
        """The value of `var` as op sees it: the latest assign it depends on, else the start value."""
        assign = self._latest_before(op).get(id(var))
        if assign is None:
            return self.start_value(var)
        return _value_of_tensor(self.ctx, assign.outputs[0])

    # -- writes -------------------------------------------------------------------------
    def running_value(self, var) -> Value:
        """What an assign_add/assign_sub starts from: assignments apply one after another in
        creation order (a topological order), like TF's read-modify-write on the variable's buffer,
        so unordered increments in one run all take effect."""
        entry = self.updates.get(id(var))
        return entry[1] if entry is not None else self.start_value(var)

    def record_update(self, var, op, value: Value) -> None:
        prev = self.updates.get(id(var))
        if prev is None or prev[2] < op.id:
            self.updates[id(var)] = (var, value, op.id)

    # -- dependency closure ---------------------------------------------------------------
    def _latest_before(self, op) -> dict:
        """{id(var): assign op} over op's strict dependencies (max op id per variable)."""
        merged: dict = {}
        for dep in self._deps(op):
            for k, a in self._closure_of(dep).items():
                if k not in merged or merged[k].id < a.id:
                    merged[k] = a
        return merged

    def _deps(self, op):
        """(dependency op, traverse further?) pairs; fed tensors cut the traversal."""
        feeds = self.ctx.feeds
        out = []
        for t in op.inputs:
            out.append((t.op, t not in feeds))
        for v in op.attrs.values():
            if isinstance(v, Tensor):
                out.append((v.op, v not in feeds))
        for c in op.control_inputs:
            out.append((c, not (c.outputs and all(t in feeds for t in c.outputs))))
        return out

    def _closure_of(self, dep) -> dict:
        op, traverse = dep
        own = {id(op._variable): op} if op.ir_op in ASSIGN_OPS else {}
        if not traverse:
            return own
        memo = self._closure
        if op.id in memo:
            return memo[op.id]
        # Iterative post-order walk: dependency chains can be long (thousands of training ops).
        stack = [(op, False)]
        while stack:
            cur, expanded = stack.pop()
            if cur.id in memo:
                continue
            deps = self._deps(cur)
            if not expanded:
                stack.append((cur, True))
                stack.extend((d, False) for d, trav in deps if trav and d.id not in memo)
                continue
            merged = {id(cur._variable): cur} if cur.ir_op in ASSIGN_OPS else {}
            for d, trav in deps:
                if trav:
                    sub = memo[d.id]
                else:
                    sub = {id(d._variable): d} if d.ir_op in ASSIGN_OPS else {}
                for k, a in sub.items():
                    if k not in merged or merged[k].id < a.id:
                        merged[k] = a
            memo[cur.id] = merged
        return memo[op.id]


def _value_of_tensor(ctx, t) -> Value:
    v = ctx.values.get(t)
    if v is None and t in ctx.feeds:
        v = ctx.values[t] = ctx.add_parameter(t, ctx.feeds[t])
    if v is None:
        raise KeyError(f"{t.name} has no value in this replay")
    return v


def variable_state(ctx) -> VariableState:
    state = ctx.extra.get("variable_state")
    if state is None:
        state = ctx.extra["variable_state"] = VariableState(ctx)
    return state


@replay_handler(HANDLE_OP)
def _replay_handle(ctx, op, inputs):
    return []


@replay_handler(READ_OP)
def _replay_read(ctx, op, inputs):
    return [variable_state(ctx).value_seen_by(op, op._variable)]


def _fits(value_shape, var_shape) -> bool:
    """Same rank, and every pair of dims equal or one of them symbolic."""
    return len(value_shape) == len(var_shape) and all(
        a == b or not isinstance(a, int) or not isinstance(b, int) for a, b in zip(value_shape, var_shape))


def _replay_assign(ctx, op, inputs):
    state = variable_state(ctx)
    var = op._variable
    value = inputs[0]
    em = ctx.emitter(op)
    vtype = ctx.graph.value_type(value)
    mode = ASSIGN_OPS[op.ir_op]
    if mode != "assign":
        base = state.running_value(var)
        btype = ctx.graph.value_type(base)
        if _fits(vtype.shape, btype.shape) and tuple(btype.shape) != tuple(vtype.shape):
            # a None dim of the value (a [None, 3] placeholder): checked equal when the program runs
            value = em.emit("broadcast_to", value, shape=tuple(btype.shape), name=op.name + "/shape_check")
            vtype = ctx.graph.value_type(value)
        if tuple(btype.shape) != tuple(vtype.shape):
            raise InvalidArgumentError(
                None, op, f"Cannot update variable with shape {list(btype.shape)} using a Tensor with shape "
                          f"{list(vtype.shape)}, shapes must be equal ({op.name})")
        value = em.emit("add" if mode == "add" else "sub", base, value, name=op.name)
    elif var._validate_shape and var.shape.rank is not None:
        static = var.shape
        if not static.is_compatible_with([d if isinstance(d, int) else None for d in vtype.shape]):
            raise InvalidArgumentError(None, op, f"Cannot assign a value of shape {list(vtype.shape)} to variable "
                                                 f"{var.name} of shape {static}")
        if static.is_fully_defined() and any(not isinstance(d, int) for d in vtype.shape):
            # the variable keeps its shape: a value of another size is an error when the program runs
            value = em.emit("broadcast_to", value, shape=tuple(static.as_list()), name=op.name + "/shape_check")
    state.record_update(var, op, value)
    return [value]


for _t in ASSIGN_OPS:
    replay_handler(_t)(_replay_assign)


def collect_updates(ctx) -> list:
    """[(var, Value)]: the final value of every variable assigned in this replay."""
    state = ctx.extra.get("variable_state")
    if state is None:
        return []
    return [(var, v) for var, v, _ in sorted(state.updates.values(), key=lambda e: e[2])]


def param_index(ctx, var) -> Optional[int]:
    state = ctx.extra.get("variable_state")
    entry = state.params.get(id(var)) if state is not None else None
    return None if entry is None else entry[2]


def is_state_update(op) -> bool:
    return op.ir_op in ASSIGN_OPS


def stateful_ops(graph) -> list:
    """Assignments in a graph (ops that must run even when no fetched output needs them)."""
    return [op for op in graph.get_operations() if op.ir_op in ASSIGN_OPS]


def variable_of_param(key):
    if isinstance(key, VariableParam):
        return key.variable
    raise TypeError(f"replay parameter {key!r} is not a variable")


# ============================================================================== Variable
def _graph_mode() -> bool:
    return graph_mod.graph_is_active()


def _in_function_graph() -> bool:
    return bool(graph_mod._graph_stack) and graph_mod.get_default_graph().is_function_graph()


def _init_scope():
    from .function import init_scope
    return init_scope()


class Variable(_TensorOperators):
    """A variable (TF2 signature; `VariableV1` below has TF1's positional order)."""

    def __init__(self, initial_value=None, trainable=None, validate_shape=True, caching_device=None,
                 name=None, variable_def=None, dtype=None, import_scope=None, constraint=None,
                 synchronization=None, aggregation=None, shape=None, collections=None, use_resource=None,
                 expected_shape=None, experimental_enable_variable_lifting=True, distribute_strategy=None):
        if variable_def is not None:
            raise ValueError("fuseflow Variables cannot be created from a VariableDef proto")
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        if constraint is not None and not callable(constraint):
            raise ValueError(f"The `constraint` argument must be a callable. Received: {constraint!r}")
        self._trainable = True if trainable is None else bool(trainable)
        self._validate_shape = validate_shape
        self.constraint = constraint
        self._synchronization = synchronization
        self._aggregation = aggregation
        self._unique_id = next(_uid)
        self._dtype_arg = dt.as_dtype(dtype) if dtype is not None else None
        if _in_function_graph():
            with _init_scope():
                self._create(initial_value, name, shape, collections)
        else:
            self._create(initial_value, name, shape, collections)

    # -- construction ---------------------------------------------------------------------
    def _create(self, initial_value, name, shape, collections):
        if _graph_mode():
            self._init_graph(initial_value, name, shape, collections)
        else:
            self._init_eager(initial_value, name, shape)

    def _init_graph(self, initial_value, name, shape, collections):
        from .core import convert_to_tensor
        g = graph_mod.get_default_graph()
        self._graph = g
        self._eager_value = None
        with g.control_dependencies(None), g.name_scope(name or "Variable") as scope:
            with g.name_scope("Initializer"):
                init = initial_value() if callable(initial_value) else initial_value
                init_t = convert_to_tensor(init, dtype=self._dtype_arg, name="initial_value")
            if isinstance(init_t, EagerTensor):
                init_t = _constant_in(g, init_t)
            self._dtype = init_t.dtype
            self._shape = self._static_shape(init_t.shape, shape)
            loc = graph_mod.user_location(g.get_name_scope())
            self._handle_op = self._make_op(g, HANDLE_OP, [], scope, loc,
                                            extra={"dtype": self._dtype, "shape": self._shape})
            self._initial_value = init_t
            with g.name_scope(scope):
                self._initializer_op = self._make_op(g, "assign", [init_t], "Assign", loc)
                with g.name_scope("Read"):
                    self._snapshot = self._read_op(g, "ReadVariableOp")
        if collections is None:
            collections = [GLOBAL_VARIABLES]
        collections = list(collections)
        if self._trainable and TRAINABLE_VARIABLES not in collections:
            collections.append(TRAINABLE_VARIABLES)
        g.add_to_collections(collections, self)
        g.variables.append(self)

    def _init_eager(self, initial_value, name, shape):
        from .core import convert_to_tensor
        self._graph = None
        init = initial_value() if callable(initial_value) else initial_value
        if isinstance(init, Variable):
            init = init.read_value()
        if isinstance(init, Tensor):
            init = _evaluate_constant(init)
        t = convert_to_tensor(init, dtype=self._dtype_arg)
        value = np.array(t._value, copy=True, order="C")
        self._dtype = t.dtype
        self._shape = self._static_shape(TensorShape(value.shape), shape)
        self._eager_value = value
        self._initial_value = EagerTensor(value.copy(), self._dtype)
        scope = graph_mod.get_default_graph().get_name_scope()
        base = name or "Variable"
        self._eager_name = f"{scope}/{base}" if scope else base
        self._handle_op = None
        self._initializer_op = None
        self._snapshot = None

    def _static_shape(self, value_shape: TensorShape, shape) -> TensorShape:
        if shape is not None:
            shape = TensorShape(shape)
            if self._validate_shape and not shape.is_compatible_with(value_shape):
                raise ValueError(f"The initial value's shape ({value_shape}) is not compatible with the "
                                 f"explicitly supplied `shape` argument ({shape}).")
            return shape
        return value_shape if self._validate_shape else TensorShape(None)

    def _make_op(self, g, op_type, inputs, name, loc, extra=None):
        attrs = {"variable": self}
        attrs.update(extra or {})
        specs = [(self._dtype, self._shape)]
        op = g.create_op(op_type, inputs, attrs, specs, name=name, loc=loc)
        op._variable = self
        return op

    def _read_op(self, g, name="ReadVariableOp") -> Tensor:
        loc = graph_mod.user_location(g.get_name_scope())
        return self._make_op(g, READ_OP, [], name, loc).outputs[0]

    # -- identity -------------------------------------------------------------------------
    @property
    def _in_graph_mode(self) -> bool:
        return self._graph is not None

    @property
    def _op_name(self) -> str:
        return self._handle_op.name if self._handle_op is not None else self._eager_name

    @property
    def name(self) -> str:
        return f"{self._op_name}:0"

    @property
    def op(self):
        if self._handle_op is None:
            raise AttributeError("Variable.op is not defined for eager variables.")
        return self._handle_op

    @property
    def handle(self):
        return self._handle_op.outputs[0] if self._handle_op is not None else self

    @property
    def graph(self):
        if self._graph is None:
            raise AttributeError("Variable.graph is not defined for eager variables.")
        return self._graph

    @property
    def dtype(self):
        return self._dtype

    @property
    def shape(self) -> TensorShape:
        if self._graph is None and self._eager_value is not None:
            return TensorShape(self._eager_value.shape)
        return self._shape

    def get_shape(self) -> TensorShape:
        return self.shape

    @property
    def ndim(self):
        return self.shape.rank

    @property
    def device(self) -> str:
        return self._handle_op.device if self._handle_op is not None else "/job:localhost/replica:0/task:0/device:CPU:0"

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def synchronization(self):
        return self._synchronization

    @property
    def aggregation(self):
        return self._aggregation

    @property
    def initializer(self):
        """The op that assigns the initial value (graph mode; None for eager variables)."""
        return self._initializer_op

    @property
    def initial_value(self):
        return self._initial_value

    def initialized_value(self):
        raise NotImplementedError(
            "Variable.initialized_value() is not supported for resource variables (as in TF 2.x): use "
            "Variable.initial_value, or run the variable's initializer before reading it")

    # -- reads ----------------------------------------------------------------------------
    def value(self):
        return self._read(self._target_graph(), "ReadVariableOp")

    def read_value(self):
        g = self._target_graph()
        if g is None:
            return self._read(None, "ReadVariableOp")
        with g.as_default(), g.name_scope("Read"):
            return self._read(g, "ReadVariableOp")

    def _target_graph(self):
        """Where reads/assigns go: the variable's graph, or a function graph capturing it; None: eager."""
        if _graph_mode():
            g = graph_mod.get_default_graph()
            if self._graph is None or (g is not self._graph and g.is_function_graph()):
                watch = getattr(g, "watch_variable", None)
                if watch is not None:
                    watch(self)
                return g
        return self._graph

    def _read(self, g, name):
        if g is not None:
            return self._read_op(g, name)
        if self._eager_value is None:
            raise uninitialized_error(self)
        t = EagerTensor(self._eager_value.copy(), self._dtype)
        _notify_tape(self, t)
        return t

    def _graph_value(self, graph):
        """A fresh read of this variable in `graph` (used by tf.gradients)."""
        return self._read(graph, "ReadVariableOp")

    def _as_tensor(self, dtype=None, name=None, as_ref=False):
        t = self.value()
        if dtype is not None and dt.as_dtype(dtype) != self._dtype:
            raise ValueError(f"Incompatible type conversion requested to type '{dt.as_dtype(dtype).name}' "
                             f"for variable of type '{self._dtype.name}' ({self.name})")
        return t

    def _as_graph_element(self):
        """What `sess.run(v)` fetches: the read made when the variable was created."""
        return self._snapshot

    def numpy(self):
        if self._graph is not None:
            raise NotImplementedError("numpy() is only available when eager execution is enabled.")
        if self._eager_value is None:
            raise uninitialized_error(self)
        v = self._eager_value
        return v.copy() if v.ndim else v[()]

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.numpy(), dtype=dtype)

    def eval(self, session=None):
        if self._graph is None:
            return self.numpy()
        from .session import get_default_session
        sess = session or get_default_session()
        if sess is None:
            raise ValueError("Cannot evaluate variable using `eval()`: No default session is registered. "
                             "Use `with sess.as_default()` or pass an explicit session to `eval(session=sess)`")
        return sess.run(self)

    # -- writes ---------------------------------------------------------------------------
    def assign(self, value, use_locking=None, name=None, read_value=True):
        return self._update("assign", value, name, read_value)

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        return self._update("assign_add", delta, name, read_value)

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        return self._update("assign_sub", delta, name, read_value)

    def _update(self, op_type, value, name, read_value):
        from .core import convert_to_tensor
        g = self._target_graph()
        if g is not None:
            with g.as_default():
                t = convert_to_tensor(value, dtype=self._dtype)
            if isinstance(t, EagerTensor):
                t = _constant_in(g, t)
            if op_type == "assign" and self._validate_shape and self._shape.rank is not None \
                    and not self._shape.is_compatible_with(t.shape):
                raise ValueError(f"Cannot assign value to variable ' {self.name}': Shape mismatch.The variable "
                                 f"shape {self._shape}, and the assigned value shape {t.shape} are incompatible.")
            default = {"assign": "AssignVariableOp", "assign_add": "AssignAddVariableOp",
                       "assign_sub": "AssignSubVariableOp"}[op_type]
            from .control_flow import assignment_guard, guard_assignment
            guard = assignment_guard(g)          # inside a runtime tf.cond branch: a conditional write
            if guard is not None:
                with g.as_default():
                    t = guard_assignment(guard, op_type, t, self)
            loc = graph_mod.user_location(g.get_name_scope())
            op = self._make_op(g, op_type, [t], name or default, loc)
            if guard is not None:
                guard.ops.append(op)
            return op.outputs[0] if read_value else op
        return self._eager_update(op_type, value, read_value)

    def _eager_update(self, op_type, value, read_value):
        from .core import convert_to_tensor
        arr = np.asarray(convert_to_tensor(value, dtype=self._dtype)._value)
        if op_type == "assign":
            if self._validate_shape and self._eager_value is not None and arr.shape != self._eager_value.shape:
                raise ValueError(f"Cannot assign value to variable ' {self.name}': Shape mismatch.The variable "
                                 f"shape {self.shape}, and the assigned value shape {TensorShape(arr.shape)} "
                                 f"are incompatible.")
            new = np.array(arr, dtype=self._dtype.np, copy=True, order="C")
        else:
            if self._eager_value is None:
                raise uninitialized_error(self)
            if arr.shape != self._eager_value.shape:
                raise InvalidArgumentError(None, None, f"Cannot update variable with shape "
                                                       f"{list(self._eager_value.shape)} using a Tensor with shape "
                                                       f"{list(arr.shape)}, shapes must be equal.")
            op = np.add if op_type == "assign_add" else np.subtract
            new = np.asarray(op(self._eager_value, arr).astype(self._dtype.np, copy=False), order="C")
        self._eager_value = new
        return self if read_value else None

    # -- sliced assignment ---------------------------------------------------------------
    def __getitem__(self, key):
        """`v[key]`: the slice's value, as for tensors; like TF, the returned tensor has an
        `assign(value, name=None)` that writes `value` into that slice of the variable
        (TF's strided_slice_assign) and returns the variable's new value."""
        from .array_ops import tensor_getitem
        out = tensor_getitem(self, key)

        def assign(value, name=None):
            return _assign_slice(self, key, value, name)
        out.assign = assign
        return out

    def load(self, value, session=None):
        """Write a value without adding ops (TF1's Variable.load)."""
        if self._graph is None:
            self.assign(value)
            return
        from .session import get_default_session
        sess = session or get_default_session()
        if sess is None:
            raise ValueError("Either session argument should be provided or default session should be established")
        sess._store.set(self, _as_value_array(value, self))

    def is_initialized(self, name=None):
        return is_variable_initialized(self)

    def count_up_to(self, limit):
        """Increment and return the old value; OutOfRangeError once it reached `limit` (a host op)."""
        from .queues import count_up_to
        return count_up_to(self, limit)

    def scatter_add(self, sparse_delta, use_locking=False, name=None):
        from .state_ops import scatter_add
        return scatter_add(self, sparse_delta.indices, sparse_delta.values, name=name)

    def scatter_sub(self, sparse_delta, use_locking=False, name=None):
        from .state_ops import scatter_sub
        return scatter_sub(self, sparse_delta.indices, sparse_delta.values, name=name)

    def scatter_update(self, sparse_delta, use_locking=False, name=None):
        from .state_ops import scatter_update
        return scatter_update(self, sparse_delta.indices, sparse_delta.values, name=name)

    # -- misc -----------------------------------------------------------------------------
    def ref(self):
        return _Reference(self)

    experimental_ref = ref

    def set_shape(self, shape):
        self._shape = self._shape.merge_with(shape)

    def get_value(self):
        return self.numpy()

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def __bool__(self):
        if self._graph is None:
            return bool(self.numpy())
        raise SymbolicValueError("Using a symbolic variable as a Python `bool` is not allowed.")

    def __len__(self):
        if self.shape.rank is None or self.shape.rank == 0 or self.shape[0] is None:
            raise TypeError(f"len is not well defined for a variable of shape {self.shape}")
        return self.shape[0]

    def __iter__(self):
        return iter(self._as_tensor())

    def __float__(self):
        return float(self.numpy())

    def __int__(self):
        return int(self.numpy())

    def __index__(self):
        return int(self.numpy())

    def __repr__(self):
        shape = self.shape
        if self._graph is None and self._eager_value is not None:
            from .tensor import _np_repr
            return (f"<tf.Variable '{self.name}' shape={shape} dtype={self._dtype.name}, "
                    f"numpy={_np_repr(self._eager_value)}>")
        return f"<tf.Variable '{self.name}' shape={shape} dtype={self._dtype.name}>"


def _static_slice_key(key) -> tuple:
    """`key` with every index a Python int (basic indexing only, as TF's slicing); a scalar
    tensor index known only when the graph runs cannot be assigned through in fuseflow."""
    from .array_ops import _index_value
    from .needs_eager import NeedsEagerExecution
    parts = []
    for s in (key if isinstance(key, tuple) else (key,)):
        if s is None or s is Ellipsis:
            parts.append(s)
        elif isinstance(s, slice):
            bounds = [None if b is None else _index_value(b) for b in (s.start, s.stop, s.step)]
            if any(b is None and v is not None for b, v in zip(bounds, (s.start, s.stop, s.step))):
                raise ValueError(f"Slice bounds must be known while building the graph, got {s!r}")
            parts.append(slice(*bounds))
        else:
            if isinstance(s, (list, np.ndarray)):
                raise TypeError(f"Only integers, slices (`:`), ellipsis (`...`), tf.newaxis (`None`) and scalar "
                                f"int32/int64 tensors are valid indices, got {s!r}")
            v = _index_value(s)
            if v is None:
                raise NeedsEagerExecution("a variable slice assignment at a run-time index",
                                          "Variable[...].assign: the index is only known when the graph runs; "
                                          "fuseflow needs slice assignment indices while building the graph")
            parts.append(v)
    return tuple(parts)


def _assign_slice(var, key, value, name=None):
    """TF's strided_slice_assign: `var[key] = value` (value broadcast to the slice's shape)."""
    from .core import convert_to_tensor
    shape = var.shape
    if not shape.is_fully_defined():
        raise ValueError(f"Variable[...].assign: the shape of variable {var.name} ({shape}) must be fully known")
    dims = shape.as_list()
    static_key = _static_slice_key(key)
    positions = np.arange(int(np.prod(dims, dtype=np.int64)), dtype=np.int64).reshape(dims)[static_key]
    graph = var._target_graph()
    if graph is None:                          # eager: write the slice of the current value
        arr = np.asarray(convert_to_tensor(value, dtype=var.dtype)._value)
        try:
            arr = np.broadcast_to(arr, positions.shape)
        except ValueError:
            raise ValueError(f"Variable[...].assign: sliced l-value shape {list(positions.shape)} does not match "
                             f"r-value shape {list(arr.shape)}") from None
        if var._eager_value is None:
            raise uninitialized_error(var)
        new = np.array(var._eager_value, copy=True)
        new[static_key] = arr
        return var.assign(new, name=name)
    from . import array_ops
    with graph.as_default():
        v = convert_to_tensor(value, dtype=var.dtype)
        if not _broadcastable(v.shape, positions.shape):
            raise ValueError(f"Variable[...].assign: sliced l-value shape {list(positions.shape)} does not match "
                             f"r-value shape {v.shape}")
        n = positions.size
        flat_values = array_ops.reshape(array_ops.broadcast_to(v, list(positions.shape)), [n])
        hit = np.zeros(dims, dtype=bool)
        source = np.zeros(dims, dtype=np.int32)         # where each element's new value sits in flat_values
        hit.reshape(-1)[positions.ravel()] = True
        source.reshape(-1)[positions.ravel()] = np.arange(n, dtype=np.int32)
        old = var.read_value()
        if n == 0:
            return var.assign(old, name=name)
        placed = array_ops.gather(flat_values, source)
        return var.assign(array_ops.where(hit, placed, old), name=name)


def _broadcastable(src: TensorShape, target: tuple) -> bool:
    if src.rank is None:
        return True
    if src.rank > len(target):
        return False
    return all(a is None or a == 1 or a == b for a, b in zip(reversed(src.as_list()), reversed(target)))


class VariableV1(Variable):
    """`tf.compat.v1.Variable`: TF1's argument order (collections third)."""

    def __init__(self, initial_value=None, trainable=None, collections=None, validate_shape=True,
                 caching_device=None, name=None, variable_def=None, dtype=None, expected_shape=None,
                 import_scope=None, constraint=None, use_resource=None, synchronization=None,
                 aggregation=None, shape=None):
        super().__init__(initial_value=initial_value, trainable=trainable, validate_shape=validate_shape,
                         caching_device=caching_device, name=name, variable_def=variable_def, dtype=dtype,
                         import_scope=import_scope, constraint=constraint, synchronization=synchronization,
                         aggregation=aggregation, shape=shape, collections=collections)


class _Reference:
    """`v.ref()`: a hashable handle that compares by identity of the variable."""

    __slots__ = ("_obj",)

    def __init__(self, obj):
        self._obj = obj

    def deref(self):
        return self._obj

    def __hash__(self):
        return id(self._obj)

    def __eq__(self, other):
        return isinstance(other, _Reference) and other._obj is self._obj


def _notify_tape(var, tensor):
    try:
        from .tape import variable_accessed
    except ImportError:
        return
    variable_accessed(var, tensor)


def _constant_in(g, t: EagerTensor) -> Tensor:
    from .core import constant_op
    return constant_op(g, np.asarray(t._value), t.dtype)


def _evaluate_constant(t: Tensor) -> np.ndarray:
    """The value of a symbolic tensor computable from constants (an initial value traced inside
    a fuseflow.function, where variables are created once, outside the trace)."""
    from .build import replay
    ctx = replay([t.op], {})
    return np.asarray(ctx.static_value(t))


def _as_value_array(value, var) -> np.ndarray:
    if isinstance(value, (Tensor, Variable)):
        raise TypeError(f"Variable.load expects a concrete value, got {value!r}")
    if isinstance(value, EagerTensor):
        value = value._value
    arr = np.array(value, dtype=var.dtype.np, copy=True, order="C")
    if var._validate_shape and var.shape.rank is not None and not var.shape.is_compatible_with(arr.shape):
        raise ValueError(f"Cannot load a value of shape {arr.shape} into variable {var.name} of shape {var.shape}")
    return arr


# ============================================================================== module functions
def _graph():
    return graph_mod.get_default_graph()


def global_variables(scope=None) -> list:
    return _graph().get_collection(GLOBAL_VARIABLES, scope)


all_variables = global_variables


def trainable_variables(scope=None) -> list:
    return _graph().get_collection(TRAINABLE_VARIABLES, scope)


def local_variables(scope=None) -> list:
    return _graph().get_collection(LOCAL_VARIABLES, scope)


def model_variables(scope=None) -> list:
    return _graph().get_collection(MODEL_VARIABLES, scope)


def moving_average_variables(scope=None) -> list:
    return _graph().get_collection(MOVING_AVERAGE_VARIABLES, scope)


def variables_initializer(var_list, name="init"):
    """One op running the initializers of `var_list` (a NoOp when the list is empty)."""
    from .control_flow import group, no_op
    if not _graph_mode():
        return None
    inits = [v.initializer for v in var_list if v.initializer is not None]
    if inits:
        return group(*inits, name=name)
    return no_op(name=name)


initialize_variables = variables_initializer


def global_variables_initializer():
    if not _graph_mode():
        return None
    return variables_initializer(global_variables())


initialize_all_variables = global_variables_initializer


def local_variables_initializer():
    if not _graph_mode():
        return None
    return variables_initializer(local_variables())


initialize_local_variables = local_variables_initializer


def tables_initializer(name="init_all_tables"):
    """fuseflow has no lookup tables: a NoOp, so TF1 code that runs it keeps working."""
    from .control_flow import no_op
    return no_op(name=name) if _graph_mode() else None


def _host_state_op(op_type, inputs, attrs, specs, name):
    g = _graph()
    loc = graph_mod.user_location(g.get_name_scope())
    op = g.create_op(op_type, inputs, attrs, specs, name=name, loc=loc)
    return op


def is_variable_initialized(variable):
    """A bool scalar: whether `variable` has a value in the session running it."""
    if not _graph_mode():
        return EagerTensor(np.asarray(variable._eager_value is not None), dt.bool_)
    op = _host_state_op(IS_INITIALIZED_OP, [], {"variable": variable}, [(dt.bool_, TensorShape([]))],
                        "IsVariableInitialized")
    op._variable = variable
    return op.outputs[0]


def report_uninitialized_variables(var_list=None, name="report_uninitialized_variables"):
    """A 1-D string tensor of the op names of the uninitialized variables in `var_list`."""
    if var_list is None:
        var_list = global_variables() + local_variables()
    var_list = list(var_list)
    if not _graph_mode():
        return EagerTensor(np.asarray([v._op_name.encode() for v in var_list if v._eager_value is None],
                                      dtype=object).reshape(-1), dt.string)
    op = _host_state_op("report_uninitialized_variables", [], {"variables": tuple(var_list)},
                        [(dt.string, TensorShape([None]))], name)
    return op.outputs[0]


def assert_variables_initialized(var_list=None):
    """An op that fails with FailedPreconditionError when any variable in `var_list` is uninitialized."""
    if var_list is None:
        var_list = global_variables() + local_variables()
    if not _graph_mode():
        return None
    return _host_state_op("assert_variables_initialized", [], {"variables": tuple(var_list)}, [],
                          "assert_variables_initialized")


def bind_arguments(ctx, feed_value, store: VariableStore) -> list:
    """The call arguments of a replayed graph: `feed_value(tensor)` for fed tensors, variable
    buffers (which must be initialized) for VariableParams."""
    args = []
    for key in ctx.params:
        if isinstance(key, VariableParam):
            buf = store.buffer(key.variable)
            if buf is None:
                raise uninitialized_error(key.variable)
            args.append(buf)
        else:
            args.append(feed_value(key))
    return args


# ----------------------------------------------------------------------------- fuseflow.function glue
def replay_setup(graph):
    """(extra, handlers) for `build.replay` of a FuncGraph using eager variables."""
    return {"variable_store": EAGER_STORE}, {}


def variable_buffer(var) -> np.ndarray:
    buf = EAGER_STORE.buffer(var) if var._graph is None else None
    if buf is None:
        if var._graph is not None:
            raise TypeError(f"fuseflow.function: graph variable {var.name} has no eager value; run it in a Session")
        raise uninitialized_error(var)
    return buf


def write_variable(var, value, donated: bool) -> None:
    if not donated:
        EAGER_STORE.set(var, np.asarray(value, order="C"))
