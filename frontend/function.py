"""`fuseflow.function`: trace a Python function once per input signature, compile it, call it.

    @fuseflow.function(input_signature=[fuseflow.TensorSpec([None, 3], fuseflow.float32)])
    def f(x): ...

Tracing calls the Python function with symbolic Tensors in a fresh `FuncGraph` (so Python
side effects run once per trace, as in TF). The traced frontend graph is replayed into
compiler IR (frontend/build.py) with a `SymDim` for every None dim, so a `[None, 3]`
signature compiles to ONE native program that runs for any batch size. Should a graph need
static shapes (say, a shape computed from a dynamic dim), the function falls back to one
program per concrete input shape.

Variables used inside are bound by reference: each variable becomes an extra parameter
that receives its current buffer at every call, and assignments are extra outputs donated
to (written into) that buffer. Eager tensors used inside are captured by value (constants).

Cache: keyed on the structure of the arguments, the dtype/shape of tensor arguments and
the values of Python arguments. A signature with None dims (from `input_signature`, or
from `reduce_retracing=True` relaxing dims that changed) serves every compatible call.
More than `RETRACE_WARNING_THRESHOLD` traces of one function log a warning.

Staged API: `f.lower(*specs_or_args)` -> `Lowered` (`.as_text(stage)`, `.compile()`).

Eager fallback: what TF + AutoGraph compiles but fuseflow cannot (Python control flow on a
tensor value; constructs raising `NeedsEagerExecution`: py_function, while loops with run-time
conditions, data-dependent output sizes...) makes calls with that signature run the Python
function op by op, with one RuntimeWarning. `get_concrete_function` / `lower` still raise, as
there is no program to return.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import warnings
import weakref
from typing import Optional

import numpy as np

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler.ir import TensorType
from fuseflow.compiler.shapes import SymDim

from . import graph as graph_mod
from . import nest
from .build import replay
from .graph import Graph
from .needs_eager import NeedsEagerExecution
from .tensor import EagerTensor, SymbolicValueError, Tensor, TensorShape

RETRACE_WARNING_THRESHOLD = 5
logger = logging.getLogger("fuseflow")


class RetracingWarning(UserWarning):
    """A `fuseflow.function` was traced many times (shapes or Python values keep changing)."""


# ------------------------------------------------------------------------------ TensorSpec


class TensorSpec:
    """The type of a tensor argument: shape (None dims allowed), dtype and an optional name."""

    __slots__ = ("_shape", "_dtype", "_name")

    def __init__(self, shape, dtype=dt.float32, name=None):
        self._shape = TensorShape(shape)
        self._dtype = dt.as_dtype(dtype)
        self._name = name

    @property
    def shape(self) -> TensorShape:
        return self._shape

    @property
    def dtype(self):
        return self._dtype

    @property
    def name(self):
        return self._name

    @classmethod
    def from_tensor(cls, tensor, name=None) -> "TensorSpec":
        return cls(tensor.shape, tensor.dtype, name if name is not None else getattr(tensor, "_spec_name", None))

    def is_compatible_with(self, other) -> bool:
        if isinstance(other, TensorSpec):
            return self._dtype == other._dtype and self._shape.is_compatible_with(other._shape)
        if isinstance(other, (Tensor, EagerTensor)):
            return self._dtype == other.dtype and self._shape.is_compatible_with(other.shape)
        arr = np.asarray(other)
        return self._shape.is_compatible_with(arr.shape)

    def most_specific_compatible_type(self, other) -> "TensorSpec":
        dims = None
        if self._shape.rank is not None and other.shape.rank == self._shape.rank:
            dims = [a if a == b else None for a, b in zip(self._shape.as_list(), other.shape.as_list())]
        return TensorSpec(dims, self._dtype)

    def __eq__(self, other):
        return (isinstance(other, TensorSpec) and self._shape == other._shape and self._dtype == other._dtype
                and self._name == other._name)

    def __hash__(self):
        return hash((self._shape, self._dtype.name, self._name))

    def __repr__(self):
        return f"TensorSpec(shape={self._shape}, dtype=tf.{self._dtype.name}, name={self._name!r})"


# ------------------------------------------------------------------------------ FuncGraph


class FuncGraph(Graph):
    """The graph a `fuseflow.function` traces into."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self.inputs: list = []                 # placeholder Tensors, one per tensor argument leaf
        self.structured_outputs = None
        self.variables: list = []              # variables read or written inside (bound by reference)
        self._last_write: dict = {}            # id(variable) -> its latest assign op (auto control deps)
        self.host_callbacks: list = []         # [(tensors, fn(list of arrays))], run after every call
        outer = graph_mod.get_default_graph() if graph_mod._graph_stack else None
        self.outer_graph = outer
        if outer is not None:
            self.seed = outer.seed

    def is_function_graph(self) -> bool:
        return True

    def create_op(self, type_, inputs, attrs, output_specs, name=None, loc=None):
        """TF2's automatic control dependencies: every read or write of a variable runs after the
        previous write of that variable, so state changes happen in program order."""
        op = super().create_op(type_, inputs, attrs, output_specs, name=name, loc=loc)
        var = attrs.get("variable") if attrs else None
        if var is not None:
            last = self._last_write.get(id(var))
            if last is not None:
                op._add_control_input(last)
            if type_.startswith("assign"):
                self._last_write[id(var)] = op
        return op

    def placeholder(self, dtype, shape, name: str) -> Tensor:
        shape = TensorShape(shape)
        op = self.create_op("placeholder", [], {"dtype": dtype, "shape": shape}, [(dtype, shape)], name=name)
        self.inputs.append(op.outputs[0])
        return op.outputs[0]

    def capture(self, tensor):
        """Inputs from other graphs: a symbolic tensor of an enclosing graph has no value when the
        compiled function runs, so it cannot be used inside."""
        if hasattr(tensor, "_as_tensor"):
            return tensor._as_tensor()
        raise ValueError(f"fuseflow.function '{self.name}': tensor {tensor.name} belongs to another graph; "
                         f"pass it to the function as an argument instead of closing over it")

    def add_host_callback(self, tensors, fn):
        """Host work inside a compiled function (e.g. writing summaries): the tensors become extra
        outputs of the program and `fn(arrays)` runs on the host after every call, in trace order."""
        self.host_callbacks.append((list(tensors), fn))

    def watch_variable(self, var):
        if not any(v is var for v in self.variables):
            self.variables.append(var)


