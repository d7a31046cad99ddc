"""Inline, vectorizable math functions as LLVM IR text (float and double).

LLVM would lower `llvm.exp` & co. to scalar libm calls even inside vectorized loops, so every
transcendental the loop IR uses is written here as straight-line code (range reduction,
polynomial, selects for the edge cases) in an `internal alwaysinline` function: inlined into
the kernel loop it vectorizes like any arithmetic.

Accuracy (max error vs a correctly rounded reference, measured in tests/test_mathlib.py):
float32 exp/expm1/log/log1p/sigmoid/tanh/erf/sin/cos/pow/atan2 within a few ulp; edges
follow IEEE/numpy: exp overflow -> inf, underflow -> denormal/0, log(0) = -inf, log(x<0) = nan,
tanh/erf saturate to +-1, sigmoid is evaluated in the stable form for both signs, NaN in -> NaN
out, signed zeros kept where the function is odd.

Algorithms (no code from other projects; coefficients are Taylor series or our own Chebyshev
fits, see mathlib_fit.py):
- exp/expm1: k = round(x log2 e), Cody-Waite r = x - k ln2 (two-part ln2), Taylor e^r,
  2^k applied as two factors so denormal results round once and overflow gives inf;
- log: exponent/mantissa split with mantissa in [sqrt(2)/2, sqrt(2)), s = f/(2+f),
  log(1+f) = f - hf^2 + s (hf^2 + R(s^2)); denormals are pre-scaled by 2^mant;
- log1p: log(1+x) plus the rounding correction (x - ((1+x) - 1)) / (1+x);
- tanh = sign(x) t/(t+2) with t = expm1(2|x|); sigmoid = 1/(1+e) or e/(1+e), e = exp(-|x|);
- erf: x P(x^2) below 1, 1 - exp(-x^2) Q(|x|) above (Q fits erfc(x) e^(x^2));
- float sin/cos: exact Payne-Hanek style reduction in double with a per-exponent table of
  (2^e * 2/pi mod 4) split in three parts, so huge arguments are as accurate as small ones;
  double sin/cos: three-part Cody-Waite below 1e6, libm above (a rarely taken branch);
- float pow/atan2 are computed in double (log/exp resp. an atan polynomial), double pow/atan2
  call libm.
"""
from __future__ import annotations

import functools
import math
from fractions import Fraction

from .irtext import float_literal

_F32, _F64 = "float", "double"
_SUFFIX = {_F32: "f32", _F64: "f64"}

# Cody-Waite splits of ln 2 (the high part has trailing zero bits so k * hi is exact).
_LN2 = {_F32: (0.693145751953125, 1.428606765330187e-06),
        _F64: (0.6931471803691238, 1.9082149292705877e-10)}
_LOG2E = 1.4426950408889634
# exp clamps: beyond these the result is inf / 0 (resp. -1 for expm1) anyway.
_EXP_RANGE = {_F32: (-110.0, 89.0), _F64: (-746.0, 710.0)}


def _taylor_exp_q(n):
    """(e^r - 1 - r) / r^2 = sum r^(k-2)/k!, k = 2..n, highest degree first."""
    return tuple(1.0 / math.factorial(k) for k in range(n, 1, -1))


_EXP_Q = {_F32: _taylor_exp_q(7), _F64: _taylor_exp_q(13)}
# log((1+s)/(1-s)) = 2s + s * z * P(z), z = s^2: P = 2/3 + 2z/5 + 2z^2/7 + ...
_LOG_P = {_F32: tuple(2.0 / (2 * k + 1) for k in range(5, 0, -1)),
          _F64: tuple(2.0 / (2 * k + 1) for k in range(11, 0, -1))}

