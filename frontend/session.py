"""TF1 `Session`: run parts of a frontend graph as compiled native programs.

`sess.run(fetches, feed_dict)` flattens the fetches, converts and checks the feeds, and runs
the needed ops. For each (fetch set, feed set, feed shapes/dtypes) the needed ops are replayed
ONCE into compiler IR (frontend/build.py) and compiled (compiler.driver.compile_graph); the
program is cached on the session, so a training step is one native call.

State: variable values live in the session (`_SessionStore`); two sessions on one graph are
independent. In the replay a variable read is a parameter bound to the session's buffer and
an assignment is an output donated to that buffer (updated in place by the native code); see
frontend/variables.py for the ordering rules and the handler contract.

Feeds: a None dim of a fed tensor's static shape becomes a symbolic dim (dims with equal
values share a symbol; 0 and 1 stay concrete because broadcasting depends on them), so one
program serves every batch size; if a graph needs static shapes the session falls back to one
program per concrete shape.

Host ops (queues, readers, Example parsing, string ops; frontend/host_ops.py) run in Python
between compiled segments: the ops a host op needs are compiled and run first, its results
are then fed onward like user feeds. Pure tensors computed for a host op are not: a later
segment recomputes what it needs, so gradients still flow through them.

A call repeated with the same fetch objects and feed keys (a training loop) takes the
shortcut of frontend/repeat_run.py: no flattening, planning or segment lookup.
"""
from __future__ import annotations

import contextlib
import itertools
import threading

import numpy as np

from fuseflow.compiler.ir import TensorType, Value
from fuseflow.compiler.ops.registry import get_op
from fuseflow.compiler.shapes import SymDim

from . import graph as graph_mod
from .build import FeedError, needed_ops, replay
from .errors import InvalidArgumentError, OpError, _ShapeBindingError, run_native
from .feeds import feed_array
from .graph import Operation
from .host_ops import _HOST_OPS, RunContext, is_host_op, run_host_op
from .repeat_run import RepeatedRun, repeat_key
from .tensor import EagerTensor, Tensor
from .variables import (ASSIGN_OPS, HANDLE_OP, Variable, VariableParam, VariableStore, collect_updates,
                        param_index, uninitialized_error)

_program_ids = itertools.count()


# ============================================================================== config protos
class _Proto:
    """A protobuf-like bag of fields: known fields have defaults, constructor kwargs set any field."""

    _defaults: dict = {}

    def __init__(self, **kwargs):
        for k, v in self._defaults.items():
            setattr(self, k, v() if callable(v) else v)
        for k, v in kwargs.items():
            setattr(self, k, v)

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def CopyFrom(self, other):  # noqa: N802 - protobuf spelling
        self.__dict__.update(vars(other))

    def SerializeToString(self):  # noqa: N802
        return repr(self).encode()


class GPUOptions(_Proto):
    """Accepted and ignored: fuseflow runs on the CPU."""
    _defaults = {"allow_growth": False, "per_process_gpu_memory_fraction": 0.0, "visible_device_list": "",
                 "allocator_type": "", "force_gpu_compatible": False}


class OptimizerOptions(_Proto):
    L1 = 0
    L0 = -1
    DEFAULT = 0
    OFF = -1
    ON_1 = 1
    ON_2 = 2
    _defaults = {"opt_level": 0, "global_jit_level": 0, "do_common_subexpression_elimination": False,
                 "do_constant_folding": False, "do_function_inlining": False}


class GraphOptions(_Proto):
    _defaults = {"optimizer_options": OptimizerOptions, "enable_bfloat16_sendrecv": False,
                 "build_cost_model": 0, "infer_shapes": False, "place_pruned_graph": False}


class ConfigProto(_Proto):
    """Session configuration: accepted and ignored (placement, threads and GPUs do not apply)."""
    _defaults = {"allow_soft_placement": False, "log_device_placement": False,
                 "intra_op_parallelism_threads": 0, "inter_op_parallelism_threads": 0,
                 "device_count": dict, "gpu_options": GPUOptions, "graph_options": GraphOptions,
                 "operation_timeout_in_ms": 0, "use_per_session_threads": False}


