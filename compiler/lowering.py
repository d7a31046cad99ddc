"""Lower a fused graph to a loop-IR Program: one Kernel per fusion group.

Values that cross kernels live in buffers (inputs, outputs, temps, constants); everything
inside a kernel is a scalar expression evaluated at an index. Elementwise ops read their
operands at the broadcast index (stride-0 dims become index 0); injective ops map the index
through their `index` hook; reductions loop over the reduced axes with an accumulator and
then apply their epilogue; matmul becomes a MatmulTemplate with its epilogue expression.
"""
from __future__ import annotations

import itertools
from typing import Optional

import numpy as np

from .fusion import Group, kernel_value_users_outside
from .ir import Graph, Value
from .loopir import (INDEX, Assign, Binary, Buffer, Cast, Const, Declare, ErrorIf, Expr, Kernel, Let, Load,
                     Loop, MatmulTemplate, Program, Select, Store, Var, dim_expr)
from .ops.registry import get_op
from .ops.index_util import dim_sub, recording_assumptions
from .ops.registry import OpError
from .ops.shape_ops import slice_sizes, strided_layout
from .shapes import SymDim, dim_add, format_shape, num_elements, shape_symbols

INLINE_CONSTANT_ELEMENTS = 1
SMALL_MATMUL_WORK = 1 << 14   # batch*m*n*k at or below which a matmul is plain loops
COLUMN_BLOCK = 512   # columns per thread block in leading-axis reductions (fits L1 with a row)


class LoweringError(NotImplementedError):
    """The graph uses a feature the code generator does not support (names the node)."""


def _linear(index, shape) -> Expr:
    flat: Optional[Expr] = None
    for i, d in zip(index, shape):
        flat = i if flat is None else flat * dim_expr(d) + i
    return flat if flat is not None else Const(0, INDEX)


def _unravel(flat: Expr, shape) -> list:
    """Multi-index of a row-major flat index (the first dim needs no modulo)."""
    strides, stride = [], None
    for d in reversed(shape):
        strides.append(stride)
        stride = dim_expr(d) if stride is None else stride * dim_expr(d)
    strides.reverse()
    idx = []
    for pos, (d, s) in enumerate(zip(shape, strides)):
        q = flat if s is None else Binary("floordiv", flat, s)
        idx.append(q if pos == 0 else Binary("mod", q, dim_expr(d)))
    return idx


def _clamp(i: Expr, d) -> Expr:
    """min(max(i, 0), d - 1): keeps a speculative read inside the operand."""
    if isinstance(i, Const) and isinstance(d, int) and 0 <= i.value < d:
        return i
    hi = Binary("sub", dim_expr(d), Const(1, INDEX))
    return Binary("max", Binary("min", i, hi), Const(0, INDEX))


class _IndexCtx:
    """What an injective op's `index` hook sees."""

    def __init__(self, kb: "KernelBuilder", node: int, output: int):
        self._kb = kb
        self._node = node
        self.output = output
        g = kb.g
        self.operands = g.operands(node)
        self.in_types = [g.value_type(v) for v in self.operands]
        self.out_type = g.output_types(node)[output]
        self.out_types = g.output_types(node)
        self.attrs = g.attrs(node)
        # Ops like concat and pad select between reads; both arms of a select are evaluated,
        # so their indices are clamped into range. Ops whose reads are always in range (pure
        # index maps, or ops that clamp their own reads) say so with extra["index_in_range"].
        self._clamp = not get_op(g.op(node)).extra.get("index_in_range")

    def input(self, slot: int, index) -> Expr:
        index = list(index)
        if self._clamp:
            index = [_clamp(i, d) for i, d in zip(index, self.in_types[slot].shape)]
        return self._kb.value_at(self.operands[slot], index)

    def input_linear(self, slot: int, flat: Expr) -> Expr:
        v = self.operands[slot]
        buf = self._kb.buffer_of(v)
        if buf is not None and not self._kb.inlined(v):
            if self._clamp:
                flat = _clamp(flat, num_elements(self.in_types[slot].shape))
            self._kb.reads.add(buf)
            return Load(buf, flat, self.in_types[slot].dtype)
        return self.input(slot, _unravel(flat, self.in_types[slot].shape))

    def check(self, cond: Expr, message: str) -> None:
        self._kb.add_check(cond, message, self._node)


class _KernelCtx:
    """What an opaque op's `lower_kernel` hook sees."""

    def __init__(self, kb: "KernelBuilder", node: int):
        g = kb.g
        ops = g.operands(node)
        self.inputs = [kb.require_buffer(v) for v in ops]
        self.outputs = [kb.buffer_of(Value(node, i)) for i in range(len(g.output_types(node)))]
        self.in_types = [g.value_type(v) for v in ops]
        self.out_types = list(g.output_types(node))
        self.attrs = g.attrs(node)
        self._kb = kb
        self._node = node

    def error_code(self, message: str) -> int:
        return self._kb.error_code(message, self._node)

    def fresh(self, prefix: str = "v") -> str:
        return self._kb.fresh(prefix)


