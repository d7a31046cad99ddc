"""Small helpers shared by the index-map and kernel lowerings of the movement, indexing, nn
and conv ops: affine dim arithmetic, clamped indices, row-major strides.

Clamping matters because the code generator evaluates both arms of a `Select` (like LLVM's
`select`): a load in an arm that is not taken must still be in bounds.
"""
from __future__ import annotations

import contextlib
import threading

from ..loopir import INDEX, Binary, Const, Expr, dim_expr
from ..shapes import Dim, SymDim, dim_add, dim_mul, format_shape, normalize_axis
from .registry import OpError


# OpDef.extra for index maps whose reads are always in bounds (they clamp every speculative or
# data-dependent index themselves), so the lowering need not clamp their operand reads again.
IN_RANGE = {"index_in_range": True}


def affine(d: Dim):
    """Split a dim into (symbolic base or None, integer offset): `(n + -1) + 2` -> (n, 1)."""
    if isinstance(d, int):
        return None, d
    if d.kind == "add" and isinstance(d.args[1], int):
        base, c = affine(d.args[0])
        return base, c + d.args[1]
    return d, 0


def dim_sub(a: Dim, b: Dim) -> Dim:
    """a - b for dims whose symbolic parts cancel or only `a` has one; else an OpError."""
    base_a, ca = affine(a)
    base_b, cb = affine(b)
    if base_b is None:
        return dim_add(base_a, ca - cb) if base_a is not None else ca - cb
    if base_a == base_b:
        return ca - cb
    raise OpError(f"cannot express {a} - {b} as a dimension")


def ceil_div(a: Dim, b: int) -> Dim:
    """ceil(a / b) for a dim and a positive int."""
    if isinstance(a, int):
        return -(-a // b)
    from ..shapes import dim_floordiv
    return dim_floordiv(dim_add(a, b - 1), b) if b != 1 else a


_ASSUMED = threading.local()


def static_eq(a: Dim, b: Dim) -> bool:
    """False only when both dims are static and differ. A symbolic pair is assumed equal, and
    recorded while `recording_assumptions` is active: the lowering turns those records into
    runtime checks (`lowering.dim_constraints`), so every type rule using this gets them."""
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    pairs = getattr(_ASSUMED, "pairs", None)
    if pairs is not None and a != b:
        pairs.append((a, b))
    return True


@contextlib.contextmanager
def recording_assumptions():
    """Collect the (dim, dim) equalities `static_eq` assumed inside the block."""
    outer = getattr(_ASSUMED, "pairs", None)
    _ASSUMED.pairs = []
    try:
        yield _ASSUMED.pairs
    finally:
        _ASSUMED.pairs = outer


def axis_of(attrs, key: str, rank: int, op: str) -> int:
    return normalize_axis(int(attrs[key]), rank, op)


def idx(v) -> Expr:
    """An int, a Dim or an Expr as an INDEX expression."""
    if isinstance(v, Expr):
        return v
    if isinstance(v, SymDim):
        return dim_expr(v)
    return Const(int(v), INDEX)


def clamp(e: Expr, lo, hi) -> Expr:
    return Binary("min", Binary("max", e, idx(lo)), idx(hi))


def clamp_to_dim(e: Expr, d: Dim) -> Expr:
    """e clamped into [0, d-1] (into [0, 0] for an empty dim: callers never select that read)."""
    upper = idx(d) - 1 if not isinstance(d, int) else Const(max(d - 1, 0), INDEX)
    return Binary("max", Binary("min", e, upper), Const(0, INDEX))


def all_of(conds) -> Expr:
    out = None
    for c in conds:
        out = c if out is None else Binary("and", out, c)
    return out


def any_of(conds) -> Expr:
    out = None
    for c in conds:
        out = c if out is None else Binary("or", out, c)
    return out


def row_major_strides(shape) -> list:
    """Element strides of a dense row-major buffer, as INDEX Exprs."""
    strides, s = [], Const(1, INDEX)
    for d in reversed(shape):
        strides.append(s)
        s = s * dim_expr(d) if not (isinstance(s, Const) and s.value == 1) else dim_expr(d)
    return list(reversed(strides))


def flat_index(index, shape) -> Expr:
    """Row-major flat index of a multi-index (list of Exprs) into a dense buffer of `shape`."""
    flat = None
    for i, d in zip(index, shape):
        flat = i if flat is None else flat * dim_expr(d) + i
    return flat if flat is not None else Const(0, INDEX)


def product(dims) -> Expr:
    out = Const(1, INDEX)
    for d in dims:
        out = dim_expr(d) if isinstance(out, Const) and out.value == 1 else out * dim_expr(d)
    return out


def shape_str(t) -> str:
    """`float32[2,3]` (just the shape when the dtype is unknown, as in references)."""
    return f"{t.dtype.name if t.dtype is not None else ''}{format_shape(t.shape)}"


def num(shape) -> Dim:
    out: Dim = 1
    for d in shape:
        out = dim_mul(out, d)
    return out