class RunOptions(_Proto):
    """`timeout_in_ms` bounds blocking queue ops (DeadlineExceededError); tracing is ignored."""
    NO_TRACE = 0
    SOFTWARE_TRACE = 1
    HARDWARE_TRACE = 2
    FULL_TRACE = 3
    _defaults = {"trace_level": 0, "timeout_in_ms": 0, "inter_op_thread_pool": 0,
                 "output_partition_graphs": False, "report_tensor_allocations_upon_oom": False}


class RunMetadata(_Proto):
    _defaults = {"step_stats": _Proto, "cost_graph": _Proto, "partition_graphs": list}


class _DeviceAttributes:
    def __init__(self):
        self.name = "/job:localhost/replica:0/task:0/device:CPU:0"
        self.device_type = "CPU"
        self.memory_limit_bytes = 268435456
        self.incarnation = 0

    def __repr__(self):
        return f"_DeviceAttributes({self.name}, {self.device_type}, {self.memory_limit_bytes})"


# ============================================================================== default session
_local = threading.local()


def _session_stack() -> list:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def get_default_session():
    stack = _session_stack()
    return stack[-1] if stack else None


# ============================================================================== variable store
class _SessionStore(VariableStore):
    """Variable values of one session (eager variables used in a graph keep their own value)."""

    def __init__(self):
        self._values: dict = {}   # id(var) -> (var, array)
        self._lock = threading.Lock()
        self.version = 0          # changes whenever a variable gets another buffer

    def buffer(self, var):
        if var._graph is None:
            return var._eager_value
        entry = self._values.get(id(var))
        if entry is None:
            auto = getattr(var, "_auto_initial", None)   # state that needs no initializer (RNG counters)
            if auto is None:
                return None
            self.set(var, auto())
            return self._values[id(var)][1]
        return entry[1]

    def set(self, var, array):
        if var._graph is None:
            var._eager_value = array
            return
        with self._lock:
            self._values[id(var)] = (var, array)
            self.version += 1

    def clear(self):
        with self._lock:
            self._values.clear()
            self.version += 1


# ============================================================================== compiled segments
def _compile(ir, name: str, donate: dict):
    """The one place a Session compiles a program."""
    from fuseflow.compiler.driver import compile_graph
    return compile_graph(ir, name=name, donate=donate or None)


class _Segment:
    """One compiled program and how to bind its parameters and read its outputs.

    A source is ("out", k) a program output, ("arg", j) a parameter passed through, or
    ("const", array) a constant folded away by the replay."""

    __slots__ = ("compiled", "binds", "var_types", "fetch_src", "updates", "donated_outs", "snapshot_args",
                 "fetched_outs", "dynamic_vars", "simple", "fetch_outs", "n_outputs")

    def __init__(self, compiled, binds, var_types, fetch_src, updates, donated_outs, snapshot_args):
        self.compiled = compiled
        self.binds = binds                  # per parameter: ("feed", Tensor) | ("var", Variable)
        self.var_types = var_types          # per parameter: (shape, np.dtype) of var buffers, else None
        self.fetch_src = fetch_src
        self.updates = updates              # [(var, source, donated)]
        self.donated_outs = donated_outs    # output indices written into variable buffers
        self.snapshot_args = snapshot_args  # params read as values but donated to: copy before the call
        self.fetched_outs = {x for kind, x in fetch_src if kind == "out"}
        self.dynamic_vars = [(ref, expected) for (kind, ref), expected in zip(binds, var_types)
                             if kind == "var" and not ref.shape.is_fully_defined()]
        # The common training step: every fetch a distinct, non-donated output and every
        # variable update written in place (see repeat_run.RepeatedRun._call_in_place).
        self.fetch_outs = [x for _, x in fetch_src]
        self.n_outputs = len(compiled.executable.signature["outputs"]) if compiled is not None else 0
        self.simple = (compiled is not None and not snapshot_args and all(d for _, _, d in updates)
                       and all(kind == "out" and x not in donated_outs for kind, x in fetch_src)
                       and len(set(self.fetch_outs)) == len(self.fetch_outs))


class _Plan:
    """What a (fetches, known tensors) pair needs: host ops and the feeds that matter."""

    __slots__ = ("hosts", "feeds", "stateful")

    def __init__(self, hosts, feeds, stateful):
        self.hosts = hosts
        self.feeds = feeds
        self.stateful = stateful