@contextlib.contextmanager
def init_scope():
    """Leave any function graphs being traced (TF's init_scope): variables created in here are
    created once, in the outer (eager or TF1) context."""
    stack = graph_mod._graph_stack
    saved = list(stack)
    keep = len(stack)
    while keep and isinstance(stack[keep - 1], FuncGraph):
        keep -= 1
    del stack[keep:]
    try:
        yield
    finally:
        stack[:] = saved


def inside_function() -> bool:
    stack = graph_mod._graph_stack
    return bool(stack) and isinstance(stack[-1], FuncGraph)


# ------------------------------------------------------------------------------ argument signatures


def _variable_class():
    try:
        from .variables import Variable
        return Variable
    except ImportError:
        return ()


def _is_variable(x) -> bool:
    cls = _variable_class()
    return bool(cls) and isinstance(x, cls)


def _is_tensor_leaf(x) -> bool:
    return isinstance(x, (EagerTensor, np.ndarray, np.generic, TensorSpec))


def _leaf_array(x, dtype=None) -> np.ndarray:
    if isinstance(x, EagerTensor):
        arr = x._value
    elif hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        arr = np.asarray(x.numpy())
    else:
        arr = np.asarray(x)
    if dtype is not None and arr.dtype != dtype.np and not dtype.is_string:
        arr = arr.astype(dtype.np)
    return arr


def _leaf_dtype(x):
    if isinstance(x, (EagerTensor, TensorSpec)):
        return x.dtype
    arr = np.asarray(x)
    return dt.string if arr.dtype == object else dt.from_numpy(arr.dtype)


def _leaf_shape(x) -> tuple:
    if isinstance(x, TensorSpec):
        return tuple(x.shape.as_list()) if x.shape.rank is not None else None
    if isinstance(x, EagerTensor):
        return tuple(x._value.shape)
    return tuple(np.shape(x))


_SCALAR_TYPES = (int, float, bool)


def _repeat_call_key(args):
    """Key of a call whose positional arguments are numpy arrays, eager tensors or Python
    scalars (None for anything else: lists, dicts, variables, specs...)."""
    key = []
    for x in args:
        kind = type(x)
        if kind is np.ndarray:
            key.append((x.dtype, x.shape))
        elif kind is EagerTensor:
            key.append((kind, x._value.dtype, x._value.shape))
        elif kind in _SCALAR_TYPES:
            key.append((kind, x))
        else:
            return None
    return tuple(key)


def _python_key(x):
    try:
        hash(x)
        return ("py", type(x).__name__, x)
    except TypeError:
        return ("pyid", type(x).__name__, id(x))


