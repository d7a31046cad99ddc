"""Accuracy of the inline math library against float64 references, in float32 ulps.

Bounds (max error over ~200k float32 inputs per function: uniform over the interesting range,
log-uniform magnitudes, and the special values), stated per function below. float64 versions
are checked against numpy's double functions with a few-ulp bound.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler import loopir as L
from fuseflow.compiler.codegen.llvm import generate
from fuseflow.compiler.shapes import SymDim
from fuseflow.runtime import Executable

N = SymDim.symbol("n")


def _program(ops, dtype, arity):
    """One kernel per op: z_k[i] = op_k(x[i]) or op_k(x[i], y[i])."""
    i = L.Var("i")
    ins = ["x", "y"][:arity]
    bufs = {n: L.Buffer(n, dtype, (N,), "input") for n in ins}
    kernels = []
    for k, op in enumerate(ops):
        bufs[f"z{k}"] = L.Buffer(f"z{k}", dtype, (N,), "output")
        loads = [L.Load(n, i, dtype) for n in ins]
        value = L.Unary(op, loads[0], dtype) if arity == 1 else L.Binary(op, *loads)
        kernels.append(L.Kernel(op, [L.Loop("i", L.SizeOf(N), [L.Store(f"z{k}", i, value)], "parallel")],
                                ins, [f"z{k}"]))
    prog = L.Program(f"math{arity}_{dtype.name}", bufs, kernels, ins, [f"z{k}" for k in range(len(ops))], ["n"])
    res = generate(prog)
    return dict(zip(ops, range(len(ops)))), Executable(res.object, res.signature, num_threads=1)


UNARY = ["exp", "expm1", "log", "log1p", "tanh", "sigmoid", "erf", "sin", "cos"]
BINARY = ["pow", "atan2"]

# max float32 ulp error allowed (measured values are in the comments)
F32_BOUND = {"exp": 1.5,      # 1.03
             "expm1": 2.0,    # 1.47
             "log": 1.0,      # 0.82
             "log1p": 2.0,    # 1.43
             "tanh": 3.0,     # 2.18
             "sigmoid": 3.0,  # 2.07
             "erf": 3.0,      # 2.24
             "sin": 1.0,      # 0.50, including |x| up to 3.4e38
             "cos": 1.0,      # 0.50
             "pow": 1.0,      # computed in double
             "atan2": 1.0}    # computed in double
F64_BOUND = 4.0


def _sigmoid64(x):
    with np.errstate(all="ignore"):
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


REF = {"exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p, "tanh": np.tanh,
       "sigmoid": _sigmoid64, "erf": np.vectorize(math.erf, otypes=[np.float64]), "sin": np.sin, "cos": np.cos,
       "pow": np.power, "atan2": np.arctan2}
RANGE = {"exp": (-110, 100), "expm1": (-110, 100), "log": (-10, 3.4e38), "log1p": (-1.5, 3.4e38),
         "tanh": (-30, 30), "sigmoid": (-120, 120), "erf": (-8, 8), "sin": (-3.4e38, 3.4e38),
         "cos": (-3.4e38, 3.4e38)}
SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.4e-45, -1.4e-45, 1.2e-38, 3.4e38, -3.4e38, 1.0, -1.0,
                    0.5, 88.72, 88.73, -87.3, -103.9, -104.0, 1e-30, -1e-30], np.float32)


def _samples(rng, lo, hi, n=100_000):
    uniform = rng.uniform(lo, hi, n)
    top = math.log(max(abs(lo), abs(hi)))
    logu = np.exp(rng.uniform(-100, top, n)) * rng.choice([-1.0, 1.0], n)
    logu = logu[(logu >= lo) & (logu <= hi)]
    near = rng.uniform(max(lo, -100), min(hi, 100), n)
    return np.concatenate([uniform, logu, near, SPECIAL]).astype(np.float32)


def ulp_error(got, ref64, ftype):
    """|got - ref| in units of the spacing of ref rounded to ftype; equal infs/nans are 0."""
    with np.errstate(all="ignore"):
        ref = ref64.astype(ftype)
        same = (got == ref) | (np.isnan(got) & np.isnan(ref))
        spacing = np.maximum(np.spacing(np.abs(ref)).astype(np.float64), float(np.spacing(ftype(0))))
        err = np.abs(got.astype(np.float64) - ref64) / spacing
    err[~np.isfinite(err)] = np.inf
    err[same] = 0.0
    return err


@pytest.fixture(scope="module")
def unary32():
    return _program(UNARY, dt.float32, 1)


@pytest.fixture(scope="module")
def unary64():
    return _program(UNARY, dt.float64, 1)


def _check(name, got, ref, x, bound, ftype):
    err = ulp_error(got, ref, ftype)
    k = int(np.argmax(err))
    assert err[k] <= bound, f"{name}: {err[k]:.3g} ulp at x={x[k]!r}: got {got[k]!r}, want {ref[k]!r}"
    return err[k]


@pytest.mark.parametrize("op", UNARY)
def test_float32_unary_ulp_error(op, unary32):
    index, exe = unary32
    rng = np.random.default_rng(hash(op) % 2**32)
    x = _samples(rng, *RANGE[op])
    got = exe(x)[index[op]]
    with np.errstate(all="ignore"):
        ref = REF[op](x.astype(np.float64))
    _check(op, got, ref, x, F32_BOUND[op], np.float32)
    np.testing.assert_array_equal(np.signbit(got[x == 0]), np.signbit(ref[x == 0]).astype(bool)
                                  if op in ("exp", "expm1", "log", "log1p", "tanh", "erf", "sin")
                                  else np.signbit(got[x == 0]))


@pytest.mark.parametrize("op", UNARY)
def test_float64_unary_ulp_error(op, unary64):
    index, exe = unary64
    rng = np.random.default_rng(hash(op) % 2**31)
    x = _samples(rng, *RANGE[op]).astype(np.float64) * (1 + rng.uniform(-1e-7, 1e-7, 1))
    if op in ("sin", "cos"):
        x = np.concatenate([x, rng.uniform(-1e7, 1e7, 1000)])  # both sides of the libm fallback
    got = exe(x)[index[op]]
    with np.errstate(all="ignore"):
        ref = REF[op](x)
    _check(op, got, ref, x, F64_BOUND, np.float64)


@pytest.mark.parametrize("dtype", [dt.float32, dt.float64])
def test_binary_math_accuracy_and_ieee_special_cases(dtype):
    index, exe = _program(BINARY, dtype, 2)
    rng = np.random.default_rng(11)
    ftype = dtype.np.type
    x = _samples(rng, -60, 60).astype(ftype)
    y = rng.permutation(_samples(rng, -30, 30))[: x.size].astype(ftype)
    x = x[: y.size]
    got = exe(np.abs(x), y)[index["pow"]]
    with np.errstate(all="ignore"):
        _check("pow", got, np.power(np.abs(x).astype(np.float64), y.astype(np.float64)), x,
               F32_BOUND["pow"] if dtype.bits == 32 else F64_BOUND, ftype)
        got = exe(y, x)[index["atan2"]]
        _check("atan2", got, np.arctan2(y.astype(np.float64), x.astype(np.float64)), x,
               F32_BOUND["atan2"] if dtype.bits == 32 else F64_BOUND, ftype)
    special = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 2.5, -2.5, np.inf, -np.inf,
                        np.nan, 1e-45, 1e30, -1e30, 16777216.0, 16777217.0], ftype)
    a, b = (v.ravel() for v in np.meshgrid(special, special))
    outs = exe(a, b)
    with np.errstate(all="ignore"):
        for op, ref in (("pow", np.power(a, b)), ("atan2", np.arctan2(a, b))):
            got = outs[index[op]]
            ok = (got == ref) | (np.isnan(got) & np.isnan(ref)) | np.isclose(got, ref, rtol=4e-7 if dtype.bits == 32 else 1e-15)
            ok &= (np.signbit(got) == np.signbit(ref)) | np.isnan(ref)
            assert ok.all(), f"{op}: {list(zip(a[~ok], b[~ok], got[~ok], ref[~ok]))[:5]}"


def test_edge_semantics(unary32):
    index, exe = unary32
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -1.0, -200.0, 200.0, 1e-45], np.float32)
    out = {op: exe(x)[k] for op, k in index.items()}
    assert np.isnan([out[op][0] for op in UNARY]).all()             # nan in, nan out
    assert out["exp"][1] == np.inf and out["exp"][2] == 0 and out["exp"][5] == 0 and out["exp"][6] == np.inf
    assert out["expm1"][2] == -1 and out["expm1"][5] == -1
    assert out["log"][3] == -np.inf and np.isnan(out["log"][4]) and out["log"][1] == np.inf
    assert out["log"][7] == np.float32(np.log(np.float64(x[7])))               # denormal input
    assert out["log1p"][4] == -np.inf and np.isnan(out["log1p"][5])
    assert out["tanh"][5] == -1 and out["tanh"][6] == 1 and out["tanh"][1] == 1
    assert out["sigmoid"][5] == np.float32(math.exp(-200)) and out["sigmoid"][6] == 1  # stable on both sides
    assert out["erf"][2] == -1 and out["erf"][6] == 1
    assert np.isnan(out["sin"][1]) and np.isnan(out["cos"][2])
    sub = np.array([-87.5, -100.0, -103.0], np.float32)                # denormal results
    np.testing.assert_array_equal(exe(sub)[index["exp"]], np.exp(sub.astype(np.float64)).astype(np.float32))


def test_math_kernels_vectorize(unary32):
    i = L.Var("i")
    for op in ("log", "tanh", "sigmoid", "erf", "sin"):
        bufs = {"x": L.Buffer("x", dt.float32, (N,), "input"), "z": L.Buffer("z", dt.float32, (N,), "output")}
        body = [L.Loop("i", L.SizeOf(N), [L.Store("z", i, L.Unary(op, L.Load("x", i, dt.float32), dt.float32))],
                       "parallel")]
        res = generate(L.Program(op, bufs, [L.Kernel("k", body, ["x"], ["z"])], ["x"], ["z"], ["n"]))
        assert "zmm" in res.asm, op
