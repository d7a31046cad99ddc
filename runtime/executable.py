"""Executable: one compiled graph, callable with numpy arrays.

The hot path is built for tiny graphs (a few microseconds per call): everything that depends
only on the signature is precomputed, everything that depends on the input shapes is cached
per shape tuple (dims table, output shapes, pointer table, temp arena), per Python thread, so
two threads can call one Executable at the same time.
"""
from __future__ import annotations

import ctypes
import itertools
import operator
import os
import queue
import sys
import threading

import numpy as np

from .native import NativeCode

_ENTRY = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                          ctypes.c_int64, ctypes.c_void_p)
_addressof = ctypes.addressof
_is = operator.is_
_is_not = operator.is_not
_compress = itertools.compress
_char_from_buffer = ctypes.c_char.from_buffer
_ARENA_ALIGN = 64
# Below this much estimated work (bytes moved + operations) one thread is faster: handing a call
# to the worker thread costs ~45 us here, so an elementwise add breaks even near 500k elements
# and a tanh near 250k [measured with benchmarks/bench_codegen.py on the 2-core CI machine].
MIN_PARALLEL_WORK = float(os.environ.get("FUSEFLOW_MIN_PARALLEL_WORK", 8 << 20))


class ExecutionError(RuntimeError):
    """A runtime check in the compiled code failed (e.g. an index out of range)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


# ----------------------------------------------------------------------------- dims
def _decode(code):
    """JSON lists back to tuples: ["mul", ["sym", "b"], ["const", 2]] -> ('mul', ('sym','b'), ('const',2))."""
    return tuple(_decode(a) if isinstance(a, (list, tuple)) else a for a in code)


def evaluate_dim(code, env: dict) -> int:
    kind = code[0]
    if kind == "const":
        return code[1]
    if kind == "sym":
        return env[code[1]]
    a, b = evaluate_dim(code[1], env), evaluate_dim(code[2], env)
    if kind == "mul":
        return a * b
    if kind == "add":
        return a + b
    if kind == "floordiv":
        return a // b if b else 0
    raise ValueError(f"unknown dim expression {code!r}")


def format_dim(code) -> str:
    kind = code[0]
    if kind in ("const", "sym"):
        return str(code[1])
    op = {"mul": "*", "add": "+", "floordiv": "//"}.get(kind, kind)
    return f"({format_dim(code[1])}{op}{format_dim(code[2])})"


def _format_shape(codes) -> str:
    return "[" + ", ".join(format_dim(c) for c in codes) + "]"


class _TensorSpec:
    __slots__ = ("name", "dtype", "shape", "rank", "alias")

    def __init__(self, d: dict):
        self.name = d["name"]
        self.dtype = np.dtype(np.bool_ if d["dtype"] == "bool" else d["dtype"])
        self.shape = [_decode(c) for c in d["shape"]]
        self.rank = len(self.shape)
        self.alias = d.get("alias_input")


# ----------------------------------------------------------------------------- threads
class _Worker:
    """A persistent thread that runs one native call at a time for the caller."""

    def __init__(self):
        self.lock = threading.Lock()
        self.jobs = queue.SimpleQueue()
        self.results = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name="fuseflow-worker", daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            fn, args = self.jobs.get()
            try:
                self.results.put(fn(*args))
            except BaseException as e:  # never let the caller wait forever
                self.results.put(e)


_WORKERS: list = []
_WORKERS_LOCK = threading.Lock()


def _workers(n: int) -> list:
    with _WORKERS_LOCK:
        while len(_WORKERS) < n:
            _WORKERS.append(_Worker())
        return _WORKERS[:n]


def default_threads() -> int:
    env = os.environ.get("FUSEFLOW_NUM_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(2, os.cpu_count() or 1))


# ----------------------------------------------------------------------------- plans
class _Plan:
    """Everything one set of input shapes determines, for one Python thread."""
    __slots__ = ("table", "table_addr", "dims", "dims_addr", "outputs", "barrier", "barrier_addr",
                 "arena", "nthreads", "nin", "aliased", "fresh", "fresh_index", "alias_inputs", "output_sets",
                 "current_set", "outputs_of_input", "single_call", "fresh_slice")


def _results_template(arrays, n_outputs, fresh_index) -> list:
    """The results list of a call with these fresh arrays, in-place outputs left to fill."""
    template = [None] * n_outputs
    for j, a in zip(fresh_index, arrays):
        template[j] = a
    return template


class _OutputSet:
    """One array per fresh (not in-place) output of a plan, with their data pointers."""
    __slots__ = ("arrays", "ptrs", "template", "free_refs")

    def __init__(self, arrays, n_outputs, fresh_index):
        self.arrays = arrays
        self.ptrs = [_pointer(a) for a in arrays]
        self.template = _results_template(arrays, n_outputs, fresh_index)
        # What sys.getrefcount sums to while only this set holds its arrays (measured, not
        # assumed: it depends on how the interpreter passes arguments).
        self.free_refs = sum(map(sys.getrefcount, self.arrays))


class Executable:
    """Native code plus its signature. `exe(*arrays) -> list of output arrays`."""

    def __init__(self, object_bytes: bytes, signature: dict, *, num_threads: int | None = None):
        self.signature = signature
        self.name = signature["name"]
        self.object_bytes = bytes(object_bytes)
        self._code = NativeCode(self.object_bytes)
        self._addr = self._code.address(signature["entry"])
        self._fn = _ENTRY(self._addr)
        self._inputs = [_TensorSpec(d) for d in signature["inputs"]]
        self._outputs = [_TensorSpec(d) for d in signature["outputs"]]
        self._temps = [_TensorSpec(d) for d in signature["temps"]]
        self._symbols = list(signature["symbols"])
        self._dim_checks = [(_decode(a), _decode(b), msg) for a, b, msg in signature.get("dim_checks", [])]
        self._errors = {int(k): v for k, v in signature.get("errors", {}).items()}
        self._work = float(signature.get("parallel_work", 0.0))
        self._barrier_slots = int(signature.get("barrier_slots", 8))
        self._nin = len(self._inputs)
        self._in_dtypes = [s.dtype for s in self._inputs]
        self._base_elems = self._elements({s: 1 for s in self._symbols})
        self.num_threads = num_threads
        self._tls = threading.local()

    def __repr__(self):
        ins = ", ".join(f"{s.name}: {s.dtype}{_format_shape(s.shape)}" for s in self._inputs)
        outs = ", ".join(f"{s.dtype}{_format_shape(s.shape)}" for s in self._outputs)
        return f"<Executable {self.name}({ins}) -> ({outs})>"

    @property
    def input_names(self) -> list:
        return [s.name for s in self._inputs]

    # ------------------------------------------------------------------------- calling
    def __call__(self, *arrays, out=None):
        if len(arrays) != self._nin:
            raise TypeError(f"{self.name}: expected {self._nin} inputs "
                            f"({', '.join(self.input_names)}), got {len(arrays)}")
        state = getattr(self._tls, "state", None)
        # The common training-loop call passes the arrays of the previous call again (variables,
        # weights) and a few new ones of the same shapes (the batch): the old ones were validated
        # then, a held ndarray cannot move, and the pointer table of that call's plan still
        # holds them, so only the new ones need checking.
        if state is not None and out is None:
            if all(map(_is, arrays, state[0])):
                arrs, plan = state[0], state[2]
                for i in plan.alias_inputs:
                    if not arrs[i].flags.writeable:
                        break
                else:
                    return self._run_plan(plan, arrs)
            else:
                plan = self._update_plan(arrays, state)
                if plan is not None:
                    state = None   # the previous inputs may be outputs of a set about to be reused
                    return self._run_plan(plan, self._tls.state[0])
        return self._call_validating(arrays, out, state)

    def _update_plan(self, arrays, state):
        """Point the previous call's plan at the arrays that changed since, if nothing else has
        to change (same shapes, no shared or read-only buffers to copy); None otherwise."""
        prev, prev_ptrs, plan = state
        arrs = list(arrays)
        ptrs = list(prev_ptrs)
        changed = list(_compress(range(self._nin), map(_is_not, arrays, prev)))
        dtypes = self._in_dtypes
        for i in changed:
            arrs[i] = a = self._checked(i, arrs[i], dtypes[i])
            if a.shape != prev[i].shape:
                return None
            ptrs[i] = _pointer(a)
        if len(set(ptrs)) < self._nin:
            return None
        for i in plan.alias_inputs:
            if not arrs[i].flags.writeable:
                return None
        table, nin, outputs_of = plan.table, self._nin, plan.outputs_of_input
        for i in changed:
            table[i] = ptrs[i]
            for j in outputs_of.get(i, ()):
                table[nin + j] = ptrs[i]
        self._tls.state = (arrs, ptrs, plan)
        return plan

    def _run_plan(self, plan, arrs) -> list:
        """Run a plan whose table holds the inputs' pointers: only the output set may change."""
        results = self._output_set(plan).template[:]
        for j, alias in plan.aliased:
            results[j] = arrs[alias]
        status = self._run(plan)
        if status:
            raise ExecutionError(self._errors.get(status, f"{self.name}: runtime check failed (code {status})"),
                                 status)
        return results

    def _output_set(self, plan) -> "_OutputSet":
        """Arrays for the fresh outputs: a previous call's set that nobody references any more
        (reusing it is unobservable and spares allocation and, for large outputs, the page
        faults of fresh memory); two sets alternate, so a loop that keeps the last call's
        results until the next call returns (`a, b = run(a)`) allocates nothing."""
        current = plan.current_set
        if current is not None and sum(map(sys.getrefcount, current.arrays)) == current.free_refs:
            return current
        for s in plan.output_sets:
            if s is not current and sum(map(sys.getrefcount, s.arrays)) == s.free_refs:
                break
        else:
            s = self._new_output_set(plan)
        table, nin = plan.table, self._nin
        if plan.fresh_slice is not None:          # one C-level store for a contiguous run
            table[plan.fresh_slice] = s.ptrs
        else:
            for j, ptr in zip(plan.fresh_index, s.ptrs):
                table[nin + j] = ptr
        plan.current_set = s
        return s

    def _new_output_set(self, plan) -> "_OutputSet":
        older = [o for o in plan.output_sets if o is not plan.current_set]
        if older and older[0].arrays:
            # Arrays of the older set nobody holds are taken over; held ones are replaced.
            spare = older[0]
            # counted exactly as free_refs was: each array's share of it is its count when unheld
            counts = list(map(sys.getrefcount, spare.arrays))
            free = spare.free_refs // len(spare.arrays)
            arrays = [a if count == free else np.empty(shape, dtype)
                      for a, count, (_, shape, dtype) in zip(spare.arrays, counts, plan.fresh)]
        else:
            arrays = [np.empty(shape, dtype) for _, shape, dtype in plan.fresh]
        s = _OutputSet(arrays, len(plan.outputs), plan.fresh_index)
        plan.output_sets = [o for o in plan.output_sets if o is plan.current_set] + [s]
        return s

    def _call_validating(self, arrays, out, state) -> list:
        arrs = list(arrays)
        tls = self._tls
        # Arrays passed again were validated last time and cannot have moved: `state` holds them,
        # so their data pointers stay put (a held ndarray cannot be resized in place).
        last_arrays, last_ptrs = (state[0], state[1]) if state is not None else ((), ())
        dtypes = self._in_dtypes
        ptrs = [0] * self._nin
        for i in range(self._nin):
            a = arrs[i]
            if i < len(last_arrays) and a is last_arrays[i]:
                ptrs[i] = last_ptrs[i]
                continue
            arrs[i] = a = self._checked(i, a, dtypes[i])
            ptrs[i] = _pointer(a)
        key = tuple([a.shape for a in arrs])
        plans = getattr(tls, "plans", None)
        if plans is None:
            plans = tls.plans = {}
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = self._make_plan(arrs)
        if out is not None:
            out = self._check_out(out, plan)
        table = plan.table
        tls.state = None   # until the table is complete
        nin = self._nin
        for i in range(nin):
            table[i] = ptrs[i]
        shared = len(set(ptrs)) < nin
        for j, alias in plan.aliased:
            o = arrs[alias]
            if not o.flags.writeable or (shared and ptrs.count(ptrs[alias]) > 1):
                o = arrs[alias] = o.copy()  # never write through a read-only or shared buffer
                table[alias] = ptrs[alias] = _pointer(o)
                shared = len(set(ptrs)) < nin
            table[nin + j] = ptrs[alias]
        if out is None:
            results = self._output_set(plan).template[:]
        else:
            results = list(out)
            for j in plan.fresh_index:
                table[nin + j] = _pointer(out[j])
            plan.current_set = None   # the caller's arrays: the next call must not find them in the table
        for j, alias in plan.aliased:
            results[j] = arrs[alias]
        status = self._run(plan)
        tls.state = (arrs, ptrs, plan) if out is None else None
        if status:
            raise ExecutionError(self._errors.get(status, f"{self.name}: runtime check failed (code {status})"),
                                 status)
        return results

    def _checked(self, i: int, a, dtype):
        """Input i as an array the native code can read: of the input's dtype (converted safely
        or refused), C-contiguous and aligned (a fresh copy is both)."""
        if type(a) is not np.ndarray or a.dtype is not dtype and a.dtype != dtype:
            a = self._convert(i, a)
        flags = a.flags
        if not flags.c_contiguous or not flags.aligned:
            a = a.copy(order="C")
        return a

    def _check_out(self, out, plan) -> list:
        out = list(out)
        if len(out) != len(plan.outputs):
            raise TypeError(f"{self.name}: out= needs {len(plan.outputs)} arrays, got {len(out)}")
        for j, (o, (shape, dtype, alias)) in enumerate(zip(out, plan.outputs)):
            if alias is not None:
                continue  # written into its input
            if (type(o) is not np.ndarray or o.shape != shape or o.dtype != dtype or not o.flags.c_contiguous
                    or not o.flags.writeable):
                got = f"{o.dtype}{list(o.shape)}" if isinstance(o, np.ndarray) else type(o).__name__
                raise ValueError(f"{self.name}: out[{j}] must be a writable C-contiguous {dtype}{list(shape)} "
                                 f"array, got {got}")
        return out

    def _run(self, plan) -> int:
        n = plan.nthreads
        if n <= 1:
            return self._fn(*plan.single_call)
        workers = _workers(n - 1)
        taken = []
        for w in workers:
            if w.lock.acquire(blocking=False):
                taken.append(w)
            else:
                break
        if len(taken) != n - 1:  # another call owns the workers: run alone (same results)
            for w in taken:
                w.lock.release()
            return self._fn(plan.table_addr, plan.dims_addr, 0, 1, plan.barrier_addr)
        ctypes.memset(plan.barrier_addr, 0, 8 * self._barrier_slots)
        pending = []
        try:
            for t, w in enumerate(taken, start=1):
                w.jobs.put((self._fn, (plan.table_addr, plan.dims_addr, t, n, plan.barrier_addr)))
                pending.append(w)
            status = self._fn(plan.table_addr, plan.dims_addr, 0, n, plan.barrier_addr)
            failure = None
            while pending:
                r = pending[0].results.get()
                pending.pop(0)
                if isinstance(r, BaseException):
                    failure = r
                else:
                    status = status or r
            if failure is not None:
                raise failure
        finally:
            for w in pending:  # interrupted: let the workers finish before anyone reuses them
                w.results.get()
            for w in taken:
                w.lock.release()
        return status

    # ------------------------------------------------------------------------- validation
    def _convert(self, i: int, a):
        spec = self._inputs[i]
        label = f"{self.name}: input {i} ({spec.name!r})"
        if isinstance(a, (np.ndarray, np.generic)):
            if a.dtype == spec.dtype:  # a numpy scalar or an ndarray subclass
                return np.asarray(a)
            raise TypeError(f"{label}: expected dtype {spec.dtype.name}, got {a.dtype.name}")
        try:
            src = np.asarray(a)
        except (ValueError, TypeError) as e:
            raise TypeError(f"{label}: cannot convert {type(a).__name__} to an array: {e}") from None
        target = spec.dtype
        ok = {("b", "b"), ("i", "i"), ("i", "u"), ("i", "f"), ("f", "f"), ("b", "i"), ("b", "u"),
              ("b", "f")}
        if src.dtype.kind == "u":
            ok.add(("u", target.kind))
        if (src.dtype.kind, target.kind) not in ok:
            raise TypeError(f"{label}: expected dtype {target.name}, got {type(a).__name__} of "
                            f"{src.dtype.name} values, which do not convert safely")
        with np.errstate(all="ignore"):
            conv = src.astype(target)
        if target.kind in "iu" and src.size and not np.array_equal(conv, src):
            raise ValueError(f"{label}: values {a!r} do not fit in {target.name}")
        return conv

    def _make_plan(self, arrs) -> _Plan:
        env = self._bind(arrs)
        plan = _Plan()
        plan.nin = self._nin
        n_tab = self._nin + len(self._outputs) + len(self._temps)
        plan.table = (ctypes.c_void_p * max(n_tab, 1))()
        plan.table_addr = _addressof(plan.table)
        plan.dims = (ctypes.c_int64 * max(len(self._symbols), 1))(*[env[s] for s in self._symbols])
        plan.dims_addr = _addressof(plan.dims)
        plan.barrier = (ctypes.c_int64 * self._barrier_slots)()
        plan.barrier_addr = _addressof(plan.barrier)
        plan.outputs = [(tuple(evaluate_dim(c, env) for c in s.shape), s.dtype, s.alias) for s in self._outputs]
        plan.aliased = [(j, alias) for j, (_, _, alias) in enumerate(plan.outputs) if alias is not None]
        plan.fresh = [(j, shape, dtype) for j, (shape, dtype, alias) in enumerate(plan.outputs) if alias is None]
        plan.fresh_index = [j for j, _, _ in plan.fresh]
        plan.fresh_slice = None        # the fresh outputs' table entries, when they are one run
        if plan.fresh_index and plan.fresh_index == list(range(plan.fresh_index[0], plan.fresh_index[-1] + 1)):
            first = self._nin + plan.fresh_index[0]
            plan.fresh_slice = slice(first, first + len(plan.fresh_index))
        plan.alias_inputs = sorted({alias for _, alias in plan.aliased})
        plan.outputs_of_input = {}
        for j, alias in plan.aliased:
            plan.outputs_of_input.setdefault(alias, []).append(j)
        plan.output_sets = []
        plan.current_set = None
        offsets, total = [], 0
        for s in self._temps:
            nbytes = int(np.prod([evaluate_dim(c, env) for c in s.shape], dtype=np.int64)) * s.dtype.itemsize
            offsets.append(total)
            total += -(-max(nbytes, 1) // _ARENA_ALIGN) * _ARENA_ALIGN
        plan.arena = np.empty(total + _ARENA_ALIGN, np.uint8)
        base = plan.arena.__array_interface__["data"][0]
        base += -base % _ARENA_ALIGN
        for k, off in enumerate(offsets):
            plan.table[self._nin + len(self._outputs) + k] = base + off
        plan.nthreads = self._threads_for(env)
        plan.single_call = (ctypes.c_void_p(plan.table_addr), ctypes.c_void_p(plan.dims_addr), ctypes.c_int64(0),
                            ctypes.c_int64(1), ctypes.c_void_p(plan.barrier_addr))
        return plan

    def _threads_for(self, env) -> int:
        n = self.num_threads if self.num_threads is not None else default_threads()
        if n <= 1 or self._work <= 0:
            return 1
        if self.num_threads is None:
            scale = self._elements(env) / max(self._base_elems, 1)
            if self._work * scale < MIN_PARALLEL_WORK:
                return 1
        return n

    def _elements(self, env) -> int:
        total = 0
        for s in self._inputs + self._outputs + self._temps:
            n = 1
            for c in s.shape:
                n *= evaluate_dim(c, env)
            total += n * s.dtype.itemsize
        return total

    def _bind(self, arrs) -> dict:
        env = {}
        for i, (spec, a) in enumerate(zip(self._inputs, arrs)):
            if a.ndim != spec.rank:
                raise ValueError(f"{self.name}: input {i} ({spec.name!r}) must have rank {spec.rank} "
                                 f"(shape {_format_shape(spec.shape)}), got shape {a.shape}")
            for axis, (code, n) in enumerate(zip(spec.shape, a.shape)):
                if code[0] == "const" and code[1] != n:
                    raise ValueError(f"{self.name}: input {i} ({spec.name!r}) must have shape "
                                     f"{_format_shape(spec.shape)}, got {a.shape} (dimension {axis} is "
                                     f"{n}, expected {code[1]})")
                if code[0] == "sym":
                    if code[1] in env and env[code[1]] != n:
                        raise ValueError(f"{self.name}: input {i} ({spec.name!r}) has shape {a.shape} but "
                                         f"dimension {axis} is the size {code[1]!r}, already bound to "
                                         f"{env[code[1]]} by an earlier input")
                    env[code[1]] = n
        for i, (spec, a) in enumerate(zip(self._inputs, arrs)):  # derived dims, e.g. (2*b,)
            for axis, (code, n) in enumerate(zip(spec.shape, a.shape)):
                if code[0] in ("const", "sym"):
                    continue
                if code[0] == "mul" and code[1][0] == "sym" and code[2][0] == "const" and code[1][1] not in env:
                    c = code[2][1]
                    if not c or n % c:
                        raise ValueError(f"{self.name}: input {i} ({spec.name!r}) has shape {a.shape}; "
                                         f"dimension {axis} must be {format_dim(code)}, a multiple of {c}")
                    env[code[1][1]] = n // c
                try:
                    want = evaluate_dim(code, env)
                except KeyError:
                    raise ValueError(f"{self.name}: cannot determine the size symbols of dimension {axis} "
                                     f"{format_dim(code)} of input {i} ({spec.name!r})") from None
                if want != n:
                    raise ValueError(f"{self.name}: input {i} ({spec.name!r}) has shape {a.shape}; dimension "
                                     f"{axis} must be {format_dim(code)} = {want}")
        missing = [s for s in self._symbols if s not in env]
        if missing:
            raise ValueError(f"{self.name}: size symbols {missing} are not determined by the input shapes")
        for a, b, msg in self._dim_checks:
            va, vb = evaluate_dim(a, env), evaluate_dim(b, env)
            if va != vb:
                raise ValueError(f"{self.name}: incompatible input shapes: {msg} ({format_dim(a)} = {va}, "
                                 f"{format_dim(b)} = {vb})")
        return env


def _pointer(a: np.ndarray) -> int:
    """Data address of a C-contiguous array; the buffer protocol is ~5x faster than
    __array_interface__ but needs a writable, non-empty buffer."""
    try:
        return _addressof(_char_from_buffer(a))
    except (TypeError, ValueError, BufferError):
        return a.__array_interface__["data"][0]