def _signature_of(flat, specs=None):
    """(structure key without tensor shapes, [(shape, dtype)] per tensor leaf)."""
    parts, tensors = [], []
    for i, x in enumerate(flat):
        spec = specs[i] if specs is not None else None
        if spec is not None:
            tensors.append((tuple(spec.shape.as_list()) if spec.shape.rank is not None else None, spec.dtype))
            parts.append(("T", spec.dtype.name))
        elif _is_tensor_leaf(x):
            tensors.append((_leaf_shape(x), _leaf_dtype(x)))
            parts.append(("T", _leaf_dtype(x).name))
        elif _is_variable(x):
            parts.append(("V", id(x)))
        else:
            parts.append(_python_key(x))
    return tuple(parts), tuple(tensors)


def _shape_compatible(traced: Optional[tuple], actual: Optional[tuple]) -> bool:
    if traced is None:
        return True
    if actual is None or len(traced) != len(actual):
        return False
    return all(t is None or t == a for t, a in zip(traced, actual))


def _relax(traced_tensors, new_tensors):
    """reduce_retracing: dims that differ from an earlier trace of the same structure become None."""
    out = []
    for (ts, tdt), (ns, ndt) in zip(traced_tensors, new_tensors):
        if ts is None or ns is None or len(ts) != len(ns) or tdt != ndt:
            out.append((ns, ndt))
        else:
            out.append((tuple(a if a == b else None for a, b in zip(ts, ns)), ndt))
    return tuple(out)


def _structure_token(args, kwargs):
    """A hashable description of where the leaves sit (types of containers and dict keys)."""
    def tok(s):
        if isinstance(s, dict):
            return ("dict", tuple((k, tok(s[k])) for k in sorted(s, key=repr)))
        if isinstance(s, (list, tuple)):
            return (type(s).__name__, tuple(tok(c) for c in s))
        return "."
    return tok((tuple(args), dict(kwargs)))


# ------------------------------------------------------------------------------ ConcreteFunction


class _Program:
    """One compiled program for a ConcreteFunction (symbolic, or for one set of input shapes)."""

    def __init__(self, compiled, binders, n_outputs, var_updates, ir_graph, donate):
        self.compiled = compiled
        self.binders = binders              # per IR parameter: ("arg", i) | ("var", variable)
        self.n_outputs = n_outputs
        self.var_updates = var_updates      # [(output index, variable)] written back after the call
        self.ir_graph = ir_graph
        self.donate = donate


