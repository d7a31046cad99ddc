"""Scalar operators of the loop IR as LLVM instructions, with numpy's semantics.

- integers wrap (no nsw/nuw), division by zero gives 0 and INT_MIN / -1 wraps instead of
  trapping, floor division and modulo round toward -inf like numpy;
- float max/min propagate NaN (`llvm.maximum`), comparisons are ordered except `ne`;
- float->int casts saturate (`llvm.fptosi.sat`), never poison;
- shifts by >= the bit width give numpy's answers instead of poison;
- transcendental functions come from mathlib as inline, vectorizable code; half precision
  computes them in float.
"""
from __future__ import annotations

from .irtext import float_literal, ltype
from .target import CodegenError

_FCMP = {"eq": "oeq", "ne": "une", "lt": "olt", "le": "ole", "gt": "ogt", "ge": "oge"}
_ICMP_S = {"eq": "eq", "ne": "ne", "lt": "slt", "le": "sle", "gt": "sgt", "ge": "sge"}
_ICMP_U = {"eq": "eq", "ne": "ne", "lt": "ult", "le": "ule", "gt": "ugt", "ge": "uge"}


def _suffix(d) -> str:
    t = ltype(d)
    return {"half": "f16", "float": "f32", "double": "f64"}.get(t, t)


def _fl(flags: str) -> str:
    return f" {flags}" if flags else ""


# ----------------------------------------------------------------------------- unary
def unary(g, op: str, x: str, d, out_d) -> str:
    t = ltype(d)
    fl = _fl(g.flags)
    if d.is_floating:
        if op in _MATH_VIA_LIB and op not in _BINARY_MATH:
            return _math_call(g, op, [x], d, out_d)
        if op == "neg":
            return g.emit(f"fneg{fl} {t} {x}")
        if op == "abs":
            return g.call_intrinsic(f"llvm.fabs.{_suffix(d)}", t, [f"{t} {x}"])
        if op in ("floor", "ceil", "sqrt"):
            return g.call_intrinsic(f"llvm.{op}.{_suffix(d)}", t, [f"{t} {x}"])
        if op == "round":
            return g.call_intrinsic(f"llvm.roundeven.{_suffix(d)}", t, [f"{t} {x}"])
        if op == "reciprocal":
            return g.emit(f"fdiv{fl} {t} {float_literal(1.0, d.bits)}, {x}")
        if op == "rsqrt":
            s = g.call_intrinsic(f"llvm.sqrt.{_suffix(d)}", t, [f"{t} {x}"])
            return g.emit(f"fdiv{fl} {t} {float_literal(1.0, d.bits)}, {s}")
        if op == "sign":  # numpy: -1, 0 (keeping the zero), 1, nan stays nan
            one, mone = float_literal(1.0, d.bits), float_literal(-1.0, d.bits)
            pos = g.emit(f"fcmp ogt {t} {x}, {float_literal(0.0, d.bits)}")
            neg = g.emit(f"fcmp olt {t} {x}, {float_literal(0.0, d.bits)}")
            r = g.emit(f"select i1 {neg}, {t} {mone}, {t} {x}")
            return g.emit(f"select i1 {pos}, {t} {one}, {t} {r}")
        if op == "isnan":
            return g.emit(f"fcmp uno {t} {x}, {x}")
        if op in ("isinf", "isfinite"):
            a = g.call_intrinsic(f"llvm.fabs.{_suffix(d)}", t, [f"{t} {x}"])
            inf = float_literal(float("inf"), d.bits)
            return g.emit(f"fcmp {'oeq' if op == 'isinf' else 'olt'} {t} {a}, {inf}")
    elif d.is_bool:
        if op == "not":
            return g.emit(f"xor i1 {x}, true")
        if op in ("abs", "floor", "ceil", "round", "sign"):
            return x
        if op in ("isnan", "isinf"):
            return "false"
        if op == "isfinite":
            return "true"
    else:
        if op == "neg":
            return g.emit(f"sub {t} 0, {x}")
        if op == "abs":
            if d.is_unsigned:
                return x
            return g.call_intrinsic(f"llvm.abs.{t}", t, [f"{t} {x}", "i1 false"])
        if op in ("floor", "ceil", "round"):
            return x
        if op == "not":
            return g.emit(f"xor {t} {x}, -1")
        if op == "sign":
            pos = g.emit(f"icmp {'ugt' if d.is_unsigned else 'sgt'} {t} {x}, 0")
            p = g.emit(f"zext i1 {pos} to {t}")
            if d.is_unsigned:
                return p
            neg = g.emit(f"icmp slt {t} {x}, 0")
            n = g.emit(f"zext i1 {neg} to {t}")
            return g.emit(f"sub {t} {p}, {n}")
        if op in ("isnan", "isinf"):
            return "false"
        if op == "isfinite":
            return "true"
        if op in _MATH_VIA_LIB and op not in _BINARY_MATH or op in ("sqrt", "rsqrt", "reciprocal"):
            raise CodegenError(f"unary {op} is not defined for integer dtype {d.name}: cast to float first")
    raise CodegenError(f"unsupported unary op {op!r} on {d.name}")


