"""Random ops: random_uniform, random_normal, truncated_normal (kind opaque, stateful).

Operand: a scalar int64 `counter` (the frontend passes a fresh value per run for unseeded or
op-seeded streams). attrs: shape, dtype, seed, seed2, and minval/maxval or mean/stddev.

Generator: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"),
counter-based, so element i is a pure function of (seed, seed2, counter, i): results do not
depend on the thread count, and the numpy reference and the compiled kernel share one
definition of the rounds (`philox`, written against a tiny arithmetic adaptor) so their
random bits are identical. 32-bit words are held in uint64 with values below 2**32; a 32x32
multiply then fits exactly in 64 bits and its high/low halves are a shift and a mask.

Element i uses the Philox counter (i mod 2**32, i div 2**32 + 2**16 * attempt, counter lo,
counter hi) and key (fold(seed), fold(seed2)); `attempt` numbers truncated-normal resamples.
Uniform floats take the top mantissa+1 bits of a word (53 bits from two words for float64);
normals use Box-Muller on two uniforms (u1 in (0, 1]); the math (log, sqrt, cos) runs in
the output precision (float32 for float16), so compiled normals match the reference to the
accuracy of the inline math library, not bit for bit.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as dt
from ..ir import TensorType
from ..loopir import INDEX, Assign, Binary, Cast, Const, Declare, If, Let, Load, Loop, Select, Store, Unary, Var
from ..shapes import num_elements
from .index_util import idx
from .registry import OpDef, OpError, register

MASK32 = 0xFFFFFFFF
PHILOX_M = (0xD2511F53, 0xCD9E8D57)
PHILOX_W = (0x9E3779B9, 0xBB67AE85)
ROUNDS = 10
TRUNCATED_ATTEMPTS = 8      # two candidates per attempt: P(all 16 rejected) ~ 3e-22
U64 = dt.uint64


def fold_seed(seed) -> int:
    s = int(seed or 0) & 0xFFFFFFFFFFFFFFFF
    return (s ^ (s >> 32)) & MASK32


# --------------------------------------------------------------------------- arithmetic
class _NumpyArith:
    """uint64 numpy arrays."""

    def const(self, v):
        return np.uint64(v)

    def mul(self, a, b):
        return a * b

    def add(self, a, b):
        return a + b

    def xor(self, a, b):
        return a ^ b

    def hi(self, a):
        return a >> np.uint64(32)

    def shr(self, a, k):
        return a >> np.uint64(k)

    def lo(self, a):
        return a & np.uint64(MASK32)

    def bind(self, v):
        return v


class _ExprArith:
    """Loop-IR uint64 expressions; `bind` emits a Let so expressions stay linear in size."""

    def __init__(self, kctx, stmts: list):
        self.kctx = kctx
        self.stmts = stmts

    def const(self, v):
        return Const(int(v), U64)

    def mul(self, a, b):
        return Binary("mul", a, b)

    def add(self, a, b):
        return Binary("add", a, b)

    def xor(self, a, b):
        return Binary("xor", a, b)

    def hi(self, a):
        return Binary("shr", a, Const(32, U64))

    def shr(self, a, k):
        return Binary("shr", a, Const(k, U64))

    def lo(self, a):
        return Binary("and", a, Const(MASK32, U64))

    def bind(self, v):
        name = self.kctx.fresh("ph")
        self.stmts.append(Let(name, v))
        return Var(name, U64)


def philox(A, c, key):
    """Philox4x32-10 on four 32-bit words `c` with key (k0, k1) given as Python ints."""
    c0, c1, c2, c3 = c
    k0, k1 = key
    for _ in range(ROUNDS):
        p0 = A.bind(A.mul(A.const(PHILOX_M[0]), c0))
        p1 = A.bind(A.mul(A.const(PHILOX_M[1]), c2))
        c0, c1, c2, c3 = (A.bind(A.xor(A.xor(A.hi(p1), c1), A.const(k0))), A.bind(A.lo(p1)),
                          A.bind(A.xor(A.xor(A.hi(p0), c3), A.const(k1))), A.bind(A.lo(p0)))
        k0, k1 = (k0 + PHILOX_W[0]) & MASK32, (k1 + PHILOX_W[1]) & MASK32
    return c0, c1, c2, c3


def _counter_words(A, i, ctr, attempt):
    """(i lo, i hi + attempt tag, counter lo, counter hi) for element index i (uint64)."""
    tag = A.const((attempt & 0xFFFF) << 16)
    return (A.lo(i), A.add(A.hi(i), tag), A.lo(ctr), A.hi(ctr))


# ------------------------------------------------------------------- bits -> numbers
def _mantissa_bits(d: dt.DType) -> int:
    return {16: 11, 32: 24, 64: 53}[d.bits]


def _compute_dtype(d: dt.DType) -> dt.DType:
    return dt.float32 if d.bits == 16 else d


class _NumpyNum:
    def __init__(self, d):
        self.d = d

    def to_float(self, bits, scale):
        return bits.astype(self.d.np) * self.d.np.type(scale)

    def const(self, v):
        return self.d.np.type(v)

    def mul(self, a, b):
        return a * b

    def add(self, a, b):
        return a + b

    def fn(self, name, x):
        return {"log": np.log, "sqrt": np.sqrt, "cos": np.cos, "sin": np.sin, "neg": np.negative}[name](x)


class _ExprNum:
    def __init__(self, d):
        self.d = d

    def to_float(self, bits, scale):
        return Binary("mul", Cast(bits, self.d), Const(scale, self.d))

    def const(self, v):
        return Const(float(v), self.d)

    def mul(self, a, b):
        return Binary("mul", a, b)

    def add(self, a, b):
        return Binary("add", a, b)

    def fn(self, name, x):
        return Unary(name, x, self.d)


def uniform01(A, N, words, d, open_low=False):
    """A float of dtype d in [0, 1) ((0, 1] if open_low) from the first one or two words."""
    b = _mantissa_bits(d)
    if b < 32:
        bits = A.shr(words[0], 32 - b)
    else:
        bits = A.add(A.mul(words[0], A.const(1 << (b - 32))), A.shr(words[1], 64 - b))
    if open_low:
        bits = A.add(bits, A.const(1))
    return N.to_float(bits, 2.0 ** -b)


def box_muller(A, N, words, d):
    """Two standard normals from four words (u1 from words 0-1, u2 from words 2-3)."""
    u1 = uniform01(A, N, words[0:2], d, open_low=True)
    u2 = uniform01(A, N, words[2:4], d)
    radius = N.fn("sqrt", N.mul(N.const(-2.0), N.fn("log", u1)))
    theta = N.mul(N.const(2 * math.pi), u2)
    return N.mul(radius, N.fn("cos", theta)), N.mul(radius, N.fn("sin", theta))


# --------------------------------------------------------------------------------- ops
def _infer(op):
    def infer(types, attrs):
        if len(types) != 1 or types[0].rank != 0 or not types[0].dtype.is_integer:
            raise OpError(f"{op}: expects one scalar integer counter operand, got "
                          f"{', '.join(str(t) for t in types) or 'none'}")
        d = dt.as_dtype(attrs.get("dtype", dt.float32))
        shape = tuple(attrs["shape"])
        if any(isinstance(s, int) and s < 0 for s in shape):
            raise OpError(f"{op}: shape {list(shape)} has a negative dimension")
        if op == "random_uniform":
            if d.is_integer:
                if attrs.get("maxval") is None or int(attrs["maxval"]) <= int(attrs.get("minval", 0)):
                    raise OpError(f"{op}: integer dtype {d.name} needs maxval > minval, got minval="
                                  f"{attrs.get('minval', 0)}, maxval={attrs.get('maxval')}")
            elif not d.is_floating:
                raise OpError(f"{op}: dtype must be floating-point or integer, got {d.name}")
        elif not d.is_floating:
            raise OpError(f"{op}: dtype must be floating-point, got {d.name}")
        return [TensorType(shape, d)]
    return infer


def _key(attrs):
    return fold_seed(attrs.get("seed")), fold_seed(attrs.get("seed2"))


def _values(op, A, N, i, ctr, attrs, d):
    """The op's value at element index i (numpy arrays or Exprs, by adaptor)."""
    key = _key(attrs)
    if op == "random_uniform":
        words = philox(A, _counter_words(A, i, ctr, 0), key)
        if d.is_integer:
            lo, hi = int(attrs.get("minval", 0)), int(attrs["maxval"])
            bits = words[0] if d.bits <= 32 else A.add(A.mul(words[1], A.const(1 << 32)), words[0])
            return ("int", bits, lo, hi - lo)
        u = uniform01(A, N, words, _compute_dtype(d))
        lo, hi = attrs.get("minval", 0.0), attrs.get("maxval", 1.0)
        return N.add(N.mul(u, N.const(float(hi) - float(lo))), N.const(lo))
    mean, std = N.const(attrs.get("mean", 0.0)), N.const(attrs.get("stddev", 1.0))
    if op == "random_normal":
        z, _ = box_muller(A, N, philox(A, _counter_words(A, i, ctr, 0), key), _compute_dtype(d))
        return N.add(N.mul(z, std), mean)
    raise OpError(f"{op}: no value rule")