class ProgramBuilder:
    def __init__(self, g: Graph, name: str, donate: Optional[dict] = None):
        self.g = g
        self.name = name
        self.donate = dict(donate or {})
        self.buffers: dict = {}
        self.value_buffer: dict = {}     # Value -> buffer name
        self.constants: dict = {}
        self.kernels: list = []
        self.errors: dict = {}
        self.counter = itertools.count()
        self.inputs: list = []
        self.outputs: list = []
        self.aliases: dict = {}

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def error_code(self, message: str, node: int) -> int:
        text = f"{self.g.describe(node)}: {message}"
        for code, msg in self.errors.items():
            if msg == text:
                return code
        code = len(self.errors) + 1
        self.errors[code] = text
        return code

    def add_buffer(self, name: str, t, role: str) -> str:
        self.buffers[name] = Buffer(name, t.dtype, tuple(t.shape), role)
        return name

    # -----------------------------------------------------------------------------------
    def build(self) -> Program:
        g = self.g
        groups: dict = g.graph.get("groups", {})
        for i, n in enumerate(g.graph["inputs"]):
            t = g.output_types(n)[0]
            self.inputs.append(self.add_buffer(f"in{i}", t, "input"))
            self.value_buffer[Value(n, 0)] = f"in{i}"
        # Graph outputs: a value that is an output gets the output buffer itself when it is a
        # kernel result stored once; inputs/constants/duplicates are copied.
        order, in_place = schedule_groups(g, groups, self.donate)
        copies = []
        for j, v in enumerate(g.graph["outputs"]):
            name = self.add_buffer(f"out{j}", g.value_type(v), "output")
            self.outputs.append(name)
            src_op = g.op(v.node)
            if v in self.value_buffer or src_op in ("parameter", "constant") or \
                    (j in self.donate and j not in in_place):
                copies.append((v, name))
            else:
                self.value_buffer[v] = name
        for j, i in self.donate.items():
            self.aliases[self.outputs[j]] = self.inputs[i]
        for grp in order:
            for v in kernel_value_users_outside(g, grp):
                if v not in self.value_buffer:
                    self.value_buffer[v] = self.add_buffer(self.fresh("t"), g.value_type(v), "temp")
        for grp in order:
            self.kernels.append(KernelBuilder(self, grp).build())
        for v, out in copies:
            self.kernels.append(self._copy_kernel(v, out))
        symbols = sorted(set().union(*[shape_symbols(b.shape) for b in self.buffers.values() if b.role == "input"])) \
            if self.inputs else []
        prog = Program(self.name, self.buffers, self.kernels, self.inputs, self.outputs, symbols, self.constants)
        prog.errors = self.errors
        prog.aliases = self.aliases
        prog.dim_checks = dim_constraints(g)
        return prog

    def _copy_kernel(self, v: Value, out: str) -> Kernel:
        kb = KernelBuilder(self, Group(-1, None, [], None))
        t = self.g.value_type(v)
        flat = Var(self.fresh("i"))
        buf = kb.buffer_of(v)
        if buf is not None:
            kb.reads.add(buf)
            src = Load(buf, flat, t.dtype)
        else:
            src = kb.value_at(v, [])
        body = [Loop(flat.name, dim_expr(num_elements(t.shape)), [Store(out, flat, src)], "parallel")]
        return Kernel(f"copy_{out}", body, sorted(kb.reads), [out], nodes=[self.g.nodes[v.node]["name"]],
                      reason="graph output copied (an input, a constant, a repeated or an in-place output)")

    def constant_buffer(self, v: Value) -> str:
        if v not in self.value_buffer:
            name = self.fresh("c")
            arr = self.g.attrs(v.node)["value"].array
            self.add_buffer(name, self.g.value_type(v), "const")
            self.constants[name] = arr
            self.value_buffer[v] = name
        return self.value_buffer[v]