_BINARY_MATH = frozenset({"pow", "atan2"})
_MATH_VIA_LIB = frozenset({"exp", "expm1", "log", "log1p", "tanh", "sigmoid", "erf", "sin", "cos"}) | _BINARY_MATH


def _math_call(g, op: str, args: list, d, out_d) -> str:
    """Call the mathlib function; half precision is computed in float and rounded back."""
    t = ltype(d)
    if d.bits == 16:
        wide = [g.emit(f"fpext half {a} to float") for a in args]
        fn = g.ctx.module.mathlib.use(op, "float")
        r = g.emit(f"call float @{fn}({', '.join('float ' + a for a in wide)})")
        return g.emit(f"fptrunc float {r} to half")
    fn = g.ctx.module.mathlib.use(op, t)
    return g.emit(f"call {t} @{fn}({', '.join(f'{t} {a}' for a in args)})")


# ----------------------------------------------------------------------------- binary
def binary(g, op: str, a: str, b: str, d, flags: str) -> str:
    t = ltype(d)
    if op in _FCMP:
        if d.is_floating:
            return g.emit(f"fcmp {_FCMP[op]} {t} {a}, {b}")
        cmp = _ICMP_U if (d.is_unsigned or d.is_bool) else _ICMP_S
        return g.emit(f"icmp {cmp[op]} {t} {a}, {b}")
    if d.is_floating:
        return _float_binary(g, op, a, b, d, flags)
    if d.is_bool:
        if op in ("and", "or", "xor"):
            return g.emit(f"{op} i1 {a}, {b}")
        if op in ("max", "add", "or"):
            return g.emit(f"or i1 {a}, {b}")
        if op in ("min", "mul", "and"):
            return g.emit(f"and i1 {a}, {b}")
        raise CodegenError(f"binary {op} is not defined for bool")
    return _int_binary(g, op, a, b, d)


def _float_binary(g, op, a, b, d, flags):
    t = ltype(d)
    fl = _fl(flags)
    if op in ("add", "sub", "mul", "div"):
        ins = {"add": "fadd", "sub": "fsub", "mul": "fmul", "div": "fdiv"}[op]
        return g.emit(f"{ins}{fl} {t} {a}, {b}")
    if op in ("max", "min"):
        name = "maximum" if op == "max" else "minimum"
        return g.call_intrinsic(f"llvm.{name}.{_suffix(d)}", t, [f"{t} {a}", f"{t} {b}"], flags)
    if op in ("floordiv", "mod"):
        return _float_divmod(g, op, a, b, d)
    if op in ("pow", "atan2"):
        return _math_call(g, op, [a, b], d, d)
    raise CodegenError(f"binary {op} is not defined for {d.name}")


