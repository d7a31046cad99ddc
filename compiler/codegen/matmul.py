"""Generated GEMM: a GotoBLAS/BLIS-style blocked, packed, register-tiled matmul as LLVM IR text.

Public interface (used by codegen/llvm.py):

    matmul_function_ir(fn_name, dtype, epilogue_fn) -> str    # `define internal void @fn_name(...)`
                                                              # plus helpers named `@fn_name.*`
    matmul_declarations() -> str                              # external symbols, once per module

The generated function computes, for b < batch (strides in elements, batch stride 0 broadcasts):

    C[b, m, n] = sum_k A[b*sab + m*sam + k*sak] * B[b*sbb + k*sbk + n*sbn]     (C dense row-major)

Float32/float64 take one of three paths, chosen at run time from the shape and strides:

1. Packed (the general case). Per thread, with the usual cache roles:

    for b, jc (NC columns: the packed B panel lives in L3)
      for pc (KC depth)             pack B[pc:+kc, jc:+nc] into kc x NR micro-panels
        for ic (MC rows: the packed A block lives in L2)
                                    pack A[ic:+mc, pc:+kc] into MR x kc micro-panels
          for jr (NR), ir (MR)      micro-kernel: MR x NR accumulators in vector registers,
                                    one broadcast of A times NR/VL vectors of B per k (llvm.fma)
          epilogue(ctx, b, ic, ic+mc) once the rows are complete (last jc and pc)

   KC, MC and NC are caps: blocks are evened out (K = 600 runs as 2 x 300). Packing pads edges
   with zeros, so the micro-kernel always runs a full tile and only its stores are masked
   (llvm.masked.load/store). Row-major operands pack with vector copies, transposed ones (swapped
   strides) through VL x VL register transposes, so every layout runs at about the same speed.
2. Direct (M <= MR, unit-stride B rows; e.g. batch-1 dense layers): no packing, which would cost
   more than the product; A and B are read in place, K in short blocks.
3. Dot (N <= NR/2, unit-stride A rows; e.g. a dense layer with one output): one vectorized dot
   product per C element instead of padding N up to NR.

No path reads or writes out of bounds for any M, N, K (0 included) and any strides. Every C element
is summed in an order fixed by the shape alone, so results do not depend on the thread count.

Threads: every thread calls the function with its tid; work is split statically, no barrier (each
thread packs what it uses). A thread owns complete rows (row panels, batches or row groups) whenever
an epilogue is fused; without one, skinny problems (more column panels than row units) split columns.

Integer dtypes use a plain scalar loop (exact wraparound arithmetic, any order gives the same result).
"""
from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass

from ..dtypes import DType


@dataclass(frozen=True)
class GemmTiling:
    """Register tile MR x NR (NR = vectors_per_row * VL), cache blocks KC, MC, NC, and the
    (rows, vectors per row) kernels of the unpacked path for M <= MR (the last one has MR rows)."""
    mr: int
    vectors_per_row: int
    vl: int
    kc: int
    mc: int
    nc: int
    direct: tuple[tuple[int, int], ...]

    def __post_init__(self):
        assert self.mc % self.mr == 0 and self.nc % self.nr == 0
        assert self.direct[-1][0] == self.mr and all(8 % vecs == 0 for _, vecs in self.direct)

    @property
    def nr(self) -> int:
        return self.vectors_per_row * self.vl


# Tuned on AMD znver5 (AVX-512: 32 zmm registers, 48 KiB L1d, 1 MiB L2 per core, 32 MiB L3); see
# benchmarks/bench_matmul.py. MR x NR/VL accumulators + NR/VL B vectors + 1 broadcast must fit the
# register file. The AVX2 entries (16 ymm registers) keep generated code usable on hosts without
# AVX-512 (tested for correctness only).
_DIRECT_512 = ((1, 8), (2, 8), (4, 4), (8, 2), (12, 2))
_DIRECT_256 = ((1, 8), (2, 4), (4, 2), (6, 2))
TILINGS = {
    ("avx512", "float32"): GemmTiling(mr=12, vectors_per_row=2, vl=16, kc=512, mc=120, nc=4096, direct=_DIRECT_512),
    ("avx512", "float64"): GemmTiling(mr=12, vectors_per_row=2, vl=8, kc=256, mc=96, nc=2048, direct=_DIRECT_512),
    ("avx2", "float32"): GemmTiling(mr=6, vectors_per_row=2, vl=8, kc=256, mc=72, nc=4096, direct=_DIRECT_256),
    ("avx2", "float64"): GemmTiling(mr=6, vectors_per_row=2, vl=4, kc=256, mc=72, nc=2048, direct=_DIRECT_256),
}


@functools.lru_cache(maxsize=1)
def host_isa() -> str:
    """'avx512' when the host has AVX-512F, else 'avx2' (generated code targets the host CPU)."""
    import llvmlite.binding as llvm
    return "avx512" if "+avx512f" in llvm.get_host_cpu_features().flatten() else "avx2"


def gemm_tiling(dtype: DType, isa: str | None = None) -> GemmTiling | None:
    """Blocking parameters for a float dtype (None: integer dtypes use the scalar loop)."""
    return TILINGS.get((isa or host_isa(), dtype.name))


_LLVM_TYPE = {"float32": "float", "float64": "double", "int8": "i8", "int16": "i16", "int32": "i32",
              "int64": "i64", "uint8": "i8", "uint16": "i16", "uint32": "i32", "uint64": "i64"}

_PARAMS = ("ptr %A, ptr %B, ptr %C, i64 %batch, i64 %M, i64 %N, i64 %K, i64 %sab, i64 %sam, i64 %sak, "
           "i64 %sbb, i64 %sbk, i64 %sbn, i64 %tid, i64 %nthreads, ptr %ctx")

# Pass this as `epilogue_fn` to get a GEMM that takes its epilogue as a trailing `ptr %epilogue`
# parameter and calls it indirectly: one GEMM per dtype then serves every matmul of a module.
# A null %epilogue means no epilogue (and lets skinny problems split columns across threads).
INDIRECT_EPILOGUE = "%epilogue"


def _params(epilogue_fn) -> str:
    return _PARAMS + (", ptr %epilogue" if epilogue_fn == INDIRECT_EPILOGUE else "")


def _call_epilogue(w: "_FunctionWriter", epilogue_fn, b, r0, r1) -> None:
    """Rows [r0, r1) of batch b are final: run the epilogue on them (if there is one)."""
    if epilogue_fn is None:
        return
    call = f"call void {{}}(ptr %ctx, i64 {b}, i64 {r0}, i64 {r1})"
    if epilogue_fn != INDIRECT_EPILOGUE:
        w.op(call.format(f"@{epilogue_fn}"))
        return
    with w.if_(w("icmp ne ptr %epilogue, null")):
        w.op(call.format("%epilogue"))


def _no_epilogue(w: "_FunctionWriter", epilogue_fn) -> str:
    """i1: true when this call has no epilogue (threads may then split columns)."""
    if epilogue_fn is None:
        return "true"
    if epilogue_fn == INDIRECT_EPILOGUE:
        return w("icmp eq ptr %epilogue, null")
    return "false"


