"""Loop IR: the level between the graph and LLVM.

A `Program` is an ordered list of `Kernel`s over named buffers. A kernel is a loop nest of
statements whose leaves are scalar expressions. All index arithmetic is int64 (`INDEX`).
Buffers are dense, row-major, and addressed by a flat element index.

Expressions are immutable dataclasses (hash-consed by value), so op lowerings can build them
freely and the code generator can memoize repeated subexpressions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

from . import dtypes as dt
from .shapes import Dim, SymDim

INDEX = dt.int64


# ----------------------------------------------------------------------------- expressions
class Expr:
    dtype: dt.DType

    # Small operator sugar for index math in lowerings (ints are promoted to index consts).
    def __add__(self, o): return Binary("add", self, as_expr(o, self.dtype))
    def __radd__(self, o): return Binary("add", as_expr(o, self.dtype), self)
    def __sub__(self, o): return Binary("sub", self, as_expr(o, self.dtype))
    def __rsub__(self, o): return Binary("sub", as_expr(o, self.dtype), self)
    def __mul__(self, o): return Binary("mul", self, as_expr(o, self.dtype))
    def __rmul__(self, o): return Binary("mul", as_expr(o, self.dtype), self)
    def __floordiv__(self, o): return Binary("floordiv", self, as_expr(o, self.dtype))
    def __mod__(self, o): return Binary("mod", self, as_expr(o, self.dtype))


@dataclass(frozen=True, eq=True)
class Const(Expr):
    value: Union[int, float, bool]
    dtype: dt.DType


@dataclass(frozen=True, eq=True)
class Var(Expr):
    """A loop index, a let-bound scalar or an accumulator."""
    name: str
    dtype: dt.DType = INDEX


@dataclass(frozen=True, eq=True)
class SizeOf(Expr):
    """The runtime value of a symbolic dimension (read from the dims table)."""
    dim: SymDim
    dtype: dt.DType = INDEX


@dataclass(frozen=True, eq=True)
class Load(Expr):
    buffer: str
    index: Expr
    dtype: dt.DType


@dataclass(frozen=True, eq=True)
class Unary(Expr):
    """op: neg, abs, not, floor, ceil, round (half to even), sqrt, and math calls lowered inline:
    exp, expm1, log, log1p, tanh, sigmoid, erf, sin, cos, rsqrt, sign, reciprocal, isnan, isinf,
    isfinite."""
    op: str
    x: Expr
    dtype: dt.DType


@dataclass(frozen=True, eq=True)
class Binary(Expr):
    """op: add, sub, mul, div (true div for floats, C-style trunc for ints), floordiv, mod
    (numpy semantics, x//0 == 0), pow, max, min, and, or, xor, eq, ne, lt, le, gt, ge, atan2,
    shl, shr. Comparisons have dtype bool. Both operands have the same dtype."""
    op: str
    a: Expr
    b: Expr
    dtype: dt.DType = None  # filled in __post_init__

    def __post_init__(self):
        if self.dtype is None:
            object.__setattr__(self, "dtype", dt.bool_ if self.op in COMPARISONS else self.a.dtype)


COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})


@dataclass(frozen=True, eq=True)
class Select(Expr):
    cond: Expr
    a: Expr
    b: Expr
    dtype: dt.DType = None

    def __post_init__(self):
        if self.dtype is None:
            object.__setattr__(self, "dtype", self.a.dtype)


@dataclass(frozen=True, eq=True)
class Cast(Expr):
    """numpy `astype` semantics; float->int truncates toward zero (out-of-range saturates)."""
    x: Expr
    dtype: dt.DType


def as_expr(v, dtype: dt.DType = INDEX) -> Expr:
    if isinstance(v, Expr):
        return v
    if isinstance(v, SymDim):
        return SizeOf(v)
    return Const(v, dtype)


def dim_expr(d: Dim) -> Expr:
    return SizeOf(d) if isinstance(d, SymDim) else Const(int(d), INDEX)


# ----------------------------------------------------------------------------- statements
@dataclass
class Loop:
    var: str
    extent: Expr                     # loop runs var = 0 .. extent-1
    body: list
    kind: str = "serial"             # 'parallel' | 'serial' | 'reduce'


@dataclass
class Let:
    var: str
    value: Expr


@dataclass
class Assign:
    """Update a mutable scalar declared with `Declare` (accumulators)."""
    var: str
    value: Expr


@dataclass
class Declare:
    var: str
    init: Expr


@dataclass
class Store:
    buffer: str
    index: Expr
    value: Expr


@dataclass
class ErrorIf:
    """Return `code` from the entry point when `cond` holds (e.g. a gather index out of range).
    The runtime maps the code to the node's op and source line."""
    cond: Expr
    code: int


@dataclass
class If:
    cond: Expr
    then: list
    orelse: list = field(default_factory=list)


@dataclass
class Buffer:
    name: str
    dtype: dt.DType
    shape: tuple                     # dims (int or SymDim); elements = product
    role: str                        # 'input' | 'output' | 'temp' | 'const'


@dataclass
class MatmulTemplate:
    """C[b, m, n] = sum_k A[b, m, k] * B[b, k, n] with the epilogue applied to each result.

    `a_strides`/`b_strides` are (batch, row, col) element strides of the operands so
    transposes are free; a batch stride of 0 broadcasts. `epilogue` is an Expr over
    Var('acc') (the accumulated value, dtype of C) and Var('m')/Var('n')/Var('b') (the output
    coordinates); it may load other buffers. Batch may be 1.
    """
    a: str
    b: str
    out: str
    batch: Expr
    m: Expr
    n: Expr
    k: Expr
    a_strides: tuple
    b_strides: tuple
    dtype: dt.DType
    epilogue: Optional[Expr] = None


@dataclass
class Kernel:
    name: str
    body: list                       # statements (Loop / MatmulTemplate / ...)
    reads: list                      # buffer names
    writes: list                     # buffer names
    nodes: list = field(default_factory=list)     # graph node names fused into this kernel
    reason: str = ""                 # why fusion stopped at this kernel's boundary
    flops: Expr = None               # estimates for the profiler
    bytes: Expr = None


@dataclass
class Program:
    """What the code generator consumes: buffers, kernels in execution order, and the signature.

    `inputs`/`outputs` are buffer names in call order. `symbols` lists the size symbols (dims
    table order). `aliases` maps an output buffer to an input buffer it may be written into."""
    name: str
    buffers: dict
    kernels: list
    inputs: list
    outputs: list
    symbols: list
    constants: dict = field(default_factory=dict)   # buffer name -> numpy array baked into the module


# ----------------------------------------------------------------------------- printing
def format_expr(e: Expr) -> str:
    if isinstance(e, Const):
        if e.dtype.is_floating:
            v = float(e.value)
            text = repr(v) if v == v and abs(v) != float("inf") else {"inf": "INFINITY", "-inf": "-INFINITY"}.get(repr(v), "NAN")
            return text + ("f" if e.dtype.bits == 32 and text[-1].isdigit() else "")
        return str(e.value).lower() if e.dtype.is_bool else str(e.value)
    if isinstance(e, Var):
        return e.name
    if isinstance(e, SizeOf):
        return f"dim({e.dim})"
    if isinstance(e, Load):
        return f"{e.buffer}[{format_expr(e.index)}]"
    if isinstance(e, Unary):
        return f"{e.op}({format_expr(e.x)})"
    if isinstance(e, Binary):
        sym = _INFIX.get(e.op)
        if sym:
            return f"({format_expr(e.a)} {sym} {format_expr(e.b)})"
        return f"{e.op}({format_expr(e.a)}, {format_expr(e.b)})"
    if isinstance(e, Select):
        return f"({format_expr(e.cond)} ? {format_expr(e.a)} : {format_expr(e.b)})"
    if isinstance(e, Cast):
        return f"({e.dtype.name}){format_expr(e.x)}"
    return repr(e)


_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//", "mod": "%", "eq": "==",
          "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "and": "&&", "or": "||"}


def format_stmts(stmts: Sequence, indent: int = 1) -> list:
    pad = "  " * indent
    out = []
    for s in stmts:
        if isinstance(s, Loop):
            out.append(f"{pad}for {s.var} in 0..{format_expr(s.extent)}:  # {s.kind}")
            out += format_stmts(s.body, indent + 1)
        elif isinstance(s, Let):
            out.append(f"{pad}{s.var} = {format_expr(s.value)}")
        elif isinstance(s, Declare):
            out.append(f"{pad}var {s.var} = {format_expr(s.init)}")
        elif isinstance(s, Assign):
            out.append(f"{pad}{s.var} = {format_expr(s.value)}")
        elif isinstance(s, Store):
            out.append(f"{pad}{s.buffer}[{format_expr(s.index)}] = {format_expr(s.value)}")
        elif isinstance(s, ErrorIf):
            out.append(f"{pad}if {format_expr(s.cond)}: return error {s.code}")
        elif isinstance(s, If):
            out.append(f"{pad}if {format_expr(s.cond)}:")
            out += format_stmts(s.then, indent + 1)
            if s.orelse:
                out.append(f"{pad}else:")
                out += format_stmts(s.orelse, indent + 1)
        elif isinstance(s, MatmulTemplate):
            out.append(f"{pad}matmul {s.out}[{format_expr(s.batch)}x{format_expr(s.m)}x{format_expr(s.n)}] = "
                       f"{s.a} @ {s.b}  (k={format_expr(s.k)}, a_strides={tuple(map(format_expr, s.a_strides))}, "
                       f"b_strides={tuple(map(format_expr, s.b_strides))})")
            if s.epilogue is not None:
                out.append(f"{pad}  epilogue: {format_expr(s.epilogue)}")
        else:
            out.append(f"{pad}{s!r}")
    return out


def format_program(p: Program) -> str:
    lines = [f"program {p.name}({', '.join(p.inputs)}) -> ({', '.join(p.outputs)})"]
    if p.symbols:
        lines.append(f"  symbols: {', '.join(p.symbols)}")
    for b in p.buffers.values():
        lines.append(f"  buffer {b.name}: {b.dtype.short}[{','.join(map(str, b.shape))}] {b.role}")
    for k in p.kernels:
        lines.append("")
        lines.append(f"kernel {k.name}  reads({', '.join(k.reads)}) writes({', '.join(k.writes)})")
        if k.nodes:
            lines.append(f"  # fuses: {', '.join(k.nodes)}")
        if k.reason:
            lines.append(f"  # boundary: {k.reason}")
        lines += format_stmts(k.body)
    return "\n".join(lines)