class ConcreteFunction:
    """One trace: a FuncGraph with its placeholders, outputs and the compiled program(s)."""

    def __init__(self, func_graph: FuncGraph, name: str, arg_specs, shared_batch_dim: bool = False):
        self.graph = func_graph
        self._shared_batch_dim = shared_batch_dim
        self.name = name
        self.structured_input_signature = arg_specs
        self._flat_outputs = [t for t in nest.flatten(func_graph.structured_outputs) if isinstance(t, Tensor)]
        self._output_leaves = nest.flatten(func_graph.structured_outputs)
        self._callback_tensors = [t for tensors, _ in func_graph.host_callbacks for t in tensors]
        self._symbolic: Optional[_Program] = None
        self._symbolic_failed: Optional[Exception] = None
        self._by_shape: dict = {}
        self.symbolic_error = None

    # -- introspection --------------------------------------------------------------------
    @property
    def inputs(self) -> list:
        return list(self.graph.inputs)

    @property
    def outputs(self) -> list:
        return list(self._flat_outputs)

    @property
    def structured_outputs(self):
        return self.graph.structured_outputs

    @property
    def variables(self) -> list:
        return list(self.graph.variables)

    @property
    def trainable_variables(self) -> list:
        return [v for v in self.graph.variables if getattr(v, "trainable", True)]

    def _has_dynamic_dims(self) -> bool:
        return any(t.shape.rank is None or any(d is None for d in t.shape.as_list()) for t in self.graph.inputs)

    # -- building programs ----------------------------------------------------------------
    def _feed_types(self, shapes=None) -> dict:
        feeds, k = {}, 0
        for i, t in enumerate(self.graph.inputs):
            if shapes is not None:
                dims = tuple(shapes[i])
            else:
                if t.shape.rank is None:
                    raise ValueError(f"fuseflow.function '{self.name}': argument {t.op.name} has unknown rank; "
                                     f"give its TensorSpec a rank (None dims are fine)")
                dims = []
                for axis, d in enumerate(t.shape.as_list()):
                    if d is None and axis == 0 and self._shared_batch_dim:
                        dims.append(SymDim.symbol("batch"))
                    elif d is None:
                        dims.append(SymDim.symbol(f"b{k}"))
                        k += 1
                    else:
                        dims.append(d)
                dims = tuple(dims)
            feeds[t] = TensorType(dims, t.dtype)
        return feeds

    def build_ir(self, shapes=None):
        """Replay the trace into compiler IR -> (ir graph, binders, donate, var_updates, n_outputs)."""
        from . import function_state
        feeds = self._feed_types(shapes)
        fetched = self._flat_outputs + self._callback_tensors
        fetch_ops = [t.op for t in fetched] + function_state.stateful_ops(self.graph)
        extra, handlers = function_state.replay_setup(self.graph)
        ctx = replay(fetch_ops, feeds, extra=extra, handlers=handlers)
        ir = ctx.graph
        outs = [ctx.values[t] for t in fetched]
        updates = function_state.collect_updates(ctx)          # [(variable, Value)] in order
        ir.graph["outputs"] = outs + [v for _, v in updates]
        index_of = {id(t): i for i, t in enumerate(self.graph.inputs)}
        binders, var_param = [], {}
        for j, p in enumerate(ctx.params):
            if isinstance(p, Tensor) and id(p) in index_of:
                binders.append(("arg", index_of[id(p)]))
            else:
                var = function_state.variable_of_param(p)
                binders.append(("var", var))
                var_param[id(var)] = j
        donate, var_updates = {}, []
        params = ir.graph["inputs"]
        for k, (var, value) in enumerate(updates):
            out_idx = len(outs) + k
            var_updates.append((out_idx, var))
            j = var_param.get(id(var))
            if j is not None and ir.value_type(value) == ir.output_types(params[j])[0]:
                donate[out_idx] = j
        return ir, binders, donate, var_updates, len(outs)

    def _compile(self, shapes=None) -> _Program:
        from fuseflow.compiler.driver import compile_graph
        ir, binders, donate, var_updates, n_out = self.build_ir(shapes)
        compiled = compile_graph(ir, name=self.name, donate=donate or None)
        return _Program(compiled, binders, n_out, var_updates, ir, donate)

    def program_for(self, arrays) -> _Program:
        """The program that serves these argument arrays (compiled on first need)."""
        if self._symbolic is not None:
            if self._by_shape:      # shapes the symbolic program could not take
                prog = self._by_shape.get(tuple(a.shape for a in arrays))
                if prog is not None:
                    return prog
            return self._symbolic
        if self._symbolic_failed is None:
            try:
                self._symbolic = self._compile()
                return self._symbolic
            except Exception as e:  # noqa: BLE001 - retried below with static shapes, which reports real errors
                if not self._has_dynamic_dims():
                    raise
                self._symbolic_failed = e
                self.symbolic_error = e
                logger.info("fuseflow.function %s: symbolic shapes not supported (%s); compiling per input "
                            "shape", self.name, e)
        shapes = tuple(a.shape for a in arrays)
        prog = self._by_shape.get(shapes)
        if prog is None:
            prog = self._by_shape[shapes] = self._compile(shapes)
        return prog

    # -- calling --------------------------------------------------------------------------
    def _call_arrays(self, arrays):
        """Run on one array per placeholder; returns the flat output arrays and writes variables."""
        from . import function_state

        def params(prog):
            return [arrays[ref] if kind == "arg" else function_state.variable_buffer(ref) for kind, ref in prog.binders]

        prog = self.program_for(arrays)
        try:
            results = prog.compiled(*params(prog))
        except ValueError:
            # The symbolic program's size assumptions fail for these shapes (found before it
            # ran): a program for exactly these shapes gets TF's answer (slices clamp, size-1
            # dims broadcast) or reports the real error while it is built.
            if prog is not self._symbolic:
                raise
            shapes = tuple(a.shape for a in arrays)
            try:
                prog = self._by_shape[shapes] = self._compile(shapes)
            except ValueError as e:      # these shapes are wrong: TF's run-time error
                from .errors import InvalidArgumentError
                raise InvalidArgumentError(None, None, str(e)) from None
            results = prog.compiled(*params(prog))
        for out_idx, var in prog.var_updates:
            function_state.write_variable(var, results[out_idx], donated=out_idx in prog.donate)
        n = len(self._flat_outputs)
        if self.graph.host_callbacks:
            pos = n
            for tensors, fn in self.graph.host_callbacks:
                fn(results[pos:pos + len(tensors)])
                pos += len(tensors)
        return results[:n]

    def _pack_outputs(self, results):
        it = iter(results)
        flat = []
        for leaf in self._output_leaves:
            if isinstance(leaf, Tensor):
                flat.append(EagerTensor(next(it), leaf.dtype))
            else:
                flat.append(leaf)
        if len(flat) == 1 and self._output_leaves[0] is self.graph.structured_outputs:
            return flat[0]
        return nest.pack_sequence_as(self.graph.structured_outputs, flat)

    def arrays_of(self, args) -> list:
        """The argument arrays of a call whose positional arguments are all tensor-like leaves
        or Python scalars (the repeated-call path of Function.__call__)."""
        arrays = []
        inputs = iter(self.graph.inputs)
        for x in args:
            kind = type(x)
            if kind in _SCALAR_TYPES:
                continue                  # part of the trace, not an argument
            t = next(inputs)
            if kind is np.ndarray and x.dtype == t.dtype.np and x.flags.c_contiguous:
                arrays.append(x)
            else:
                arrays.append(np.asarray(_leaf_array(x, t.dtype), order="C"))
        return arrays

    def __call__(self, *args, **kwargs):
        flat = [x for x in nest.flatten((args, kwargs)) if not _is_python_leaf(x)]
        if len(flat) != len(self.graph.inputs):
            raise TypeError(f"ConcreteFunction {self.name} expects {len(self.graph.inputs)} tensor arguments, "
                            f"got {len(flat)}")
        arrays = [np.asarray(_leaf_array(x, t.dtype), order="C") for x, t in zip(flat, self.graph.inputs)]
        for a, t in zip(arrays, self.graph.inputs):
            if not t.shape.is_compatible_with(a.shape):
                raise ValueError(f"ConcreteFunction {self.name}: argument {t.op.name} expects shape {t.shape}, "
                                 f"got {list(a.shape)}")
        return self._pack_outputs(self._call_arrays(arrays))

    def lower(self) -> "Lowered":
        return Lowered(self)

    def pretty_printed_signature(self) -> str:
        ins = ", ".join(f"{t.op.name}: {TensorSpec.from_tensor(t)}" for t in self.graph.inputs)
        return f"{self.name}({ins})"

    def __repr__(self):
        return f"<ConcreteFunction {self.pretty_printed_signature()}>"


