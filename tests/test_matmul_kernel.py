"""The generated GEMM kernel (compiler/codegen/matmul.py), JIT-compiled on its own and called via ctypes.

Operands live in guarded memory (an inaccessible page right before and after each buffer), so any
out-of-bounds read or write by the kernel crashes the test instead of passing silently.
"""
from __future__ import annotations

import ctypes
import functools
import mmap
import threading
import zlib

import llvmlite.binding as llvm
import numpy as np
import pytest

from fuseflow.compiler import dtypes
from fuseflow.compiler.codegen.matmul import (
    INDIRECT_EPILOGUE, _FunctionWriter, gemm_tiling, matmul_declarations, matmul_function_ir)

KC = gemm_tiling(dtypes.float32).kc
NC = gemm_tiling(dtypes.float32).nc

_ARGS = ("ptr %A, ptr %B, ptr %C, i64 %batch, i64 %M, i64 %N, i64 %K, i64 %sab, i64 %sam, i64 %sak, "
         "i64 %sbb, i64 %sbk, i64 %sbn, i64 %tid, i64 %nthreads, ptr %ctx")
_CFUNC = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * 3 + [ctypes.c_int64] * 12 + [ctypes.c_void_p]))
_CFUNC_INDIRECT = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * 3 + [ctypes.c_int64] * 12 + [ctypes.c_void_p,
                                                                                          ctypes.c_int64]))
_LLVM_T = {"float32": "float", "float64": "double", "int32": "i32", "int64": "i64"}