# Chebyshev fits (mathlib_fit.py), highest degree first.
_ERF_SMALL = {_F32: (-9.667044571486996e-06, 0.00011265959025606609, -0.0008484080405535107, 0.005221031807858023, -0.026865430727670243, 0.11283782495236845, -0.3761263846802871, 1.1283791670615435),
              _F64: (5.957176147748911e-11, -1.1372848856791674e-09, 1.4659775274047436e-08, -1.6350312701054695e-07, 1.6461000484121368e-06, -1.4925595266831182e-05, 0.0001205533111164271, -0.000854832698083379, 0.0052239776248180145, -0.026866170645076792, 0.11283791670954879, -0.3761263890318375, 1.1283791670955126)}
_ERFCX_F32 = (2.5, (1.0301512994682683e-07, -4.264734348150259e-07, 9.763901572173902e-07, -3.7472737729690635e-06, 1.6114106393804864e-05, -5.9523157031741315e-05, 0.0002109179637713861, -0.0007331529642909852, 0.0024670657614729186, -0.008001693887595496, 0.024937994751043007, -0.07434733674204068, 0.2108063640611436))
_ERFCX_A_F64 = (1.75, (-1.2122502617537188e-09, 4.843675986860995e-09, -1.589789230506663e-08, 6.045191233829322e-08, -2.278695540562056e-07, 8.275753489404636e-07, -2.9279023630255475e-06, 1.0086535231948864e-05, -3.375536224123748e-05, 0.00010950531744961819, -0.00034353335270409817, 0.0010392045192651948, -0.0030209746514672014, 0.008404319207503399, -0.02225999524138744, 0.055763630087083585, -0.13097634551448523, 0.2849722347374364))
_ERFCX_B_F64 = (4.25, (-1.5102194078549945e-13, 8.823359255401374e-13, -3.015284892628943e-12, 1.6935756371615156e-11, -1.0582084470379627e-10, 5.83003829862679e-10, -3.131942133869568e-09, 1.6769860931768107e-08, -8.855633757213729e-08, 4.6027202386353464e-07, -2.354599450127567e-06, 1.1848086566773046e-05, -5.859550056872909e-05, 0.0002845751589621955, -0.0013559331670631794, 0.006331866273628397, -0.028944331414616106, 0.12934527478599253))

_TWO_OVER_PI_2_400 = 0xa2f9836e4e441529fc2757d1f534ddc0db6295993c439041fe5163abdebbc561b7246e3a424dd2e006492eea09d1921cfe1d
_PIO2 = 1.5707963267948966
# pi/2 = P1 + P2 + P3 with 33-bit P1, P2 (k * P exact for |k| < 2^20).
_PIO2_PARTS = (1.5707963267341256, 6.077100506303966e-11, 2.0222662487959506e-21)
_TRIG_DIRECT_LIMIT = 1.0e6


def _sin_taylor(n):  # (sin r - r) / r^3 in z = r^2, highest first: -1/3!, 1/5!, ...
    return tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(n, 0, -1))


def _cos_taylor(n):  # (cos r - 1 + r^2/2) / r^4 in z = r^2: 1/4!, -1/6!, ...
    return tuple((-1) ** k / math.factorial(2 * k) for k in range(n, 1, -1))


def _atan_taylor(n):  # (atan a - a) / a^3 in z = a^2: -1/3, 1/5, ...
    return tuple((-1) ** k / (2 * k + 1) for k in range(n, 0, -1))


