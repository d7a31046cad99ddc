"""LLVM code generator: hand-built loop-IR programs run natively and compared with numpy."""
from __future__ import annotations

import re

import numpy as np
import pytest

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler import loopir as L
from fuseflow.compiler.codegen.llvm import generate
from fuseflow.compiler.shapes import SymDim
from fuseflow.runtime import Executable, ExecutionError

f32, f64, i32, i64, u8, b8 = dt.float32, dt.float64, dt.int32, dt.int64, dt.uint8, dt.bool_
N = SymDim.symbol("n")


def build(program, strict=False, threads=None):
    res = generate(program, strict=strict)
    return res, Executable(res.object, res.signature, num_threads=threads)


def elementwise(fn, in_dtypes, out_dtype, name="ew"):
    """z[i] = fn(x0[i], x1[i], ...) over a symbolic length n, as one parallel loop."""
    i = L.Var("i")
    ins = [f"x{k}" for k in range(len(in_dtypes))]
    bufs = {n: L.Buffer(n, d, (N,), "input") for n, d in zip(ins, in_dtypes)}
    bufs["z"] = L.Buffer("z", out_dtype, (N,), "output")
    value = fn(*[L.Load(n, i, d) for n, d in zip(ins, in_dtypes)])
    body = [L.Loop("i", L.SizeOf(N), [L.Store("z", i, value)], "parallel")]
    return L.Program(name, bufs, [L.Kernel("k", body, ins, ["z"])], ins, ["z"], ["n"])


def run_elementwise(fn, arrays, out_dtype, **kw):
    prog = elementwise(fn, [dt.from_numpy(a.dtype) for a in arrays], out_dtype)
    _, exe = build(prog, **kw)
    return exe(*arrays)[0]


def B(op, a, b):
    return L.Binary(op, a, b)


def U(op, x, d=None):
    return L.Unary(op, x, d or x.dtype)


# ----------------------------------------------------------------------------- elementwise
def test_broadcast_index_math_with_symbolic_rows():
    rows, cols = SymDim.symbol("rows"), 8
    i, j = L.Var("i"), L.Var("j")
    bufs = {"x": L.Buffer("x", f32, (rows, cols), "input"), "y": L.Buffer("y", f32, (cols,), "input"),
            "z": L.Buffer("z", f32, (rows, cols), "output")}
    flat = i * cols + j
    value = B("add", B("mul", L.Load("x", flat, f32), L.Load("y", j, f32)), L.Const(1, f32))
    body = [L.Loop("i", L.SizeOf(rows), [L.Loop("j", L.Const(cols, L.INDEX), [L.Store("z", flat, value)])],
                   "parallel")]
    prog = L.Program("bcast", bufs, [L.Kernel("k", body, ["x", "y"], ["z"])], ["x", "y"], ["z"], ["rows"])
    res, exe = build(prog)
    assert res.signature["inputs"][0]["shape"] == [["sym", "rows"], ["const", 8]]
    y = np.arange(8, dtype=np.float32)
    for n in (1, 5, 37):
        x = np.random.default_rng(n).standard_normal((n, 8)).astype(np.float32)
        np.testing.assert_allclose(exe(x, y)[0], x * y + 1, rtol=1e-6)


def test_simple_elementwise_loop_vectorizes_with_avx512():
    res, _ = build(elementwise(lambda a, b: B("add", B("mul", a, b), L.Const(1.0, f32)), [f32, f32], f32))
    assert "zmm" in res.asm or "ymm" in res.asm


def test_inline_exp_vectorizes_without_libm_calls():
    res, exe = build(elementwise(lambda a: U("exp", a), [f32], f32))
    assert "zmm" in res.asm
    assert not re.search(r"call\s+\S*exp", res.asm)
    x = np.linspace(-5, 5, 1001, dtype=np.float32)
    np.testing.assert_allclose(exe(x)[0], np.exp(x), rtol=3e-7)


def test_float_constants_are_exact_and_flags_follow_policy():
    third = 1 / 3
    prog = elementwise(lambda a: B("mul", a, L.Const(third, f64)), [f64], f64)
    res, exe = build(prog)
    assert "0x3FD5555555555555" in res.llvm_ir
    assert "fmul nsz contract afn double" in res.llvm_ir
    assert "nnan" not in res.llvm_ir and "ninf" not in res.llvm_ir and "reassoc" not in res.llvm_ir
    assert "arcp" not in res.llvm_ir          # x / y stays exactly rounded (no reciprocal multiply)
    x = np.array([3.0, 1e300, -7.0])
    np.testing.assert_array_equal(exe(x)[0], x * third)
    strict, _ = build(prog, strict=True)
    for flag in ("nsz", "arcp", "contract", "afn", "fast"):
        assert flag not in strict.llvm_ir.split("define internal double @ff_")[0]