def _reference(op):
    def ref(arrays, attrs):
        d = dt.as_dtype(attrs.get("dtype", dt.float32))
        shape = tuple(int(s) for s in attrs["shape"])
        n = int(np.prod(shape, dtype=np.int64))
        i = np.arange(n, dtype=np.uint64)
        ctr = np.asarray(arrays[0]).astype(np.int64).astype(np.uint64)
        A, N = _NumpyArith(), _NumpyNum(_compute_dtype(d))
        with np.errstate(all="ignore"):
            if op == "truncated_normal":
                v = _truncated_np(A, N, i, ctr, attrs)
            else:
                v = _values(op, A, N, i, ctr, attrs, d)
            if isinstance(v, tuple):
                _, bits, lo, span = v
                v = (bits % np.uint64(span)).astype(d.np) + d.np.type(lo)
        return [np.asarray(v).astype(d.np).reshape(shape)]
    return ref


def _truncated_np(A, N, i, ctr, attrs):
    key = _key(attrs)
    res = np.zeros(i.shape, N.d.np)
    found = np.zeros(i.shape, bool)
    for attempt in range(TRUNCATED_ATTEMPTS):
        z1, z2 = box_muller(A, N, philox(A, _counter_words(A, i, ctr, attempt), key), N.d)
        ok1, ok2 = np.abs(z1) <= 2, np.abs(z2) <= 2
        res = np.where(~found, np.where(ok1, z1, np.where(ok2, z2, res)), res)
        found |= ok1 | ok2
    return res * N.const(attrs.get("stddev", 1.0)) + N.const(attrs.get("mean", 0.0))