def matmul_declarations() -> str:
    """External functions the generated code calls (LLVM intrinsics are declared implicitly)."""
    return "declare noalias ptr @aligned_alloc(i64, i64)\ndeclare void @free(ptr)\n"


def matmul_function_ir(fn_name: str, dtype: DType, epilogue_fn: str | None, isa: str | None = None) -> str:
    """LLVM IR text of `define internal void @<fn_name>(...)` plus helpers named `@<fn_name>.*`.
    `isa` ('avx512' | 'avx2') picks the tiling; default: the host's."""
    tiling = gemm_tiling(dtype, isa)
    if tiling is not None:
        return _BlockedGemm(fn_name, dtype, tiling, epilogue_fn).build()
    if dtype.is_integer and dtype.name in _LLVM_TYPE:
        return _scalar_gemm(fn_name, _LLVM_TYPE[dtype.name], epilogue_fn)
    raise TypeError(f"matmul codegen: dtype {dtype.name} is not supported natively "
                    f"(supported: float32, float64 and the signed and unsigned integer types)")


class _FunctionWriter:
    """Builds one function body. Mutable locals are allocas in the entry block (SROA promotes them),
    so structured loops and ifs need no hand-written phis."""

    def __init__(self, header: str):
        self.header = header
        self.allocas: list[str] = []
        self.lines: list[str] = []
        self._n = 0

    def name(self, hint: str = "t") -> str:
        self._n += 1
        return f"%{hint}.{self._n}"

    def label(self, hint: str) -> str:
        self._n += 1
        return f"{hint}.{self._n}"

    def __call__(self, rhs: str, hint: str = "t") -> str:
        """Emit `%x = rhs` and return `%x`."""
        res = self.name(hint)
        self.lines.append(f"  {res} = {rhs}")
        return res

    def op(self, text: str) -> None:
        self.lines.append(f"  {text}")

    def start_block(self, label: str) -> None:
        self.lines.append(f"{label}:")

    def br(self, label: str) -> None:
        self.op(f"br label %{label}")

    # integer helpers (all index math is i64)
    def add(self, a, b): return self(f"add i64 {a}, {b}")
    def sub(self, a, b): return self(f"sub i64 {a}, {b}")
    def mul(self, a, b): return self(f"mul i64 {a}, {b}")
    def sdiv(self, a, b): return self(f"sdiv i64 {a}, {b}")
    def cmp(self, pred, a, b): return self(f"icmp {pred} i64 {a}, {b}")
    def min(self, a, b): return self(f"call i64 @llvm.smin.i64(i64 {a}, i64 {b})")
    def max(self, a, b): return self(f"call i64 @llvm.smax.i64(i64 {a}, i64 {b})")
    def gep(self, ty, base, idx, inbounds=False):
        return self(f"getelementptr {'inbounds ' if inbounds else ''}{ty}, ptr {base}, i64 {idx}", "p")

    def var(self, init, ty: str = "i64") -> str:
        slot = f"%v.{len(self.allocas)}"
        self.allocas.append(f"  {slot} = alloca {ty}")
        self.op(f"store {ty} {init}, ptr {slot}")
        return slot

    def get(self, slot, ty="i64"): return self(f"load {ty}, ptr {slot}")
    def set(self, slot, value, ty="i64"): self.op(f"store {ty} {value}, ptr {slot}")

    @contextmanager
    def loop(self, start, stop, step=1, hint="i"):
        """for (i = start; i < stop; i += step), signed compare; yields i."""
        slot = self.var(start)
        head, body, done = self.label(f"{hint}.head"), self.label(f"{hint}.body"), self.label(f"{hint}.done")
        self.br(head)
        self.start_block(head)
        i = self.get(slot)
        self.op(f"br i1 {self.cmp('slt', i, stop)}, label %{body}, label %{done}")
        self.start_block(body)
        yield i
        self.set(slot, self.add(i, step))
        self.br(head)
        self.start_block(done)

    @contextmanager
    def if_(self, cond):
        then, done = self.label("then"), self.label("endif")
        self.op(f"br i1 {cond}, label %{then}, label %{done}")
        self.start_block(then)
        yield
        self.br(done)
        self.start_block(done)

    def text(self) -> str:
        return "\n".join([self.header + " {", "entry:", *self.allocas, *self.lines, "}", ""])


def _ceil_div(w: _FunctionWriter, a, b: int):
    return w.sdiv(w.add(a, b - 1), b)


def _balanced_step(w: _FunctionWriter, total, cap: int, align: int):
    """Block size for splitting `total` into as few blocks of at most `cap` as possible, evened out
    (rounded up to a multiple of `align`, which divides `cap`): no small leftover block."""
    total = w.max(total, 1)
    blocks = _ceil_div(w, total, cap)
    even = w.sdiv(w.add(total, w.sub(blocks, 1)), blocks)
    return w.mul(_ceil_div(w, even, align), align)


def _split(w: _FunctionWriter, total, tid, nthreads):
    """Static balanced split of [0, total): thread tid gets [tid*total/n, (tid+1)*total/n)."""
    lo = w.sdiv(w.mul(total, tid), nthreads)
    hi = w.sdiv(w.mul(total, w.add(tid, 1)), nthreads)
    return lo, hi


