"""`tf.GradientTape`: record eager ops, then differentiate them as one compiled program.

While a tape records, `core.apply_op` reports every eagerly executed op to `_on_eager_op`
(the hook list is empty otherwise, so eager code pays nothing). A tape keeps an op only if
one of its inputs is tracked: watched, read from a watched variable, or produced by an op
the tape kept (as TF's tape does). `gradient()` then

1. walks back from the targets over kept ops (float tensors, differentiable ops only), which
   also decides which sources are unconnected (None);
2. turns that sub-trace into a `_Plan`: a structural description (op types, attrs, wiring,
   input types) whose leaves are program parameters: watched tensors, variable reads and any
   tensor the trace did not compute (constants, outputs of random or non-differentiable ops
   are fed with their recorded values, so recomputing forward never redraws randomness);
3. looks the plan's key up in a cache of compiled programs; on a miss it emits the forward
   ops into an IR graph, runs `compiler.passes.autodiff.gradients` and compiles the result;
4. calls the program once on the recorded leaf values.

Higher order: when a tape computes gradients while another tape records, the whole gradient
computation is recorded on the other tape as one composite op whose replay re-emits the
forward ops and the autodiff output, so the outer tape differentiates the backward pass.

Inside `fuseflow.function` tracing nothing runs eagerly: the tape records nothing and
`gradient()` emits a `gradients` frontend op (see gradients.py), so the gradient is part of
the traced program.

Variables report eager reads through `variable_accessed(variable, tensor)` (called by
`Variable` on every eager value read; a no-op when no tape is active).
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

from fuseflow.compiler.builder import Emitter
from fuseflow.compiler.ir import Attrs, Graph
from fuseflow.compiler.ops.registry import get_op

from . import core
from . import nest
from .gradients import UnconnectedGradients, is_backpropagatable
from .tensor import EagerTensor, Tensor

_tls = threading.local()      # .tapes: this thread's tapes inside their `with` block, outermost first
_recording_threads = [0]      # threads with an active tape (the core hook stays installed while > 0)
_hook_lock = threading.Lock()
_cache: dict = {}             # plan key -> (CompiledGraph, output layout)
_cache_lock = threading.Lock()
_MAX_CACHE = 512
_SCALAR_CONST = 1             # untracked inputs with at most this many elements become IR constants
# Scalar constants let the compiler simplify (x ** 2 -> x * x), but a scalar that changes at every
# step would recompile every step: a structure seen with two different constant values
# compiles with those scalars as parameters from then on.
_first_consts: dict = {}      # structure key -> constant values first seen
_varying: set = set()         # structure keys whose scalars are parameters


def _active() -> list:
    tapes = getattr(_tls, "tapes", None)
    if tapes is None:
        tapes = _tls.tapes = []
    return tapes


# --------------------------------------------------------------------------- hooks
def _on_eager_op(op_type, inputs, attrs, outputs):
    tapes = getattr(_tls, "tapes", None)
    if tapes:
        for tape in list(tapes):
            if tape._recording:
                tape._record_op(op_type, inputs, attrs, outputs)


def variable_accessed(variable, tensor=None):
    """Called by Variable on each eager read (tensor = the value read) and by `watch`."""
    tapes = getattr(_tls, "tapes", None)
    if not tapes:
        return
    for tape in tapes:
        if tape._recording:
            tape._note_read(variable, tensor)


def _push(tape):
    tapes = _active()
    with _hook_lock:
        if not tapes:
            _recording_threads[0] += 1
        tapes.append(tape)
        if _on_eager_op not in core.EAGER_OP_HOOKS:
            core.EAGER_OP_HOOKS.append(_on_eager_op)


def _pop(tape):
    tapes = _active()
    with _hook_lock:
        if tape in tapes:
            tapes.remove(tape)
            if not tapes:
                _recording_threads[0] -= 1
        if _recording_threads[0] <= 0 and _on_eager_op in core.EAGER_OP_HOOKS:
            core.EAGER_OP_HOOKS.remove(_on_eager_op)


def _is_variable(x) -> bool:
    return hasattr(x, "_as_tensor") and not isinstance(x, (Tensor, EagerTensor))


def _op_differentiable(op_type: str) -> bool:
    if op_type == "stop_gradient":
        return False
    try:
        opdef = get_op(op_type)
    except NotImplementedError:          # not a compiler op: nothing to replay it with
        return False
    return bool(opdef.differentiable) and not opdef.stateful


class _Record:
    """One kept op: a registry op (`op_type`, `attrs`), a recorded gradient (`plan`), or a
    `tf.custom_gradient` call (`custom`: its grad_fn and the variables it read)."""
    __slots__ = ("op_type", "attrs", "inputs", "outputs", "plan", "diff", "custom", "_frozen")

    def __init__(self, op_type, attrs, inputs, outputs, plan=None, custom=None):
        self.op_type = op_type
        self.attrs = attrs
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.plan = plan
        self.custom = custom
        # a custom_gradient call is opaque to the compiled plans: its grad_fn runs in Python
        self.diff = False if custom is not None else True if plan is not None else _op_differentiable(op_type)
        self._frozen = None

    def structure(self):
        if self._frozen is None:
            self._frozen = ("grad", self.plan.key) if self.plan is not None else (self.op_type, Attrs(self.attrs))
        return self._frozen


# --------------------------------------------------------------------------- plans
class _Plan:
    """A gradient computation, structurally: what to emit, independent of the recorded values.

    refs: ("p", i) program parameter i, ("c", i) constant i, ("r", j, k) output k of step j."""

    def __init__(self, steps, consts, param_types, target_refs, source_refs, target_types):
        self.steps = steps                  # [(op_type, attrs, plan|None, in_refs, structure key)]
        self.consts = consts                # [np.ndarray]
        self.param_types = param_types      # [(np.dtype, shape)]
        self.target_refs = target_refs      # [ref]
        self.source_refs = source_refs      # [[ref, ...] per source; [] = unconnected]
        self.target_types = target_types    # [(np.dtype, shape)]
        self.structure_key = (tuple((s[4], s[3]) for s in steps),
                              tuple((c.dtype.str, c.shape) for c in consts),
                              tuple((d.str, tuple(sh)) for d, sh in param_types),
                              tuple(target_refs), tuple(tuple(r) for r in source_refs),
                              tuple((d.str, tuple(sh)) for d, sh in target_types))
        self.const_values = tuple(c.tobytes() for c in consts)
        self.key = (self.structure_key, self.const_values)

    def emit(self, g: Graph, params: list, grad_ys: list) -> list:
        """Emit forward + backward into g; one Value (or None if unconnected) per source."""
        from fuseflow.compiler.passes.autodiff import gradients as ir_gradients
        em = Emitter(g)
        consts = {}
        outs: list = []

        def val(ref):
            if ref[0] == "p":
                return params[ref[1]]
            if ref[0] == "c":
                if ref[1] not in consts:
                    consts[ref[1]] = em.constant(self.consts[ref[1]])
                return consts[ref[1]]
            return outs[ref[1]][ref[2]]

        for op_type, attrs, plan, in_refs, _ in self.steps:
            ins = [val(r) for r in in_refs]
            if plan is None:
                outs.append(em.emit_multi(op_type, *ins, **attrs))
            else:
                n = len(plan.param_types)
                outs.append([v for v in plan.emit(g, ins[:n], ins[n:]) if v is not None])
        ys = [val(r) for r in self.target_refs]
        flat_x = [r for refs in self.source_refs for r in refs]
        xs = [val(r) for r in flat_x]
        if not xs:
            return [None] * len(self.source_refs)
        gys = []
        for y, gy in zip(ys, grad_ys if grad_ys else [None] * len(ys)):
            if gy is None:
                t = g.value_type(y)
                gy = em.broadcast_to(em.constant(np.ones((), t.dtype.np)), shape=tuple(t.shape))
            gys.append(gy)
        grads = ir_gradients(g, ys, xs, gys)
        result, k = [], 0
        for refs in self.source_refs:
            if not refs:
                result.append(None)
                continue
            acc = None
            for r in refs:
                gr = grads[k]
                k += 1
                if gr is None:
                    continue
                acc = gr if acc is None else em.add(acc, gr)
            if acc is None:                          # connected on the tape, no IR path: zeros
                t = g.value_type(val(refs[0]))
                acc = em.broadcast_to(em.constant(np.zeros((), t.dtype.np)), shape=tuple(t.shape))
            result.append(acc)
        return result


def _compiled_for(plan: _Plan, with_grad_ys: bool):
    key = (plan.key, with_grad_ys)
    hit = _cache.get(key)
    if hit is not None:
        return hit
    from fuseflow.compiler.driver import compile_graph
    g = Graph()
    em = Emitter(g)
    params = []
    for i, (d, shape) in enumerate(plan.param_types):
        p = em.emit("parameter", index=i, shape=tuple(shape), dtype=_dt(d), name=f"leaf{i}")
        g.graph["inputs"].append(p.node)
        params.append(p)
    grad_ys = []
    if with_grad_ys:
        for j, (d, shape) in enumerate(plan.target_types):
            p = em.emit("parameter", index=len(params) + j, shape=tuple(shape), dtype=_dt(d), name=f"grad_y{j}")
            g.graph["inputs"].append(p.node)
            grad_ys.append(p)
    grads = plan.emit(g, params, grad_ys)
    layout = [i for i, v in enumerate(grads) if v is not None]
    g.graph["outputs"] = [grads[i] for i in layout]
    compiled = compile_graph(g, name="tape_gradient") if layout else None
    with _cache_lock:
        if len(_cache) >= _MAX_CACHE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = (compiled, layout)
    return compiled, layout


def _dt(npdtype):
    from fuseflow.compiler import dtypes as dt
    return dt.from_numpy(npdtype)


# --------------------------------------------------------------------------- the tape
class GradientTape:
    """Records eager operations for automatic differentiation (TF2 semantics)."""

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True):
        self._persistent = persistent
        self._watch_accessed = watch_accessed_variables
        self._recording = False
        self._used = False
        self._reset_state()

    def _reset_state(self, keep_watched: bool = False):
        if not keep_watched:
            self._watched_order: dict = {}   # id(var) -> var, every variable watched or accessed
        self._records: list = []
        self._producer: dict = {}      # id(tensor) -> (record, output index)
        self._watched: dict = {}       # id(tensor) -> tensor (tape.watch on tensors)
        self._watched_vars: dict = {}  # id(var) -> var (tape.watch on variables)
        self._var_reads: dict = {}     # id(var) -> (var, [read tensors])
        self._read_ids: dict = {}      # id(read tensor) -> tensor

    # -- context ---------------------------------------------------------------------------
    def __enter__(self):
        self._recording = True
        _push(self)
        return self

    def __exit__(self, *exc):
        self._recording = False
        _pop(self)
        return False

    @contextlib.contextmanager
    def stop_recording(self):
        """Temporarily stop recording operations on this tape."""
        if not self._recording:
            raise ValueError("Tape must be recording to stop recording (use it inside its `with` block).")
        self._recording = False
        try:
            yield
        finally:
            self._recording = True

    def reset(self):
        """Clear everything recorded so far (the tape keeps recording if it was)."""
        self._reset_state()
        self._used = False

    # -- watching --------------------------------------------------------------------------
    def watch(self, tensor):
        """Track a tensor (or variable, or nested structure of them) for differentiation."""
        for t in nest.flatten(tensor):
            if _is_variable(t):
                self._watched_vars[id(t)] = t
                self._var_reads.setdefault(id(t), (t, []))
                self._watched_order.setdefault(id(t), t)
            elif isinstance(t, EagerTensor):
                if not is_backpropagatable(t.dtype):
                    continue        # TF ignores (with a warning) non-float tensors
                self._watched[id(t)] = t
            elif isinstance(t, Tensor):
                continue            # graph mode: gradients come from the graph itself
            else:
                raise ValueError(f"Passed in object {t!r} of type {type(t).__name__!r}, not tf.Tensor or "
                                 f"tf.Variable or ExtensionType.")

    def watched_variables(self):
        return tuple(self._watched_order.values())

    def _tracked(self, t) -> bool:
        i = id(t)
        return i in self._producer or i in self._watched or i in self._read_ids

    def _note_read(self, var, tensor):
        if id(var) not in self._watched_vars and not (self._watch_accessed and getattr(var, "trainable", True)):
            return
        entry = self._var_reads.setdefault(id(var), (var, []))
        self._watched_order.setdefault(id(var), var)
        if tensor is not None and isinstance(tensor, EagerTensor) and is_backpropagatable(tensor.dtype):
            entry[1].append(tensor)
            self._read_ids[id(tensor)] = tensor

    def _record_op(self, op_type, inputs, attrs, outputs):
        if not any(self._tracked(t) for t in inputs):
            return
        rec = _Record(op_type, attrs, inputs, outputs)
        self._add(rec)

    def _add(self, rec):
        self._records.append(rec)
        for i, t in enumerate(rec.outputs):
            self._producer[id(t)] = (rec, i)

    def _record_custom(self, inputs, outputs, grad_fn, variables):
        """A tf.custom_gradient call: `outputs` = f(`inputs`), differentiated by `grad_fn`."""
        if any(self._tracked(t) for t in inputs) or any(self._watches_variable(v) for v in variables):
            self._add(_Record("custom_gradient", None, inputs, outputs, custom=(grad_fn, list(variables))))

    def _watches_variable(self, var) -> bool:
        return id(var) in self._watched_vars or (self._watch_accessed and getattr(var, "trainable", True))

    def _record_gradient(self, plan, inputs, outputs):
        if any(self._tracked(t) for t in inputs):
            self._add(_Record("gradient", None, inputs, outputs, plan=plan))

    # -- gradients -------------------------------------------------------------------------
    def gradient(self, target, sources, output_gradients=None, unconnected_gradients=UnconnectedGradients.NONE):
        """d(sum of targets)/d(source) for each source in the (nested) `sources`."""
        if not self._persistent and self._used:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one set of "
                               "gradients (or jacobians)")
        unconnected_gradients = UnconnectedGradients(unconnected_gradients)
        flat_targets = nest.flatten(target)
        flat_sources = nest.flatten(sources)
        flat_out_grads = None if output_gradients is None else nest.flatten(output_gradients)
        if any(isinstance(t, Tensor) for t in flat_targets):
            result = self._graph_gradient(flat_targets, flat_sources, flat_out_grads, unconnected_gradients)
        else:
            result = self._eager_gradient(flat_targets, flat_sources, flat_out_grads, unconnected_gradients)
        self._used = True
        if not self._persistent:
            self._reset_state(keep_watched=True)
        return nest.pack_sequence_as(sources, result)

    def _graph_gradient(self, targets, sources, out_grads, unconnected):
        from .gradients import gradients
        return gradients(targets, sources, grad_ys=out_grads, unconnected_gradients=unconnected)

    def _source_tensors(self, s) -> list:
        if _is_variable(s):
            entry = self._var_reads.get(id(s))
            return list(entry[1]) if entry else []
        if isinstance(s, EagerTensor):
            return [s] if self._tracked(s) else []
        if s is None:
            raise ValueError("GradientTape.gradient: a source is None; sources must be tensors or variables")
        raise ValueError(f"GradientTape.gradient: cannot differentiate with respect to {type(s).__name__} {s!r}")

    def _eager_gradient(self, targets, sources, out_grads, unconnected):
        targets = [t._as_tensor() if _is_variable(t) else t for t in targets]
        for t in targets:
            if not isinstance(t, EagerTensor):
                raise ValueError(f"GradientTape.gradient: target {t!r} is not a tensor")
        customs = self._customs_reaching(targets)
        if customs:
            results = self._gradient_through_customs(targets, sources, out_grads, customs)
        else:
            results = self._direct_gradient(targets, [self._source_tensors(s) for s in sources], out_grads)
        if unconnected is UnconnectedGradients.ZERO:
            results = [r if r is not None else _zeros_like_source(s) for r, s in zip(results, sources)]
        return results

    def _customs_reaching(self, targets) -> list:
        """custom_gradient records the targets depend on (through any kept op), in record order."""
        seen, found, stack = set(), {}, list(targets)
        while stack:
            t = stack.pop()
            if id(t) in seen or not is_backpropagatable(t.dtype):
                continue
            seen.add(id(t))
            prod = self._producer.get(id(t))
            if prod is None or not (prod[0].diff or prod[0].custom is not None):
                continue
            rec = prod[0]
            if rec.custom is not None:
                found[id(rec)] = rec
            stack.extend(rec.inputs)
        order = {id(r): k for k, r in enumerate(self._records)}
        return sorted(found.values(), key=lambda r: order[id(r)])

    def _gradient_through_customs(self, targets, sources, out_grads, customs):
        """Every path from a source to a target has a LAST custom_gradient call on it (or none).
        So: the gradient along custom-free paths, with the custom calls' outputs as extra sources
        (compiled plans treat custom calls as opaque), plus for each call C: its grad_fn applied
        to the gradient reaching C's outputs, carried back to the sources by the full rule."""
        from .math_ops import add
        n = len(sources)
        extra = [t for rec in customs for t in rec.outputs]
        src_tensors = [self._source_tensors(s) for s in sources] + [[t] for t in extra]
        direct = self._direct_gradient(targets, src_tensors, out_grads)
        results, reaching = list(direct[:n]), direct[n:]

        def accumulate(i, g):
            results[i] = g if results[i] is None else add(results[i], g)

        k = 0
        for rec in customs:
            dys = reaching[k:k + len(rec.outputs)]
            k += len(rec.outputs)
            if all(d is None for d in dys):
                continue
            dys = [d if d is not None else _zeros_like_source(y) for d, y in zip(dys, rec.outputs)]
            grad_fn, variables = rec.custom
            dxs, dvars = _call_grad_fn(grad_fn, dys, variables, len(rec.inputs))
            xs = [x for x, d in zip(rec.inputs, dxs) if d is not None and is_backpropagatable(x.dtype)]
            gxs = [core.convert_to_tensor(d, dtype=x.dtype) for x, d in zip(rec.inputs, dxs)
                   if d is not None and is_backpropagatable(x.dtype)]
            if xs:
                for i, g in enumerate(self._eager_gradient(xs, sources, gxs, UnconnectedGradients.NONE)):
                    if g is not None:
                        accumulate(i, g)
            for var, g in zip(variables, dvars):
                if g is None:
                    continue
                for i, s in enumerate(sources):
                    if s is var:
                        accumulate(i, core.convert_to_tensor(g, dtype=var.dtype))
        return results

    def _direct_gradient(self, targets, src_tensors, out_grads) -> list:
        """Gradients along recorded differentiable ops, as one compiled program."""
        sources = src_tensors
        plan, leaves = self._plan(targets, src_tensors)
        if plan is not None and plan.consts:
            skey = plan.structure_key
            if skey in _varying:
                plan, leaves = self._plan(targets, src_tensors, scalar_consts=False)
            else:
                first = _first_consts.setdefault(skey, plan.const_values)
                if first != plan.const_values:
                    _varying.add(skey)
                    plan, leaves = self._plan(targets, src_tensors, scalar_consts=False)
        results: list = [None] * len(sources)
        if plan is not None and any(plan.source_refs):
            with_gy = out_grads is not None
            compiled, layout = _compiled_for(plan, with_gy)
            if compiled is not None:
                arrays = [np.asarray(t._value) for t in leaves]
                gy_tensors = []
                if with_gy:
                    for t, gy in zip(targets, out_grads):
                        gy = gy if gy is not None else np.ones(t._value.shape, t._value.dtype)
                        gy = gy if isinstance(gy, EagerTensor) else EagerTensor(np.asarray(gy, t._value.dtype))
                        gy_tensors.append(gy)
                        arrays.append(np.asarray(gy._value))
                outs = compiled(*arrays)
                for i, arr in zip(layout, outs):
                    results[i] = EagerTensor(arr)
                self._record_on_other_tapes(plan, leaves + gy_tensors, [results[i] for i in layout])
        return results

    def _record_on_other_tapes(self, plan, inputs, outputs):
        for tape in _active():
            if tape is not self and tape._recording:
                tape._record_gradient(plan, inputs, outputs)

    def _plan(self, targets, src_tensors, scalar_consts: bool = True):
        """Prune the trace to what the targets need and describe it structurally."""
        reach: set = set()
        needed: dict = {}        # id(record) -> record
        stack = list(targets)
        while stack:
            t = stack.pop()
            i = id(t)
            if i in reach or not is_backpropagatable(t.dtype):
                continue
            reach.add(i)
            prod = self._producer.get(i)
            if prod is None or not prod[0].diff:
                continue
            rec = prod[0]
            if id(rec) not in needed:
                needed[id(rec)] = rec
                stack.extend(rec.inputs)
        connected = [[t for t in ts if id(t) in reach] for ts in src_tensors]
        if not any(connected):
            return None, []
        order = {id(r): k for k, r in enumerate(self._records)}
        steps_recs = sorted(needed.values(), key=lambda r: order[id(r)])
        pos = {}                 # id(tensor) -> ("r", j, k)
        for j, rec in enumerate(steps_recs):
            for k, t in enumerate(rec.outputs):
                pos.setdefault(id(t), ("r", j, k))
        leaves, leaf_ref, consts = [], {}, []

        def ref(t):
            r = pos.get(id(t))
            if r is not None:
                return r
            r = leaf_ref.get(id(t))
            if r is not None:
                return r
            arr = np.asarray(t._value)
            if scalar_consts and arr.size <= _SCALAR_CONST and not self._tracked(t) and arr.dtype != object:
                r = ("c", len(consts))
                consts.append(arr)
            else:
                r = ("p", len(leaves))
                leaves.append(t)
            leaf_ref[id(t)] = r
            return r

        steps = []
        for rec in steps_recs:
            in_refs = tuple(ref(t) for t in rec.inputs)
            steps.append((rec.op_type, rec.attrs, rec.plan, in_refs, rec.structure()))
        target_refs = [ref(t) for t in targets]
        source_refs = [[_force_param(ref, t, leaf_ref, leaves, consts) for t in ts] for ts in connected]
        plan = _Plan(steps, consts, [(np.asarray(t._value).dtype, np.shape(t._value)) for t in leaves],
                     target_refs, source_refs, [(t._value.dtype, t._value.shape) for t in targets])
        return plan, leaves

    # -- jacobians -------------------------------------------------------------------------
    def jacobian(self, target, sources, unconnected_gradients=UnconnectedGradients.NONE,
                 parallel_iterations=None, experimental_use_pfor=True):
        """Full Jacobian d target[i] / d source[j]: shape target.shape + source.shape."""
        if not self._persistent and self._used:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one set of "
                               "gradients (or jacobians)")
        unconnected_gradients = UnconnectedGradients(unconnected_gradients)
        flat_sources = nest.flatten(sources)
        if isinstance(target, Tensor):
            from .needs_eager import NeedsEagerExecution
            raise NeedsEagerExecution("GradientTape.jacobian", "GradientTape.jacobian inside fuseflow.function "
                                      "tracing is not supported; compute it eagerly")
        t_arr = np.asarray(target._value)
        rows = [[] for _ in flat_sources]
        for i in range(t_arr.size):
            seed = np.zeros(t_arr.size, t_arr.dtype)
            seed[i] = 1
            g = self._eager_gradient([target], flat_sources, [EagerTensor(seed.reshape(t_arr.shape))],
                                     unconnected_gradients)
            for k, gi in enumerate(g):
                rows[k].append(gi)
        out = []
        for s, r in zip(flat_sources, rows):
            shape = tuple(np.shape(_value_of(s)))
            if all(x is None for x in r):
                out.append(None)
                continue
            arrs = [np.zeros(shape, _value_of(s).dtype) if x is None else np.asarray(x._value) for x in r]
            out.append(EagerTensor(np.stack(arrs).reshape(t_arr.shape + shape) if arrs else
                                   np.zeros(t_arr.shape + shape, _value_of(s).dtype)))
        self._used = True
        if not self._persistent:
            self._reset_state(keep_watched=True)
        return nest.pack_sequence_as(sources, out)

    def batch_jacobian(self, target, source, unconnected_gradients=UnconnectedGradients.NONE,
                       parallel_iterations=None, experimental_use_pfor=True):
        """d target[i] / d source[i] per batch row i: shape target.shape + source.shape[1:].

        Like TF, rows are assumed independent: column j of every row is seeded at once, so one
        backward pass per target column gives that column for the whole batch."""
        if not self._persistent and self._used:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one set of "
                               "gradients (or jacobians)")
        unconnected_gradients = UnconnectedGradients(unconnected_gradients)
        if isinstance(target, Tensor):
            from .needs_eager import NeedsEagerExecution
            raise NeedsEagerExecution("GradientTape.batch_jacobian",
                                      "GradientTape.batch_jacobian inside fuseflow.function tracing is not "
                                      "supported; compute it eagerly")
        t_arr = np.asarray(target._value)
        s_arr = np.asarray(_value_of(source))
        if t_arr.ndim < 1 or s_arr.ndim < 1 or t_arr.shape[0] != s_arr.shape[0]:
            raise ValueError(f"Need first dimension of target shape ({t_arr.shape}) and source shape "
                             f"({s_arr.shape}) to match.")
        batch = t_arr.shape[0]
        cols = int(np.prod(t_arr.shape[1:], dtype=np.int64))
        pieces, connected = [], False
        for j in range(cols):
            seed = np.zeros((batch, cols), t_arr.dtype)
            seed[:, j] = 1
            (g,) = self._eager_gradient([target], [source], [EagerTensor(seed.reshape(t_arr.shape))],
                                        unconnected_gradients)
            connected = connected or g is not None
            pieces.append(np.zeros(s_arr.shape, s_arr.dtype) if g is None else np.asarray(g._value))
        self._used = True
        if not self._persistent:
            self._reset_state(keep_watched=True)
        if not connected and unconnected_gradients == UnconnectedGradients.NONE:
            return None
        stacked = np.stack(pieces, axis=1) if pieces else np.zeros((batch, 0) + s_arr.shape[1:], s_arr.dtype)
        return EagerTensor(stacked.reshape(t_arr.shape + s_arr.shape[1:]))