def _is_stateful(op) -> bool:
    if op.ir_op in ASSIGN_OPS:
        return True
    try:
        return bool(get_op(op.ir_op).stateful)
    except NotImplementedError:
        return False


# ============================================================================== Session
class BaseSession:
    def __init__(self, target="", graph=None, config=None):
        self._graph = graph if graph is not None else graph_mod.get_default_graph()
        self._target = target
        self._config = config
        self._closed = False
        self._store = _SessionStore()
        self._segments: dict = {}     # (fetches, feeds, feed signature) -> _Segment
        self._by_shapes: dict = {}    # (fetches, feeds, concrete feed shapes) -> _Segment (fast path)
        self._plans: dict = {}
        self._repeat_runs: dict = {}  # _repeat_key(fetches, feed_dict) -> _RepeatRun | None
        self._concrete_only: set = set()
        self._resources: dict = {}
        self._lock = threading.RLock()
        self._context_stack: list = []

    # -- properties -----------------------------------------------------------------------
    @property
    def graph(self):
        return self._graph

    @property
    def graph_def(self):
        return self._graph

    @property
    def sess_str(self) -> str:
        return self._target

    def list_devices(self):
        return [_DeviceAttributes()]

    # -- lifecycle ------------------------------------------------------------------------
    def close(self):
        if self._closed:
            return
        self._closed = True
        with self._lock:
            resources = list(self._resources.values())
        for r in resources:
            cancel = getattr(r, "cancel", None)
            if cancel is not None:
                cancel()

    def _resource(self, key, factory):
        with self._lock:
            r = self._resources.get(key)
            if r is None:
                if self._closed:
                    raise RuntimeError("Attempted to use a closed Session.")
                r = self._resources[key] = factory()
            return r

    @contextlib.contextmanager
    def as_default(self):
        stack = _session_stack()
        stack.append(self)
        try:
            yield self
        finally:
            if stack and stack[-1] is self:
                stack.pop()
            elif self in stack:
                stack.remove(self)

    def __enter__(self):
        graph_ctx = self._graph.as_default()
        sess_ctx = self.as_default()
        graph_ctx.__enter__()
        sess_ctx.__enter__()
        self._context_stack.append((graph_ctx, sess_ctx))
        return self

    def __exit__(self, exc_type, exc, tb):
        graph_ctx, sess_ctx = self._context_stack.pop()
        sess_ctx.__exit__(exc_type, exc, tb)
        graph_ctx.__exit__(exc_type, exc, tb)
        self.close()
        return False

    # -- run ------------------------------------------------------------------------------
    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        key = repeat_key(fetches, feed_dict) if options is None else None
        if key is not None:
            repeat = self._repeat_runs.get(key)
            if repeat is not None:
                return repeat(feed_dict)
        leaves, rebuild = self._flatten_fetches(fetches)
        feeds = self._convert_feeds(feed_dict)
        tensors, seen = [], set()
        for kind, x in leaves:
            if kind == "t" and x not in seen:
                seen.add(x)
                tensors.append(x)
        ops = list(dict.fromkeys(x for kind, x in leaves if kind == "o"))
        values = self._execute(tensors, ops, feeds, options)
        results = [None if kind == "o" else _result(values[x]) for kind, x in leaves]
        if key is not None and key not in self._repeat_runs:
            self._repeat_runs[key] = self._repeated_run(fetches, feed_dict, leaves, feeds, tensors, ops)
        return rebuild(results)

    def _repeated_run(self, fetches, feed_dict, leaves, feeds, tensors, ops):
        """The shortcut for this call made again (frontend/repeat_run.py), unless it runs host ops."""
        targets = [t for t in tensors if t not in feeds]
        plan = self._plan(targets, ops, feeds) if (targets or ops) else None
        if plan is not None and plan.hosts:
            return None
        return RepeatedRun(self, fetches, feed_dict, leaves, feeds, tensors, ops, plan)

    def make_callable(self, fetches, feed_list=None, accept_options=False):
        feed_list = list(feed_list or [])

        def call(*args, **kwargs):
            if len(args) != len(feed_list):
                raise TypeError(f"expected {len(feed_list)} feed values, got {len(args)}")
            return self.run(fetches, feed_dict=dict(zip(feed_list, args)), options=kwargs.get("options"))
        return call

    def partial_run_setup(self, fetches, feeds=None):
        raise TypeError("Session.partial_run is not supported by fuseflow: run the fetches in one call")

    # -- fetches --------------------------------------------------------------------------
    def _flatten_fetches(self, fetches):
        leaves: list = []

        def walk(x):
            if isinstance(x, (list, tuple)) and not isinstance(x, str):
                builders = [walk(v) for v in x]
                if hasattr(x, "_fields"):
                    return lambda r: type(x)(*[b(r) for b in builders])
                ctor = type(x) if isinstance(x, tuple) else list
                return lambda r: ctor([b(r) for b in builders])
            if isinstance(x, dict):
                keys = list(x.keys())
                builders = [walk(x[k]) for k in keys]

                def build_dict(r):
                    items = [(k, b(r)) for k, b in zip(keys, builders)]
                    try:
                        return type(x)(items)
                    except TypeError:
                        return dict(items)
                return build_dict
            idx = len(leaves)
            leaves.append(self._fetch_element(x))
            return lambda r: r[idx]

        return leaves, walk(fetches)

    def _fetch_element(self, x):
        if x is None:
            raise TypeError(f"Fetch argument None has invalid type {type(None)}")
        if isinstance(x, str):
            try:
                x = self._graph.as_graph_element(x)
            except KeyError as e:
                raise ValueError(f"Fetch argument {x!r} cannot be interpreted as a Tensor. ({e.args[0]})") from None
        if isinstance(x, Variable):
            if x._graph is None:
                raise TypeError(f"Fetch argument {x!r} is an eager variable; use .numpy()")
            x = x._as_graph_element()
        elif not isinstance(x, (Tensor, Operation)) and hasattr(x, "_as_graph_element"):
            x = x._as_graph_element()
        if isinstance(x, Operation):
            self._check_graph(x.graph, x.name)
            return ("o", x)
        if isinstance(x, Tensor):
            self._check_graph(x.graph, x.name)
            if x.op.ir_op == HANDLE_OP:
                return ("t", x.op._variable._as_graph_element())
            return ("t", x)
        if isinstance(x, EagerTensor):
            raise TypeError(f"Fetch argument {x!r} has invalid type {type(x)}: an eager tensor already holds "
                            f"its value (use .numpy())")
        raise TypeError(f"Fetch argument {x!r} has invalid type {type(x)}, must be a string or Tensor. (Can not "
                        f"convert a {type(x).__name__} into a Tensor or Operation.)")

    def _check_graph(self, g, name):
        if g is not self._graph:
            raise ValueError(f"Tensor {name} is not an element of this graph.")

    # -- feeds ----------------------------------------------------------------------------
    def _convert_feeds(self, feed_dict) -> dict:
        feeds: dict = {}
        for key, value in (feed_dict or {}).items():
            t = self._feed_key(key)
            feeds[t] = feed_array(t, value)
        return feeds

    def _feed_key(self, key) -> Tensor:
        if type(key) is Tensor and key.op.graph is self._graph:
            return key
        if isinstance(key, str):
            if ":" not in key:
                raise ValueError(f"The name '{key}' refers to an Operation, not a Tensor. Tensor names must be "
                                 f"of the form \"<op_name>:<output_index>\".")
            try:
                key = self._graph.get_tensor_by_name(key)
            except KeyError as e:
                raise ValueError(f"Cannot interpret feed_dict key as Tensor: {e.args[0]}") from None
        elif isinstance(key, Variable) and key._graph is not None:
            key = key._as_graph_element()
        elif not isinstance(key, Tensor) and hasattr(key, "_as_graph_element"):
            key = key._as_graph_element()
        if not isinstance(key, Tensor):
            raise TypeError(f"Cannot interpret feed_dict key as Tensor: {key!r} is not a Tensor")
        if key.graph is not self._graph:
            raise ValueError(f"Cannot interpret feed_dict key as Tensor: Tensor {key.name} is not an element "
                             f"of this graph.")
        return key

    # -- execution ------------------------------------------------------------------------
    def _plan(self, tensors, ops, known) -> _Plan:
        key = (tuple(tensors), tuple(ops), frozenset(known))
        plan = self._plans.get(key)
        if plan is None:
            needed = needed_ops([t.op for t in tensors] + list(ops), known)
            hosts = [op for op in needed if is_host_op(op)]
            feeds, seen = [], set()
            for op in needed:
                for t in list(op.inputs) + [v for v in op.attrs.values() if isinstance(v, Tensor)]:
                    if t in known and t not in seen:
                        seen.add(t)
                        feeds.append(t)
                for t in op.outputs:       # fed outputs of a needed op become parameters too
                    if t in known and t not in seen:
                        seen.add(t)
                        feeds.append(t)
            stateful = [t for op in needed if _is_stateful(op) for t in op.outputs]
            plan = self._plans[key] = _Plan(hosts, feeds, stateful)
        return plan

    def _execute(self, tensors, ops, feeds, options) -> dict:
        # `known`: every value this run has (feeds, host op results, computed tensors). `given`:
        # the values later segments take as inputs instead of computing them: feeds, host op
        # outputs and results of stateful ops already run. A pure tensor an earlier segment
        # computed for a host op is recomputed where needed, never taken as an input: a
        # gradient through an input would be zero (`run([train, summary_of_loss])` must train).
        known = dict(feeds)
        given = dict(feeds)
        done: set = set()
        targets = [t for t in tensors if t not in known]
        plan = self._plan(targets, ops, known)
        if plan.hosts:
            run = RunContext(self, options)
            for h in plan.hosts:
                if h in done or (h.outputs and all(t in known for t in h.outputs)):
                    continue
                pre_t = [t for t in dict.fromkeys(list(h.inputs) + [v for v in h.attrs.values()
                                                                    if isinstance(v, Tensor)]) if t not in known]
                pre_o = [c for c in h.control_inputs if c not in done]
                if pre_t or pre_o:
                    self._run_segment(pre_t, pre_o, known, given, done, final=False)
                outs = run_host_op(run, h, [known[t] for t in h.inputs])
                known.update(zip(h.outputs, outs))
                given.update(zip(h.outputs, outs))
                done.add(h)
            targets = [t for t in targets if t not in known]
            ops = [o for o in ops if o not in done]
        if targets or ops:
            self._run_segment(targets, ops, known, given, done, final=True, plan=None if plan.hosts else plan)
        return known

    def _run_segment(self, tensors, ops, known, given, done, final, plan=None):
        if plan is None:
            plan = self._plan(tensors, ops, given)
        stateful = ()
        if not final:
            # State changes made here must not be redone by a later segment: fetch their values
            # (a later replay then treats those ops as fed and does not run them again).
            stateful = [t for t in plan.stateful if t not in given]
            tensors = list(dict.fromkeys(list(tensors) + stateful))
        _, values = self._call_segment(tensors, ops, plan, given)
        computed = dict(zip(tensors, values))
        known.update(computed)
        given.update((t, computed[t]) for t in stateful)
        done.update(ops)

    def _call_segment(self, tensors, ops, plan, known) -> tuple:
        """(segment, its values) for these feeds. A program compiled for symbolic sizes assumes
        things of them (a slice in range, a dim of size 1 not broadcasting); when these shapes
        break an assumption, a program for exactly these shapes gets TF's answer (slices clamp,
        size-1 dims broadcast) or reports the real error while it is built."""
        seg = self._segment_for(tensors, ops, plan, known)
        try:
            return seg, self._call(seg, known)
        except _ShapeBindingError:
            arrays = [known[t] for t in plan.feeds]
            sig = _feed_signature(plan.feeds, arrays, False)
            if sig == _feed_signature(plan.feeds, arrays, True):
                raise                              # already a program for these exact shapes
            base = (tuple(tensors), tuple(ops), tuple(plan.feeds))
            with self._lock:   # a build error here means these shapes are wrong: TF's run-time error
                seg = self._cached_or_built(base + (sig,), tensors, ops, plan.feeds, sig, (FeedError, ValueError))
            self._by_shapes[_shapes_key(base, arrays)] = seg
            return seg, self._call(seg, known)

    def _segment_for(self, tensors, ops, plan, known) -> _Segment:
        arrays = [known[t] for t in plan.feeds]
        base = (tuple(tensors), tuple(ops), tuple(plan.feeds))
        fast_key = _shapes_key(base, arrays)
        seg = self._by_shapes.get(fast_key)
        if seg is not None and self._vars_match(seg):
            return seg
        seg = self._segment_lookup(tensors, ops, plan, arrays, base)
        self._by_shapes[fast_key] = seg
        return seg

    def _segment_lookup(self, tensors, ops, plan, arrays, base) -> _Segment:
        symbolic = base not in self._concrete_only
        sig = _feed_signature(plan.feeds, arrays, symbolic)
        key = base + (sig,)
        seg = self._segments.get(key)
        if seg is not None and self._vars_match(seg):
            return seg
        with self._lock:
            seg = self._segments.get(key)
            if seg is not None and self._vars_match(seg):
                return seg
            try:
                seg = self._build(tensors, ops, plan.feeds, sig)
            except (FeedError, InvalidArgumentError) as e:
                raise _as_op_error(e) from None
            except OpError:
                raise
            except Exception:
                if not symbolic or not any(isinstance(d, tuple) for s in sig for d in s[1]):
                    raise
                # This graph needs static shapes: compile per concrete feed shape from now on.
                self._concrete_only.add(base)
                sig = _feed_signature(plan.feeds, arrays, False)
                return self._cached_or_built(base + (sig,), tensors, ops, plan.feeds, sig,
                                             (FeedError, InvalidArgumentError))
            self._segments[key] = seg
            return seg

    def _cached_or_built(self, key, tensors, ops, feeds, sig, input_errors) -> _Segment:
        """The segment cached under `key`, or built and cached now (caller holds _lock); an
        error of the `input_errors` kinds is reported as InvalidArgumentError."""
        seg = self._segments.get(key)
        if seg is None or not self._vars_match(seg):
            try:
                seg = self._build(tensors, ops, feeds, sig)
            except input_errors as e:
                raise _as_op_error(e) from None
            self._segments[key] = seg
        return seg

    def _vars_match(self, seg) -> bool:
        """Variables of unknown static shape (validate_shape=False) may change shape: recompile then."""
        for var, expected in seg.dynamic_vars:
            buf = self._store.buffer(var)
            if buf is None:
                raise uninitialized_error(var)
            if (buf.shape, buf.dtype) != expected:
                return False
        return True

    def _build(self, tensors, ops, feed_tensors, sig) -> _Segment:
        feed_types = {}
        for t, (dtype, dims) in zip(feed_tensors, sig):
            feed_types[t] = TensorType(tuple(SymDim.symbol(f"s{d[1]}") if isinstance(d, tuple) else d
                                             for d in dims), t.dtype)
        fetch_ops = [t.op for t in tensors] + list(ops)
        handlers = {op_type: _skip_host_op for op_type in _HOST_OPS}
        ctx = replay(fetch_ops, feed_types, extra={"variable_store": self._store}, handlers=handlers)
        ir = ctx.graph
        inputs = ir.graph["inputs"]
        param_of_node = {node: j for j, node in enumerate(inputs)}
        outputs: list = []
        out_index: dict = {}

        def source(v: Value):
            if v.node in param_of_node:
                return ("arg", param_of_node[v.node])
            d = ir.nodes[v.node]
            if d["op"] == "constant":
                return ("const", d["attrs"]["value"].array)
            if v not in out_index:
                out_index[v] = len(outputs)
                outputs.append(v)
            return ("out", out_index[v])

        fetch_src = []
        for t in tensors:
            v = ctx.values.get(t)
            if v is None:
                if t in feed_types:
                    v = ctx.values[t] = ctx.add_parameter(t, feed_types[t])
                else:
                    raise TypeError(f"Fetch argument {t.name} has no value: {t.op.type} '{t.op.name}' does not "
                                    f"produce a tensor that can be fetched")
            fetch_src.append(source(v))
        updates, donate = [], {}
        for var, v in collect_updates(ctx):
            src = source(v)
            j = param_index(ctx, var)
            donated = False
            if src[0] == "out" and j is not None and src[1] not in donate and \
                    ir.value_type(v) == ir.value_type(Value(inputs[j], 0)):
                donate[src[1]] = j
                donated = True
            updates.append((var, src, donated))
        ir.graph["outputs"] = outputs
        donated_params = set(donate.values())
        snapshot = sorted({s[1] for s in fetch_src + [u[1] for u in updates]
                           if s[0] == "arg" and s[1] in donated_params})
        binds, var_types = [], []
        for key in ctx.params:
            if isinstance(key, VariableParam):
                buf = self._store.buffer(key.variable)
                binds.append(("var", key.variable))
                var_types.append((buf.shape, buf.dtype))
            else:
                binds.append(("feed", key))
                var_types.append(None)
        compiled = _compile(ir, f"session_{next(_program_ids)}", donate) if outputs else None
        return _Segment(compiled, binds, var_types, fetch_src, updates, set(donate), snapshot)

    def _call(self, seg: _Segment, known) -> list:
        store = self._store
        args = []
        for kind, ref in seg.binds:
            if kind == "feed":
                args.append(known[ref])
            else:
                buf = store.buffer(ref)
                if buf is None:
                    raise uninitialized_error(ref)
                args.append(buf)
        before = {j: args[j].copy() for j in seg.snapshot_args}
        outs = run_native(seg.compiled, args) if seg.compiled is not None else []

        def get(src):
            kind, x = src
            if kind == "out":
                arr = outs[x]
                return arr.copy() if x in seg.donated_outs else arr
            if kind == "arg":
                return before[x] if x in before else args[x].copy()
            return np.array(x, copy=True)

        results = [get(src) for src in seg.fetch_src]
        taken = set(seg.fetched_outs)
        for var, src, donated in seg.updates:
            if donated:
                continue
            if src[0] == "out" and src[1] not in seg.donated_outs and src[1] not in taken:
                arr = outs[src[1]]          # a fresh output array becomes the variable's buffer
                taken.add(src[1])
            else:
                arr = get(src)              # shared with a fetch or another variable: own copy
                if src[0] == "out" and src[1] not in seg.donated_outs:
                    arr = arr.copy()
            store.set(var, np.asarray(arr, order="C"))
        return results