# ------------------------------------------------------------------------------ IR builder
class _Fn:
    """Straight-line SSA builder for one function over float type `t` (float constants may be
    passed as Python numbers anywhere a value is expected)."""

    def __init__(self, lib, name, t, params):
        self.lib = lib
        self.name = name
        self.t = t
        self.params = params
        self.f64 = t == _F64
        self.bits = 64 if self.f64 else 32
        self.it = f"i{self.bits}"
        self.mant = 52 if self.f64 else 23
        self.bias = 1023 if self.f64 else 127
        self.lines = []
        self.n = 0

    def o(self, a, t=None):
        if isinstance(a, (int, float)):
            return float_literal(a, 64 if (t or self.t) == _F64 else 32)
        return a

    def v(self, text):
        self.n += 1
        name = f"%v{self.n}"
        self.lines.append(f"  {name} = {text}")
        return name

    def label(self, name):
        self.lines.append(f"{name}:")

    def raw(self, text):
        self.lines.append(f"  {text}")

    # float arithmetic (t defaults to the function's type)
    def add(self, a, b, t=None):
        t = t or self.t
        return self.v(f"fadd {t} {self.o(a, t)}, {self.o(b, t)}")

    def sub(self, a, b, t=None):
        t = t or self.t
        return self.v(f"fsub {t} {self.o(a, t)}, {self.o(b, t)}")

    def mul(self, a, b, t=None):
        t = t or self.t
        return self.v(f"fmul {t} {self.o(a, t)}, {self.o(b, t)}")

    def div(self, a, b, t=None):
        t = t or self.t
        return self.v(f"fdiv {t} {self.o(a, t)}, {self.o(b, t)}")

    def neg(self, a, t=None):
        t = t or self.t
        return self.v(f"fneg {t} {self.o(a, t)}")

    def intr(self, name, args, t=None, ret=None):
        t = t or self.t
        ret = ret or t
        name = f"llvm.{name}.{_SUFFIX.get(t, t)}"
        self.lib.need_decl(name, ret, [t] * len(args))
        return self.v(f"call {ret} @{name}({', '.join(f'{t} {self.o(a, t)}' for a in args)})")

    def fma(self, a, b, c, t=None):
        return self.intr("fmuladd", [a, b, c], t)

    def poly(self, x, coeffs, t=None):
        acc = self.o(coeffs[0], t)
        for c in coeffs[1:]:
            acc = self.fma(acc, x, c, t)
        return acc

    def fcmp(self, pred, a, b, t=None):
        t = t or self.t
        return self.v(f"fcmp {pred} {t} {self.o(a, t)}, {self.o(b, t)}")

    def sel(self, c, a, b, t=None):
        t = t or self.t
        return self.v(f"select i1 {c}, {t} {self.o(a, t)}, {t} {self.o(b, t)}")

    def isnan(self, a, t=None):
        return self.fcmp("uno", a, a, t)

    def ins(self, op, ty, a, b):
        return self.v(f"{op} {ty} {a}, {b}")

    def call(self, fn, t, args):
        return self.v(f"call {t} @{fn}({', '.join(f'{ty} {a}' for ty, a in args)})")

    def text(self, result, attrs="alwaysinline nounwind"):
        params = ", ".join(f"{self.t} {p}" for p in self.params)
        body = "\n".join(self.lines)
        return (f"define internal {self.t} @{self.name}({params}) {attrs} {{\nentry:\n{body}\n"
                f"  ret {self.t} {result}\n}}\n")

    # shared pieces ---------------------------------------------------------------------
    def exp_reduce(self, x):
        """(e^r - 1, k) with x = k ln2 + r after clamping x to the representable range."""
        lo, hi = _EXP_RANGE[self.t]
        xc = self.sel(self.fcmp("ogt", x, hi), hi, x)
        xc = self.sel(self.fcmp("olt", xc, lo), lo, xc)
        k = self.intr("roundeven", [self.mul(xc, _LOG2E)])
        nk = self.neg(k)
        ln2_hi, ln2_lo = _LN2[self.t]
        r = self.fma(nk, ln2_hi, xc)
        r = self.fma(nk, ln2_lo, r)
        q = self.poly(r, _EXP_Q[self.t])
        return self.fma(self.mul(r, r), q, r), k

    def pow2_factors(self, k):
        """2^k as two factors (each a normal number over the clamped range of k)."""
        it = self.it
        ki = self.v(f"fptosi {self.t} {k} to {it}")
        k1 = self.ins("ashr", it, ki, "1")
        k2 = self.ins("sub", it, ki, k1)
        out = []
        for kk in (k1, k2):
            b = self.ins("add", it, kk, str(self.bias))
            s = self.ins("shl", it, b, str(self.mant))
            out.append(self.v(f"bitcast {it} {s} to {self.t}"))
        return out

    def log_finite(self, x):
        """log(x) for finite x > 0 (denormals included); garbage elsewhere, callers select."""
        it = self.it
        min_normal = 2.0 ** (1 - self.bias)
        sub = self.fcmp("olt", x, min_normal)
        xs = self.sel(sub, self.mul(x, 2.0 ** self.mant), x)
        ix = self.v(f"bitcast {self.t} {xs} to {it}")
        off = 0x3FE6A09E667F3BCD if self.f64 else 0x3F3504F3  # bits of ~sqrt(2)/2
        ix2 = self.ins("sub", it, ix, str(off))
        e = self.ins("ashr", it, ix2, str(self.mant))
        eb = self.ins("shl", it, e, str(self.mant))
        mb = self.ins("sub", it, ix, eb)
        m = self.v(f"bitcast {it} {mb} to {self.t}")
        f = self.sub(m, 1.0)
        s = self.div(f, self.add(f, 2.0))
        z = self.mul(s, s)
        r = self.mul(z, self.poly(z, _LOG_P[self.t]))
        hfsq = self.mul(self.mul(f, f), 0.5)
        lg = self.sub(f, self.sub(hfsq, self.mul(s, self.add(hfsq, r))))
        ef = self.v(f"sitofp {it} {e} to {self.t}")
        ef = self.sel(sub, self.sub(ef, float(self.mant)), ef)
        ln2_hi, ln2_lo = _LN2[self.t]
        return self.fma(ef, ln2_hi, self.fma(ef, ln2_lo, lg))

    def log_edges(self, x, res):
        inf = float("inf")
        res = self.sel(self.fcmp("oeq", x, 0.0), -inf, res)
        res = self.sel(self.fcmp("olt", x, 0.0), float("nan"), res)
        res = self.sel(self.fcmp("oeq", x, inf), inf, res)
        return self.sel(self.isnan(x), x, res)