def _is_python_leaf(x) -> bool:
    return not (_is_tensor_leaf(x) or _is_variable(x))


# ------------------------------------------------------------------------------ staged API


class Lowered:
    """A traced function lowered to compiler IR: inspect stages, then `.compile()`."""

    def __init__(self, concrete: ConcreteFunction):
        self.concrete = concrete
        self._compiled = None

    def compile(self) -> "Compiled":
        if self._compiled is None:
            c = self.concrete
            if c._symbolic is None:
                c._symbolic = c._compile()
            self._compiled = Compiled(c, c._symbolic)
        return self._compiled

    def as_text(self, stage: str = "traced") -> str:
        if stage == "traced" and self._compiled is None:
            from fuseflow.compiler.printer import format_graph
            ir = self.concrete.build_ir()[0]
            return format_graph(ir, self.concrete.name)
        return self.compile().as_text(stage)

    @property
    def stages(self) -> dict:
        return self.compile().stages


class Compiled:
    """The compiled program of a Lowered function: call it like the function (tensor arguments)."""

    def __init__(self, concrete: ConcreteFunction, program: _Program):
        self.concrete = concrete
        self.program = program
        self.compiled_graph = program.compiled
        self.executable = getattr(program.compiled, "executable", None)

    @property
    def stages(self) -> dict:
        return self.compiled_graph.stages

    def as_text(self, stage: str = "asm") -> str:
        stage_fn = getattr(self.compiled_graph, "stage", None)
        if stage_fn is not None:
            return stage_fn(stage)
        return self.compiled_graph.stages[stage]

    def _arrays(self, args, kwargs):
        flat = [x for x in nest.flatten((args, kwargs)) if not _is_python_leaf(x)]
        inputs = self.concrete.graph.inputs
        if len(flat) != len(inputs):
            raise TypeError(f"compiled {self.concrete.name} expects {len(inputs)} tensor arguments, got {len(flat)}")
        return [np.asarray(_leaf_array(x, t.dtype), order="C") for x, t in zip(flat, inputs)]

    def __call__(self, *args, **kwargs):
        c = self.concrete
        return c._pack_outputs(c._call_arrays(self._arrays(args, kwargs)))

    def profile(self, *args, **kwargs):
        prof = getattr(self.compiled_graph, "profile", None)
        if prof is None:
            raise AttributeError("this compiler build exposes no profile() on compiled graphs")
        from . import function_state
        arrays = self._arrays(args, kwargs)
        params = [arrays[ref] if kind == "arg" else function_state.variable_buffer(ref)
                  for kind, ref in self.program.binders]
        return prof(*params)


# ------------------------------------------------------------------------------ Function



class _BindingError(TypeError, ValueError):
    """An argument that does not fit a tf.function's input_signature. TF 2.x raises TypeError
    ("Binding inputs to tf.function failed due to ..."); TF 1.x-era code catches ValueError
    ("Python inputs incompatible with input_signature"), so both catch it."""


_BindingError.__name__ = _BindingError.__qualname__ = "TypeError"