class KernelBuilder:
    def __init__(self, pb: ProgramBuilder, grp: Group):
        self.pb = pb
        self.g = pb.g
        self.grp = grp
        self.members = set(grp.members)
        self.reads: set = set()
        self.anchor_value: dict = {}    # Value of the anchor -> Expr (inside the epilogue)
        self.checks: list = []
        self.body_prefix: list = []

    def fresh(self, prefix: str) -> str:
        return self.pb.fresh(prefix)

    def error_code(self, message: str, node: int) -> int:
        return self.pb.error_code(message, node)

    def add_check(self, cond: Expr, message: str, node: int) -> None:
        self.checks.append(ErrorIf(cond, self.pb.error_code(message, node)))

    def inlined(self, v: Value) -> bool:
        return v.node in self.members and v not in self.anchor_value

    def buffer_of(self, v: Value) -> Optional[str]:
        if v in self.pb.value_buffer:
            return self.pb.value_buffer[v]
        if self.g.op(v.node) == "constant" and not self._inline_constant(v):
            return self.pb.constant_buffer(v)
        return None

    def require_buffer(self, v: Value) -> str:
        buf = self.buffer_of(v)
        if buf is None:
            if self.g.op(v.node) == "constant":
                return self.pb.constant_buffer(v)
            raise LoweringError(f"{self.g.describe(v.node)}: value is not materialized for the kernel reading it")
        self.reads.add(buf)
        return buf

    def _inline_constant(self, v: Value) -> bool:
        a = self.g.attrs(v.node)["value"].array
        return a.dtype != object and (a.size <= INLINE_CONSTANT_ELEMENTS or (a.size > 0 and np.all(a == a.flat[0])))

    # -- expressions ----------------------------------------------------------------------
    def value_at(self, v: Value, index: list) -> Expr:
        g = self.g
        t = g.value_type(v)
        if v in self.anchor_value:
            return self.anchor_value[v]
        if v.node in self.members:
            return self._lower_node(v, index)
        if g.op(v.node) == "constant" and self._inline_constant(v):
            a = g.attrs(v.node)["value"].array
            return Const(a.flat[0].item() if a.size else 0, t.dtype)
        buf = self.buffer_of(v)
        if buf is None:
            raise LoweringError(f"{g.describe(v.node)}: value has no buffer (internal fusion error)")
        self.reads.add(buf)
        return Load(buf, _linear(index, t.shape), t.dtype)

    def _lower_node(self, v: Value, index: list) -> Expr:
        g = self.g
        n = v.node
        opdef = get_op(g.op(n))
        out_t = g.output_types(n)[v.out]
        if opdef.kind == "elementwise":
            args = []
            for operand in g.operands(n):
                args.append(self.value_at(operand, _broadcast_index(index, out_t.shape, g.value_type(operand).shape)))
            return opdef.scalar(args, g.attrs(n), out_t.dtype)
        if opdef.kind == "injective":
            return opdef.index(_IndexCtx(self, n, v.out), index)
        raise LoweringError(f"{g.describe(n)}: {opdef.kind} op cannot be evaluated inline")

    # -- kernels --------------------------------------------------------------------------
    def build(self) -> Kernel:
        grp = self.grp
        g = self.g
        anchor = grp.anchor
        kind = get_op(g.op(anchor)).kind if anchor is not None else "elementwise"
        if grp.row is not None:
            body = self._row_kernel()
        elif kind == "matmul":
            body = self._matmul()
        elif kind == "reduce":
            body = self._reduce()
        elif kind == "opaque":
            body = get_op(g.op(anchor)).lower_kernel(_KernelCtx(self, anchor))
        else:
            body = []
            for v in self._stored_values():
                body += self._elementwise_store(v)
        writes = sorted({self.pb.value_buffer[v] for v in self._stored_values()})
        reads = sorted(self.reads - set(writes))
        names = [g.nodes[m]["name"] for m in grp.members]
        root_name = g.nodes[grp.root]["name"].replace("/", "_") if grp.root is not None else "k"
        kernel = Kernel(f"k{grp.id}_{_ident(g.op(anchor if anchor is not None else grp.root))}", body, reads,
                        writes, nodes=names, reason=grp.reason)
        kernel.label = root_name
        return kernel

    def _stored_values(self) -> list:
        return [v for v in kernel_value_users_outside(self.g, self.grp)]

    def _loop_nest(self, shape, inner: list, prefix: str = "i") -> tuple:
        """Loops over `shape` (outermost parallel) around the statements built by `inner(index)`."""
        names = [self.fresh(prefix) for _ in shape]
        index = [Var(n) for n in names]
        body = inner(index)
        for depth in reversed(range(len(shape))):
            body = [Loop(names[depth], dim_expr(shape[depth]), body, "parallel" if depth == 0 else "serial")]
        return body

    def _elementwise_store(self, v: Value) -> list:
        t = self.g.value_type(v)
        buf = self.pb.value_buffer[v]
        if self._flat_ok(v):
            # Every operand has the output's shape: one flat loop vectorizes best.
            n = num_elements(t.shape)
            name = self.fresh("i")
            flat = Var(name)
            self._flat_index = flat
            expr = self._flat_value(v, flat)
            stmts = self._take_checks() + [Store(buf, flat, expr)]
            return [Loop(name, dim_expr(n), stmts, "parallel")]

        def inner(index):
            expr = self.value_at(v, index)
            return self._take_checks() + [Store(buf, _linear(index, t.shape), expr)]
        if not t.shape:
            expr = self.value_at(v, [])
            return self._take_checks() + [Store(buf, Const(0, INDEX), expr)]
        return self._loop_nest(t.shape, inner)

    def _take_checks(self) -> list:
        checks, self.checks = self.checks, []
        return checks

    def _flat_ok(self, v: Value) -> bool:
        """True if the kernel is elementwise-only and every leaf read has the output's shape."""
        g = self.g
        shape = g.value_type(v).shape
        if len(shape) <= 1:
            return False
        for m in self.members:
            if get_op(g.op(m)).kind != "elementwise":
                return False
            for operand in g.operands(m):
                if g.value_type(operand).shape != shape:
                    if operand.node in self.members or not (g.op(operand.node) == "constant"
                                                            and self._inline_constant(operand)):
                        return False
        return True

    def _flat_value(self, v: Value, flat: Expr) -> Expr:
        g = self.g
        if v.node in self.members:
            opdef = get_op(g.op(v.node))
            args = [self._flat_value(o, flat) for o in g.operands(v.node)]
            return opdef.scalar(args, g.attrs(v.node), g.output_types(v.node)[v.out].dtype)
        t = g.value_type(v)
        if g.op(v.node) == "constant" and self._inline_constant(v):
            a = g.attrs(v.node)["value"].array
            return Const(a.flat[0].item() if a.size else 0, t.dtype)
        buf = self.buffer_of(v)
        self.reads.add(buf)
        return Load(buf, flat, t.dtype)

    # -- reductions -----------------------------------------------------------------------
    def _reduce(self) -> list:
        g = self.g
        anchor = self.grp.anchor
        opdef = get_op(g.op(anchor))
        attrs = g.attrs(anchor)
        (src,) = g.operands(anchor)
        in_t = g.value_type(src)
        out_t = g.output_types(anchor)[0]
        is_arg = opdef.extra.get("arg", False)
        axes = (attrs["axis"],) if is_arg else tuple(attrs["axes"])
        keepdims = False if is_arg else attrs["keepdims"]
        root = Value(self.grp.root, 0)
        out_buf = self.pb.value_buffer[root]
        spec = opdef.reduction
        if (not is_arg and axes and axes == tuple(range(len(axes))) and len(axes) < len(in_t.shape)
                and g.value_type(root).dtype == out_t.dtype):
            return self._reduce_leading_axes(src, in_t, out_t, axes, spec, root, out_buf)

        root_shape = tuple(g.value_type(root).shape)
        anchor_shape = tuple(out_t.shape)

        def inner(root_index):
            # a reshape in the epilogue keeps the element order: map the stored index back
            out_index = root_index if root_shape == anchor_shape else \
                _unravel(_linear(root_index, root_shape), anchor_shape)
            acc = self.fresh("acc")
            red_names = [self.fresh("r") for _ in axes]
            in_index, k = [], 0
            for ax in range(len(in_t.shape)):
                if ax in axes:
                    in_index.append(Var(red_names[axes.index(ax)]))
                else:
                    in_index.append(out_index[ax] if keepdims else out_index[k])
                    k += 1
            x = self.value_at(src, in_index)
            checks = self._take_checks()
            if is_arg:
                best_idx = self.fresh("arg")
                flat_r = _linear([Var(r) for r in red_names], [in_t.shape[a] for a in axes])
                x_var, acc_var = Var(acc + "_x", in_t.dtype), Var(acc, in_t.dtype)
                better = Binary(_arg_cmp(opdef), x_var, acc_var)  # strict: ties keep the first index
                update = [Let(x_var.name, x), Assign(best_idx, Select(better, flat_r, Var(best_idx, INDEX))),
                          Assign(acc, Select(better, x_var, acc_var))]
                loops = checks + update
                for r, ax in reversed(list(zip(red_names, axes))):
                    loops = [Loop(r, dim_expr(in_t.shape[ax]), loops, "reduce")]
                init = [Declare(acc, Const(spec.identity(in_t.dtype), in_t.dtype)),
                        Declare(best_idx, Const(0, INDEX))]
                result = Cast(Var(best_idx, INDEX), out_t.dtype)
            else:
                acc_dtype = out_t.dtype
                combined = spec.combine(Var(acc, acc_dtype), x)
                loops = checks + [Assign(acc, combined)]
                for r, ax in reversed(list(zip(red_names, axes))):
                    loops = [Loop(r, dim_expr(in_t.shape[ax]), loops, "reduce")]
                init = [Declare(acc, Const(spec.identity(acc_dtype), acc_dtype))]
                result = Var(acc, acc_dtype)
                if spec.finalize is not None:
                    count = Const(1, INDEX)
                    for ax in axes:
                        count = count * dim_expr(in_t.shape[ax])
                    result = spec.finalize(result, count, out_t.dtype)
            res_name = self.fresh("res")
            self.anchor_value = {Value(anchor, 0): Var(res_name, out_t.dtype)}
            value = self.value_at(root, root_index)
            return init + loops + [Let(res_name, result)] + self._take_checks() + \
                [Store(out_buf, _linear(root_index, root_shape), value)]

        shape = g.value_type(root).shape
        if not shape:
            return inner([])
        return self._loop_nest(shape, inner, prefix="o")

    def _row_kernel(self) -> list:
        """One loop over rows; per row, one pass per reduction (in dependency order, each
        reading earlier results as scalars), then one pass storing the full-shape results."""
        g = self.g
        full, k = self.grp.row
        rows_shape, t_shape = full[:-k], full[-k:]
        kept = tuple(rows_shape) + (1,) * k
        reductions = [m for m in self.grp.members if get_op(g.op(m)).kind == "reduce"]
        stored = self._stored_values()

        def t_loops(body_for_index, kind):
            names = [self.fresh("t") for _ in t_shape]
            body = body_for_index([Var(n) for n in names])
            for name, d in reversed(list(zip(names, t_shape))):
                body = [Loop(name, dim_expr(d), body, kind)]
            return body

        def inner(row_index):
            self.anchor_value = {}
            stmts = []
            for r in reductions:
                opdef = get_op(g.op(r))
                spec = opdef.reduction
                dtype = g.output_types(r)[0].dtype
                (src,) = g.operands(r)
                acc = self.fresh("acc")
                stmts.append(Declare(acc, Const(spec.identity(dtype), dtype)))

                def accumulate(t_index, src=src, acc=acc, spec=spec, dtype=dtype):
                    x = self.value_at(src, list(row_index) + t_index)
                    return self._take_checks() + [Assign(acc, spec.combine(Var(acc, dtype), x))]
                stmts += t_loops(accumulate, "reduce")
                result = Var(acc, dtype)
                if spec.finalize is not None:
                    result = spec.finalize(result, dim_expr(num_elements(t_shape)), dtype)
                res = self.fresh("res")
                stmts.append(Let(res, result))
                self.anchor_value[Value(r, 0)] = Var(res, dtype)
            zeros = [Const(0, INDEX)] * k
            for v in stored:
                if tuple(g.value_type(v).shape) == kept:
                    idx = list(row_index) + zeros
                    value = self.value_at(v, idx)
                    stmts += self._take_checks() + [Store(self.pb.value_buffer[v], _linear(idx, kept), value)]
            full_values = [v for v in stored if tuple(g.value_type(v).shape) == tuple(full)]
            if full_values:
                def store_all(t_index):
                    idx = list(row_index) + t_index
                    out = []
                    for v in full_values:
                        value = self.value_at(v, idx)
                        out += self._take_checks() + [Store(self.pb.value_buffer[v], _linear(idx, full), value)]
                    return out
                stmts += t_loops(store_all, "serial")
            return stmts

        return self._loop_nest(rows_shape, inner, prefix="row")

    def _reduce_leading_axes(self, src, in_t, out_t, axes, spec, root, out_buf) -> list:
        """Reduce over leading axes (column sums: bias gradients, batch statistics).

        Accumulating along the outer axis into the output row keeps the inner loop
        contiguous and vectorized; threads split the columns in blocks."""
        g = self.g
        anchor = self.grp.anchor
        outer_shape, inner_shape = in_t.shape[:len(axes)], in_t.shape[len(axes):]
        cols = dim_expr(num_elements(inner_shape))
        rows = dim_expr(num_elements(outer_shape))
        block = Const(COLUMN_BLOCK, INDEX)
        jb, i = self.fresh("jb"), self.fresh("i")
        extent = Binary("min", block, cols - Var(jb) * block)
        dtype = out_t.dtype

        def column_loop(make_body):
            """A loop over this block's columns; make_body(col) builds the statements."""
            j = self.fresh("j")
            return Loop(j, extent, make_body(Var(jb) * block + Var(j)), "serial")

        def acc_at(col):
            return Load(out_buf, col, dtype)

        init = column_loop(lambda col: [Store(out_buf, col, Const(spec.identity(dtype), dtype))])

        def accumulate_body(col):
            x = self.value_at(src, _unravel(Var(i), outer_shape) + _unravel(col, inner_shape))
            return self._take_checks() + [Store(out_buf, col, spec.combine(acc_at(col), x))]

        body = [init, Loop(i, rows, [column_loop(accumulate_body)], "serial")]
        if spec.finalize is not None or self.grp.root != anchor:
            def epilogue_body(col):
                result = spec.finalize(acc_at(col), rows, dtype) if spec.finalize is not None else acc_at(col)
                res_name = self.fresh("res")
                self.anchor_value = {Value(anchor, 0): Var(res_name, dtype)}
                value = self.value_at(root, _unravel(col, g.value_type(root).shape))
                return [Let(res_name, result)] + self._take_checks() + [Store(out_buf, col, value)]
            body.append(column_loop(epilogue_body))
        nblocks = Binary("floordiv", cols + (COLUMN_BLOCK - 1), block)
        return [Loop(jb, nblocks, body, "parallel")]

    # -- matmul ---------------------------------------------------------------------------
    def _matmul(self) -> list:
        g = self.g
        anchor = self.grp.anchor
        attrs = g.attrs(anchor)
        a, b = g.operands(anchor)
        ta, tb = g.value_type(a), g.value_type(b)
        out_t = g.output_types(anchor)[0]
        a_buf, b_buf = self.require_buffer(a), self.require_buffer(b)
        root = Value(self.grp.root, 0)
        out_buf = self.pb.value_buffer[root]
        batch_shape = out_t.shape[:-2]
        m, n = out_t.shape[-2:]
        k = ta.shape[-1] if not attrs["transpose_a"] else ta.shape[-2]
        a_rows, a_cols = ta.shape[-2:]
        b_rows, b_cols = tb.shape[-2:]
        sam, sak = (dim_expr(a_cols), Const(1, INDEX)) if not attrs["transpose_a"] else (Const(1, INDEX), dim_expr(a_cols))
        sbk, sbn = (dim_expr(b_cols), Const(1, INDEX)) if not attrs["transpose_b"] else (Const(1, INDEX), dim_expr(b_cols))
        sab = self._batch_stride(ta, batch_shape, anchor)
        sbb = self._batch_stride(tb, batch_shape, anchor)
        batch = dim_expr(num_elements(batch_shape))
        work = num_elements(tuple(batch_shape) + (m, n, k))
        if isinstance(work, int) and work <= SMALL_MATMUL_WORK:
            return self._small_matmul(a_buf, b_buf, out_buf, batch_shape, m, n, k, (sab, sam, sak), (sbb, sbk, sbn),
                                      out_t.dtype, root)
        epilogue = None
        if self.grp.root != anchor:
            bvar, mvar, nvar = Var("b"), Var("m"), Var("n")
            self.anchor_value = {Value(anchor, 0): Var("acc", out_t.dtype)}
            b_index = _unravel(bvar, batch_shape) if batch_shape else []
            epilogue = self.value_at(root, b_index + [mvar, nvar])
            if self.checks:
                raise LoweringError(f"{g.describe(anchor)}: bounds-checked reads in a matmul epilogue")
        return [MatmulTemplate(a_buf, b_buf, out_buf, batch, dim_expr(m), dim_expr(n), dim_expr(k),
                               (sab, sam, sak), (sbb, sbk, sbn), out_t.dtype, epilogue)]

    def _small_matmul(self, a_buf, b_buf, out_buf, batch_shape, m, n, k, a_strides, b_strides, dtype, root) -> list:
        """Plain loops for tiny matmuls (RNN cells, small dense layers): no packing, the
        epilogue inline, and a few lines of IR instead of a blocked kernel."""
        bm, j, r = self.fresh("bm"), self.fresh("n"), self.fresh("k")
        rows = Var(bm)
        bvar = Binary("floordiv", rows, dim_expr(m)) if batch_shape else Const(0, INDEX)
        mvar = Binary("mod", rows, dim_expr(m)) if batch_shape else rows
        (sab, sam, sak), (sbb, sbk, sbn) = a_strides, b_strides
        a_at = Load(a_buf, bvar * sab + mvar * sam + Var(r) * sak, dtype)
        b_at = Load(b_buf, bvar * sbb + Var(r) * sbk + Var(j) * sbn, dtype)
        acc = self.fresh("acc")
        res = self.fresh("res")
        self.anchor_value = {Value(self.grp.anchor, 0): Var(res, dtype)}
        b_index = _unravel(bvar, batch_shape) if batch_shape else []
        out_index = b_index + [mvar, Var(j)]
        value = self.value_at(root, out_index)
        inner = [Declare(acc, Const(0, dtype)),
                 Loop(r, dim_expr(k), [Assign(acc, Binary("add", Var(acc, dtype), Binary("mul", a_at, b_at)))],
                      "reduce"),
                 Let(res, Var(acc, dtype))] + self._take_checks() + \
            [Store(out_buf, _linear(out_index, self.g.value_type(root).shape), value)]
        rows_extent = dim_expr(num_elements(tuple(batch_shape) + (m,)))
        return [Loop(bm, rows_extent, [Loop(j, dim_expr(n), inner, "serial")], "parallel")]

    def _batch_stride(self, t, batch_shape, anchor) -> Expr:
        own = t.shape[:-2]
        if not batch_shape:
            return Const(0, INDEX)
        if all(d == 1 for d in own):
            return Const(0, INDEX)
        padded = (1,) * (len(batch_shape) - len(own)) + tuple(own)
        if tuple(padded) == tuple(batch_shape):
            return dim_expr(num_elements(t.shape[-2:]))
        raise LoweringError(f"{self.g.describe(anchor)}: batched matmul with partially broadcast batch dims "
                            f"{list(own)} vs {list(batch_shape)} is not supported; broadcast_to first")