# ------------------------------------------------------------------------------ functions
def _exp(F):
    t, k = F.exp_reduce("%x")
    s1, s2 = F.pow2_factors(k)
    res = F.mul(F.mul(F.add(t, 1.0), s1), s2)
    return F.sel(F.isnan("%x"), "%x", res)


def _expm1(F):
    x = "%x"
    t, k = F.exp_reduce(x)
    s1, s2 = F.pow2_factors(k)
    s = F.mul(s1, s2)
    small = F.fma(s, t, F.sub(s, 1.0))
    large = F.sub(F.mul(F.mul(F.add(t, 1.0), s1), s2), 1.0)
    res = F.sel(F.fcmp("ogt", k, float(F.mant + 1)), large, small)
    tiny = 2.0 ** (-54 if F.f64 else -25)
    res = F.sel(F.fcmp("olt", F.intr("fabs", [x]), tiny), x, res)
    return F.sel(F.isnan(x), x, res)


def _log(F):
    return F.log_edges("%x", F.log_finite("%x"))


def _log1p(F):
    x = "%x"
    u = F.add(x, 1.0)
    c = F.div(F.sub(x, F.sub(u, 1.0)), u)
    c = F.sel(F.fcmp("ord", c, c), c, 0.0)
    res = F.add(F.log_edges(u, F.log_finite(u)), c)
    tiny = 2.0 ** (-53 if F.f64 else -24)
    return F.sel(F.fcmp("olt", F.intr("fabs", [x]), tiny), x, res)


def _tanh(F):
    x = "%x"
    ax = F.intr("fabs", [x])
    clamp = 20.0 if F.f64 else 10.0
    axc = F.sel(F.fcmp("ogt", ax, clamp), clamp, ax)
    t = F.call(F.lib.use("expm1", F.t), F.t, [(F.t, F.mul(axc, 2.0))])
    res = F.div(t, F.add(t, 2.0))
    return F.intr("copysign", [res, x])