def _target_machine(isa=None):
    """The host CPU, or for isa='avx2' a Haswell (AVX2 + FMA, runs on any AVX-512 host too)."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    if isa == "avx2":
        return target.create_target_machine(cpu="haswell", features="", opt=3)
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(),
                                        features=llvm.get_host_cpu_features().flatten(), opt=3)


def _epilogue_ir(name: str, dtype) -> str:
    """Test epilogue: C row = max(C row, 0) + 1 (wrong if run before the row is final) and
    counts[b*M + r] += 1. ctx -> {ptr C, i64 M, i64 N, ptr counts}."""
    t = _LLVM_T[dtype.name]
    one, zero = ("1.000000e+00", "0.000000e+00") if dtype.is_floating else ("1", "0")
    w = _FunctionWriter(f"define internal void @{name}(ptr %ctx, i64 %b, i64 %r0, i64 %r1)")
    c = w("load ptr, ptr %ctx")
    m = w(f"load i64, ptr {w.gep('i64', '%ctx', 1)}")
    n = w(f"load i64, ptr {w.gep('i64', '%ctx', 2)}")
    counts = w(f"load ptr, ptr {w.gep('i64', '%ctx', 3)}")
    with w.loop("%r0", "%r1", 1, "r") as r:
        row = w.add(w.mul("%b", m), r)
        cp = w.gep("i64", counts, row)
        w.op(f"store i64 {w.add(w('load i64, ptr ' + cp), 1)}, ptr {cp}")
        with w.loop(0, n, 1, "n") as j:
            p = w.gep(t, c, w.add(w.mul(row, n), j))
            x = w(f"load {t}, ptr {p}")
            relu = (w(f"call {t} @llvm.maxnum.{'f32' if t == 'float' else 'f64'}({t} {x}, {t} {zero})")
                    if dtype.is_floating else w.max(x, zero) if t == "i64" else
                    w(f"call i32 @llvm.smax.i32(i32 {x}, i32 {zero})"))
            w.op(f"store {t} {w(('fadd' if dtype.is_floating else 'add') + f' {t} {relu}, {one}')}, ptr {p}")
    w.op("ret void")
    return w.text()


@functools.lru_cache(maxsize=None)
def _kernel(dtype_name: str, with_epilogue: bool, isa=None, indirect=False):
    """(engine, entry). indirect: the GEMM takes its epilogue as a pointer; the entry gets one more
    i64 argument choosing between the test epilogue (nonzero) and null (no epilogue)."""
    dtype = dtypes.as_dtype(dtype_name)
    epi = "test_epilogue" if with_epilogue or indirect else None
    text = (matmul_declarations() + matmul_function_ir("ff_mm", dtype, INDIRECT_EPILOGUE if indirect else epi, isa)
            + (_epilogue_ir(epi, dtype) if epi else ""))
    if indirect:
        text += (f"define void @entry({_ARGS}, i64 %use_epilogue) {{\n"
                 f"  %on = icmp ne i64 %use_epilogue, 0\n"
                 f"  %epi = select i1 %on, ptr @{epi}, ptr null\n"
                 f"  call void @ff_mm({_ARGS}, ptr %epi)\n  ret void\n}}\n")
    else:
        text += f"define void @entry({_ARGS}) {{\n  call void @ff_mm({_ARGS})\n  ret void\n}}\n"
    tm = _target_machine(isa)  # MCJIT takes ownership of its target machine: one per engine
    mod = llvm.parse_assembly(text)
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    mod.verify()
    pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=3))
    pb.getModulePassManager().run(mod, pb)
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
    engine.add_object_file(llvm.ObjectFileRef.from_data(tm.emit_object(mod)))
    engine.finalize_object()
    return engine, (_CFUNC_INDIRECT if indirect else _CFUNC)(engine.get_function_address("entry"))


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_PAGE = mmap.PAGESIZE
_KEEP: list = []  # guarded mappings stay alive for the whole session (no dangling views)


def guarded(shape, dtype) -> np.ndarray:
    """A C-contiguous array whose last byte ends right before a PROT_NONE page (and one before it)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    data_pages = -(-max(nbytes, 1) // _PAGE)
    mm = mmap.mmap(-1, (data_pages + 2) * _PAGE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(mm))
    for page in (0, data_pages + 1):
        assert _libc.mprotect(base + page * _PAGE, _PAGE, 0) == 0
    _KEEP.append(mm)
    offset = (data_pages + 1) * _PAGE - nbytes
    return np.frombuffer(mm, dtype=dtype, count=int(np.prod(shape)), offset=offset).reshape(shape)


def guarded_copy(x: np.ndarray) -> np.ndarray:
    out = guarded(x.shape, x.dtype)
    out[...] = x
    return out


def _strides(x: np.ndarray, batched: bool):
    s = [st // x.itemsize for st in x.strides]
    if not batched:
        return 0, s[0], s[1]
    return (0 if x.shape[0] == 1 else s[0]), s[1], s[2]


def run(a: np.ndarray, b: np.ndarray, nthreads=1, epilogue=False, concurrent=True, c=None, isa=None,
        indirect=False):
    """C = a @ b through the kernel. a: [batch?, M, K] view, b: [batch?, K, N] view (any strides;
    a batch dim of size 1 broadcasts with stride 0). Threads run concurrently or one after another.
    indirect: use the GEMM variant taking the epilogue as a pointer (null when not `epilogue`)."""
    batched = a.ndim == 3
    batch = max(a.shape[0], b.shape[0]) if batched else 1
    m, k = a.shape[-2:]
    n = b.shape[-1]
    if c is None:
        c = guarded((batch, m, n), a.dtype)
        c[...] = 7  # garbage the kernel must overwrite
    counts = np.zeros(batch * m, np.int64)
    ctx = (ctypes.c_void_p * 4)(c.ctypes.data, m, n, counts.ctypes.data)
    _, fn = _kernel(a.dtype.name, epilogue and not indirect, isa, indirect)
    extra = (int(epilogue),) if indirect else ()
    args = [(a.ctypes.data, b.ctypes.data, c.ctypes.data, batch, m, n, k, *_strides(a, batched),
             *_strides(b, batched), tid, nthreads, ctypes.addressof(ctx), *extra) for tid in range(nthreads)]
    if concurrent and nthreads > 1:
        threads = [threading.Thread(target=fn, args=arg) for arg in args]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    else:
        for arg in args:
            fn(*arg)
    return (c if batched else c[0]), counts


def _operand(rng, shape, dtype, transposed=False):
    """Guarded operand with the given logical shape; `transposed` stores it as the transpose of a
    dense array (swapped strides)."""
    if np.dtype(dtype).kind == "f":
        x = rng.standard_normal(shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    if transposed:
        return np.swapaxes(guarded_copy(np.ascontiguousarray(np.swapaxes(x, -1, -2))), -1, -2)
    return guarded_copy(x)


def _reference(a, b):
    if a.dtype.kind == "f":
        return np.matmul(a.astype(np.float64), b.astype(np.float64))
    return np.matmul(a, b)  # numpy integer matmul wraps around like the kernel


def _check(got, a, b):
    want = _reference(a, b)
    if a.dtype.kind == "f":
        k = a.shape[-1]
        eps = np.finfo(a.dtype).eps
        tol = 4 * eps * max(k, 1) * (np.abs(a).max(initial=0) * np.abs(b).max(initial=0) + 1)
        np.testing.assert_allclose(got, want, rtol=0, atol=tol)
    else:
        np.testing.assert_array_equal(got, want)


SHAPES = [(1, 1, 1), (0, 5, 3), (4, 0, 3), (3, 4, 0), (1, 17, 1), (2, 1, 9), (13, 33, 7),
          (12, 32, 16), (25, 65, KC + 17), (37, 31, 2 * KC + 1), (3, 100, 20)]
LAYOUTS = [(False, False), (True, False), (False, True), (True, True)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("layout", LAYOUTS, ids=["nn", "tn", "nt", "tt"])
def test_float_matches_numpy(dtype, shape, layout):
    rng = np.random.default_rng(zlib.crc32(repr((dtype, shape, layout)).encode()))
    m, n, k = shape
    a, b = _operand(rng, (m, k), dtype, layout[0]), _operand(rng, (k, n), dtype, layout[1])
    for nthreads in (1, 2):
        got, _ = run(a, b, nthreads)
        _check(got, a, b)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "int16"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (0, 3, 2), (3, 4, 0), (7, 5, 11), (16, 33, 9)],
                         ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("layout", LAYOUTS, ids=["nn", "tn", "nt", "tt"])
def test_integer_matches_numpy_with_wraparound(dtype, shape, layout):
    rng = np.random.default_rng(zlib.crc32(repr((dtype, shape, layout)).encode()))
    m, n, k = shape
    a, b = _operand(rng, (m, k), dtype, layout[0]), _operand(rng, (k, n), dtype, layout[1])
    for nthreads in (1, 2):
        got, _ = run(a, b, nthreads)
        _check(got, a, b)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("broadcast", ["none", "a", "b"])
def test_batched_with_broadcast_stride_zero(dtype, broadcast):
    rng = np.random.default_rng(3)
    batch, m, n, k = 3, 14, 35, 19
    a = _operand(rng, (1 if broadcast == "a" else batch, m, k), dtype)
    b = _operand(rng, (1 if broadcast == "b" else batch, k, n), dtype, transposed=True)
    for nthreads in (1, 2, 5):
        got, _ = run(a, b, nthreads)
        _check(got, a, b)


def test_results_do_not_depend_on_thread_count():
    rng = np.random.default_rng(4)
    for m, n, k in [(61, 83, 2 * KC + 5), (5, 300, KC + 3)]:  # row split, and column split (skinny M)
        a, b = _operand(rng, (m, k), np.float32), _operand(rng, (k, n), np.float32, transposed=True)
        one, _ = run(a, b, 1)
        for nthreads in (2, 3, 7):
            got, _ = run(a, b, nthreads, concurrent=nthreads == 2)
            np.testing.assert_array_equal(got, one)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
@pytest.mark.parametrize("shape", [(1, 1, 1), (37, 45, 2 * KC + 3), (5, 20, 0), (3, NC + 40, 2), (13, NC + 40, 2),
                                   (300, 17, 5), (7, 300, 40), (130, 3, 40)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("b_transposed", [False, True], ids=["b", "bT"])
def test_epilogue_runs_once_per_row_on_final_values(dtype, shape, b_transposed):
    rng = np.random.default_rng(5)
    m, n, k = shape
    batch = 2
    a, b = _operand(rng, (batch, m, k), dtype), _operand(rng, (1, k, n), dtype, b_transposed)
    want = np.maximum(_reference(a, b), 0) + 1
    for nthreads in (1, 2, 3):
        got, counts = run(a, b, nthreads, epilogue=True, concurrent=nthreads == 2)
        np.testing.assert_array_equal(counts, 1)
        if a.dtype.kind == "f":
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * max(k, 1))
        else:
            np.testing.assert_array_equal(got, want.astype(a.dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 8, 9, 12])
def test_direct_path_for_few_rows(dtype, m):
    """M <= MR with unit-stride B rows skips packing: every row-count kernel, full and partial
    column chunks, several K blocks, transposed A, broadcast batches, column split over threads."""
    rng = np.random.default_rng(m)
    for n, k, a_transposed in [(1, 1, False), (145, 37, False), (300, 50, True), (17, 3, True)]:
        a = _operand(rng, (m, k), dtype, a_transposed)
        b = _operand(rng, (k, n), dtype)
        one, _ = run(a, b, 1)
        _check(one, a, b)
        for nthreads in (2, 3):
            got, _ = run(a, b, nthreads, concurrent=nthreads == 2)
            np.testing.assert_array_equal(got, one)
    a, b = _operand(rng, (3, m, 21), dtype), _operand(rng, (1, 21, 70), dtype)
    got, _ = run(a, b, 2)
    _check(got, a, b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 16])
def test_dot_path_for_few_columns(dtype, n):
    """N <= NR/2 with unit-stride A rows: one dot product per element, masked k tails, row groups
    of 4 split over threads, B packed transposed once (broadcast batch) or per batch."""
    rng = np.random.default_rng(n)
    for m, k, b_transposed in [(1, 1, False), (5, 15, True), (61, 16, False), (130, 33, True), (9, 100, False)]:
        a = _operand(rng, (m, k), dtype)
        b = _operand(rng, (k, n), dtype, b_transposed)
        one, _ = run(a, b, 1)
        _check(one, a, b)
        for nthreads in (2, 3):
            got, _ = run(a, b, nthreads, concurrent=nthreads == 2)
            np.testing.assert_array_equal(got, one)
    for b_batch in (1, 3):
        a, b = _operand(rng, (3, 10, 21), dtype), _operand(rng, (b_batch, 21, n), dtype)
        got, _ = run(a, b, 2)
        _check(got, a, b)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_avx2_tiling_is_correct_on_an_avx2_target(dtype):
    """Hosts without AVX-512 get 6-row tiles of 256-bit vectors: all three paths, with epilogue."""
    rng = np.random.default_rng(6)
    for (m, n, k), layout in [((1, 1, 1), "nn"), ((5, 70, 300), "nn"), ((7, 40, 9), "nt"),
                              ((50, 3, 33), "nn"), ((45, 37, 600), "nt"), ((30, 20, 40), "tt"),
                              ((13, 300, 5), "tn")]:
        a, b = _operand(rng, (2, m, k), dtype, layout[0] == "t"), _operand(rng, (1, k, n), dtype, layout[1] == "t")
        for nthreads in (1, 2):
            got, _ = run(a, b, nthreads, isa="avx2")
            _check(got, a, b)
            got, counts = run(a, b, nthreads, epilogue=True, isa="avx2")
            np.testing.assert_array_equal(counts, 1)
            np.testing.assert_allclose(got, np.maximum(_reference(a, b), 0) + 1, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_indirect_epilogue_pointer_and_null(dtype):
    """INDIRECT_EPILOGUE: one GEMM serves every epilogue through a pointer; null means none (and
    then skinny problems may split columns, with thread-independent results)."""
    rng = np.random.default_rng(7)
    for (m, n, k), b_transposed in [((37, 45, 70), False), ((3, 300, 20), False), ((3, 300, 20), True),
                                    ((130, 3, 40), False), ((4, 5, 0), False)]:
        a, b = _operand(rng, (2, m, k), dtype), _operand(rng, (2, k, n), dtype, b_transposed)
        for nthreads in (1, 2, 3):
            got, counts = run(a, b, nthreads, epilogue=True, indirect=True, concurrent=nthreads == 2)
            np.testing.assert_array_equal(counts, 1)
            want = np.maximum(_reference(a, b), 0) + 1
            if a.dtype.kind == "f":
                np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * max(k, 1))
            else:
                np.testing.assert_array_equal(got, want.astype(a.dtype))
            plain, counts = run(a, b, nthreads, indirect=True, concurrent=nthreads == 2)
            np.testing.assert_array_equal(counts, 0)
            np.testing.assert_array_equal(plain, run(a, b, 1)[0])


def test_helpers_are_prefixed_and_signature_is_exact():
    text = matmul_function_ir("my_kernel_3", dtypes.float32, "my_epilogue")
    defines = [line.split("@")[1].split("(")[0] for line in text.splitlines() if line.startswith("define")]
    assert "my_kernel_3" in defines
    assert all(d == "my_kernel_3" or d.startswith("my_kernel_3.") for d in defines)
    assert f"define internal void @my_kernel_3({_ARGS})" in text
    assert "call void @my_epilogue(ptr %ctx, i64" in text
    assert "my_epilogue" not in matmul_function_ir("k", dtypes.float32, None)


def test_unsupported_dtype_is_a_clear_error():
    with pytest.raises(TypeError, match="matmul.*float16"):
        matmul_function_ir("k", dtypes.float16, None)