def _kernel(op):
    def lower(kctx):
        d = kctx.out_types[0].dtype
        cd = _compute_dtype(d)
        out = kctx.outputs[0]
        ctr_name, i_name = kctx.fresh("ctr"), kctx.fresh("i")
        ctr, i64 = Var(ctr_name, U64), Var(i_name, INDEX)
        i = Cast(i64, U64)
        body: list = []
        A, N = _ExprArith(kctx, body), _ExprNum(cd)
        if op == "truncated_normal":
            value = _truncated_stmts(kctx, A, N, i, ctr, body)
        else:
            value = _values(op, A, N, i, ctr, kctx.attrs, d)
        if isinstance(value, tuple):
            _, bits, lo, span = value
            value = Binary("add", Cast(Binary("mod", bits, Const(span, U64)), d), Const(lo, d))
        elif cd != d:
            value = Cast(value, d)
        body.append(Store(out, i64, value))
        n = idx(num_elements(kctx.out_types[0].shape))
        setup = Let(ctr_name, Cast(Load(kctx.inputs[0], Const(0, INDEX), kctx.in_types[0].dtype), U64))
        return [setup, Loop(i_name, n, body, "parallel")]
    return lower


def _truncated_stmts(kctx, A, N, i, ctr, body):
    d = N.d
    res, found = kctx.fresh("tn"), kctx.fresh("found")
    body += [Declare(res, Const(0.0, d)), Declare(found, Const(0, INDEX))]
    two = Const(2.0, d)
    for attempt in range(TRUNCATED_ATTEMPTS):
        stmts: list = []
        A2 = _ExprArith(kctx, stmts)
        z1, z2 = box_muller(A2, N, philox(A2, _counter_words(A2, i, ctr, attempt), _key(kctx.attrs)), d)
        ok1 = Binary("le", Unary("abs", z1, d), two)
        ok2 = Binary("le", Unary("abs", z2, d), two)
        stmts += [Assign(res, Select(ok1, z1, Select(ok2, z2, Var(res, d)))),
                  Assign(found, Select(Binary("or", ok1, ok2), Const(1, INDEX), Const(0, INDEX)))]
        body.append(If(Binary("eq", Var(found, INDEX), Const(0, INDEX)), stmts))
    return Binary("add", Binary("mul", Var(res, d), N.const(kctx.attrs.get("stddev", 1.0))),
                  N.const(kctx.attrs.get("mean", 0.0)))


_DOCS = {
    "random_uniform": "Uniform in [minval, maxval) (floats: default [0, 1); ints: maxval required).",
    "random_normal": "Normal(mean, stddev) by Box-Muller.",
    "truncated_normal": "Normal(mean, stddev) re-drawn until within 2 stddev of the mean.",
}

for _op in ("random_uniform", "random_normal", "truncated_normal"):
    register(OpDef(_op, "opaque", _infer(_op), _reference(_op), arity=1, lower_kernel=_kernel(_op),
                   stateful=True, differentiable=False, cheap=False,
                   doc=_DOCS[_op] + " Operand: int64 counter. attrs: shape, dtype, seed, seed2, and "
                                    "minval/maxval or mean/stddev. Counter-based Philox4x32-10."))