def _sigmoid(F):
    x = "%x"
    e = F.call(F.lib.use("exp", F.t), F.t, [(F.t, F.neg(F.intr("fabs", [x])))])
    r = F.div(1.0, F.add(e, 1.0))   # one division: e/(1+e) == e * r
    return F.sel(F.fcmp("oge", x, 0.0), r, F.mul(e, r))


def _erf(F):
    x = "%x"
    ax = F.intr("fabs", [x])
    z = F.mul(x, x)
    small = F.mul(ax, F.poly(z, _ERF_SMALL[F.t]))
    ex = F.call(F.lib.use("exp", F.t), F.t, [(F.t, F.neg(z))])
    if F.f64:
        qa = F.poly(F.sub(ax, _ERFCX_A_F64[0]), _ERFCX_A_F64[1])
        qb = F.poly(F.sub(ax, _ERFCX_B_F64[0]), _ERFCX_B_F64[1])
        q = F.sel(F.fcmp("olt", ax, 2.5), qa, qb)
        top = 6.0
    else:
        q = F.poly(F.sub(ax, _ERFCX_F32[0]), _ERFCX_F32[1])
        top = 4.0
    big = F.sub(1.0, F.mul(ex, q))
    res = F.sel(F.fcmp("olt", ax, 1.0), small, F.sel(F.fcmp("olt", ax, top), big, 1.0))
    res = F.intr("copysign", [res, x])
    return F.sel(F.isnan(x), x, res)


def _trig_f32(F, which):
    """float sin/cos with the exact table-driven reduction, evaluated in double."""
    x = "%x"
    d = _F64
    F.lib.need_trig_tables()
    xb = F.v(f"bitcast float {x} to i32")
    e = F.ins("and", "i32", F.ins("lshr", "i32", xb, "23"), "255")
    idx = F.v(f"zext i32 {F.intr('umin', [e, '254'], t='i32')} to i64")
    mant = F.ins("and", "i32", xb, "8388607")
    m = F.sel(F.v(f"icmp eq i32 {e}, 0"), mant, F.ins("or", "i32", mant, "8388608"), t="i32")
    md = F.v(f"uitofp i32 {m} to double")
    parts = []
    for tab in ("hi", "mid", "lo"):
        p = F.v(f"getelementptr inbounds double, ptr @ff_trig_{tab}, i64 {idx}")
        parts.append(F.v(f"load double, ptr {p}, align 8"))
    ph = F.mul(md, parts[0], d)
    ph = F.sub(ph, F.mul(F.intr("floor", [F.mul(ph, 0.25, d)], t=d), 4.0, d), d)
    pm = F.mul(md, parts[1], d)
    pl = F.mul(md, parts[2], d)
    s = F.add(ph, pm, d)                       # two-sum: s + err == ph + pm exactly
    bb = F.sub(s, ph, d)
    err = F.add(F.sub(ph, F.sub(s, bb, d), d), F.sub(pm, bb, d), d)
    k = F.intr("roundeven", [s], t=d)
    f = F.add(F.sub(s, k, d), F.add(err, pl, d), d)
    r = F.mul(f, _PIO2, d)
    q = F.v(f"fptosi double {k} to i32")
    sr, cr = _sincos_poly(F, r, 5, 6)
    if which == "sin":
        val = F.sel(F.v(f"trunc i32 {q} to i1"), cr, sr, t=d)
        negq = F.ins("and", "i32", q, "2")
        neg = F.ins("xor", "i1", F.v(f"icmp ne i32 {negq}, 0"), F.v(f"icmp slt i32 {xb}, 0"))
    else:
        val = F.sel(F.v(f"trunc i32 {q} to i1"), sr, cr, t=d)
        negq = F.ins("and", "i32", F.ins("add", "i32", q, "1"), "2")
        neg = F.v(f"icmp ne i32 {negq}, 0")
    val = F.sel(neg, F.neg(val, d), val, t=d)
    res = F.v(f"fptrunc double {val} to float")
    return F.sel(F.v(f"icmp eq i32 {e}, 255"), F.sub(x, x), res)