def _force_param(ref, t, leaf_ref, leaves, consts):
    """Sources must be program parameters (or computed values), never folded constants."""
    r = ref(t)
    if r[0] == "c":
        r = ("p", len(leaves))
        leaves.append(t)
        leaf_ref[id(t)] = r
    return r


def _value_of(s):
    if _is_variable(s):
        return np.asarray(s._as_tensor()._value) if not hasattr(s, "numpy") else np.asarray(s.numpy())
    return np.asarray(s._value)


def _zeros_like_source(s):
    v = _value_of(s)
    return EagerTensor(np.zeros(v.shape, v.dtype))


def _call_grad_fn(grad_fn, dys, variables, n_inputs):
    """-> (one gradient or None per input, one per variable), from TF's grad_fn conventions:
    grad_fn(*dys) returns a gradient or a list (one per input); with variables, it is called
    with `variables=` and returns (input gradients, variable gradients)."""
    if variables:
        out = grad_fn(*dys, variables=list(variables))
        if not isinstance(out, (list, tuple)) or len(out) != 2:
            raise TypeError("tf.custom_gradient: a grad_fn called with variables must return "
                            "(input gradients, variable gradients)")
        dxs, dvars = out
        dvars = list(dvars) if isinstance(dvars, (list, tuple)) else [dvars]
        if len(dvars) != len(variables):
            raise ValueError(f"tf.custom_gradient: grad_fn returned {len(dvars)} variable gradients for "
                             f"{len(variables)} variables")
    else:
        dxs, dvars = grad_fn(*dys), []
    dxs = list(dxs) if isinstance(dxs, (list, tuple)) else [dxs]
    if len(dxs) != n_inputs:
        raise ValueError(f"tf.custom_gradient: grad_fn returned {len(dxs)} gradients for {n_inputs} inputs")
    return dxs, dvars