# `d // 2**62 == 0` exactly when 0 <= d < 2**62: a non-negativity test in the equality-only
# language of the runtime's dim checks.
_NONNEG_DIVISOR = 1 << 62


def _may_be_negative(d) -> bool:
    """A symbolic dim that subtracts a constant (a slice's `b - 5`) can be negative at run time."""
    if not isinstance(d, SymDim) or d.kind == "sym":
        return False
    return any((isinstance(a, int) and a < 0) or _may_be_negative(a) for a in d.args)


def _negative_numerators(d) -> list:
    """Numerators of the floor divisions inside a symbolic dim that can be negative."""
    if not isinstance(d, SymDim) or d.kind == "sym":
        return []
    found = [x for a in d.args for x in _negative_numerators(a)]
    if d.kind == "floordiv" and _may_be_negative(d.args[0]):
        found.append(d.args[0])
    return found


def dim_constraints(g: Graph) -> list:
    """Size equalities the type rules assumed but could not prove: different symbols (or a
    symbol and a constant) meeting in a broadcast or a matmul contraction. The runtime checks
    them when it binds the input shapes, so a mismatch is an error, never an out-of-bounds read.
    Returns [(dim, dim, message)]."""
    checks, seen = [], set()

    def need(a, b, n, what):
        if a == b or not (isinstance(a, SymDim) or isinstance(b, SymDim)):
            return
        key = tuple(sorted((str(a), str(b))))
        if key in seen:
            return
        seen.add(key)
        checks.append((a, b, f"{g.describe(n)}: {what}: size {a} must equal size {b}"))

    def at_least(d, k, n, what):
        key = ("at_least", str(d), k)
        if key not in seen:
            seen.add(key)
            checks.append((SymDim("floordiv", (SymDim("add", (d, -k)), _NONNEG_DIVISOR)), 0,
                           f"{g.describe(n)}: {what}: size {d} must be at least {k}"))

    for n in g.topo():
        op = get_op(g.op(n))
        ins = [g.value_type(v) for v in g.operands(n)]
        for t in g.output_types(n):
            for d in t.shape:
                for num in _negative_numerators(d):
                    # a negative numerator (a VALID window wider than its input) is TF's "output
                    # size would be negative" error; codegen and the runtime both floor-divide,
                    # so this is about the answer, no longer about buffer sizes disagreeing
                    at_least(num, 0, n, f"output shape {list(t.shape)}: size {d}")
                if _may_be_negative(d) and str(d) not in seen:
                    # x[5:] of a [b] axis has size b-5: a negative size is an error (TF would clamp
                    # to empty), reported before any buffer is sized with it.
                    seen.add(str(d))
                    checks.append((SymDim("floordiv", (d, _NONNEG_DIVISOR)), 0,
                                   f"{g.describe(n)}: output shape {list(t.shape)}: size {d} must not be "
                                   f"negative (so {d} // {_NONNEG_DIVISOR} must be 0)"))
        with recording_assumptions() as assumed:  # equalities the op's type rule took on trust
            op.infer(ins, g.attrs(n))
        for a, b in assumed:
            need(a, b, n, f"operands {', '.join(format_shape(t.shape) for t in ins)}")
        if op.kind == "elementwise" or g.op(n) == "broadcast_to":
            out = g.output_types(n)[0].shape
            for t in ins:
                lead = len(out) - len(t.shape)
                for i, d in enumerate(t.shape):
                    if d != 1:
                        need(d, out[lead + i], n, f"operand {list(t.shape)} broadcast to {list(out)}")
        elif g.op(n) == "concat":
            out = g.output_types(n)[0].shape
            axis = int(g.attrs(n)["axis"]) % len(out)
            for t in ins:
                for i, d in enumerate(t.shape):
                    if i != axis:
                        need(d, out[i], n, f"operand {list(t.shape)} concatenated along axis {axis}")
        elif g.op(n) == "matmul":
            ta, tb = ins
            attrs = g.attrs(n)
            k1 = ta.shape[-2] if attrs["transpose_a"] else ta.shape[-1]
            k2 = tb.shape[-1] if attrs["transpose_b"] else tb.shape[-2]
            need(k1, k2, n, "contraction dimension")
            batch = g.output_types(n)[0].shape[:-2]
            for t in ins:
                own = t.shape[:-2]
                for i, d in enumerate(own):
                    if d != 1:
                        need(d, batch[len(batch) - len(own) + i], n, "batch dimension")
        elif g.op(n) in ("argmax", "argmin") and isinstance(ins[0].shape[g.attrs(n)["axis"]], SymDim):
            # an empty axis has no index to return (TF raises too)
            at_least(ins[0].shape[g.attrs(n)["axis"]], 1, n,
                     f"cannot reduce over the empty axis {g.attrs(n)['axis']} of {list(ins[0].shape)}")
        elif g.op(n) == "pad" and str(g.attrs(n).get("mode", "constant")).lower() != "constant":
            # a mirrored border longer than the axis would fold back onto the wrong elements
            mode = str(g.attrs(n)["mode"]).lower()
            for a, (d, (lo, hi)) in enumerate(zip(ins[0].shape, g.attrs(n)["paddings"])):
                if isinstance(d, SymDim) and isinstance(lo, int) and isinstance(hi, int) and max(lo, hi) > 0:
                    at_least(d, max(lo, hi) + (mode == "reflect"), n,
                             f"{mode.upper()} paddings {[list(p) for p in g.attrs(n)['paddings']]} of axis {a} "
                             f"of {list(ins[0].shape)}")
        elif g.op(n) in ("slice", "strided_slice"):
            # A slice of a symbolic axis is assumed in range and verified as elements are read:
            # with nothing to read (an empty result) that never happens and the assumed size
            # would be the answer's shape. Fixed-size slices are checked when shapes are bound.
            t = ins[0]
            if g.op(n) == "slice":
                begin, sizes, assumed = slice_sizes(t, g.attrs(n))
                spans = [(a, begin[a], sizes[a], 1) for a in assumed]
            else:
                axes, _ = strided_layout(t.shape, g.attrs(n), t)
                spans = [(a, start, size, st) for a, (start, size, st, ok) in enumerate(axes) if ok]
            for a, start, size, st in spans:
                d = t.shape[a]
                if not isinstance(size, int) or size <= 0 or not isinstance(d, SymDim):
                    continue
                for p in (start, dim_add(start, (size - 1) * st)):
                    what = f"{g.op(n)} reads index {p} of axis {a} of {list(t.shape)}"
                    if isinstance(p, SymDim):
                        at_least(p, 0, n, what)
                    try:
                        room = dim_sub(d, p)
                    except OpError:
                        continue
                    if isinstance(room, SymDim):
                        at_least(room, 1, n, what)
        elif g.op(n) == "reshape":
            # a -1 became size // known: a size that does not divide makes the counts differ too
            need(num_elements(ins[0].shape), num_elements(g.output_types(n)[0].shape), n,
                 f"reshape {list(ins[0].shape)} into {list(g.output_types(n)[0].shape)}: element counts")
    return checks