def _sincos_poly(F, r, ns, nc):
    d = _F64
    z = F.mul(r, r, d)
    sr = F.fma(F.mul(r, z, d), F.poly(z, _sin_taylor(ns), d), r, d)
    cr = F.fma(F.mul(z, z, d), F.poly(z, _cos_taylor(nc), d), F.fma(z, -0.5, 1.0, d), d)
    return sr, cr


def _trig_f64(F, which):
    """double sin/cos: Cody-Waite below 1e6, libm above (and for inf/nan)."""
    x = "%x"
    ax = F.intr("fabs", [x])
    far = F.fcmp("ugt", ax, _TRIG_DIRECT_LIMIT)
    F.raw(f"br i1 {far}, label %far, label %near")
    F.label("far")
    F.lib.need_decl(which, "double", ["double"], libm=True)
    lib = F.call(which, "double", [("double", x)])
    F.raw("br label %done")
    F.label("near")
    k = F.intr("roundeven", [F.mul(ax, 2.0 / math.pi)])
    nk = F.neg(k)
    r = F.fma(nk, _PIO2_PARTS[0], ax)
    r = F.fma(nk, _PIO2_PARTS[1], r)
    r = F.fma(nk, _PIO2_PARTS[2], r)
    q = F.v(f"fptosi double {k} to i32")
    sr, cr = _sincos_poly(F, r, 8, 9)
    xb = F.v(f"bitcast double {x} to i64")
    if which == "sin":
        val = F.sel(F.v(f"trunc i32 {q} to i1"), cr, sr)
        negq = F.ins("and", "i32", q, "2")
        neg = F.ins("xor", "i1", F.v(f"icmp ne i32 {negq}, 0"), F.v(f"icmp slt i64 {xb}, 0"))
    else:
        val = F.sel(F.v(f"trunc i32 {q} to i1"), sr, cr)
        negq = F.ins("and", "i32", F.ins("add", "i32", q, "1"), "2")
        neg = F.v(f"icmp ne i32 {negq}, 0")
    near = F.sel(neg, F.neg(val), val)
    F.raw("br label %done")
    F.label("done")
    return F.v(f"phi double [ {lib}, %far ], [ {near}, %near ]")


def _pow_f32(F):
    """float pow via double log/exp: |y log x| carries ~2^-52 relative error, far below 1 ulp."""
    x, y = "%x", "%y"
    d = _F64
    xd = F.v(f"fpext float {x} to double")
    yd = F.v(f"fpext float {y} to double")
    ax = F.intr("fabs", [xd], t=d)
    lg = F.call(F.lib.use("log", d), d, [(d, ax)])
    w = F.mul(yd, lg, d)
    r = F.call(F.lib.use("exp", d), d, [(d, w)])
    res = F.v(f"fptrunc double {r} to float")
    ty = F.intr("trunc", [y])
    is_int = F.fcmp("oeq", ty, y)
    hy = F.mul(y, 0.5)
    odd = F.ins("and", "i1", is_int, F.fcmp("une", F.intr("trunc", [hy]), hy))
    xneg_bit = F.v(f"icmp slt i32 {F.v(f'bitcast float {x} to i32')}, 0")
    ax32 = F.intr("fabs", [x])
    yinf = F.fcmp("oeq", F.intr("fabs", [y]), float("inf"))
    res = F.sel(F.ins("and", "i1", F.fcmp("oeq", ax32, 1.0), yinf), 1.0, res)
    res = F.sel(F.ins("and", "i1", xneg_bit, odd), F.neg(res), res)
    finite_neg = F.ins("and", "i1", F.fcmp("olt", x, 0.0), F.fcmp("one", x, float("-inf")))
    bad = F.ins("and", "i1", finite_neg, F.ins("xor", "i1", is_int, "true"))
    res = F.sel(F.ins("and", "i1", bad, F.fcmp("ord", y, y)), float("nan"), res)
    one = F.ins("or", "i1", F.fcmp("oeq", x, 1.0), F.fcmp("oeq", y, 0.0))
    return F.sel(one, 1.0, res)