class _BlockedGemm:
    """IR generator for one float matmul function: driver, packers, micro-kernel, direct and dot
    kernels, all specialized to one dtype and tiling."""

    def __init__(self, fn: str, dtype: DType, tiling: GemmTiling, epilogue_fn: str | None):
        self.fn, self.tl, self.epilogue = fn, tiling, epilogue_fn
        self.t = _LLVM_TYPE[dtype.name]
        self.size = dtype.itemsize
        self.vt = f"<{tiling.vl} x {self.t}>"
        self.vsuffix = f"v{tiling.vl}f{dtype.bits}"

    def build(self) -> str:
        direct = [self._direct_kernel(rows, vecs) for rows, vecs in self._direct_variants()]
        return "\n".join([self._micro_kernel(), self._pack_a(), self._pack_b(), *direct, self._dot_kernel(),
                          self._driver()])

    # ---- micro-kernel: C[0:mv, 0:nv] (=|+=) Ap(MR x kc) * Bp(kc x NR) --------------------------
    def _micro_kernel(self) -> str:
        tl, t, vt = self.tl, self.t, self.vt
        mr, nv_vec, vl, nr = tl.mr, tl.vectors_per_row, tl.vl, tl.nr
        fma = f"@llvm.fma.{self.vsuffix}"
        out = [f"define internal void @{self.fn}.ukr(ptr noalias %a, ptr noalias %b, i64 %kc, ptr noalias %c, "
               f"i64 %ldc, i1 %accumulate, i64 %mv, i64 %nv) noinline nounwind {{",
               "entry:"]
        # Warm the C tile while the k loop runs (prefetch never faults, so plain geps suffice).
        for i in range(mr):
            out.append(f"  %crow.{i}.off = mul i64 %ldc, {i}")
            out.append(f"  %crow.{i} = getelementptr {t}, ptr %c, i64 %crow.{i}.off")
            for byte in range(0, nr * self.size, 64):
                out.append(f"  %cpf.{i}.{byte} = getelementptr i8, ptr %crow.{i}, i64 {byte}")
                out.append(f"  call void @llvm.prefetch.p0(ptr %cpf.{i}.{byte}, i32 1, i32 3, i32 1)")
        out.append("  br label %kloop")
        out.append("kloop:")
        out.append("  %k = phi i64 [0, %entry], [%k.next, %kloop]")
        for i in range(mr):
            for j in range(nv_vec):
                out.append(f"  %acc.{i}.{j} = phi {vt} [zeroinitializer, %entry], [%acc.{i}.{j}.n, %kloop]")
        out.append(f"  %boff = mul i64 %k, {nr}")
        out.append(f"  %bk = getelementptr inbounds {t}, ptr %b, i64 %boff")
        for j in range(nv_vec):
            out.append(f"  %bp.{j} = getelementptr inbounds {t}, ptr %bk, i64 {j * vl}")
            out.append(f"  %bv.{j} = load {vt}, ptr %bp.{j}, align 64")
        out.append(f"  %aoff = mul i64 %k, {mr}")
        out.append(f"  %ak = getelementptr inbounds {t}, ptr %a, i64 %aoff")
        for i in range(mr):
            out.append(f"  %ap.{i} = getelementptr inbounds {t}, ptr %ak, i64 {i}")
            out.append(f"  %as.{i} = load {t}, ptr %ap.{i}, align {self.size}")
            out.append(f"  %ai.{i} = insertelement {vt} poison, {t} %as.{i}, i64 0")
            out.append(f"  %av.{i} = shufflevector {vt} %ai.{i}, {vt} poison, <{vl} x i32> zeroinitializer")
            for j in range(nv_vec):
                out.append(f"  %acc.{i}.{j}.n = call {vt} {fma}({vt} %av.{i}, {vt} %bv.{j}, {vt} %acc.{i}.{j})")
        out.append("  %k.next = add nuw nsw i64 %k, 1")
        out.append("  %kmore = icmp ult i64 %k.next, %kc")
        out.append("  br i1 %kmore, label %kloop, label %stores")
        out.append("stores:")
        out.append(f"  %mfull = icmp eq i64 %mv, {mr}")
        out.append(f"  %nfull = icmp eq i64 %nv, {nr}")
        out.append("  %full = and i1 %mfull, %nfull")
        out.append("  br i1 %full, label %full.tile, label %edge.tile")

        def row_ptrs(prefix, i):
            ptrs = []
            for j in range(nv_vec):
                out.append(f"  %{prefix}.{i}.{j} = getelementptr {t}, ptr %crow.{i}, i64 {j * vl}")
                ptrs.append(f"%{prefix}.{i}.{j}")
            return ptrs

        # Full tile: plain vector stores, or load-add-store when accumulating a later K block.
        out.append("full.tile:")
        out.append("  br i1 %accumulate, label %full.acc, label %full.set")
        out.append("full.set:")
        for i in range(mr):
            for j, p in enumerate(row_ptrs("fs", i)):
                out.append(f"  store {vt} %acc.{i}.{j}.n, ptr {p}, align {self.size}")
        out.append("  ret void")
        out.append("full.acc:")
        for i in range(mr):
            for j, p in enumerate(row_ptrs("fa", i)):
                out.append(f"  %old.{i}.{j} = load {vt}, ptr {p}, align {self.size}")
                out.append(f"  %sum.{i}.{j} = fadd {vt} %old.{i}.{j}, %acc.{i}.{j}.n")
                out.append(f"  store {vt} %sum.{i}.{j}, ptr {p}, align {self.size}")
        out.append("  ret void")

        # Edge tile: rows below mv, lanes below nv. Masked-off lanes are never touched. The
        # pass-through value -0.0 makes `old + acc` equal acc exactly when not accumulating.
        out.append("edge.tile:")
        out.append(f"  %nv.ins = insertelement <{vl} x i64> poison, i64 %nv, i64 0")
        out.append(f"  %nv.splat = shufflevector <{vl} x i64> %nv.ins, <{vl} x i64> poison, <{vl} x i32> zeroinitializer")
        out.append(f"  %acc.ins = insertelement <{vl} x i1> poison, i1 %accumulate, i64 0")
        out.append(f"  %acc.splat = shufflevector <{vl} x i1> %acc.ins, <{vl} x i1> poison, <{vl} x i32> zeroinitializer")
        negzero = "-0.000000e+00"
        for j in range(nv_vec):
            lanes = ", ".join(f"i64 {j * vl + lane}" for lane in range(vl))
            out.append(f"  %mask.{j} = icmp slt <{vl} x i64> <{lanes}>, %nv.splat")
            out.append(f"  %lmask.{j} = and <{vl} x i1> %mask.{j}, %acc.splat")
        for i in range(mr):
            if i > 0:
                out.append(f"  %row.ok.{i} = icmp ult i64 {i}, %mv")
                out.append(f"  br i1 %row.ok.{i}, label %edge.row.{i}, label %edge.done")
                out.append(f"edge.row.{i}:")
            for j, p in enumerate(row_ptrs("fe", i)):
                out.append(f"  %eold.{i}.{j} = call {vt} @llvm.masked.load.{self.vsuffix}.p0(ptr align {self.size} {p}, "
                           f"<{vl} x i1> %lmask.{j}, {vt} splat ({t} {negzero}))")
                out.append(f"  %esum.{i}.{j} = fadd {vt} %eold.{i}.{j}, %acc.{i}.{j}.n")
                out.append(f"  call void @llvm.masked.store.{self.vsuffix}.p0({vt} %esum.{i}.{j}, ptr align {self.size} {p}, "
                           f"<{vl} x i1> %mask.{j})")
        out.append("  br label %edge.done")
        out.append("edge.done:")
        out.append("  ret void")
        out.append("}")
        out.append("")
        return "\n".join(out)

    # ---- packing ---------------------------------------------------------------------------------
    def _pack_a(self) -> str:
        """A[0:mc, 0:kc] (strides sam, sak) -> MR x kc micro-panels: dst[ip*kc + k*MR + i]."""
        t, mr = self.t, self.tl.mr
        w = _FunctionWriter(f"define internal void @{self.fn}.pack_a(ptr noalias %dst, ptr noalias %src, "
                            f"i64 %mc, i64 %kc, i64 %sam, i64 %sak) noinline nounwind")
        with w.loop(0, "%mc", mr, "ip") as ip:
            mv = w.min(mr, w.sub("%mc", ip))
            panel = w.gep(t, "%dst", w.mul(ip, "%kc"), inbounds=True)
            rows = w.gep(t, "%src", w.mul(ip, "%sam"))
            # Read along whichever stride is unit so the source streams contiguously.
            k_contig = w.cmp("eq", "%sak", 1)
            by_row, by_k, filled = w.label("a.by_row"), w.label("a.by_k"), w.label("a.pad")
            w.op(f"br i1 {k_contig}, label %{by_row}, label %{by_k}")
            w.start_block(by_row)
            k_done = "0"
            if mr <= self.tl.vl:
                # Full panel: VL x VL register transposes (rows past MR are poison), then stores of
                # whole vectors whose tails the next store overwrites (the buffer has VL slack).
                vl = self.tl.vl
                k_done = w(f"select i1 {w.cmp('eq', mv, mr)}, i64 {w(f'and i64 %kc, {-vl}')}, i64 0")
                with w.loop(0, k_done, vl, "tk") as k:
                    vecs = [w(f"load {self.vt}, ptr {w.gep(t, w.gep(t, rows, w.mul(i, '%sam')), k)}, "
                              f"align {self.size}") for i in range(mr)] + ["poison"] * (vl - mr)
                    for c, v in enumerate(self._transpose(w, vecs)):
                        dst = w.gep(t, panel, w.mul(w.add(k, c), mr), inbounds=True)
                        w.op(f"store {self.vt} {v}, ptr {dst}, align {self.size}")
            with w.loop(0, mv, 1, "ar") as i:
                srow = w.gep(t, rows, w.mul(i, "%sam"))
                with w.loop(k_done, "%kc", 1, "ak") as k:
                    x = w(f"load {t}, ptr {w.gep(t, srow, k)}")
                    w.op(f"store {t} {x}, ptr {w.gep(t, panel, w.add(w.mul(k, mr), i), inbounds=True)}")
            w.br(filled)
            w.start_block(by_k)
            with w.loop(0, "%kc", 1, "bk") as k:
                scol = w.gep(t, rows, w.mul(k, "%sak"))
                dcol = w.gep(t, panel, w.mul(k, mr), inbounds=True)
                with w.loop(0, mv, 1, "br") as i:
                    sp = w.gep(t, scol, w.mul(i, "%sam"))
                    x = w(f"load {t}, ptr {sp}")
                    w.op(f"store {t} {x}, ptr {w.gep(t, dcol, i, inbounds=True)}")
            w.br(filled)
            w.start_block(filled)
            with w.if_(w.cmp("slt", mv, mr)):
                with w.loop(0, "%kc", 1, "zk") as k:
                    dcol = w.gep(t, panel, w.mul(k, mr), inbounds=True)
                    with w.loop(mv, mr, 1, "zi") as i:
                        w.op(f"store {t} {self._zero()}, ptr {w.gep(t, dcol, i, inbounds=True)}")
        w.op("ret void")
        return w.text()

    def _transpose(self, w: _FunctionWriter, vecs: list[str]) -> list[str]:
        """Transpose VL vectors of VL lanes: log2(VL) stages, each swapping the off-diagonal
        s x s blocks of every 2s x 2s block (one two-source shuffle per vector and stage)."""
        vl, vt = self.tl.vl, self.vt
        vecs = list(vecs)
        s = vl // 2
        while s >= 1:
            lo = ", ".join(f"i32 {e if not e & s else vl + e - s}" for e in range(vl))
            hi = ", ".join(f"i32 {e + s if not e & s else vl + e}" for e in range(vl))
            for i in range(vl):
                if i & s:
                    continue
                a, b = vecs[i], vecs[i + s]
                vecs[i] = w(f"shufflevector {vt} {a}, {vt} {b}, <{vl} x i32> <{lo}>")
                vecs[i + s] = w(f"shufflevector {vt} {a}, {vt} {b}, <{vl} x i32> <{hi}>")
            s //= 2
        return vecs

    PACK_B_ROWS = 8  # row-major B is copied in bands of this many rows: sequential reads, 1 KiB writes

    def _pack_b(self) -> str:
        """B[0:kc, 0:nc] (strides sbk, sbn) -> kc x NR micro-panels: dst[jp*kc + k*NR + j]."""
        t, nr, vl, nvv = self.t, self.tl.nr, self.tl.vl, self.tl.vectors_per_row
        w = _FunctionWriter(f"define internal void @{self.fn}.pack_b(ptr noalias %dst, ptr noalias %src, "
                            f"i64 %kc, i64 %nc, i64 %sbk, i64 %sbn) noinline nounwind")
        # Row-major B: full panels copied as vectors, band by band so the source streams row-wise.
        full_panels = w(f"select i1 {w.cmp('eq', '%sbn', 1)}, i64 {w.sdiv('%nc', nr)}, i64 0")
        with w.loop(0, "%kc", self.PACK_B_ROWS, "fb") as k0:
            k1 = w.min(w.add(k0, self.PACK_B_ROWS), "%kc")
            with w.loop(0, full_panels, 1, "fp") as jp:
                panel = w.gep(t, "%dst", w.mul(w.mul(jp, nr), "%kc"), inbounds=True)
                cols = w.gep(t, "%src", w.mul(jp, nr))
                with w.loop(k0, k1, 1, "fk") as k:
                    srow = w.gep(t, cols, w.mul(k, "%sbk"))
                    drow = w.gep(t, panel, w.mul(k, nr), inbounds=True)
                    for j in range(nvv):
                        v = w(f"load {self.vt}, ptr {w.gep(t, srow, j * vl)}, align {self.size}")
                        w.op(f"store {self.vt} {v}, ptr {w.gep(t, drow, j * vl, inbounds=True)}, align 64")
        # Remaining panels (all of them for other layouts): walk each column down k, then zero-pad
        # the columns past nc. Transposed B (sbk == 1) first moves full panels' VL x VL blocks
        # through register transposes.
        vl = self.tl.vl
        with w.loop(w.mul(full_panels, nr), "%nc", nr, "jp") as jp:
            nv = w.min(nr, w.sub("%nc", jp))
            panel = w.gep(t, "%dst", w.mul(jp, "%kc"), inbounds=True)
            cols = w.gep(t, "%src", w.mul(jp, "%sbn"))
            by_blocks = w(f"and i1 {w.cmp('eq', '%sbk', 1)}, {w.cmp('eq', nv, nr)}")
            k_done = w(f"select i1 {by_blocks}, i64 {w(f'and i64 %kc, {-vl}')}, i64 0")
            with w.loop(0, k_done, vl, "tk") as k:
                for h in range(nvv):
                    vecs = [w(f"load {self.vt}, ptr {w.gep(t, w.gep(t, cols, w.mul(h * vl + c, '%sbn')), k)}, "
                              f"align {self.size}") for c in range(vl)]
                    for kk, v in enumerate(self._transpose(w, vecs)):
                        dst = w.gep(t, panel, w.add(w.mul(w.add(k, kk), nr), h * vl), inbounds=True)
                        w.op(f"store {self.vt} {v}, ptr {dst}, align 64")
            with w.loop(0, nv, 1, "gj") as j:
                scol = w.gep(t, cols, w.mul(j, "%sbn"))
                with w.loop(k_done, "%kc", 1, "gk") as k:
                    sp = w.gep(t, scol, w.mul(k, "%sbk"))
                    x = w(f"load {t}, ptr {sp}")
                    w.op(f"store {t} {x}, ptr {w.gep(t, panel, w.add(w.mul(k, nr), j), inbounds=True)}")
            with w.if_(w.cmp("slt", nv, nr)):
                with w.loop(0, "%kc", 1, "pk") as k:
                    drow = w.gep(t, panel, w.mul(k, nr), inbounds=True)
                    with w.loop(nv, nr, 1, "pj") as j:
                        w.op(f"store {t} {self._zero()}, ptr {w.gep(t, drow, j, inbounds=True)}")
        w.op("ret void")
        return w.text()

    def _zero(self) -> str:
        return "0.000000e+00"

    # ---- direct path for M <= MR with unit-stride B rows (no packing) ------------------------------
    _DIRECT_CHUNK_VECTORS = 8  # threads split columns in chunks of 8 vectors; every width divides it

    @staticmethod
    def _direct_k_block(rows: int) -> int:
        """B rows streamed at once: few enough for the prefetchers to follow, enough that reloading
        the C chunk between K blocks is cheap (measured on znver5: 8 for 1-2 rows, 16 above)."""
        return 8 if rows <= 2 else 16

    def _direct_variants(self) -> tuple[tuple[int, int], ...]:
        """(rows, vectors per row) kernels; fewer rows get wider tiles so that enough independent
        accumulators hide the FMA latency. M rows use the smallest kernel with rows >= M."""
        return self.tl.direct

    def _direct_kernel(self, rows: int, vecs: int) -> str:
        """C[0:mv, 0:ncols] (=|+=) A[0:mv, 0:kc] * B[0:kc, 0:ncols], A and B read in place (B: row
        stride sbk, unit column stride), in column chunks of vecs vectors. A partial last chunk first
        copies its B columns into a zero-padded stack tile, so the k loop never needs masks (masks
        in the hot loop would exhaust the 8 mask registers) and exists once. Rows >= mv repeat row
        mv-1 (in bounds) and are not stored. When accumulating, the accumulators start from C, so
        every C element is a plain k-ordered sum over the K blocks."""
        t, vt, vl, size, vs = self.t, self.vt, self.tl.vl, self.size, self.vsuffix
        width = vecs * vl
        kb = self._direct_k_block(rows)
        out = [f"define internal void @{self.fn}.direct{rows}(ptr %a, i64 %sam, i64 %sak, ptr %b, i64 %sbk, "
               f"i64 %kc, ptr %c, i64 %ldc, i64 %mv, i64 %ncols, i1 %accumulate) noinline nounwind {{",
               "entry:",
               f"  %btail = alloca [{kb * width} x {t}], align 64",
               f"  %acc.ins = insertelement <{vl} x i1> poison, i1 %accumulate, i64 0",
               f"  %acc.splat = shufflevector <{vl} x i1> %acc.ins, <{vl} x i1> poison, <{vl} x i32> zeroinitializer",
               "  %last = sub i64 %mv, 1"]
        for i in range(rows):
            out.append(f"  %ri.{i} = call i64 @llvm.umin.i64(i64 {i}, i64 %last)")
            out.append(f"  %roff.{i} = mul i64 %ri.{i}, %sam")
            out.append(f"  %arow.{i} = getelementptr {t}, ptr %a, i64 %roff.{i}")
            out.append(f"  %coff.{i} = mul i64 %ri.{i}, %ldc")
            out.append(f"  %crow.{i} = getelementptr {t}, ptr %c, i64 %coff.{i}")
        out.append("  br label %chunk")
        out.append("chunk:")
        out.append("  %jc = phi i64 [0, %entry], [%jc.next, %chunk.done]")
        out.append("  %left = sub i64 %ncols, %jc")
        out.append(f"  %bcol = getelementptr {t}, ptr %b, i64 %jc")
        out.append(f"  %nv.ins = insertelement <{vl} x i64> poison, i64 %left, i64 0")
        out.append(f"  %nv = shufflevector <{vl} x i64> %nv.ins, <{vl} x i64> poison, <{vl} x i32> zeroinitializer")
        for j in range(vecs):
            lanes = ", ".join(f"i64 {j * vl + lane}" for lane in range(vl))
            out.append(f"  %mask.{j} = icmp slt <{vl} x i64> <{lanes}>, %nv")
            out.append(f"  %lmask.{j} = and <{vl} x i1> %mask.{j}, %acc.splat")
        out.append(f"  %whole = icmp sge i64 %left, {width}")
        out.append("  br i1 %whole, label %tile, label %copy")
        out.append("copy:")
        out.append("  %ck = phi i64 [0, %chunk], [%ck.next, %copy]")
        out.append("  %ck.soff = mul i64 %ck, %sbk")
        out.append(f"  %ck.src = getelementptr {t}, ptr %bcol, i64 %ck.soff")
        out.append(f"  %ck.doff = mul i64 %ck, {width}")
        out.append(f"  %ck.dst = getelementptr inbounds {t}, ptr %btail, i64 %ck.doff")
        for j in range(vecs):
            out.append(f"  %ck.s.{j} = getelementptr {t}, ptr %ck.src, i64 {j * vl}")
            out.append(f"  %ck.v.{j} = call {vt} @llvm.masked.load.{vs}.p0(ptr align {size} %ck.s.{j}, "
                       f"<{vl} x i1> %mask.{j}, {vt} zeroinitializer)")
            out.append(f"  %ck.d.{j} = getelementptr inbounds {t}, ptr %ck.dst, i64 {j * vl}")
            out.append(f"  store {vt} %ck.v.{j}, ptr %ck.d.{j}, align 64")
        out.append("  %ck.next = add nuw nsw i64 %ck, 1")
        out.append("  %ck.more = icmp ult i64 %ck.next, %kc")
        out.append("  br i1 %ck.more, label %copy, label %tile")
        out.append("tile:")
        out.append("  %bsrc = phi ptr [%bcol, %chunk], [%btail, %copy]")
        out.append(f"  %bstride = phi i64 [%sbk, %chunk], [{width}, %copy]")
        for i in range(rows):
            for j in range(vecs):
                p = f"%cp.{i}.{j}"
                out.append(f"  {p}.o = add i64 %jc, {j * vl}")
                out.append(f"  {p} = getelementptr {t}, ptr %crow.{i}, i64 {p}.o")
                out.append(f"  %c0.{i}.{j} = call {vt} @llvm.masked.load.{vs}.p0(ptr align {size} {p}, "
                           f"<{vl} x i1> %lmask.{j}, {vt} zeroinitializer)")
        out.append("  br label %kloop")
        out.append("kloop:")
        out.append("  %k = phi i64 [0, %tile], [%k.next, %kloop]")
        for i in range(rows):
            for j in range(vecs):
                out.append(f"  %acc.{i}.{j} = phi {vt} [%c0.{i}.{j}, %tile], [%acc.{i}.{j}.n, %kloop]")
        out.append("  %boff = mul i64 %k, %bstride")
        out.append(f"  %brow = getelementptr {t}, ptr %bsrc, i64 %boff")
        for j in range(vecs):
            out.append(f"  %bp.{j} = getelementptr {t}, ptr %brow, i64 {j * vl}")
            out.append(f"  %bv.{j} = load {vt}, ptr %bp.{j}, align {size}")
        out.append("  %aoff = mul i64 %k, %sak")
        for i in range(rows):
            out.append(f"  %ap.{i} = getelementptr {t}, ptr %arow.{i}, i64 %aoff")
            out.append(f"  %as.{i} = load {t}, ptr %ap.{i}, align {size}")
            out.append(f"  %ai.{i} = insertelement {vt} poison, {t} %as.{i}, i64 0")
            out.append(f"  %av.{i} = shufflevector {vt} %ai.{i}, {vt} poison, <{vl} x i32> zeroinitializer")
            for j in range(vecs):
                out.append(f"  %acc.{i}.{j}.n = call {vt} @llvm.fma.{vs}({vt} %av.{i}, {vt} %bv.{j}, {vt} %acc.{i}.{j})")
        out.append("  %k.next = add nuw nsw i64 %k, 1")
        out.append("  %kmore = icmp ult i64 %k.next, %kc")
        out.append("  br i1 %kmore, label %kloop, label %row.0")
        for i in range(rows):
            out.append(f"row.{i}:")
            for j in range(vecs):
                out.append(f"  call void @llvm.masked.store.{vs}.p0({vt} %acc.{i}.{j}.n, ptr align {size} "
                           f"%cp.{i}.{j}, <{vl} x i1> %mask.{j})")
            if i + 1 < rows:
                out.append(f"  %more.{i} = icmp ult i64 {i + 1}, %mv")
                out.append(f"  br i1 %more.{i}, label %row.{i + 1}, label %chunk.done")
            else:
                out.append("  br label %chunk.done")
        out.append("chunk.done:")
        out.append(f"  %jc.next = add i64 %jc, {width}")
        out.append("  %cmore = icmp slt i64 %jc.next, %ncols")
        out.append("  br i1 %cmore, label %chunk, label %done")
        out.append("done:")
        out.append("  ret void")
        out.append("}")
        out.append("")
        return "\n".join(out)

    def _direct_path(self, w: _FunctionWriter) -> None:
        """Driver of the direct kernels: units are whole batches (all M rows). K is walked in short
        blocks so that only a few B rows stream at once (prefetcher friendly) while the C chunk
        stays in L1 between blocks."""
        t, vl = self.t, self.tl.vl
        u0, u1, c0, c1 = self._thread_ranges(w, "%batch", self._DIRECT_CHUNK_VECTORS * vl)
        with w.loop(u0, u1, 1, "db") as b:
            a_b = w.gep(t, "%A", w.mul(b, "%sab"))
            b_b = w.gep(t, w.gep(t, "%B", w.mul(b, "%sbb")), c0)
            c_b = w.gep(t, "%C", w.mul(w.mul(b, "%M"), "%N"))
            no_k = w.cmp("sle", "%K", 0)
            with w.if_(no_k):
                self._zero_rows(w, c_b, b, "0", "%M", c0, c1)
            with w.if_(w(f"xor i1 {no_k}, true")):
                below = 0
                c_cols = w.gep(t, c_b, c0)
                ncols = w.sub(c1, c0)
                for rows, _ in self._direct_variants():
                    fits = w(f"and i1 {w.cmp('sgt', '%M', below)}, {w.cmp('sle', '%M', rows)}")
                    with w.if_(fits):
                        kb = self._direct_k_block(rows)
                        with w.loop(0, "%K", kb, "dk") as pc:
                            kc = w.min(kb, w.sub("%K", pc))
                            accumulate = w.cmp("sgt", pc, 0)
                            a_k = w.gep(t, a_b, w.mul(pc, "%sak"))
                            b_k = w.gep(t, b_b, w.mul(pc, "%sbk"))
                            w.op(f"call void @{self.fn}.direct{rows}(ptr {a_k}, i64 %sam, i64 %sak, "
                                 f"ptr {b_k}, i64 %sbk, i64 {kc}, ptr {c_cols}, i64 %N, i64 %M, i64 {ncols}, "
                                 f"i1 {accumulate})")
                    below = rows
                _call_epilogue(w, self.epilogue, b, "0", "%M")

    # ---- dot path for N <= NR/2 with unit-stride A rows -----------------------------------
    @property
    def dot_n_max(self) -> int:
        """Up to NR/2 columns a dot product per C element beats padding N up to NR [measured]."""
        return self.tl.nr // 2

    DOT_ROWS = 4    # A rows per dot kernel call (sharing each B vector load)
    DOT_EPILOGUE_ROWS = 64

    def _dot_kernel(self) -> str:
        """C[0:mv, n] = dot(A[row, 0:K], Bt[n, 0:K]) for n < N: vectors along k (A rows have unit
        stride, Bt is B packed transposed), two vectors per step for latency, a masked tail, then a
        fixed-shape horizontal sum. Rows >= mv repeat row mv-1 and are not stored."""
        t, vt, vl, size, vs = self.t, self.vt, self.tl.vl, self.size, self.vsuffix
        rows = self.DOT_ROWS
        w = _FunctionWriter(f"define internal void @{self.fn}.dot(ptr %a, i64 %sam, ptr %bt, i64 %K, ptr %c, "
                            f"i64 %ldc, i64 %mv, i64 %N) noinline nounwind")
        last = w.sub("%mv", 1)
        arows = [w.gep(t, "%a", w.mul(w(f"call i64 @llvm.umin.i64(i64 {i}, i64 {last})"), "%sam")) for i in range(rows)]
        k_pairs = w(f"and i64 %K, {-2 * vl}")
        lanes = ", ".join(f"i64 {lane}" for lane in range(vl))
        with w.loop(0, "%N", 1, "dn") as n:
            btrow = w.gep(t, "%bt", w.mul(n, "%K"))
            accs = [[w.var("zeroinitializer", vt) for _ in range(2)] for _ in range(rows)]
            with w.loop(0, k_pairs, 2 * vl, "dk") as k:
                bvec = [w(f"load {vt}, ptr {w.gep(t, btrow, w.add(k, h * vl))}, align {size}") for h in range(2)]
                for i in range(rows):
                    for h in range(2):
                        av = w(f"load {vt}, ptr {w.gep(t, arows[i], w.add(k, h * vl))}, align {size}")
                        acc = w.get(accs[i][h], vt)
                        w.set(accs[i][h], w(f"call {vt} @llvm.fma.{vs}({vt} {av}, {vt} {bvec[h]}, {vt} {acc})"), vt)
            with w.loop(k_pairs, "%K", vl, "dt") as k:
                left = w(f"insertelement <{vl} x i64> poison, i64 {w.sub('%K', k)}, i64 0")
                left = w(f"shufflevector <{vl} x i64> {left}, <{vl} x i64> poison, <{vl} x i32> zeroinitializer")
                mask = w(f"icmp slt <{vl} x i64> <{lanes}>, {left}")
                def mload(ptr):
                    return w(f"call {vt} @llvm.masked.load.{vs}.p0(ptr align {size} {ptr}, <{vl} x i1> {mask}, "
                             f"{vt} zeroinitializer)")
                bv = mload(w.gep(t, btrow, k))
                for i in range(rows):
                    av = mload(w.gep(t, arows[i], k))
                    acc = w.get(accs[i][0], vt)
                    w.set(accs[i][0], w(f"call {vt} @llvm.fma.{vs}({vt} {av}, {vt} {bv}, {vt} {acc})"), vt)
            for i in range(rows):
                both = w(f"fadd {vt} {w.get(accs[i][0], vt)}, {w.get(accs[i][1], vt)}")
                total = w(f"call reassoc {t} @llvm.vector.reduce.fadd.{vs}({t} -0.000000e+00, {vt} {both})")
                cond = "true" if i == 0 else w.cmp("slt", i, "%mv")
                with w.if_(cond):
                    w.op(f"store {t} {total}, ptr {w.gep(t, '%c', w.add(w.mul(i, '%ldc'), n))}, align {size}")
        w.op("ret void")
        return w.text()

    def _dot_path(self, w: _FunctionWriter) -> None:
        """Driver of the dot kernel: units are groups of DOT_ROWS rows; B is packed transposed
        (N x K, tiny) once per thread, again per batch only if B has a batch stride."""
        t, size, rows = self.t, self.size, self.DOT_ROWS
        groups = _ceil_div(w, "%M", rows)
        u0, u1 = _split(w, w.mul("%batch", groups), "%tid", "%nthreads")
        with w.if_(w.cmp("sge", u0, u1)):
            w.op("ret void")
            w.start_block(w.label("dead"))
        elems = w.mul(w.max("%K", 1), "%N")
        nbytes = w(f"and i64 {w.add(w.mul(elems, size), 63)}, -64")
        bt = w(f"call ptr @aligned_alloc(i64 64, i64 {nbytes})", "buf")
        b_first = w.sdiv(u0, groups)
        b_last = w.sdiv(w.sub(u1, 1), groups)
        with w.loop(b_first, w.add(b_last, 1), 1, "ob") as b:
            first_unit = w.mul(b, groups)
            r0 = w.mul(w.max(w.sub(u0, first_unit), 0), rows)
            r1 = w.min(w.mul(w.min(w.sub(u1, first_unit), groups), rows), "%M")
            a_b = w.gep(t, "%A", w.mul(b, "%sab"))
            c_b = w.gep(t, "%C", w.mul(w.mul(b, "%M"), "%N"))
            no_k = w.cmp("sle", "%K", 0)
            with w.if_(no_k):
                self._zero_rows(w, c_b, b, r0, r1, "0", "%N")
            with w.if_(w(f"xor i1 {no_k}, true")):
                repack = w(f"or i1 {w.cmp('eq', b, b_first)}, {w.cmp('ne', '%sbb', 0)}")
                with w.if_(repack):
                    b_b = w.gep(t, "%B", w.mul(b, "%sbb"))
                    with w.loop(0, "%N", 1, "pn") as n:
                        col = w.gep(t, b_b, w.mul(n, "%sbn"))
                        dst = w.gep(t, bt, w.mul(n, "%K"))
                        with w.loop(0, "%K", 1, "pk") as k:
                            sp = w.gep(t, col, w.mul(k, "%sbk"))
                            w.op(f"store {t} {w(f'load {t}, ptr {sp}')}, ptr {w.gep(t, dst, k)}")
                with w.loop(r0, r1, self.DOT_EPILOGUE_ROWS, "ob") as rb:
                    rb_end = w.min(w.add(rb, self.DOT_EPILOGUE_ROWS), r1)
                    with w.loop(rb, rb_end, rows, "or") as r:
                        mv = w.min(rows, w.sub(rb_end, r))
                        a_rows = w.gep(t, a_b, w.mul(r, "%sam"))
                        c_rows = w.gep(t, c_b, w.mul(r, "%N"))
                        w.op(f"call void @{self.fn}.dot(ptr {a_rows}, i64 %sam, ptr {bt}, i64 %K, ptr {c_rows}, "
                             f"i64 %N, i64 {mv}, i64 %N)")
                    _call_epilogue(w, self.epilogue, b, rb, rb_end)
        w.op(f"call void @free(ptr {bt})")


    # ---- driver: thread split, cache blocking, epilogue ------------------------------------------
    def _thread_ranges(self, w, units, width):
        """This thread's [u0, u1) of `units` and columns [c0, c1) (split in multiples of `width`).
        Rows are split unless there is no epilogue and there are more column chunks than units
        (skinny M, e.g. a batch-1 dense layer): then columns are."""
        u0, u1 = _split(w, units, "%tid", "%nthreads")
        c0, c1 = "0", "%N"
        if self.epilogue is None or self.epilogue == INDIRECT_EPILOGUE:
            chunks = _ceil_div(w, "%N", width)
            by_cols = w(f"and i1 {w.cmp('sgt', '%nthreads', 1)}, {w.cmp('sgt', chunks, units)}")
            by_cols = w(f"and i1 {by_cols}, {_no_epilogue(w, self.epilogue)}")
            p0, p1 = _split(w, chunks, "%tid", "%nthreads")
            u0 = w(f"select i1 {by_cols}, i64 0, i64 {u0}")
            u1 = w(f"select i1 {by_cols}, i64 {units}, i64 {u1}")
            c0 = w(f"select i1 {by_cols}, i64 {w.mul(p0, width)}, i64 0")
            c1 = w(f"select i1 {by_cols}, i64 {w.min(w.mul(p1, width), '%N')}, i64 %N")
        idle = w(f"or i1 {w.cmp('sge', u0, u1)}, {w.cmp('sge', c0, c1)}")
        with w.if_(idle):
            w.op("ret void")
            w.start_block(w.label("dead"))
        return u0, u1, c0, c1

    def _driver(self) -> str:
        tl, t, size = self.tl, self.t, self.size
        mr, nr = tl.mr, tl.nr
        w = _FunctionWriter(f"define internal void @{self.fn}({_params(self.epilogue)})")
        no_rows_or_cols = w(f"or i1 {w.cmp('sle', '%M', 0)}, {w.cmp('sle', '%N', 0)}")
        empty = w(f"or i1 {no_rows_or_cols}, {w.cmp('sle', '%batch', 0)}")
        with w.if_(empty):
            w.op("ret void")
            w.start_block(w.label("dead"))
        # Very few columns and unit-stride A rows: padding N up to NR would waste most of the work.
        dot = w(f"and i1 {w.cmp('sle', '%N', self.dot_n_max)}, {w.cmp('eq', '%sak', 1)}")
        with w.if_(dot):
            self._dot_path(w)
            w.op("ret void")
            w.start_block(w.label("dead"))
        # At most MR rows and unit-stride B rows: packing would cost more than the product itself
        # (and pad M up to MR), so stream A and B directly.
        direct = w(f"and i1 {w.cmp('sle', '%M', mr)}, {w.cmp('eq', '%sbn', 1)}")
        with w.if_(direct):
            self._direct_path(w)
            w.op("ret void")
            w.start_block(w.label("dead"))

        row_panels = _ceil_div(w, "%M", mr)
        units = w.mul("%batch", row_panels)
        u0, u1, c0, c1 = self._thread_ranges(w, units, nr)

        # Per-thread packing buffers, 64-byte aligned (aligned_alloc needs a multiple of 64 bytes).
        kc_max = w.max(w.min(tl.kc, "%K"), 1)
        nc_max = w.min(tl.nc, w.mul(_ceil_div(w, w.sub(c1, c0), nr), nr))
        mc_max = w.min(tl.mc, w.mul(row_panels, mr))
        def alloc(elems):
            nbytes = w(f"and i64 {w.add(w.mul(elems, size), 63)}, -64")
            return w(f"call ptr @aligned_alloc(i64 64, i64 {nbytes})", "buf")
        bpack = alloc(w.mul(kc_max, nc_max))
        apack = alloc(w.add(w.mul(kc_max, mc_max), tl.vl))  # + VL: slack for pack_a's vector stores

        b_first = w.sdiv(u0, row_panels)
        b_last = w.sdiv(w.sub(u1, 1), row_panels)
        with w.loop(b_first, w.add(b_last, 1), 1, "bt") as b:
            first_unit = w.mul(b, row_panels)
            r0 = w.mul(w.max(w.sub(u0, first_unit), 0), mr)
            r1 = w.min(w.mul(w.min(w.sub(u1, first_unit), row_panels), mr), "%M")
            a_b = w.gep(t, "%A", w.mul(b, "%sab"))
            b_b = w.gep(t, "%B", w.mul(b, "%sbb"))
            c_b = w.gep(t, "%C", w.mul(w.mul(b, "%M"), "%N"))
            no_k = w.cmp("sle", "%K", 0)
            with w.if_(no_k):
                self._zero_rows(w, c_b, b, r0, r1, c0, c1)
            with w.if_(w(f"xor i1 {no_k}, true")):
                # Even block sizes (KC, MC, NC are caps): e.g. K = 600 runs as 2 x 300, not 512 + 88.
                # KC depends on K alone, so each element's summation order is thread independent.
                nc_step = _balanced_step(w, w.sub(c1, c0), tl.nc, nr)
                kc_step = _balanced_step(w, "%K", tl.kc, 1)
                mc_step = _balanced_step(w, w.sub(r1, r0), tl.mc, mr)
                with w.loop(c0, c1, nc_step, "jc") as jc:
                    nc = w.min(nc_step, w.sub(c1, jc))
                    last_jc = w.cmp("eq", w.add(jc, nc), c1)
                    with w.loop(0, "%K", kc_step, "pc") as pc:
                        kc = w.min(kc_step, w.sub("%K", pc))
                        rows_done = w(f"and i1 {last_jc}, {w.cmp('eq', w.add(pc, kc), '%K')}")
                        accumulate = w.cmp("sgt", pc, 0)
                        b_src = w.gep(t, b_b, w.add(w.mul(pc, "%sbk"), w.mul(jc, "%sbn")))
                        w.op(f"call void @{self.fn}.pack_b(ptr {bpack}, ptr {b_src}, i64 {kc}, i64 {nc}, "
                             f"i64 %sbk, i64 %sbn)")
                        with w.loop(r0, r1, mc_step, "ic") as ic:
                            mc = w.min(mc_step, w.sub(r1, ic))
                            a_src = w.gep(t, a_b, w.add(w.mul(ic, "%sam"), w.mul(pc, "%sak")))
                            w.op(f"call void @{self.fn}.pack_a(ptr {apack}, ptr {a_src}, i64 {mc}, i64 {kc}, "
                                 f"i64 %sam, i64 %sak)")
                            c_blk = w.gep(t, c_b, w.add(w.mul(ic, "%N"), jc))
                            with w.loop(0, nc, nr, "jr") as jr:
                                nv = w.min(nr, w.sub(nc, jr))
                                b_panel = w.gep(t, bpack, w.mul(jr, kc), inbounds=True)
                                c_col = w.gep(t, c_blk, jr)
                                with w.loop(0, mc, mr, "ir") as ir:
                                    mv = w.min(mr, w.sub(mc, ir))
                                    a_panel = w.gep(t, apack, w.mul(ir, kc), inbounds=True)
                                    c_tile = w.gep(t, c_col, w.mul(ir, "%N"))
                                    w.op(f"call void @{self.fn}.ukr(ptr {a_panel}, ptr {b_panel}, i64 {kc}, "
                                         f"ptr {c_tile}, i64 %N, i1 {accumulate}, i64 {mv}, i64 {nv})")
                            if self.epilogue is not None:
                                with w.if_(rows_done):
                                    _call_epilogue(w, self.epilogue, b, ic, w.add(ic, mc))
        w.op(f"call void @free(ptr {bpack})")
        w.op(f"call void @free(ptr {apack})")
        w.op("ret void")
        return w.text()

    def _zero_rows(self, w, c_b, b, r0, r1, c0, c1):
        """K == 0: the empty sum is 0; epilogues still run, in MC-row blocks."""
        t = self.t
        with w.loop(r0, r1, self.tl.mc, "zr") as ic:
            end = w.min(w.add(ic, self.tl.mc), r1)
            with w.loop(ic, end, 1, "zm") as m:
                row = w.gep(t, c_b, w.mul(m, "%N"))
                with w.loop(c0, c1, 1, "zn") as n:
                    w.op(f"store {t} {self._zero()}, ptr {w.gep(t, row, n)}")
            _call_epilogue(w, self.epilogue, b, ic, end)


