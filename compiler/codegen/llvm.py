"""Loop IR program -> one LLVM module -> native object code for the host CPU.

The module holds one internal function per kernel (kernelgen.py), the constants as private
globals, the math helpers that were used (mathlib.py), a reusable thread barrier, and one
exported entry point with the ABI of ARCHITECTURE.md:

    int32 ff_entry_<name>(void **buffers, int64 *dims, int64 tid, int64 nthreads, int64 *barrier)

Every thread runs the entry. Kernels whose body is one parallel loop (or one matmul template)
are split by `tid`; the others run on thread 0. Between kernels the threads meet at a barrier
(only when nthreads > 1). An `ErrorIf` makes its kernel return the code; the entry records
it in `barrier[2]`, skips the remaining kernels but still meets every barrier (so no thread
waits forever) and returns the code.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from .. import loopir as L
from ..shapes import SymDim, encode_dim
from .irtext import bytes_literal
from .kernelgen import KernelContext, KernelGen, parallel_shape
from .mathlib import MathLib
from .target import CodegenError, compile_ir, host_cpu, module_header

__all__ = ["generate", "CodegenResult", "CodegenError", "entry_name"]

BARRIER_SLOTS = 8          # int64 words the runtime zeroes per call: count, generation, error
SPINS_BEFORE_YIELD = 512   # pause-spins before a waiting thread starts calling sched_yield


def entry_name(program_name: str) -> str:
    return "ff_entry_" + re.sub(r"[^A-Za-z0-9_]", "_", program_name)


@dataclass
class CodegenResult:
    llvm_ir: str
    signature: dict
    _compiled: object = field(repr=False, default=None)
    timings: dict = field(default_factory=dict)

    @property
    def object(self) -> bytes:
        return self._compiled.object

    @property
    def optimized_ir(self) -> str:
        return self._compiled.optimized_ir

    @property
    def asm(self) -> str:
        return self._compiled.asm


class ModuleBuilder:
    """Collects the pieces of one module; declarations are de-duplicated by name."""

    def __init__(self, program: L.Program):
        self.program = program
        self.decls = {}
        self.globals = []
        self.functions = []
        self.mathlib = MathLib()
        self.const_names = {}
        self._attr_base = 100

    def declare_intrinsic(self, name: str, ret: str, argtypes) -> None:
        if name not in self.decls:
            self.decls[name] = f"declare {ret} @{name}({', '.join(argtypes)})"

    def const_global(self, buf: str) -> str:
        name = self.const_names.get(buf)
        if name is None:
            if buf not in self.program.constants:
                raise CodegenError(f"constant buffer {buf!r} has no data in program.constants")
            b = self.program.buffers[buf]
            arr = np.ascontiguousarray(np.asarray(self.program.constants[buf]).astype(b.dtype.np, copy=False))
            if b.dtype.is_bool:
                arr = arr.view(np.uint8)
            name = f"@cst.{len(self.const_names)}"
            data = arr.tobytes()
            self.globals.append(f"{name} = private unnamed_addr constant [{len(data)} x i8] "
                                f"{bytes_literal(data)}, align 64")
            self.const_names[buf] = name
        return name

    def add_external(self, text: str) -> None:
        """Splice in IR text from another generator (the matmul template): its declarations are
        merged with ours and its attribute groups renumbered so they cannot collide."""
        body = []
        shift = self._attr_base
        groups = set(int(m) for m in re.findall(r"#(\d+)", text))
        self._attr_base += max(groups, default=0) + 1
        for line in text.splitlines():
            if groups:
                line = re.sub(r"#(\d+)", lambda m: f"#{int(m.group(1)) + shift}", line)
            s = line.strip()
            if s.startswith("declare "):
                m = re.search(r"@([\w.$]+)\s*\(", s)
                self.decls.setdefault(m.group(1) if m else s, s)
            elif s.startswith(("target triple", "target datalayout", "source_filename")):
                continue
            else:
                body.append(line)
        self.functions.append("\n".join(body) + "\n")

    def text(self) -> str:
        parts = [module_header()]
        parts += self.globals
        parts += self.mathlib.globals()
        parts.append("")
        parts += self.functions
        parts.append(self.mathlib.text())
        parts += list(self.decls.values())
        parts += self.mathlib.declarations(set(self.decls))
        return "\n".join(parts) + "\n"


# ------------------------------------------------------------------------------ entry point
_SYNC = f"""
define internal i32 @ff_sync(ptr %bar, i64 %n, i32 %st) noinline nounwind {{
entry:
  %multi = icmp sgt i64 %n, 1
  br i1 %multi, label %sync, label %single
single:
  ret i32 %st
sync:
  %errp = getelementptr inbounds i64, ptr %bar, i64 2
  %genp = getelementptr inbounds i64, ptr %bar, i64 1
  %has = icmp ne i32 %st, 0
  br i1 %has, label %record, label %arrive
record:
  %st64 = sext i32 %st to i64
  %xchg = cmpxchg ptr %errp, i64 0, i64 %st64 seq_cst seq_cst
  br label %arrive
arrive:
  %gen = load atomic i64, ptr %genp acquire, align 8
  %old = atomicrmw add ptr %bar, i64 1 acq_rel
  %n1 = add i64 %n, -1
  %last = icmp eq i64 %old, %n1
  br i1 %last, label %release, label %spin
release:
  store atomic i64 0, ptr %bar monotonic, align 8
  %g1 = atomicrmw add ptr %genp, i64 1 release
  br label %done
spin:
  %k = phi i64 [ 0, %arrive ], [ %k1, %next ]
  %g = load atomic i64, ptr %genp acquire, align 8
  %same = icmp eq i64 %g, %gen
  br i1 %same, label %pause, label %done
pause:
  call void @llvm.x86.sse2.pause()
  %k1 = add i64 %k, 1
  %many = icmp ugt i64 %k1, {SPINS_BEFORE_YIELD}
  br i1 %many, label %yield, label %next
yield:
  %y = call i32 @sched_yield()
  br label %next
next:
  br label %spin
done:
  %e = load atomic i64, ptr %errp acquire, align 8
  %e32 = trunc i64 %e to i32
  %r = select i1 %has, i32 %st, i32 %e32
  ret i32 %r
}}
"""


def _entry_text(name: str, program: L.Program, kernels: list) -> str:
    """kernels: list of (fn name, KernelGen, parallel shape)."""
    table = {b: i for i, b in enumerate(buffer_table(program))}
    lines = [f"define i32 @{name}(ptr %buffers, ptr %dims, i64 %tid, i64 %nthreads, ptr %barrier) nounwind {{",
             "entry:", "  %st = alloca i32, align 4", "  store i32 0, ptr %st", "  %main = icmp eq i64 %tid, 0"]
    for b, i in table.items():
        lines.append(f"  %bp.{i} = getelementptr inbounds ptr, ptr %buffers, i64 {i}")
        lines.append(f"  %buf.{i} = load ptr, ptr %bp.{i}, align 8")
    for i, _ in enumerate(program.symbols):
        lines.append(f"  %dp.{i} = getelementptr inbounds i64, ptr %dims, i64 {i}")
        lines.append(f"  %dim.{i} = load i64, ptr %dp.{i}, align 8")
    for n, (fn, gen, shape) in enumerate(kernels):
        args = [f"ptr %buf.{table[b]}" for b in gen.buffers]
        args += [f"i64 %dim.{i}" for i in range(len(program.symbols))]
        args += ["i64 %tid", "i64 %nthreads"] if shape != "serial" else ["i64 0", "i64 1"]
        lines += [f"  %s.{n} = load i32, ptr %st", f"  %ok.{n} = icmp eq i32 %s.{n}, 0"]
        if shape == "serial":
            lines.append(f"  %run.{n} = and i1 %ok.{n}, %main")
        else:
            lines.append(f"  %run.{n} = and i1 %ok.{n}, true")
        lines += [f"  br i1 %run.{n}, label %call.{n}, label %after.{n}", f"call.{n}:",
                  f"  %r.{n} = call i32 @{fn}({', '.join(args)})", f"  store i32 %r.{n}, ptr %st",
                  f"  br label %after.{n}", f"after.{n}:"]
        if n + 1 < len(kernels):
            lines += [f"  %t.{n} = load i32, ptr %st",
                      f"  %u.{n} = call i32 @ff_sync(ptr %barrier, i64 %nthreads, i32 %t.{n})",
                      f"  store i32 %u.{n}, ptr %st"]
    lines += ["  %final = load i32, ptr %st", "  ret i32 %final", "}"]
    return "\n".join(lines) + "\n"


def buffer_table(program: L.Program) -> list:
    """Buffer names in entry-table order: inputs, outputs, temps."""
    return list(program.inputs) + list(program.outputs) + temps_of(program)


def temps_of(program: L.Program) -> list:
    io = set(program.inputs) | set(program.outputs)
    return [n for n, b in program.buffers.items() if b.role == "temp" and n not in io]


# ------------------------------------------------------------------------------ signature
def _static_elements(shape, env) -> int:
    n = 1
    for d in shape:
        n *= d.evaluate(env) if isinstance(d, SymDim) else int(d)
    return n


def _eval_index_expr(e, env):
    """Static value of an index expression (sizes bound from env), for work estimates."""
    if isinstance(e, L.Const):
        return float(e.value)
    if isinstance(e, L.SizeOf):
        return float(e.dim.evaluate(env))
    if isinstance(e, L.Binary) and e.op in ("add", "sub", "mul", "div", "floordiv", "max", "min"):
        a, b = _eval_index_expr(e.a, env), _eval_index_expr(e.b, env)
        return {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b if b else 0.0,
                "floordiv": a // b if b else 0.0, "max": max(a, b), "min": min(a, b)}[e.op]
    if isinstance(e, L.Cast):
        return _eval_index_expr(e.x, env)
    raise ValueError("not a static index expression")


def _kernel_work(program: L.Program, k: L.Kernel, env) -> float:
    """Bytes moved plus operations, with every size symbol bound to 1 (the runtime rescales by
    the actual buffer sizes)."""
    try:
        if k.flops is not None or k.bytes is not None:
            return sum(_eval_index_expr(e, env) for e in (k.flops, k.bytes) if e is not None)
    except (ValueError, ZeroDivisionError, KeyError):
        pass
    work = 0.0
    for b in set(k.reads) | set(k.writes):
        buf = program.buffers.get(b)
        if buf is not None:
            work += _static_elements(buf.shape, env) * buf.dtype.itemsize
    return float(work + _stmts_cost(k.body, env))


_EXPENSIVE = {"exp": 20, "expm1": 24, "log": 20, "log1p": 26, "tanh": 30, "sigmoid": 24, "erf": 30,
              "sin": 60, "cos": 60, "pow": 50, "atan2": 40, "sqrt": 6, "rsqrt": 8, "div": 4, "floordiv": 8,
              "mod": 8}


def _expr_cost(e, seen) -> float:
    """Rough operation count of an expression DAG (shared subexpressions counted once)."""
    if id(e) in seen or isinstance(e, (L.Const, L.Var, L.SizeOf)):
        return 0.0
    seen.add(id(e))
    if isinstance(e, L.Load):
        return 1.0 + _expr_cost(e.index, seen)
    if isinstance(e, (L.Unary, L.Cast)):
        return _EXPENSIVE.get(getattr(e, "op", ""), 1) + _expr_cost(e.x, seen)
    if isinstance(e, L.Binary):
        return _EXPENSIVE.get(e.op, 1) + _expr_cost(e.a, seen) + _expr_cost(e.b, seen)
    if isinstance(e, L.Select):
        return 1.0 + _expr_cost(e.cond, seen) + _expr_cost(e.a, seen) + _expr_cost(e.b, seen)
    return 1.0


def _stmts_cost(stmts, env) -> float:
    """Operations executed by a statement list, loop trip counts evaluated with symbols = 1."""
    total = 0.0
    for s in stmts:
        if isinstance(s, L.Loop):
            try:
                trips = max(_eval_index_expr(s.extent, env), 0.0)
            except (ValueError, ZeroDivisionError, KeyError):
                trips = 1.0
            total += trips * _stmts_cost(s.body, env)
        elif isinstance(s, L.If):
            total += max(_stmts_cost(s.then, env), _stmts_cost(s.orelse, env))
        elif isinstance(s, L.MatmulTemplate):
            try:
                total += 2 * float(np.prod([_eval_index_expr(x, env) for x in (s.batch, s.m, s.n, s.k)]))
            except (ValueError, ZeroDivisionError, KeyError):
                pass
        else:
            from .kernelgen import _stmt_exprs
            seen = set()
            total += sum(_expr_cost(e, seen) for e in _stmt_exprs(s))
    return total


def _aliases(program: L.Program) -> dict:
    return dict(getattr(program, "aliases", None) or {})


def build_signature(program: L.Program, name: str) -> dict:
    env = {s: 1 for s in program.symbols}
    aliases = _aliases(program)
    inputs = [program.buffers[n] for n in program.inputs]
    errors = {}
    messages = getattr(program, "errors", None) or {}
    for k in program.kernels:
        def visit(s, k=k):
            if isinstance(s, L.ErrorIf):
                errors[int(s.code)] = str(messages.get(s.code, messages.get(str(s.code),
                                          f"runtime check {s.code} failed in kernel {k.name}"
                                          + (f" ({', '.join(k.nodes)})" if k.nodes else ""))))
        from .kernelgen import _walk_stmts
        _walk_stmts(k.body, visit)
    for code, msg in messages.items():
        errors.setdefault(int(code), str(msg))

    def spec(b):
        return {"name": b.name, "dtype": b.dtype.name, "shape": [_jsonable(encode_dim(d)) for d in b.shape]}

    outputs = []
    for n in program.outputs:
        o = spec(program.buffers[n])
        o["alias_input"] = program.inputs.index(aliases[n]) if n in aliases else None
        outputs.append(o)
    work = sum(_kernel_work(program, k, env) for k in program.kernels if parallel_shape(k) != "serial")
    return {"name": program.name, "entry": name, "symbols": list(program.symbols),
            "inputs": [spec(b) for b in inputs], "outputs": outputs,
            "temps": [spec(program.buffers[t]) for t in temps_of(program)],
            "errors": errors, "parallel_work": float(work),
            "dim_checks": [[_jsonable(encode_dim(a)), _jsonable(encode_dim(b)), msg]
                           for a, b, msg in getattr(program, "dim_checks", [])],
            "barrier_slots": BARRIER_SLOTS, "cpu": list(host_cpu())}


def _jsonable(code):
    return [code[0]] + [(_jsonable(a) if isinstance(a, tuple) else a) for a in code[1:]]


def _check_program(program: L.Program) -> None:
    seen = set()
    for n in list(program.inputs) + list(program.outputs):
        if n in seen:
            raise CodegenError(f"program {program.name}: buffer {n!r} appears twice among inputs/outputs; "
                               f"the lowering must copy it into a separate output buffer")
        seen.add(n)
        b = program.buffers.get(n)
        if b is None:
            raise CodegenError(f"program {program.name}: input/output {n!r} is not in program.buffers")
        if not b.dtype.native:
            raise CodegenError(f"program {program.name}: buffer {n!r} has dtype {b.dtype.name}, "
                               f"which native code cannot hold")
    for out, inp in _aliases(program).items():
        if out not in program.outputs or inp not in program.inputs:
            raise CodegenError(f"program {program.name}: alias {out!r} -> {inp!r} must map an output to an input")
        if program.buffers[out].dtype != program.buffers[inp].dtype:
            raise CodegenError(f"program {program.name}: aliased buffers {out!r} and {inp!r} differ in dtype")


# ------------------------------------------------------------------------------ generate
def generate(program: L.Program, *, strict: bool = False, optimize: bool = True) -> CodegenResult:
    """Compile a loop-IR program for the host CPU. `strict` drops all fast-math flags."""
    t0 = time.perf_counter()
    _check_program(program)
    module = ModuleBuilder(program)
    ctx = KernelContext(program, module, strict)
    kernels = []
    seen: dict = {}     # kernel code with its name blanked -> the function already emitted for it
    for i, k in enumerate(program.kernels):
        fn = f"ff_k{i}_" + re.sub(r"[^A-Za-z0-9_]", "_", k.name)[:48]
        gen = KernelGen(ctx, k, fn)
        bundle = [gen.generate()] + list(gen.extra_functions)
        # Buffers are positional parameters, so kernels that differ only in the buffers they
        # touch (the steps of an unrolled RNN) share one function.
        key = "\n".join(bundle).replace(fn, "@@kernel@@")
        if key in seen:
            fn = seen[key]
        else:
            seen[key] = fn
            module.functions += bundle
        kernels.append((fn, gen, parallel_shape(k)))
    name = entry_name(program.name)
    if len(kernels) > 1:
        module.functions.append(_SYNC)
        module.declare_intrinsic("llvm.x86.sse2.pause", "void", [])
        module.decls["sched_yield"] = "declare i32 @sched_yield() nounwind"
    module.functions.append(_entry_text(name, program, kernels))
    text = module.text()
    t1 = time.perf_counter()
    compiled = compile_ir(text, optimize=optimize)
    t2 = time.perf_counter()
    sig = build_signature(program, name)
    return CodegenResult(llvm_ir=text, signature=sig, _compiled=compiled,
                         timings={"generate": t1 - t0, "llvm": t2 - t1})