def _atan2_f32(F):
    """float atan2 in double: reduce to |a| <= tan(pi/8), odd Taylor series, quadrant fixups."""
    y, x = "%x", "%y"   # parameter order is (y, x), named %x/%y by the builder
    d = _F64
    yd = F.v(f"fpext float {y} to double")
    xd = F.v(f"fpext float {x} to double")
    ay = F.intr("fabs", [yd], t=d)
    ax = F.intr("fabs", [xd], t=d)
    ygt = F.fcmp("ogt", ay, ax, d)
    mx = F.sel(ygt, ay, ax, d)
    mn = F.sel(ygt, ax, ay, d)
    a = F.div(mn, mx, d)
    a = F.sel(F.fcmp("oeq", mx, 0.0, d), 0.0, a, d)
    a = F.sel(F.fcmp("oeq", mn, float("inf"), d), 1.0, a, d)
    big = F.fcmp("ogt", a, 0.41421356237309503, d)
    a2 = F.sel(big, F.div(F.sub(a, 1.0, d), F.add(a, 1.0, d), d), a, d)
    off = F.sel(big, math.pi / 4, 0.0, d)
    z = F.mul(a2, a2, d)
    at = F.fma(F.mul(a2, z, d), F.poly(z, _atan_taylor(11), d), a2, d)
    r = F.add(off, at, d)
    r = F.sel(ygt, F.sub(math.pi / 2, r, d), r, d)
    xneg = F.v(f"icmp slt i64 {F.v(f'bitcast double {xd} to i64')}, 0")
    r = F.sel(xneg, F.sub(math.pi, r, d), r, d)
    r = F.intr("copysign", [r, yd], t=d)
    res = F.v(f"fptrunc double {r} to float")
    anynan = F.ins("or", "i1", F.isnan(x), F.isnan(y))
    return F.sel(anynan, F.add(x, y), res)


def _libm2(name):
    def body(F):
        F.lib.need_decl(name, "double", ["double", "double"], libm=True)
        return F.call(name, "double", [("double", "%x"), ("double", "%y")])
    return body


_UNARY = {"exp": _exp, "expm1": _expm1, "log": _log, "log1p": _log1p, "tanh": _tanh,
          "sigmoid": _sigmoid, "erf": _erf}


# ------------------------------------------------------------------------------ tables
@functools.lru_cache(maxsize=None)
def _trig_tables() -> str:
    """For each float exponent field E: C = (2^s * 2/pi) mod 4, s = max(E,1) - 150, split
    into hi (28 bits) + mid (28 bits) + lo (double), so M * hi and M * mid are exact for
    24-bit mantissas M."""
    P = 400
    rows = {"hi": [], "mid": [], "lo": []}
    for e in range(255):
        s = max(e, 1) - 150
        denom = 1 << (P - s)
        c = Fraction(_TWO_OVER_PI_2_400 % (4 * denom), denom)
        hi = _round_bits(c, 28)
        mid = _round_bits(c - hi, 28)
        lo = float(c - hi - mid)
        rows["hi"].append(float(hi))
        rows["mid"].append(float(mid))
        rows["lo"].append(lo)
    out = []
    for name, vals in rows.items():
        body = ", ".join(f"double {float_literal(v, 64)}" for v in vals)
        out.append(f"@ff_trig_{name} = private unnamed_addr constant [255 x double] [{body}], align 64")
    return "\n".join(out)