def schedule_groups(g: Graph, groups: dict, donate: dict) -> tuple:
    """Kernel order, and the donated outputs that can be written straight into their input.

    An output donated to input p (a variable update) is stored in place when the kernel
    computing it is elementwise and reads p only at the index it writes (through same-shape
    elementwise ops, e.g. Adam's `w - lr * m / (sqrt(v) + eps)`) and every other kernel reading p can run
    before it. Kernels are ordered topologically with those extra edges; the rest keep
    their fusion order. Outputs that cannot be done in place are copied at the end."""
    import networkx as nx

    dag = nx.DiGraph()
    dag.add_nodes_from(groups)
    group_of = {m: gid for gid, grp in groups.items() for m in grp.members}
    for gid, grp in groups.items():
        for m in grp.members:
            for v in g.operands(m):
                src = group_of.get(v.node)
                if src is not None and src != gid:
                    dag.add_edge(src, gid)
    in_place = set()
    outputs = g.graph["outputs"]
    params = g.graph["inputs"]
    for j, i in sorted(donate.items()):
        v = outputs[j]
        writer = group_of.get(v.node)
        if writer is None or outputs.count(v) != 1 or groups[writer].root != v.node:
            continue
        p = params[i]
        if Value(p, 0) in outputs or not _reads_only_at_store_index(g, groups[writer], p, v):
            continue
        readers = {group_of[u] for u, _ in g.users(p) if u in group_of} - {writer}
        extra = [(r, writer) for r in readers if not dag.has_edge(r, writer)]
        dag.add_edges_from(extra)
        if nx.is_directed_acyclic_graph(dag):
            in_place.add(j)
        else:
            dag.remove_edges_from(extra)
    order = [groups[gid] for gid in nx.lexicographical_topological_sort(dag)]
    return order, in_place


def _reads_only_at_store_index(g: Graph, grp: Group, p: int, v: Value) -> bool:
    """True if every read of parameter p inside the group happens at the index being stored."""
    import networkx as nx

    members = set(grp.members)
    shape = g.value_type(v).shape
    if grp.anchor is not None:
        return False  # matmul/reduce kernels may use their output buffer before the epilogue runs
    if g.value_type(Value(p, 0)).shape != shape:
        return False
    for m, _ in g.users(p):
        if m not in members:
            continue
        path_nodes = nx.descendants(g, m) & members | {m}
        for n in path_nodes:
            if get_op(g.op(n)).kind != "elementwise" or g.output_types(n)[0].shape != shape:
                return False
    return True


def _arg_cmp(opdef) -> str:
    return "gt" if opdef.name == "argmax" else "lt"


def _broadcast_index(index: list, out_shape, in_shape) -> list:
    lead = len(out_shape) - len(in_shape)
    return [Const(0, INDEX) if (d == 1 and out_shape[lead + i] != 1) else index[lead + i]
            for i, d in enumerate(in_shape)]


def _ident(s: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in s)


def lower(g: Graph, name: str = "main", donate: Optional[dict] = None) -> Program:
    return ProgramBuilder(g, name, donate).build()