def test_division_by_a_broadcast_scalar_is_exactly_rounded():
    """A hoistable divisor must not become a reciprocal multiply: floor(x / 41) once came out one
    too small for 210 of 30000 integers and a third of x / 3 were an ulp off."""
    import fuseflow as tf

    @tf.function
    def quotients(x, y):
        return x / y, x // y

    x = np.arange(30000, dtype=np.float32)
    for d in (3.0, 7.0, 41.0):
        q, fq = quotients(x, np.float32(d))
        np.testing.assert_array_equal(q.numpy(), x / np.float32(d))
        np.testing.assert_array_equal(fq.numpy(), np.floor(x / np.float32(d)))


def test_half_precision_math_goes_through_float():
    x = np.linspace(-3, 3, 64).astype(np.float16)
    out = run_elementwise(lambda a: B("add", U("tanh", a), a), [x], dt.float16)
    np.testing.assert_allclose(out.astype(np.float32), (np.tanh(x.astype(np.float32)) + x.astype(np.float32)),
                               rtol=2e-3, atol=2e-3)


# ----------------------------------------------------------------------------- reductions
def row_reduce_program(op, dtype, identity):
    rows, cols = SymDim.symbol("r"), SymDim.symbol("c")
    i, j = L.Var("i"), L.Var("j")
    bufs = {"x": L.Buffer("x", dtype, (rows, cols), "input"), "z": L.Buffer("z", dtype, (rows,), "output")}
    acc = L.Var("acc", dtype)
    body = [L.Loop("i", L.SizeOf(rows), [
        L.Declare("acc", L.Const(identity, dtype)),
        L.Loop("j", L.SizeOf(cols), [L.Assign("acc", B(op, acc, L.Load("x", i * L.SizeOf(cols) + j, dtype)))],
               "reduce"),
        L.Store("z", i, acc)], "parallel")]
    return L.Program(f"reduce_{op}", bufs, [L.Kernel("k", body, ["x"], ["z"])], ["x"], ["z"], ["r", "c"])


def test_float_sum_reduction_vectorizes_and_is_accurate():
    res, exe = build(row_reduce_program("add", f32, 0.0))
    assert "fadd reassoc" in res.llvm_ir or "reassoc" in res.llvm_ir
    assert "<16 x float>" in res.optimized_ir or "<8 x float>" in res.optimized_ir
    x = np.random.default_rng(0).standard_normal((7, 1000)).astype(np.float32)
    np.testing.assert_allclose(exe(x)[0], x.astype(np.float64).sum(1), rtol=1e-5, atol=1e-4)
    assert exe(np.zeros((3, 0), np.float32))[0].tolist() == [0.0, 0.0, 0.0]


def test_max_reduction_propagates_nan():
    _, exe = build(row_reduce_program("max", f32, -np.inf))
    x = np.random.default_rng(1).standard_normal((4, 100)).astype(np.float32)
    x[1, 50] = np.nan
    x[3, 0] = np.nan
    out = exe(x)[0]
    ref = x.max(axis=1)
    np.testing.assert_array_equal(np.isnan(out), [False, True, False, True])
    np.testing.assert_array_equal(out[[0, 2]], ref[[0, 2]])
    assert exe(np.zeros((2, 0), np.float32))[0].tolist() == [-np.inf, -np.inf]


def test_min_max_elementwise_nan_and_int():
    a = np.array([1.0, np.nan, 3.0, -0.0], np.float32)
    b = np.array([np.nan, 2.0, 1.0, 0.0], np.float32)
    np.testing.assert_array_equal(run_elementwise(lambda x, y: B("max", x, y), [a, b], f32), np.maximum(a, b))
    np.testing.assert_array_equal(run_elementwise(lambda x, y: B("min", x, y), [a, b], f32), np.minimum(a, b))
    ia = np.array([-5, 7, 2**31 - 1], np.int32)
    ib = np.array([3, -9, -2**31], np.int32)
    np.testing.assert_array_equal(run_elementwise(lambda x, y: B("max", x, y), [ia, ib], i32), np.maximum(ia, ib))
    ua = np.array([200, 3], np.uint8)
    ub = np.array([100, 250], np.uint8)
    np.testing.assert_array_equal(run_elementwise(lambda x, y: B("min", x, y), [ua, ub], u8), np.minimum(ua, ub))