class Function:
    """A Python function compiled per input signature (see module docstring)."""

    def __init__(self, python_function, input_signature=None, jit_compile=None, reduce_retracing=False,
                 name: Optional[str] = None, shared_batch_dim: bool = False):
        self._python_function = python_function
        self._input_signature = None if input_signature is None else list(input_signature)
        self._jit_compile = jit_compile
        self._reduce_retracing = bool(reduce_retracing)
        self._name = name or getattr(python_function, "__name__", "function")
        # All arguments' leading None dims are one size (a batch): one symbol for all of them.
        self._shared_batch_dim = bool(shared_batch_dim)
        self._traces: list = []            # [(struct key, tensor sigs, ConcreteFunction)]
        self._exact: dict = {}
        # Calls made only of arrays, eager tensors and Python scalars, keyed by their types,
        # dtypes, shapes and scalar values: the trace `_prepare` found for that key (the key
        # determines its structure and tensor signature, so the answer cannot change).
        self._repeat_calls: dict = {}
        self._tracing_count = 0
        self._warned = False
        self._bound: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
        try:
            self._py_signature = inspect.signature(python_function)
        except (TypeError, ValueError):
            self._py_signature = None
        functools.update_wrapper(self, python_function, updated=())

    # -- properties -----------------------------------------------------------------------
    @property
    def python_function(self):
        return self._python_function

    @property
    def input_signature(self):
        return None if self._input_signature is None else tuple(self._input_signature)

    def experimental_get_tracing_count(self) -> int:
        return self._tracing_count

    @property
    def tracing_count(self) -> int:
        return self._tracing_count

    def __get__(self, instance, owner):
        """Methods: one Function per instance (its own cache), with `self` bound."""
        if instance is None:
            return self
        try:
            bound = self._bound.get(instance)
        except TypeError:
            bound = None
        if bound is None:
            bound = Function(functools.partial(self._python_function, instance), self._input_signature,
                             self._jit_compile, self._reduce_retracing, name=self._name,
                             shared_batch_dim=self._shared_batch_dim)
            functools.update_wrapper(bound, self._python_function, updated=())
            try:
                self._bound[instance] = bound
            except TypeError:
                pass
        return bound

    # -- argument handling ----------------------------------------------------------------
    def _canonicalize(self, args, kwargs):
        """Apply the input signature: tensor-like leaves converted to the spec dtypes."""
        if self._input_signature is None:
            return args, kwargs, None
        if kwargs and self._py_signature is not None:
            bound = self._py_signature.bind(*args, **kwargs)
            args, kwargs = bound.args, dict(bound.kwargs)
        if len(args) != len(self._input_signature):
            raise TypeError(f"{self._name}: the input_signature has {len(self._input_signature)} entries but "
                            f"the call passes {len(args)} positional arguments")
        specs = nest.flatten(self._input_signature)
        try:
            flat = nest.flatten(list(args))
            nest.assert_same_structure(list(self._input_signature), list(args), check_types=False)
        except (ValueError, TypeError) as e:
            # TF 2.x raises TypeError("Binding inputs to tf.function failed due to ...") for any mismatch
            raise _BindingError(f"Binding inputs to tf.function failed: {self._name}: arguments do not match the "
                            f"input_signature {self._input_signature}: {e}") from None
        conv = []
        for x, spec in zip(flat, specs):
            if isinstance(x, TensorSpec):
                conv.append(x)
                continue
            if _is_variable(x):
                x = x.read_value() if hasattr(x, "read_value") else x
            arr = _leaf_array(x, spec.dtype if not isinstance(x, (EagerTensor, np.ndarray)) else None)
            if _leaf_dtype(arr) != spec.dtype:
                unsafe = isinstance(x, np.ndarray) and not np.can_cast(arr.dtype, spec.dtype.np, "same_kind")
                if isinstance(x, EagerTensor) or unsafe:
                    raise _BindingError(f"Binding inputs to tf.function failed due to `Can not cast "
                                    f"{TensorSpec(arr.shape, _leaf_dtype(arr))} to {spec}`: {self._name}: argument "
                                    f"dtype {_leaf_dtype(arr).name} does not match the input_signature")
                arr = arr.astype(spec.dtype.np)
            if not spec.shape.is_compatible_with(arr.shape):
                raise _BindingError(f"Binding inputs to tf.function failed due to `Can not cast "
                                f"{TensorSpec(arr.shape, spec.dtype)} to {spec}`: {self._name}: shape "
                                f"{list(arr.shape)} does not match the input_signature")
            conv.append(EagerTensor(arr, spec.dtype))
        return tuple(nest.pack_sequence_as(list(args), conv)), kwargs, specs

    # -- tracing --------------------------------------------------------------------------
    def _lookup(self, struct, tensors):
        hit = self._exact.get((struct, tensors))
        if hit is not None:
            return hit
        for s, sigs, concrete in self._traces:
            if s == struct and len(sigs) == len(tensors) and all(
                    tdt == ndt and _shape_compatible(ts, ns) for (ts, tdt), (ns, ndt) in zip(sigs, tensors)):
                return concrete
        return None

    def _prepare(self, args, kwargs):
        """-> (ConcreteFunction serving this call, flat argument leaves after the input signature)."""
        args, kwargs, specs = self._canonicalize(args, kwargs)
        flat = nest.flatten((list(args), kwargs))
        sig_specs = None
        if specs is not None:
            # kwargs never carry specs (input_signature covers positional arguments only)
            sig_specs = list(specs) + [None] * (len(flat) - len(specs))
        struct_parts, tensors = _signature_of(flat, sig_specs)
        struct = (_structure_token(args, kwargs), struct_parts)
        concrete = self._lookup(struct, tensors)
        if concrete is not None:
            return concrete, flat
        if self._reduce_retracing:
            for s, sigs, _ in reversed(self._traces):
                if s == struct:
                    tensors = _relax(sigs, tensors)
                    break
        concrete = self._trace(args, kwargs, flat, tensors)
        self._traces.append((struct, tensors, concrete))
        self._exact[(struct, tensors)] = concrete
        return concrete, flat

    def _trace(self, args, kwargs, flat, tensor_sigs) -> ConcreteFunction:
        self._tracing_count += 1
        if self._tracing_count > RETRACE_WARNING_THRESHOLD and not self._warned:
            self._warned = True
            msg = (f"{self._tracing_count} traces of fuseflow.function '{self._name}': tracing and compiling is "
                   f"expensive. Frequent retracing comes from (1) creating the function repeatedly in a loop, "
                   f"(2) passing tensors with different shapes (use input_signature with None dims, or "
                   f"reduce_retracing=True), (3) passing Python values instead of tensors.")
            warnings.warn(msg, RetracingWarning, stacklevel=4)
        g = FuncGraph(self._name)
        names = self._arg_names(len(args), kwargs)
        it_sigs = iter(tensor_sigs)
        leaves, specs_out = [], []
        with g.as_default():
            for i, x in enumerate(flat):
                if _is_tensor_leaf(x):
                    shape, dtype = next(it_sigs)
                    name = (x.name if isinstance(x, TensorSpec) and x.name else names[i] if i < len(names) else "args")
                    ph = g.placeholder(dtype, TensorShape(None) if shape is None else list(shape), name=name)
                    leaves.append(ph)
                    specs_out.append(TensorSpec(ph.shape, dtype, name))
                else:
                    leaves.append(x)
            targs, tkwargs = nest.pack_sequence_as((list(args), kwargs), leaves)
            try:
                outputs = self._python_function(*targs, **tkwargs)
            except NeedsEagerExecution as e:
                return self._eager_fallback(e.construct, str(e))
            except SymbolicValueError as e:
                return self._eager_fallback("a tensor's value in Python control flow", str(e))
            outputs = _outputs_to_tensors(outputs, g)
        g.structured_outputs = outputs
        from . import function_state
        function_state.after_trace(g)
        concrete = ConcreteFunction(g, self._name, specs_out, shared_batch_dim=self._shared_batch_dim)
        return concrete

    def _eager_fallback(self, construct: str, reason: str) -> "EagerFallback":
        """Calls with this signature run the Python function op by op (what TF + AutoGraph would
        compile, fuseflow cannot): results, not errors, with a warning naming the construct."""
        if construct.startswith("a tensor's value"):
            msg = (f"fuseflow.function '{self._name}' uses {construct} ({reason}); fuseflow has no AutoGraph, so "
                   f"calls with this signature run op by op. Use tf.cond / tf.where / tf.while_loop to compile them.")
        else:
            msg = (f"fuseflow.function '{self._name}' cannot be compiled: {reason}. Calls with this signature run "
                   f"op by op.")
        return EagerFallback(self._name, construct, reason, msg)

    def _arg_names(self, n_args, kwargs) -> list:
        """One name per flat leaf, from the Python parameter names (TF names placeholders after them)."""
        params = []
        if self._py_signature is not None:
            params = [p.name for p in self._py_signature.parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        return [params[i] if i < len(params) else f"args_{i}" for i in range(n_args)] + list(sorted(kwargs))

    # -- public entry points --------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if graph_mod._graph_stack or not _eager():
            # Inside another trace or a TF1 graph: inline the Python function (same semantics).
            return self._python_function(*args, **kwargs)
        key = _repeat_call_key(args) if not kwargs and self._input_signature is None else None
        if key is not None:
            concrete = self._repeat_calls.get(key)
            if concrete is not None:
                if isinstance(concrete, EagerFallback):
                    return _python_value_outputs(self._python_function(*args))
                return concrete._pack_outputs(concrete._call_arrays(concrete.arrays_of(args)))
        concrete, flat = self._prepare(args, kwargs)
        if key is not None:
            self._repeat_calls[key] = concrete
        if isinstance(concrete, EagerFallback):
            concrete.announce()
            return _python_value_outputs(self._python_function(*args, **kwargs))
        arrays = [np.asarray(_leaf_array(x, t.dtype), order="C")
                  for x, t in zip((x for x in flat if _is_tensor_leaf(x)), concrete.graph.inputs)]
        return concrete._pack_outputs(concrete._call_arrays(arrays))

    def get_concrete_function(self, *args, **kwargs) -> ConcreteFunction:
        if not args and not kwargs and self._input_signature is not None:
            args = tuple(self._input_signature)
        concrete = self._prepare(args, kwargs)[0]
        if isinstance(concrete, EagerFallback):
            concrete.raise_not_compilable()
        return concrete

    def lower(self, *args, **kwargs) -> Lowered:
        return Lowered(self.get_concrete_function(*args, **kwargs))

    def __repr__(self):
        return f"<fuseflow.function {self._name}>"


class EagerFallback:
    """Stands in for a ConcreteFunction when the trace hit a construct fuseflow cannot compile
    (Python control flow on a tensor value, or a `NeedsEagerExecution` construct): calls run eagerly."""

    def __init__(self, name: str, construct: str, reason: str, warning: str):
        self.name = name
        self.construct = construct
        self.reason = reason
        self.warning = warning
        self.announced = False

    def announce(self):
        """Warn once, from the first call that runs op by op (not from get_concrete_function,
        which raises instead)."""
        if not self.announced:
            self.announced = True
            warnings.warn(self.warning, RuntimeWarning, stacklevel=3)

    def raise_not_compilable(self):
        """get_concrete_function / lower promise a compiled program: there is none to give."""
        if self.construct.startswith("a tensor's value"):
            raise TypeError(f"fuseflow.function '{self.name}' cannot be traced for these arguments: "
                            f"{self.reason}. Use tf.cond / tf.where / tf.while_loop instead of Python "
                            f"control flow on tensor values.")
        raise NeedsEagerExecution(self.construct, f"fuseflow.function '{self.name}' cannot be compiled for these "
                                                  f"arguments: {self.reason}")


def _eager() -> bool:
    from .context import eager_enabled_globally
    return eager_enabled_globally()


_PY_VALUE_TYPES = (bool, int, float, complex, np.generic, np.ndarray)


def _python_value_outputs(outputs):
    """TF converts Python numbers / numpy values a tf.function returns into tensors
    (`return 0` gives tf.Tensor(0, shape=(), dtype=int32)); used on the op-by-op fallback path."""
    from .core import convert_to_tensor

    def conv(x):
        return convert_to_tensor(x) if isinstance(x, _PY_VALUE_TYPES) else x
    if outputs is None:
        return None
    return nest.map_structure(conv, outputs) if nest.is_nested(outputs) else conv(outputs)


def _outputs_to_tensors(outputs, g: FuncGraph):
    """Variables returned from a function come back as their values; eager values stay as they
    are; Python numbers and numpy values become tensors, as TF returns them."""
    def conv(x):
        if _is_variable(x) or (hasattr(x, "_as_tensor") and not isinstance(x, (Tensor, EagerTensor))):
            return x._as_tensor()
        if isinstance(x, Tensor) and x.graph is not g:
            return g.capture(x)
        if isinstance(x, _PY_VALUE_TYPES):
            from .core import convert_to_tensor
            return convert_to_tensor(x)
        return x
    if outputs is None:
        return None
    if nest.is_nested(outputs):
        return nest.map_structure(conv, outputs)
    return conv(outputs)


def function(func=None, input_signature=None, autograph=True, jit_compile=None, reduce_retracing=False,
             experimental_implements=None, experimental_autograph_options=None, experimental_attributes=None,
             experimental_relax_shapes=None, experimental_compile=None, experimental_follow_type_hints=None):
    """Decorator (or call) turning a Python function into a compiled `Function`."""
    relax = reduce_retracing or bool(experimental_relax_shapes)

    def wrap(f):
        return Function(f, input_signature=input_signature, jit_compile=jit_compile, reduce_retracing=relax)

    if func is not None:
        return wrap(func)
    return wrap