def _round_bits(c: Fraction, bits: int) -> Fraction:
    if c == 0:
        return Fraction(0)
    e = math.floor(math.log2(abs(c)))
    while Fraction(2) ** e > abs(c):
        e -= 1
    while Fraction(2) ** (e + 1) <= abs(c):
        e += 1
    scale = Fraction(2) ** (bits - 1 - e)
    return Fraction(round(c * scale)) / scale


# ------------------------------------------------------------------------------ library
_IPOW = """define internal {t} @{name}({t} %a, {t} %b) nounwind {{
entry:
  %isneg = icmp slt {t} %b, 0
  br i1 {neg_check}, label %negexp, label %loop
negexp:
  %one = icmp eq {t} %a, 1
  %m1 = icmp eq {t} %a, -1
  %odd = trunc {t} %b to i1
  %sgn = select i1 %odd, {t} -1, {t} 1
  %v = select i1 %m1, {t} %sgn, {t} 0
  %v2 = select i1 %one, {t} 1, {t} %v
  ret {t} %v2
loop:
  %r = phi {t} [ 1, %entry ], [ %r2, %loop ]
  %x = phi {t} [ %a, %entry ], [ %x2, %loop ]
  %e = phi {t} [ %b, %entry ], [ %e2, %loop ]
  %bit = trunc {t} %e to i1
  %rm = mul {t} %r, %x
  %r2 = select i1 %bit, {t} %rm, {t} %r
  %x2 = mul {t} %x, %x
  %e2 = lshr {t} %e, 1
  %more = icmp ne {t} %e2, 0
  br i1 %more, label %loop, label %exit
exit:
  ret {t} %r2
}}
"""


class MathLib:
    """The math functions one module uses; `use` returns a function name and records it."""

    def __init__(self):
        self._defs = {}          # fn name -> text (insertion order = dependency order reversed)
        self._decls = {}
        self._tables = False

    def need_decl(self, name, ret, args, libm=False):
        if name not in self._decls:
            attrs = " nounwind willreturn memory(none)" if libm else ""
            self._decls[name] = f"declare {ret} @{name}({', '.join(args)}){attrs}"

    def need_trig_tables(self):
        self._tables = True

    def use(self, op: str, t: str) -> str:
        if t not in _SUFFIX:
            raise ValueError(f"mathlib: {op} is available for float and double, not {t}")
        name = f"ff_{op}_{_SUFFIX[t]}"
        if name in self._defs:
            return name
        self._defs[name] = None  # reserve (recursion guard)
        if op in _UNARY:
            F = _Fn(self, name, t, ["%x"])
            self._defs[name] = F.text(_UNARY[op](F))
        elif op in ("sin", "cos"):
            F = _Fn(self, name, t, ["%x"])
            self._defs[name] = F.text((_trig_f64 if t == _F64 else _trig_f32)(F, op))
        elif op in ("pow", "atan2"):
            F = _Fn(self, name, t, ["%x", "%y"])
            if t == _F64:
                self._defs[name] = F.text(_libm2(op)(F))
            else:
                self._defs[name] = F.text((_pow_f32 if op == "pow" else _atan2_f32)(F))
        else:
            del self._defs[name]
            raise ValueError(f"mathlib has no function {op!r}")
        return name

    def use_ipow(self, t: str, unsigned: bool) -> str:
        name = f"ff_ipow_{'u' if unsigned else 's'}{t}"
        if name not in self._defs:
            self._defs[name] = _IPOW.format(t=t, name=name, neg_check="false" if unsigned else "%isneg")
        return name

    def globals(self) -> list:
        return [_trig_tables()] if self._tables else []

    def text(self) -> str:
        return "\n".join(v for v in self._defs.values() if v)

    def declarations(self, existing: set) -> list:
        return [d for n, d in self._decls.items() if n not in existing]