def test_int_sum_reduction_wraps():
    _, exe = build(row_reduce_program("add", i32, 0))
    x = np.full((2, 3), 2**30, np.int32)
    np.testing.assert_array_equal(exe(x)[0], x.sum(1, dtype=np.int32))


# ----------------------------------------------------------------------------- integer semantics
def _int_operands(dtype):
    info = np.iinfo(dtype)
    vals = [0, 1, -1, 2, -2, 3, -3, 7, -7, info.min, info.max, info.min + 1] if info.min < 0 else \
        [0, 1, 2, 3, 7, info.max, info.max - 1]
    a, b = np.meshgrid(np.array(vals, dtype), np.array(vals, dtype))
    return a.ravel(), b.ravel()


def _expected(op, a, b):
    with np.errstate(all="ignore"):
        safe = np.where(b == 0, 1, b).astype(a.dtype)
        if op == "floordiv":
            r = np.floor_divide(a, safe)
        elif op == "mod":
            r = np.mod(a, safe)
        else:  # C-style truncation
            q = np.floor_divide(a, safe)
            r = np.where((q < 0) & (q * safe != a), q + 1, q).astype(a.dtype)
        return np.where(b == 0, 0, r).astype(a.dtype)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8, np.uint8, np.uint32])
@pytest.mark.parametrize("op", ["div", "floordiv", "mod"])
def test_integer_division_matches_numpy_and_never_traps(op, dtype):
    a, b = _int_operands(dtype)
    d = dt.from_numpy(dtype)
    out = run_elementwise(lambda x, y: B(op, x, y), [a, b], d)
    np.testing.assert_array_equal(out, _expected(op, a, b))


def test_integer_arithmetic_wraps_and_shifts_saturate():
    a = np.array([2**31 - 1, -2**31, 5, -5, 1], np.int32)
    b = np.array([1, -1, 40, 33, 31], np.int32)
    np.testing.assert_array_equal(run_elementwise(lambda x, y: B("add", x, y), [a, b], i32), a + b)
    np.testing.assert_array_equal(run_elementwise(lambda x, y: B("mul", x, y), [a, b], i32), a * b)
    np.testing.assert_array_equal(run_elementwise(lambda x, y: B("shl", x, y), [a, b], i32),
                                  np.where(b >= 32, 0, np.left_shift(a, np.minimum(b, 31))))
    np.testing.assert_array_equal(run_elementwise(lambda x, y: B("shr", x, y), [a, b], i32),
                                  np.right_shift(a, np.minimum(b, 31)))
    np.testing.assert_array_equal(run_elementwise(lambda x: U("abs", x), [a], i32), np.abs(a))
    np.testing.assert_array_equal(run_elementwise(lambda x: U("neg", x), [a], i32), -a)
    np.testing.assert_array_equal(run_elementwise(lambda x: U("sign", x), [a], i32), np.sign(a))


def test_integer_pow():
    a = np.array([2, -3, 5, 1, -1, 0, 7], np.int64)
    b = np.array([10, 3, 0, 100, 7, 0, 30], np.int64)
    np.testing.assert_array_equal(run_elementwise(lambda x, y: B("pow", x, y), [a, b], i64), a ** b)


def test_float_floordiv_and_mod_match_numpy():
    v = np.array([7.5, -7.5, 3.0, -3.0, 0.0, -0.0, 1e30, np.inf, np.nan, 0.1], np.float64)
    a, b = (x.ravel() for x in np.meshgrid(v, v))
    with np.errstate(all="ignore"):
        fd, md = np.floor_divide(a, b), np.mod(a, b)
    out_fd = run_elementwise(lambda x, y: B("floordiv", x, y), [a, b], f64)
    out_md = run_elementwise(lambda x, y: B("mod", x, y), [a, b], f64)
    np.testing.assert_array_equal(out_fd, fd)
    np.testing.assert_array_equal(out_md, md)
    np.testing.assert_array_equal(np.signbit(out_md), np.signbit(md))


