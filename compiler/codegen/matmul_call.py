"""A MatmulTemplate statement: call the blocked matmul from matmul.py and generate its epilogue.

matmul.py's function computes C = A @ B and, after finishing rows [r0, r1) of batch b, calls
`void @epi(ptr %ctx, i64 %b, i64 %r0, i64 %r1)`. We generate that epilogue from the template's
`epilogue` Expr: for each (m, n) of those rows it loads C into Var('acc'), evaluates the
expression (which may also use Var('b'), Var('m'), Var('n') and load other buffers) and stores
the result back. `ctx` points to a stack array of 8-byte slots: the kernel's buffer pointers
(in the kernel's parameter order) followed by the size symbols.
"""
from __future__ import annotations

from .. import loopir as L
from .kernelgen import KernelGen
from .target import CodegenError


def _matmul_ir(fn: str, dtype, epilogue_fn):
    try:
        from . import matmul
    except ImportError as e:
        raise CodegenError(f"matmul kernels need compiler/codegen/matmul.py, which failed to import: {e}") from None
    decls = matmul.matmul_declarations() if hasattr(matmul, "matmul_declarations") else ""
    return decls + "\n" + matmul.matmul_function_ir(fn, dtype, epilogue_fn)


def shared_gemm(module, dtype) -> str:
    """The module's GEMM for `dtype` (added on first use)."""
    from . import matmul
    defined = module.__dict__.setdefault("_gemms", {})
    if dtype.name not in defined:
        fn = f"ff_gemm_{dtype.name}"
        module.add_external(_matmul_ir(fn, dtype, matmul.INDIRECT_EPILOGUE))
        defined[dtype.name] = fn
    return defined[dtype.name]


class _EpilogueGen(KernelGen):
    def __init__(self, parent: KernelGen, fn: str):
        super().__init__(parent.ctx, parent.kernel, fn)
        self.buffers = parent.buffers
        self.buf_ptr = parent.buf_ptr
        self.sym_val = parent.sym_val

    def generate_epilogue(self, s: L.MatmulTemplate) -> str:
        for i, b in enumerate(self.buffers):
            self.allocas += [f"  %slot.{i} = getelementptr inbounds i64, ptr %ctx, i64 {i}",
                             f"  {self.buf_ptr[b]} = load ptr, ptr %slot.{i}, align 8"]
        nb = len(self.buffers)
        for j, sym in enumerate(self.ctx.symbols):
            self.allocas += [f"  %slot.{nb + j} = getelementptr inbounds i64, ptr %ctx, i64 {nb + j}",
                             f"  {self.sym_val[sym]} = load i64, ptr %slot.{nb + j}, align 8"]
        self.scope[-1].update({"b": "%batch", "r0": "%r0", "r1": "%r1"})
        m, n, b = L.Var("m"), L.Var("n"), L.Var("b")
        idx = (b * s.m + m) * s.n + n
        body = [L.Let("m", L.Var("__row") + L.Var("r0")),
                L.Loop("n", s.n, [L.Let("acc", L.Load(s.out, idx, s.dtype)),
                                  L.Store(s.out, idx, s.epilogue)], "parallel")]
        self.stmts([L.Loop("__row", L.Var("r1") - L.Var("r0"), body, "serial")])
        self.put("ret void")
        head = f"define internal void @{self.fn}(ptr %ctx, i64 %batch, i64 %r0, i64 %r1) nounwind {{\nentry:"
        return "\n".join([head] + self.allocas + self.lines + ["}"]) + "\n"


def emit_matmul(g: KernelGen, s: L.MatmulTemplate) -> None:
    if s.epilogue is not None and s.epilogue.dtype != s.dtype:
        raise CodegenError(f"kernel {g.kernel.name}: matmul epilogue has dtype {s.epilogue.dtype.name}, "
                           f"the output {s.out} is {s.dtype.name}")
    n = getattr(g, "matmul_count", 0)
    g.matmul_count = n + 1
    module = g.ctx.module
    # One blocked GEMM per dtype per module, taking the epilogue as a function pointer: each
    # matmul site only adds its small epilogue (the GEMM is most of a module's LLVM time).
    fn = shared_gemm(module, s.dtype)
    if s.epilogue is not None:
        epi = f"{g.fn}_epi{n}"
        g.extra_functions.append(_EpilogueGen(g, epi).generate_epilogue(s))
    else:
        epi = None   # a null epilogue also lets the GEMM split skinny problems by columns
    nslots = len(g.buffers) + len(g.ctx.symbols)
    ctx = f"%mmctx.{n}"
    g.allocas.append(f"  {ctx} = alloca [{max(nslots, 1)} x i64], align 8")
    for i, b in enumerate(g.buffers):
        p = g.emit(f"getelementptr inbounds i64, ptr {ctx}, i64 {i}")
        g.put(f"store ptr {g.buf_ptr[b]}, ptr {p}, align 8")
    for j, sym in enumerate(g.ctx.symbols):
        p = g.emit(f"getelementptr inbounds i64, ptr {ctx}, i64 {len(g.buffers) + j}")
        g.put(f"store i64 {g.sym_val[sym]}, ptr {p}, align 8")
    vals = [g.ev(e) for e in (s.batch, s.m, s.n, s.k, *s.a_strides, *s.b_strides)]
    args = [f"ptr {g.pointer(s.a)}", f"ptr {g.pointer(s.b)}", f"ptr {g.pointer(s.out)}"]
    args += [f"i64 {v}" for v in vals] + ["i64 %tid", "i64 %nthreads", f"ptr {ctx}", f"ptr @{epi}" if epi else "ptr null"]
    g.put(f"call void @{fn}({', '.join(args)})")
    g.invalidate({"buf:" + s.out})