def _float_divmod(g, op, a, b, d):
    """numpy's npy_divmod: fmod-based so that a == b * (a // b) + a % b holds closely.
    Emitted without fast-math flags: the corrections depend on exact signs and zeros."""
    t = ltype(d)
    zero = float_literal(0.0, d.bits)
    one = float_literal(1.0, d.bits)
    mod = g.emit(f"frem {t} {a}, {b}")
    bzero = g.emit(f"fcmp oeq {t} {b}, {zero}")
    mod_nz = g.emit(f"fcmp une {t} {mod}, {zero}")
    b_neg = g.emit(f"fcmp olt {t} {b}, {zero}")
    m_neg = g.emit(f"fcmp olt {t} {mod}, {zero}")
    diff_sign = g.emit(f"xor i1 {b_neg}, {m_neg}")
    adjust = g.emit(f"and i1 {mod_nz}, {diff_sign}")
    if op == "mod":
        fixed = g.emit(f"fadd {t} {mod}, {b}")
        m1 = g.emit(f"select i1 {adjust}, {t} {fixed}, {t} {mod}")
        signed_zero = g.call_intrinsic(f"llvm.copysign.{_suffix(d)}", t, [f"{t} {zero}", f"{t} {b}"])
        m2 = g.emit(f"select i1 {mod_nz}, {t} {m1}, {t} {signed_zero}")
        return g.emit(f"select i1 {bzero}, {t} {mod}, {t} {m2}")
    amm = g.emit(f"fsub {t} {a}, {mod}")
    div = g.emit(f"fdiv {t} {amm}, {b}")
    div1 = g.emit(f"fsub {t} {div}, {one}")
    div2 = g.emit(f"select i1 {adjust}, {t} {div1}, {t} {div}")
    fl = g.call_intrinsic(f"llvm.floor.{_suffix(d)}", t, [f"{t} {div2}"])
    frac = g.emit(f"fsub {t} {div2}, {fl}")
    up = g.emit(f"fcmp ogt {t} {frac}, {float_literal(0.5, d.bits)}")
    fl1 = g.emit(f"fadd {t} {fl}, {one}")
    fl2 = g.emit(f"select i1 {up}, {t} {fl1}, {t} {fl}")
    q = g.emit(f"fdiv {t} {a}, {b}")
    qzero = g.call_intrinsic(f"llvm.copysign.{_suffix(d)}", t, [f"{t} {zero}", f"{t} {q}"])
    dnz = g.emit(f"fcmp une {t} {div2}, {zero}")
    res = g.emit(f"select i1 {dnz}, {t} {fl2}, {t} {qzero}")
    return g.emit(f"select i1 {bzero}, {t} {q}, {t} {res}")


def _int_binary(g, op, a, b, d):
    t = ltype(d)
    uns = d.is_unsigned
    if op in ("add", "sub", "mul", "and", "or", "xor"):
        return g.emit(f"{op} {t} {a}, {b}")
    if op in ("max", "min"):
        name = ("u" if uns else "s") + op
        return g.call_intrinsic(f"llvm.{name}.{t}", t, [f"{t} {a}", f"{t} {b}"])
    if op in ("div", "floordiv", "mod"):
        return _int_divmod(g, op, a, b, d)
    if op == "shl":
        big = g.emit(f"icmp uge {t} {b}, {d.bits}")
        s = g.emit(f"select i1 {big}, {t} 0, {t} {b}")
        r = g.emit(f"shl {t} {a}, {s}")
        return g.emit(f"select i1 {big}, {t} 0, {t} {r}")
    if op == "shr":
        big = g.emit(f"icmp uge {t} {b}, {d.bits}")
        if uns:
            s = g.emit(f"select i1 {big}, {t} 0, {t} {b}")
            r = g.emit(f"lshr {t} {a}, {s}")
            return g.emit(f"select i1 {big}, {t} 0, {t} {r}")
        s = g.emit(f"select i1 {big}, {t} {d.bits - 1}, {t} {b}")
        return g.emit(f"ashr {t} {a}, {s}")
    if op == "pow":
        fn = g.ctx.module.mathlib.use_ipow(t, uns)
        return g.emit(f"call {t} @{fn}({t} {a}, {t} {b})")
    raise CodegenError(f"binary {op} is not defined for integer dtype {d.name}")


