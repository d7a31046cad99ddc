"""One loop-IR kernel -> the text of one internal LLVM function.

    define internal i32 @<name>(ptr %b.<buf>..., i64 %sym.<s>..., i64 %tid, i64 %nthreads)

returns 0 or the code of a failed `ErrorIf`. Buffers arrive as parameters (marked `noalias`
when the kernel does not both read and write them), size symbols as i64 values.

Expressions are emitted once per scope: a memo maps an Expr to its SSA value; entries that
depend on a buffer or scalar variable are dropped when a Store/Assign/Let may change it, and
loops drop everything their body changes before entering. `Select` evaluates both arms (like
LLVM `select`): loads in its arms must be in bounds; guard out-of-range reads with `If`.
"""
from __future__ import annotations

from .. import loopir as L
from .irtext import const_literal, ltype, mtype
from .scalar_ops import binary, cast, unary
from .target import CodegenError

# No `arcp`: with it LLVM turns x / y into x * (1 / y) whenever 1 / y can be hoisted (a scalar or
# broadcast divisor), which is not exactly rounded: floor(x / 41) came out one too small for 210 of
# 30000 values and a third of x / 3 were an ulp off, where TF divides exactly.
DEFAULT_FLAGS = "nsz contract afn"
REDUCTION_OPS = ("add", "mul", "max", "min")
MATH_UNARY = ("exp", "expm1", "log", "log1p", "tanh", "sigmoid", "erf", "sin", "cos")


class KernelContext:
    """What a kernel needs from the module: buffer table, symbols, constants, helpers."""

    def __init__(self, program: L.Program, module, strict: bool):
        self.program = program
        self.module = module          # llvm.ModuleBuilder: declare(), mathlib, const_global()
        self.strict = strict
        self.symbols = list(program.symbols)
        self.alias_class = {}         # buffer -> representative (outputs written into inputs)
        for out, inp in (getattr(program, "aliases", None) or {}).items():
            self.alias_class[out] = inp
            self.alias_class[inp] = inp


def _walk_stmts(stmts, fn):
    for s in stmts:
        fn(s)
        if isinstance(s, L.Loop):
            _walk_stmts(s.body, fn)
        elif isinstance(s, L.If):
            _walk_stmts(s.then, fn)
            _walk_stmts(s.orelse, fn)


def _stmt_exprs(s):
    if isinstance(s, L.Loop):
        return [s.extent]
    if isinstance(s, (L.Let, L.Assign)):
        return [s.value]
    if isinstance(s, L.Declare):
        return [s.init]
    if isinstance(s, L.Store):
        return [s.index, s.value]
    if isinstance(s, (L.ErrorIf, L.If)):
        return [s.cond]
    if isinstance(s, L.MatmulTemplate):
        return [s.batch, s.m, s.n, s.k, *s.a_strides, *s.b_strides] + ([s.epilogue] if s.epilogue is not None else [])
    return []


def expr_loads(e, out: set):
    """Buffer names an expression loads."""
    stack = [e]
    seen = set()
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, L.Load):
            out.add(x.buffer)
            stack.append(x.index)
        elif isinstance(x, L.Unary):
            stack.append(x.x)
        elif isinstance(x, L.Binary):
            stack += [x.a, x.b]
        elif isinstance(x, L.Select):
            stack += [x.cond, x.a, x.b]
        elif isinstance(x, L.Cast):
            stack.append(x.x)
    return out


def kernel_buffers(kernel: L.Kernel):
    """(read, written) buffer names found in the body, merged with the kernel's declarations."""
    reads, writes = set(kernel.reads), set(kernel.writes)

    def visit(s):
        for e in _stmt_exprs(s):
            expr_loads(e, reads)
        if isinstance(s, L.Store):
            writes.add(s.buffer)
        elif isinstance(s, L.MatmulTemplate):
            reads.update((s.a, s.b))
            writes.add(s.out)
            reads.add(s.out)  # the epilogue reads C back
    _walk_stmts(kernel.body, visit)
    return reads, writes


def parallel_shape(kernel: L.Kernel) -> str:
    """'loop' when the kernel is one parallel loop (after scalar setup) that threads may split,
    'matmul' when it is a lone matmul template (split internally), else 'serial'."""
    body = [s for s in kernel.body if not isinstance(s, L.Let)]
    if len(body) == 1 and isinstance(body[0], L.Loop) and body[0].kind == "parallel":
        return "loop"
    if len(body) == 1 and isinstance(body[0], L.MatmulTemplate):
        return "matmul"
    return "serial"