# ----------------------------------------------------------------------------- casts, bool, rounding
def test_float_to_int_casts_truncate_and_saturate():
    x = np.array([1.9, -1.9, 0.5, -0.5, 1e10, -1e10, np.nan, np.inf, -np.inf, 2.5], np.float32)
    out = run_elementwise(lambda a: L.Cast(a, i32), [x], i32)
    finite = np.abs(x) < 2**31
    np.testing.assert_array_equal(out[finite], x[finite].astype(np.int32))
    assert out[4] == 2**31 - 1 and out[5] == -2**31 and out[6] == 0  # saturating, never poison
    u = np.array([-1.0, 255.7, 300.0, 3.2], np.float32)
    np.testing.assert_array_equal(run_elementwise(lambda a: L.Cast(a, u8), [u], u8), [255, 255, 44, 3])


def test_int_float_bool_casts():
    ints = np.array([-129, 127, 255, 70000, -1], np.int64)
    np.testing.assert_array_equal(run_elementwise(lambda a: L.Cast(a, dt.int8), [ints], dt.int8), ints.astype(np.int8))
    np.testing.assert_array_equal(run_elementwise(lambda a: L.Cast(a, u8), [ints], u8), ints.astype(np.uint8))
    np.testing.assert_array_equal(run_elementwise(lambda a: L.Cast(a, f32), [ints], f32), ints.astype(np.float32))
    big = np.array([2**64 - 1, 2**63, 5], np.uint64)
    np.testing.assert_array_equal(run_elementwise(lambda a: L.Cast(a, f64), [big], f64), big.astype(np.float64))
    fl = np.array([0.0, -0.0, np.nan, 0.1, -3.0], np.float32)
    np.testing.assert_array_equal(run_elementwise(lambda a: L.Cast(a, b8), [fl], b8), fl.astype(bool))
    bools = np.array([True, False, True])
    np.testing.assert_array_equal(run_elementwise(lambda a: L.Cast(a, f32), [bools], f32), bools.astype(np.float32))
    np.testing.assert_array_equal(run_elementwise(lambda a: L.Cast(a, i32), [bools], i32), bools.astype(np.int32))
    h = np.array([1e-8, 60000.0, 0.1], np.float32)
    np.testing.assert_array_equal(run_elementwise(lambda a: L.Cast(a, dt.float16), [h], dt.float16), h.astype(np.float16))


def test_comparisons_with_nan_and_bool_logic():
    a = np.array([1.0, np.nan, 2.0, np.nan], np.float32)
    b = np.array([1.0, 1.0, np.nan, np.nan], np.float32)
    for op, ref in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("ge", np.greater_equal)):
        out = run_elementwise(lambda x, y, op=op: B(op, x, y), [a, b], b8)
        assert out.dtype == np.bool_
        np.testing.assert_array_equal(out, ref(a, b))
    p = np.array([True, True, False, False])
    q = np.array([True, False, True, False])
    for op, ref in (("and", np.logical_and), ("or", np.logical_or), ("xor", np.logical_xor)):
        np.testing.assert_array_equal(run_elementwise(lambda x, y, op=op: B(op, x, y), [p, q], b8), ref(p, q))
    np.testing.assert_array_equal(run_elementwise(lambda x: U("not", x), [p], b8), ~p)
    sel = run_elementwise(lambda c, x, y: L.Select(c, x, y), [p, a, b], f32)
    np.testing.assert_array_equal(sel, np.where(p, a, b))
    u = np.array([1, 200], np.uint8)
    v = np.array([200, 1], np.uint8)
    np.testing.assert_array_equal(run_elementwise(lambda x, y: B("lt", x, y), [u, v], b8), u < v)


