"""Frontend graphs: what TF1 code builds and what `fuseflow.function` traces into.

A frontend `Graph` records `Operation`s (type = a compiler op name or a frontend-only op such
as `placeholder`, `read_variable`, `assign`, `no_op`), their inputs, attrs, control inputs,
TF-style unique names and the user's source line. Static shapes here may be partially
unknown; `fuseflow.lowering_ir.build_ir` replays the needed operations into a compiler IR
graph once the feed shapes are known.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from typing import Optional

from fuseflow.compiler.ir import SourceLoc

from . import context as _context
from .tensor import Tensor

_FRONTEND_DIR = os.path.dirname(os.path.abspath(__file__))


def user_location(scope: str = "") -> Optional[SourceLoc]:
    """The first stack frame outside fuseflow: where the user wrote the op."""
    f = sys._getframe(1)
    while f is not None:
        fn = f.f_code.co_filename
        if _is_user_file(fn):
            return SourceLoc(os.path.basename(fn), f.f_lineno, scope)
        f = f.f_back
    return None


_STDLIB_DIR = os.path.dirname(os.path.abspath(contextlib.__file__))
_USER_FILES_IN_PACKAGE = ("demo.py",)   # fuseflow's own example programs count as user code


def _is_user_file(fn: str) -> bool:
    if fn.startswith("<"):
        return False                      # <frozen runpy>, <string>
    path = os.path.abspath(fn)
    if path.startswith(_FRONTEND_DIR) or "fuseflow" in os.path.basename(os.path.dirname(fn)):
        return os.path.basename(path) in _USER_FILES_IN_PACKAGE
    return not (path.startswith(_STDLIB_DIR + os.sep) and "site-packages" not in path)


class Operation:
    def __init__(self, graph: "Graph", type_: str, name: str, inputs, attrs: dict, output_specs,
                 control_inputs, loc, device: str = ""):
        self.graph = graph
        self.ir_op = type_        # the op this replays as (frontend dispatch keys on it)
        self.name = name
        self.inputs = list(inputs)
        self.attrs = dict(attrs)
        self.control_inputs = list(control_inputs)
        self.loc = loc
        self.device = device
        self.outputs = [Tensor(self, i, d, s) for i, (d, s) in enumerate(output_specs)]
        self.id = len(graph._operations)

    @property
    def type(self) -> str:
        """TF's op type name (Const, MatMul, AddV2, ...)."""
        from .graph_def import tf_op_type
        if self.ir_op == "reduce_deferred":      # a reduction whose axes are a tensor: attrs name it
            return tf_op_type(self.attrs["op"])
        return tf_op_type(self.ir_op)

    @property
    def node_def(self):
        return {"name": self.name, "op": self.type, "attr": self.attrs}

    def get_attr(self, name):
        return self.attrs[name]

    def values(self):
        """The op's outputs (TF's Operation.values())."""
        return tuple(self.outputs)

    def run(self, feed_dict=None, session=None):
        from fuseflow.session import get_default_session
        sess = session or get_default_session()
        if sess is None:
            raise ValueError("Cannot execute operation using `run()`: No default session is registered.")
        sess.run(self, feed_dict=feed_dict)

    def _add_control_input(self, op):
        if op not in self.control_inputs:
            self.control_inputs.append(op)

    def __repr__(self):
        return f"<tf.Operation '{self.name}' type={self.type}>"


GLOBAL_VARIABLES = "variables"
TRAINABLE_VARIABLES = "trainable_variables"