def kernel_attributes(kernel: L.Kernel) -> str:
    """Kernels stay separate functions (`noinline`): inlining hundreds of them into the entry
    makes one huge function that LLVM optimizes in superlinear time. Tiny kernels are still
    optimized for speed: an unrolled RNN step runs hundreds of them per call, and unrolling
    plus SLP vectorization made its native time 2.4x shorter (9.3 -> 3.9 us) for 0.6 s more
    compile time than compiling them for size [benchmarks/bench_training.py]."""
    return "nounwind noinline"


class KernelGen:
    def __init__(self, ctx: KernelContext, kernel: L.Kernel, fn_name: str):
        self.ctx = ctx
        self.kernel = kernel
        self.fn = fn_name
        self.flags = "" if ctx.strict else DEFAULT_FLAGS
        self.lines = []
        self.allocas = []
        self.n = 0
        self.block = "entry"
        self.memo = [{}]              # layers of Expr -> SSA value
        self.scope = [{}]             # layers of let/loop var name -> SSA value
        self.declared = {}            # accumulator name -> (alloca, dtype)
        self._deps = {}               # key -> buffers/variables the value depends on
        self._ids = {}                # id(expr) -> (expr, key)
        self._intern = {}             # structure -> key
        self.extra_functions = []     # epilogues etc.
        program = ctx.program
        reads, writes = kernel_buffers(kernel)
        self.buffers = [b for b in program.buffers if (b in reads or b in writes)
                        and program.buffers[b].role != "const"]
        cls = ctx.alias_class
        written_classes = {cls.get(b, b) for b in writes}
        read_classes = {cls.get(b, b) for b in reads}
        # noalias is sound when no other pointer reaching the same memory is written through.
        self.noalias = {b for b in self.buffers
                        if not (cls.get(b, b) in written_classes and cls.get(b, b) in read_classes)
                        and sum(cls.get(o, o) == cls.get(b, b) for o in self.buffers) == 1}
        self.buf_ptr = {b: f"%b.{i}" for i, b in enumerate(self.buffers)}
        self.sym_val = {s: f"%s.{i}" for i, s in enumerate(ctx.symbols)}

    # ------------------------------------------------------------------ emission helpers
    def tmp(self) -> str:
        self.n += 1
        return f"%t{self.n}"

    def label(self, hint="L") -> str:
        self.n += 1
        return f"{hint}{self.n}"

    def emit(self, text: str) -> str:
        name = self.tmp()
        self.lines.append(f"  {name} = {text}")
        return name

    def put(self, text: str) -> None:
        self.lines.append(f"  {text}")

    def start_block(self, name: str) -> None:
        self.lines.append(f"{name}:")
        self.block = name

    def br(self, target: str) -> None:
        self.put(f"br label %{target}")

    def call_intrinsic(self, name: str, ret: str, args: list, flags: str = "") -> str:
        self.ctx.module.declare_intrinsic(name, ret, [a.split(" ")[0] for a in args])
        fl = f" {flags}" if flags else ""
        return self.emit(f"call{fl} {ret} @{name}({', '.join(args)})")

    # ------------------------------------------------------------------ memo / scopes
    def key(self, e) -> int:
        """A small int equal for structurally equal expressions. Computed once per object (the
        dataclasses' own hash recurses through the whole tree on every call, which is
        exponential on DAGs)."""
        hit = self._ids.get(id(e))
        if hit is not None:
            return hit[1]
        if isinstance(e, L.Const):
            struct = ("c", const_literal(e.value, e.dtype), ltype(e.dtype))
        elif isinstance(e, L.Var):
            struct = ("v", e.name, e.dtype.name)
        elif isinstance(e, L.SizeOf):
            struct = ("s", str(e.dim))
        elif isinstance(e, L.Load):
            struct = ("l", e.buffer, self.key(e.index), e.dtype.name)
        elif isinstance(e, L.Unary):
            struct = ("u", e.op, self.key(e.x), e.dtype.name)
        elif isinstance(e, L.Binary):
            struct = ("b", e.op, self.key(e.a), self.key(e.b), e.dtype.name)
        elif isinstance(e, L.Select):
            struct = ("?", self.key(e.cond), self.key(e.a), self.key(e.b), e.dtype.name)
        elif isinstance(e, L.Cast):
            struct = ("t", self.key(e.x), e.dtype.name)
        else:
            struct = ("o", id(e))
        k = self._intern.setdefault(struct, len(self._intern))
        self._ids[id(e)] = (e, k)  # holding e keeps its id from being reused
        return k

    def deps(self, e) -> frozenset:
        k = self.key(e)
        d = self._deps.get(k)
        if d is None:
            if isinstance(e, L.Load):
                d = frozenset({"buf:" + e.buffer}) | self.deps(e.index)
            elif isinstance(e, L.Var):
                d = frozenset({"var:" + e.name})
            elif isinstance(e, L.Unary) or isinstance(e, L.Cast):
                d = self.deps(e.x)
            elif isinstance(e, L.Binary):
                d = self.deps(e.a) | self.deps(e.b)
            elif isinstance(e, L.Select):
                d = self.deps(e.cond) | self.deps(e.a) | self.deps(e.b)
            else:
                d = frozenset()
            self._deps[k] = d
        return d

    def invalidate(self, keys) -> None:
        keys = set(keys)
        deps = self._deps
        for layer in self.memo:
            dead = [k for k in layer if deps[k] & keys]
            for k in dead:
                del layer[k]

    def push(self):
        self.memo.append({})
        self.scope.append({})

    def pop(self):
        self.memo.pop()
        self.scope.pop()

    def lookup_var(self, name: str, dtype):
        for layer in reversed(self.scope):
            if name in layer:
                return layer[name]
        if name in self.declared:
            ptr, d = self.declared[name]
            v = self.emit(f"load {mtype(d)}, ptr {ptr}")
            return self.from_mem(v, d)
        raise CodegenError(f"kernel {self.kernel.name}: variable {name!r} is used but never defined")

    # ------------------------------------------------------------------ values
    def to_mem(self, v: str, d) -> str:
        return self.emit(f"zext i1 {v} to i8") if d.is_bool else v

    def from_mem(self, v: str, d) -> str:
        return self.emit(f"icmp ne i8 {v}, 0") if d.is_bool else v

    def address(self, buf: str, index, d) -> str:
        idx = self.ev(index)
        if index.dtype != L.INDEX:
            idx = self.cast_value(idx, index.dtype, L.INDEX)
        base = self.pointer(buf)
        return self.emit(f"getelementptr inbounds {mtype(d)}, ptr {base}, i64 {idx}")

    def pointer(self, buf: str) -> str:
        b = self.ctx.program.buffers.get(buf)
        if b is None:
            raise CodegenError(f"kernel {self.kernel.name}: unknown buffer {buf!r}")
        if b.role == "const":
            return self.ctx.module.const_global(buf)
        return self.buf_ptr[buf]

    def dim(self, d) -> str:
        if isinstance(d, int):
            return str(d)
        if d.kind == "sym":
            name = d.args[0]
            if name not in self.sym_val:
                raise CodegenError(f"size symbol {name!r} is not in the program's symbols {self.ctx.symbols}")
            return self.sym_val[name]
        a, b = self.dim(d.args[0]), self.dim(d.args[1])
        if d.kind == "mul":
            return self.emit(f"mul i64 {a}, {b}")
        if d.kind == "add":
            return self.emit(f"add i64 {a}, {b}")
        # floor division, as the runtime (evaluate_dim) and shapes.py compute sizes: a size whose
        # numerator can go negative must come out the same here or loops overrun their buffers
        zero = self.emit(f"icmp eq i64 {b}, 0")
        safe = self.emit(f"select i1 {zero}, i64 1, i64 {b}")
        q = self.emit(f"sdiv i64 {a}, {safe}")
        r = self.emit(f"srem i64 {a}, {safe}")
        inexact = self.emit(f"icmp ne i64 {r}, 0")
        signs = self.emit(f"xor i64 {r}, {safe}")
        opposite = self.emit(f"icmp slt i64 {signs}, 0")
        down = self.emit(f"and i1 {inexact}, {opposite}")
        below = self.emit(f"add i64 {q}, -1")
        floor = self.emit(f"select i1 {down}, i64 {below}, i64 {q}")
        return self.emit(f"select i1 {zero}, i64 0, i64 {floor}")

    def ev(self, e) -> str:
        """SSA value (or literal) of an expression, in its register type."""
        if isinstance(e, L.Const):
            return const_literal(e.value, e.dtype)
        k = self.key(e)
        for layer in reversed(self.memo):
            v = layer.get(k)
            if v is not None:
                return v
        v = self._ev(e)
        self.deps(e)
        self.memo[-1][k] = v
        return v

    def _ev(self, e) -> str:
        if isinstance(e, L.Var):
            return self.lookup_var(e.name, e.dtype)
        if isinstance(e, L.SizeOf):
            return self.dim(e.dim)
        if isinstance(e, L.Load):
            addr = self.address(e.buffer, e.index, e.dtype)
            v = self.emit(f"load {mtype(e.dtype)}, ptr {addr}, align {e.dtype.itemsize}")
            return self.from_mem(v, e.dtype)
        if isinstance(e, L.Cast):
            return self.cast_value(self.ev(e.x), e.x.dtype, e.dtype)
        if isinstance(e, L.Select):
            c, a, b = self.ev(e.cond), self.ev(e.a), self.ev(e.b)
            return self.emit(f"select i1 {c}, {ltype(e.dtype)} {a}, {ltype(e.dtype)} {b}")
        if isinstance(e, L.Unary):
            return unary(self, e.op, self.ev(e.x), e.x.dtype, e.dtype)
        if isinstance(e, L.Binary):
            return binary(self, e.op, self.ev(e.a), self.ev(e.b), e.a.dtype, self.flags)
        raise CodegenError(f"kernel {self.kernel.name}: cannot generate code for expression {e!r}")

    def cast_value(self, v: str, src, dst) -> str:
        return cast(self, v, src, dst)

    # ------------------------------------------------------------------ statements
    def stmts(self, body) -> None:
        for s in body:
            self.stmt(s)

    def stmt(self, s) -> None:
        if isinstance(s, L.Loop):
            self.loop(s)
        elif isinstance(s, L.Let):
            v = self.ev(s.value)
            self.invalidate({"var:" + s.var})
            self.scope[-1][s.var] = v
        elif isinstance(s, L.Declare):
            d = s.init.dtype
            if s.var not in self.declared:
                ptr = f"%acc.{len(self.declared)}"
                self.allocas.append(f"  {ptr} = alloca {mtype(d)}, align {d.itemsize}")
                self.declared[s.var] = (ptr, d)
            ptr, d = self.declared[s.var]
            v = self.to_mem(self.ev(s.init), d)
            self.invalidate({"var:" + s.var})
            self.put(f"store {mtype(d)} {v}, ptr {ptr}")
        elif isinstance(s, L.Assign):
            if s.var not in self.declared:
                raise CodegenError(f"kernel {self.kernel.name}: Assign to {s.var!r} without Declare")
            ptr, d = self.declared[s.var]
            v = self.to_mem(self.assigned_value(s, d), d)
            self.invalidate({"var:" + s.var})
            self.put(f"store {mtype(d)} {v}, ptr {ptr}")
        elif isinstance(s, L.Store):
            d = self.ctx.program.buffers[s.buffer].dtype if s.buffer in self.ctx.program.buffers else s.value.dtype
            val = self.ev(s.value)
            if s.value.dtype != d:
                val = self.cast_value(val, s.value.dtype, d)
            val = self.to_mem(val, d)
            addr = self.address(s.buffer, s.index, d)
            self.put(f"store {mtype(d)} {val}, ptr {addr}, align {d.itemsize}")
            self.invalidate({"buf:" + s.buffer})
        elif isinstance(s, L.ErrorIf):
            c = self.ev(s.cond)
            fail, ok = self.label("err"), self.label("ok")
            self.put(f"br i1 {c}, label %{fail}, label %{ok}")
            self.start_block(fail)
            self.put(f"ret i32 {int(s.code)}")
            self.start_block(ok)
        elif isinstance(s, L.If):
            self.if_stmt(s)
        elif isinstance(s, L.MatmulTemplate):
            from .matmul_call import emit_matmul
            emit_matmul(self, s)
        else:
            raise CodegenError(f"kernel {self.kernel.name}: unsupported statement {type(s).__name__}")

    def assigned_value(self, s: L.Assign, d) -> str:
        """Accumulator updates inside reduce loops get `reassoc` so float reductions vectorize."""
        e = s.value
        if (self.in_reduce and isinstance(e, L.Binary) and e.op in REDUCTION_OPS and d.is_floating
                and self.flags and L.Var(s.var, d) in (e.a, e.b)):
            return binary(self, e.op, self.ev(e.a), self.ev(e.b), e.a.dtype, self.flags + " reassoc")
        return self.ev(e)

    in_reduce = False

    def loop(self, s: L.Loop, split: bool = False) -> None:
        changed = set()

        def visit(x):
            if isinstance(x, L.Store):
                changed.add("buf:" + x.buffer)
            elif isinstance(x, (L.Assign, L.Let, L.Declare)):
                changed.add("var:" + x.var)
            elif isinstance(x, L.Loop):
                changed.add("var:" + x.var)
            elif isinstance(x, L.MatmulTemplate):
                changed.add("buf:" + x.out)
        visit(s)
        _walk_stmts(s.body, visit)
        self.invalidate(changed)
        extent = self.ev(s.extent)
        if split:
            start, end = self.split_range(extent)
        else:
            start, end = "0", extent
        pre = self.block
        head, body, latch, done = self.label("loop"), self.label("body"), self.label("latch"), self.label("done")
        self.br(head)
        self.start_block(head)
        i = self.tmp()
        nxt = self.tmp()
        phi_at = len(self.lines)
        self.lines.append(None)  # the phi, filled once the latch block is known
        c = self.emit(f"icmp slt i64 {i}, {end}")
        self.put(f"br i1 {c}, label %{body}, label %{done}")
        self.start_block(body)
        self.push()
        self.scope[-1][s.var] = i
        outer_reduce = self.in_reduce
        self.in_reduce = s.kind == "reduce" or outer_reduce
        self.stmts(s.body)
        self.in_reduce = outer_reduce
        self.pop()
        self.invalidate(changed)
        self.br(latch)
        self.start_block(latch)
        self.lines.append(f"  {nxt} = add nuw nsw i64 {i}, 1")
        self.br(head)
        self.lines[phi_at] = f"  {i} = phi i64 [ {start}, %{pre} ], [ {nxt}, %{latch} ]"
        self.start_block(done)

    def split_range(self, extent: str):
        """This thread's [start, end) of a parallel loop: contiguous, equal chunks."""
        n1 = self.emit("add i64 %nthreads, -1")
        ext1 = self.emit(f"add i64 {extent}, {n1}")
        chunk = self.emit(f"udiv i64 {ext1}, %nthreads")
        lo = self.emit(f"mul i64 %tid, {chunk}")
        start = self.call_intrinsic("llvm.smin.i64", "i64", [f"i64 {lo}", f"i64 {extent}"])
        hi = self.emit(f"add i64 {start}, {chunk}")
        end = self.call_intrinsic("llvm.smin.i64", "i64", [f"i64 {hi}", f"i64 {extent}"])
        return start, end

    def if_stmt(self, s: L.If) -> None:
        c = self.ev(s.cond)
        then, other, done = self.label("then"), self.label("else"), self.label("endif")
        self.put(f"br i1 {c}, label %{then}, label %{other}")
        for label, body in ((then, s.then), (other, s.orelse)):
            self.start_block(label)
            self.push()
            self.stmts(body)
            self.pop()
            self.br(done)
        self.start_block(done)

    # ------------------------------------------------------------------ the function
    def generate(self) -> str:
        shape = parallel_shape(self.kernel)
        for s in self.kernel.body:
            if shape == "loop" and isinstance(s, L.Loop):
                self.loop(s, split=True)
            else:
                self.stmt(s)
        self.put("ret i32 0")
        params = []
        for b in self.buffers:
            params.append(f"ptr {'noalias ' if b in self.noalias else ''}{self.buf_ptr[b]}")
        params += [f"i64 {self.sym_val[s]}" for s in self.ctx.symbols]
        params += ["i64 %tid", "i64 %nthreads"]
        head = f"define internal i32 @{self.fn}({', '.join(params)}) {kernel_attributes(self.kernel)} {{\nentry:"
        return "\n".join([head] + self.allocas + self.lines + ["}"]) + "\n"