def _skip_host_op(ctx, op, inputs):
    """Host ops already run (this run) before a later compiled segment: nothing to replay."""
    if op.outputs:
        raise RuntimeError(f"internal: host op {op.type} '{op.name}' reached a compiled segment")
    return []


def _as_op_error(e):
    if isinstance(e, InvalidArgumentError):
        return e
    return InvalidArgumentError(None, None, str(e))


def _shapes_key(base, arrays) -> tuple:
    """Key of a segment by the exact dtypes and shapes of its feeds."""
    return base, tuple([(a.dtype.str, a.shape) for a in arrays])


def _feed_signature(tensors, arrays, symbolic: bool) -> tuple:
    """Per feed: (dtype, dims); a dim is an int, or ("s", group) for a symbolic dim."""
    groups: dict = {}
    sig = []
    for t, a in zip(tensors, arrays):
        static = t.shape._dims
        if not symbolic or (static is not None and None not in static):
            sig.append((a.dtype.str, a.shape))
            continue
        dims = []
        for i, n in enumerate(a.shape):
            if (static is None or static[i] is None) and n > 1:
                dims.append(("s", groups.setdefault(n, len(groups))))
            else:
                dims.append(n)
        sig.append((a.dtype.str, tuple(dims)))
    return tuple(sig)


def _result(arr):
    arr = np.asarray(arr) if not isinstance(arr, np.ndarray) else arr
    return arr[()] if arr.ndim == 0 else arr


class Session(BaseSession):
    """`tf.compat.v1.Session(target='', graph=None, config=None)`."""

    def __init__(self, target="", graph=None, config=None):
        super().__init__(target, graph, config)


class InteractiveSession(BaseSession):
    """A Session that installs itself (and its graph) as the default until closed."""

    def __init__(self, target="", graph=None, config=None):
        super().__init__(target, graph, config)
        self._graph_ctx = self._graph.as_default()
        self._sess_ctx = self.as_default()
        self._graph_ctx.__enter__()
        self._sess_ctx.__enter__()
        self._entered = True

    def close(self):
        super().close()
        if getattr(self, "_entered", False):
            self._entered = False
            self._sess_ctx.__exit__(None, None, None)
            try:
                self._graph_ctx.__exit__(None, None, None)
            except (IndexError, ValueError):
                pass


TRAIN_EXPORTS = {}