class Graph:
    """A TF1-style graph (also the trace target of `fuseflow.function`)."""

    def __init__(self):
        self._operations: list = []
        self._names: dict = {}
        self._name_stack = ""
        self._control_stack: list = []
        self._device_stack: list = []
        self._collections: dict = {}
        self._finalized = False
        self.seed = None
        self._last_id = 0
        self.variables: list = []          # frontend Variable objects created in this graph
        self._variable_scope_stack: list = []
        self._lock = threading.RLock()

    # -- names ----------------------------------------------------------------------------
    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """TF naming: `name`, `name_1`, `name_2`, ... (scoped by the current name scope)."""
        full = f"{self._name_stack}/{name}" if self._name_stack else name
        key = full.lower()
        i = self._names.get(key, 0)
        if i:
            base = full
            while f"{base}_{i}".lower() in self._names:
                i += 1
            full = f"{base}_{i}"
        if mark_as_used:
            self._names[key] = i + 1
            self._names.setdefault(full.lower(), 1)
        return full

    def get_name_scope(self) -> str:
        return self._name_stack

    @contextlib.contextmanager
    def name_scope(self, name):
        """TF1 name_scope: '' or None resets to the root; a trailing '/' re-enters a scope as is."""
        old = self._name_stack
        if name is None or name == "":
            new = ""
        elif name.endswith("/"):
            new = name[:-1]
        else:
            new = self.unique_name(name)
        self._name_stack = new
        try:
            yield (new + "/") if new else ""
        finally:
            self._name_stack = old

    # -- operations -----------------------------------------------------------------------
    def create_op(self, type_: str, inputs, attrs: dict, output_specs, name: Optional[str] = None,
                  loc=None) -> Operation:
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")
        with self._lock:
            if name and name.endswith("/"):
                # TF: a name ending in '/' (a name scope's string) is used as is, not uniquified;
                # op functions name their final op after the scope they opened.
                op_name = name[:-1]
                self._names.setdefault(op_name.lower(), 1)
            else:
                op_name = self.unique_name(name or _default_name(type_))
            control = []
            for deps in self._control_stack:
                if deps is None:
                    control = []
                    continue
                for d in deps:
                    if d not in control and not any(t.op is d for t in inputs):
                        control.append(d)
            device = self._device_stack[-1] if self._device_stack else ""
            op = Operation(self, type_, op_name, inputs, attrs, output_specs, control, loc, device)
            self._operations.append(op)
            return op

    def get_operations(self) -> list:
        return list(self._operations)

    def get_operation_by_name(self, name: str) -> Operation:
        for op in self._operations:
            if op.name == name:
                return op
        raise KeyError(f"The name '{name}' refers to an Operation not in the graph.")

    def get_tensor_by_name(self, name: str) -> Tensor:
        if ":" not in name:
            raise ValueError(f"The name '{name}' looks like an Operation name, not a Tensor name (add ':0').")
        op_name, idx = name.rsplit(":", 1)
        op = self.get_operation_by_name(op_name)
        return op.outputs[int(idx)]

    def as_graph_def(self, from_version=None, add_shapes=False):
        from .graph_def import graph_def
        return graph_def(self)

    def as_graph_element(self, obj):
        if isinstance(obj, str):
            return self.get_tensor_by_name(obj) if ":" in obj else self.get_operation_by_name(obj)
        return obj

    # -- control dependencies / devices ---------------------------------------------------
    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        if control_inputs is None:
            self._control_stack.append(None)
        else:
            ops = []
            for c in control_inputs:
                c = _as_op(c)
                if c is not None:
                    ops.append(c)
            self._control_stack.append(ops)
        try:
            yield
        finally:
            self._control_stack.pop()

    @contextlib.contextmanager
    def device(self, name):
        self._device_stack.append(name or "")
        try:
            yield
        finally:
            self._device_stack.pop()

    # -- collections ----------------------------------------------------------------------
    def add_to_collection(self, name, value):
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value):
        for n in ([names] if isinstance(names, str) else names):
            self.add_to_collection(n, value)

    def get_collection(self, name, scope=None):
        items = self._collections.get(name, [])
        if scope is None:
            return list(items)
        pattern = re.compile(scope)
        return [x for x in items if hasattr(x, "name") and pattern.match(x.name)]

    def get_collection_ref(self, name):
        return self._collections.setdefault(name, [])

    def get_all_collection_keys(self):
        return list(self._collections)

    def clear_collection(self, name):
        self._collections.pop(name, None)

    def finalize(self):
        self._finalized = True

    @property
    def finalized(self):
        return self._finalized

    # -- default graph management ---------------------------------------------------------
    @contextlib.contextmanager
    def as_default(self):
        _graph_stack.append(self)
        try:
            yield self
        finally:
            _graph_stack.pop()

    def is_function_graph(self) -> bool:
        return False


def _as_op(x):
    if x is None:
        return None
    if isinstance(x, Operation):
        return x
    if isinstance(x, Tensor):
        return x.op
    if hasattr(x, "op") and isinstance(getattr(x, "op"), Operation):
        return x.op
    if hasattr(x, "_as_graph_op"):
        return x._as_graph_op()
    return None


def _default_name(type_: str) -> str:
    """TF's default op names are CamelCase op types: add -> Add, reduce_sum -> Sum."""
    from .op_names import default_op_name
    return default_op_name(type_)


# The default graph: a process-wide root plus a stack for `with g.as_default()`.
_root_graph = [Graph()]
_graph_stack: list = []


def get_default_graph() -> Graph:
    return _graph_stack[-1] if _graph_stack else _root_graph[0]


def reset_default_graph():
    if _graph_stack:
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs.")
    _root_graph[0] = Graph()


def graph_is_active() -> bool:
    """True when ops should be recorded in a graph rather than executed eagerly."""
    return bool(_graph_stack) or not _context._state["eager"]