def test_rounding_and_simple_float_unaries():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 2.4, -2.6, np.nan, -0.0, np.inf], np.float32)
    for op, ref in (("round", np.round), ("floor", np.floor), ("ceil", np.ceil), ("abs", np.abs),
                    ("neg", np.negative), ("sign", np.sign), ("sqrt", np.sqrt)):
        with np.errstate(all="ignore"):
            want = ref(x)
        np.testing.assert_array_equal(run_elementwise(lambda a, op=op: U(op, a), [x], f32), want, err_msg=op)
    for op, ref in (("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite)):
        np.testing.assert_array_equal(run_elementwise(lambda a, op=op: U(op, a, b8), [x], b8), ref(x))
    y = np.array([4.0, 0.25, 2.0], np.float32)
    np.testing.assert_allclose(run_elementwise(lambda a: U("rsqrt", a), [y], f32), 1 / np.sqrt(y), rtol=1e-7)
    np.testing.assert_allclose(run_elementwise(lambda a: U("reciprocal", a), [y], f32), 1 / y, rtol=1e-7)


# ----------------------------------------------------------------------------- statements
def test_if_let_constants_and_derived_symbolic_dims():
    i = L.Var("i")
    half = SymDim("floordiv", (N, 2))
    bufs = {"x": L.Buffer("x", f32, (N,), "input"), "c": L.Buffer("c", f32, (4,), "const"),
            "z": L.Buffer("z", f32, (half,), "output")}
    k = L.Var("k")
    body = [L.Loop("i", L.SizeOf(half), [
        L.Let("k", B("mod", i, L.Const(4, L.INDEX))),
        L.If(B("lt", k, L.Const(2, L.INDEX)),
             [L.Store("z", i, B("add", L.Load("x", i * 2, f32), L.Load("c", k, f32)))],
             [L.Store("z", i, L.Load("c", k, f32))])], "parallel")]
    consts = {"c": np.array([10, 20, 30, 40], np.float32)}
    prog = L.Program("misc", bufs, [L.Kernel("k", body, ["x", "c"], ["z"])], ["x"], ["z"], ["n"], consts)
    res, exe = build(prog)
    assert "@cst.0 = private unnamed_addr constant" in res.llvm_ir
    x = np.arange(11, dtype=np.float32)
    out = exe(x)[0]
    kk = np.arange(5) % 4
    np.testing.assert_array_equal(out, np.where(kk < 2, x[::2][:5] + consts["c"][kk], consts["c"][kk]))


def _three_kernel_program(with_check=False):
    """t = exp(x) * 2 (kernel 0), s[r] = sum_c t (kernel 1), z = t / s (kernel 2): softmax-like."""
    R, C = SymDim.symbol("r"), SymDim.symbol("c")
    i, j = L.Var("i"), L.Var("j")
    flat = i * L.SizeOf(C) + j
    bufs = {"x": L.Buffer("x", f32, (R, C), "input"), "z": L.Buffer("z", f32, (R, C), "output"),
            "t": L.Buffer("t", f32, (R, C), "temp"), "s": L.Buffer("s", f32, (R,), "temp")}
    k0 = [L.Loop("i", L.SizeOf(R), [L.Loop("j", L.SizeOf(C), [
        L.Store("t", flat, B("mul", U("exp", L.Load("x", flat, f32)), L.Const(2, f32)))])], "parallel")]
    if with_check:
        k0[0].body.insert(0, L.ErrorIf(B("gt", L.Load("x", i * L.SizeOf(C), f32), L.Const(100, f32)), 7))
    acc = L.Var("acc", f32)
    k1 = [L.Loop("i", L.SizeOf(R), [L.Declare("acc", L.Const(0, f32)),
                                    L.Loop("j", L.SizeOf(C), [L.Assign("acc", B("add", acc, L.Load("t", flat, f32)))], "reduce"),
                                    L.Store("s", i, acc)], "parallel")]
    k2 = [L.Loop("i", L.SizeOf(R), [L.Loop("j", L.SizeOf(C), [
        L.Store("z", flat, B("div", L.Load("t", flat, f32), L.Load("s", i, f32)))])], "parallel")]
    kernels = [L.Kernel("exp2", k0, ["x"], ["t"]), L.Kernel("rowsum", k1, ["t"], ["s"]),
               L.Kernel("norm", k2, ["t", "s"], ["z"])]
    prog = L.Program("softmaxish", bufs, kernels, ["x"], ["z"], ["r", "c"])
    prog.errors = {7: "input too large (test.py:1)"}
    return prog


def test_two_threads_give_identical_results_to_one():
    prog = _three_kernel_program()
    res = generate(prog)
    one = Executable(res.object, res.signature, num_threads=1)
    two = Executable(res.object, res.signature, num_threads=2)
    x = np.random.default_rng(3).standard_normal((333, 257)).astype(np.float32)
    a, b = one(x)[0], two(x)[0]
    np.testing.assert_array_equal(a, b)
    e = np.exp(x.astype(np.float64))
    np.testing.assert_allclose(a, e / e.sum(1, keepdims=True), rtol=1e-5)
    for _ in range(20):  # the barrier is reusable across calls and kernels
        np.testing.assert_array_equal(two(x)[0], a)
    np.testing.assert_array_equal(two(x[:3, :5])[0], one(x[:3, :5])[0])


@pytest.mark.parametrize("threads", [1, 2])
def test_error_if_returns_code_and_never_deadlocks(threads):
    res, exe = build(_three_kernel_program(with_check=True), threads=threads)
    assert res.signature["errors"] == {7: "input too large (test.py:1)"}
    x = np.zeros((64, 16), np.float32)
    exe(x)
    x[50, 0] = 1000
    with pytest.raises(ExecutionError, match="input too large") as info:
        exe(x)
    assert info.value.code == 7
    x[50, 0] = 0
    exe(x)  # a failed call leaves nothing behind


def test_serial_kernels_run_once_with_threads():
    """A kernel that is not one parallel loop runs on thread 0 only (a running sum would double)."""
    i = L.Var("i")
    acc = L.Var("acc", i64)
    bufs = {"x": L.Buffer("x", i64, (N,), "input"), "z": L.Buffer("z", i64, (1,), "output")}
    body = [L.Declare("acc", L.Const(0, i64)),
            L.Loop("i", L.SizeOf(N), [L.Assign("acc", B("add", acc, L.Load("x", i, i64)))], "serial"),
            L.Store("z", L.Const(0, L.INDEX), acc)]
    prog = L.Program("serial", bufs, [L.Kernel("k", body, ["x"], ["z"])], ["x"], ["z"], ["n"])
    _, exe = build(prog, threads=2)
    assert exe(np.arange(1000, dtype=np.int64))[0].tolist() == [499500]


def test_noalias_only_on_buffers_not_read_and_written():
    i = L.Var("i")
    bufs = {"x": L.Buffer("x", f32, (N,), "input"), "z": L.Buffer("z", f32, (N,), "output")}
    body = [L.Loop("i", L.SizeOf(N), [L.Store("z", i, L.Load("x", i, f32)),
                                      L.Store("z", i, B("add", L.Load("z", i, f32), L.Const(1, f32)))], "parallel")]
    prog = L.Program("inplace", bufs, [L.Kernel("k", body, ["x", "z"], ["z"])], ["x"], ["z"], ["n"])
    res, exe = build(prog)
    header = [ln for ln in res.llvm_ir.splitlines() if ln.startswith("define internal i32 @ff_k0")][0]
    assert "ptr noalias %b.0" in header and "ptr %b.1" in header and "noalias %b.1" not in header
    x = np.arange(5, dtype=np.float32)
    np.testing.assert_array_equal(exe(x)[0], x + 1)


def test_aliased_output_is_written_into_the_input():
    i = L.Var("i")
    bufs = {"v": L.Buffer("v", f32, (N,), "input"), "g": L.Buffer("g", f32, (N,), "input"),
            "v_new": L.Buffer("v_new", f32, (N,), "output")}
    body = [L.Loop("i", L.SizeOf(N), [L.Store("v_new", i, B("sub", L.Load("v", i, f32), L.Load("g", i, f32)))],
                   "parallel")]
    prog = L.Program("sgd", bufs, [L.Kernel("k", body, ["v", "g"], ["v_new"])], ["v", "g"], ["v_new"], ["n"])
    prog.aliases = {"v_new": "v"}
    res, exe = build(prog)
    assert res.signature["outputs"][0]["alias_input"] == 0
    assert "noalias" not in [ln for ln in res.llvm_ir.splitlines() if ln.startswith("define internal")][0].split("%b.1")[0].split("%b.0")[0]
    v = np.ones(6, np.float32)
    g = np.full(6, 0.5, np.float32)
    out = exe(v, g)[0]
    assert out is v and v.tolist() == [0.5] * 6


# ----------------------------------------------------------------------------- matmul template
def _matmul_program(epilogue=True, dtype=f32):
    M, K, Nn = SymDim.symbol("m"), 37, 29
    one = L.Const(1, L.INDEX)
    bufs = {"a": L.Buffer("a", dtype, (M, K), "input"), "b": L.Buffer("b", dtype, (Nn, K), "input"),
            "bias": L.Buffer("bias", dtype, (Nn,), "input"), "c": L.Buffer("c", dtype, (M, Nn), "output")}
    epi = None
    if epilogue:
        acc = L.Var("acc", dtype)
        epi = B("max", B("add", acc, L.Load("bias", L.Var("n"), dtype)), L.Const(0, dtype))
    t = L.MatmulTemplate("a", "b", "c", one, L.SizeOf(M), L.Const(Nn, L.INDEX), L.Const(K, L.INDEX),
                         (L.Const(0, L.INDEX), L.Const(K, L.INDEX), one),      # A row-major
                         (L.Const(0, L.INDEX), one, L.Const(K, L.INDEX)),      # B given transposed
                         dtype, epi)
    prog = L.Program("dense", bufs, [L.Kernel("mm", [t], ["a", "b", "bias"], ["c"])], ["a", "b", "bias"], ["c"], ["m"])
    return prog


@pytest.mark.parametrize("threads", [1, 2])
def test_matmul_template_with_fused_epilogue(threads):
    res, exe = build(_matmul_program(), threads=threads)
    rng = np.random.default_rng(5)
    for m in (1, 13, 100):
        a = rng.standard_normal((m, 37)).astype(np.float32)
        b = rng.standard_normal((29, 37)).astype(np.float32)
        bias = rng.standard_normal(29).astype(np.float32)
        np.testing.assert_allclose(exe(a, b, bias)[0], np.maximum(a @ b.T + bias, 0), rtol=1e-4, atol=1e-4)


def test_matmul_template_integer_without_epilogue():
    _, exe = build(_matmul_program(epilogue=False, dtype=i32))
    rng = np.random.default_rng(6)
    a = rng.integers(-50, 50, (9, 37)).astype(np.int32)
    b = rng.integers(-50, 50, (29, 37)).astype(np.int32)
    np.testing.assert_array_equal(exe(a, b, np.zeros(29, np.int32))[0], a @ b.T)


# ----------------------------------------------------------------------------- errors
def test_unsupported_things_raise_clear_errors():
    from fuseflow.compiler.codegen.llvm import CodegenError
    with pytest.raises(CodegenError, match="sqrt is not defined for integer"):
        generate(elementwise(lambda a: U("sqrt", a), [i32], i32))
    bad = elementwise(lambda a: L.Var("nope", f32), [f32], f32)
    with pytest.raises(CodegenError, match="'nope' is used but never defined"):
        generate(bad)


def test_shared_subexpressions_are_emitted_once_and_compile_fast():
    """A 50-deep DAG where every node is used twice: without memoization the text would be 2^50
    long. Also a loose guard on compile time (the target is < 0.5 s for a 50-op graph)."""
    import time
    def chain(x):
        y = x
        for k in range(50):
            op = ("add", "mul", "sub", "max", "div")[k % 5]
            y = B(op, y, U("tanh", y) if k % 10 == 0 else y)
        return y
    t = time.perf_counter()
    res, exe = build(elementwise(chain, [f64], f64))
    elapsed = time.perf_counter() - t
    assert res.llvm_ir.count("call double @ff_tanh_f64") == 5
    assert elapsed < 2.0, f"compile took {elapsed:.2f} s"
    x = np.array([0.1, -0.2, 0.3])
    y = x.copy()
    with np.errstate(all="ignore"):
        for k in range(50):
            other = np.tanh(y) if k % 10 == 0 else y
            y = {"add": np.add, "mul": np.multiply, "sub": np.subtract, "max": np.maximum,
                 "div": np.divide}[("add", "mul", "sub", "max", "div")[k % 5]](y, other)
    np.testing.assert_allclose(exe(x)[0], y, rtol=1e-9, equal_nan=True)


def test_symbolic_sizes_floor_divide_like_the_runtime():
    """A size (b - 5) // 2 with b = 2 is -2 by floor division (the runtime's evaluate_dim and
    shapes.py) and -1 by truncation: codegen must agree, or loops overrun their buffers."""
    from fuseflow.compiler.shapes import dim_add, dim_floordiv
    b = SymDim.symbol("b")
    size = dim_floordiv(dim_add(b, -5), 2)
    bufs = {"x": L.Buffer("x", f32, (b,), "input"), "z": L.Buffer("z", f32, (1,), "output")}
    body = [L.Store("z", L.Const(0, L.INDEX), L.Cast(L.SizeOf(size), f32))]
    prog = L.Program("floor", bufs, [L.Kernel("k", body, ["x"], ["z"])], ["x"], ["z"], ["b"])
    res = generate(prog)
    exe = Executable(res.object, res.signature)
    for n in (0, 1, 2, 3, 4, 7, 8):
        assert exe(np.zeros(n, np.float32))[0][0] == (n - 5) // 2, n