def _scalar_gemm(fn: str, t: str, epilogue_fn: str | None) -> str:
    """Integer matmul: rows split over threads; C row = sum_k A[m, k] * B[k, :] with wraparound."""
    w = _FunctionWriter(f"define internal void @{fn}({_params(epilogue_fn)})")
    units = w.mul("%batch", "%M")
    empty = w(f"or i1 {w.cmp('sle', units, 0)}, {w.cmp('sle', '%N', 0)}")
    with w.if_(empty):
        w.op("ret void")
        w.start_block(w.label("dead"))
    u0, u1 = _split(w, units, "%tid", "%nthreads")
    with w.loop(u0, u1, 1, "u") as u:
        b = w.sdiv(u, "%M")
        m = w(f"srem i64 {u}, %M")
        crow = w.gep(t, "%C", w.mul(u, "%N"))
        arow = w.gep(t, "%A", w.add(w.mul(b, "%sab"), w.mul(m, "%sam")))
        bmat = w.gep(t, "%B", w.mul(b, "%sbb"))
        with w.loop(0, "%N", 1, "zn") as n:
            w.op(f"store {t} 0, ptr {w.gep(t, crow, n)}")
        with w.loop(0, "%K", 1, "k") as k:
            ap = w.gep(t, arow, w.mul(k, "%sak"))
            a = w(f"load {t}, ptr {ap}")
            brow = w.gep(t, bmat, w.mul(k, "%sbk"))
            with w.loop(0, "%N", 1, "n") as n:
                cp = w.gep(t, crow, n)
                bp = w.gep(t, brow, w.mul(n, "%sbn"))
                prod = w(f"mul {t} {a}, {w(f'load {t}, ptr {bp}')}")
                total = w(f"add {t} {w(f'load {t}, ptr {cp}')}, {prod}")
                w.op(f"store {t} {total}, ptr {cp}")
        _call_epilogue(w, epilogue_fn, b, m, w.add(m, 1))
    w.op("ret void")
    return w.text()