def _int_divmod(g, op, a, b, d):
    """Guarded so nothing traps: x/0 == x//0 == x%0 == 0 and INT_MIN/-1 wraps to INT_MIN."""
    t = ltype(d)
    bzero = g.emit(f"icmp eq {t} {b}, 0")
    if d.is_unsigned:
        safe = g.emit(f"select i1 {bzero}, {t} 1, {t} {b}")
        r = g.emit(f"{'udiv' if op != 'mod' else 'urem'} {t} {a}, {safe}")
        return g.emit(f"select i1 {bzero}, {t} 0, {t} {r}")
    bm1 = g.emit(f"icmp eq {t} {b}, -1")
    bad = g.emit(f"or i1 {bzero}, {bm1}")
    safe = g.emit(f"select i1 {bad}, {t} 1, {t} {b}")
    if op == "mod":
        r = g.emit(f"srem {t} {a}, {safe}")  # x % -1 == 0, x % 0 == 0: both give srem(x, 1) == 0
        rnz = g.emit(f"icmp ne {t} {r}, 0")
        x = g.emit(f"xor {t} {r}, {b}")
        sgn = g.emit(f"icmp slt {t} {x}, 0")
        adj = g.emit(f"and i1 {rnz}, {sgn}")
        rb = g.emit(f"add {t} {r}, {b}")
        return g.emit(f"select i1 {adj}, {t} {rb}, {t} {r}")
    q = g.emit(f"sdiv {t} {a}, {safe}")
    if op == "floordiv":
        r = g.emit(f"srem {t} {a}, {safe}")
        rnz = g.emit(f"icmp ne {t} {r}, 0")
        x = g.emit(f"xor {t} {r}, {b}")
        sgn = g.emit(f"icmp slt {t} {x}, 0")
        adj = g.emit(f"and i1 {rnz}, {sgn}")
        q1 = g.emit(f"add {t} {q}, -1")
        q = g.emit(f"select i1 {adj}, {t} {q1}, {t} {q}")
    neg = g.emit(f"sub {t} 0, {a}")
    q = g.emit(f"select i1 {bm1}, {t} {neg}, {t} {q}")
    return g.emit(f"select i1 {bzero}, {t} 0, {t} {q}")


# ----------------------------------------------------------------------------- casts
def cast(g, v: str, src, dst) -> str:
    if src == dst:
        return v
    st, dt_ = ltype(src), ltype(dst)
    if dst.is_bool:
        if src.is_floating:
            return g.emit(f"fcmp une {st} {v}, {float_literal(0.0, src.bits)}")
        return g.emit(f"icmp ne {st} {v}, 0")
    if src.is_bool:
        if dst.is_floating:
            return g.emit(f"uitofp i1 {v} to {dt_}")
        return g.emit(f"zext i1 {v} to {dt_}")
    if src.is_floating and dst.is_floating:
        if dst.bits > src.bits:
            return g.emit(f"fpext {st} {v} to {dt_}")
        return g.emit(f"fptrunc {st} {v} to {dt_}")
    if src.is_integer and dst.is_floating:
        return g.emit(f"{'uitofp' if src.is_unsigned else 'sitofp'} {st} {v} to {dt_}")
    if src.is_floating and dst.is_integer:
        if dst.is_unsigned and dst.bits < 64:
            # numpy (via C on x86) converts through a wider signed int: -1.0 -> 255 for uint8.
            w = g.call_intrinsic(f"llvm.fptosi.sat.i64.{_suffix(src)}", "i64", [f"{st} {v}"])
            return g.emit(f"trunc i64 {w} to {dt_}")
        kind = "fptoui" if dst.is_unsigned else "fptosi"
        if dst.bits < 32:
            w = g.call_intrinsic(f"llvm.{kind}.sat.i32.{_suffix(src)}", "i32", [f"{st} {v}"])
            return g.emit(f"trunc i32 {w} to {dt_}")  # numpy wraps narrow ints through int32
        return g.call_intrinsic(f"llvm.{kind}.sat.{dt_}.{_suffix(src)}", dt_, [f"{st} {v}"])
    if src.is_integer and dst.is_integer:
        if dst.bits == src.bits:
            return v
        if dst.bits < src.bits:
            return g.emit(f"trunc {st} {v} to {dt_}")
        return g.emit(f"{'zext' if src.is_unsigned else 'sext'} {st} {v} to {dt_}")
    raise CodegenError(f"cannot cast {src.name} to {dst.name}")
