"""Static cost estimates of loop-IR kernels: bytes moved and arithmetic operations.

Bytes are compulsory traffic: every buffer a kernel reads or writes counted once (a broadcast
operand read 256 times still costs its size once, as it stays in cache). Flops count the
floating-point operations of the scalar expressions times the trip counts of the loops around
them; each math function (exp, tanh, ...) counts as one operation, index arithmetic counts as
none. A matmul counts 2*b*m*n*k plus its epilogue per output element.

Extents with symbolic dims are evaluated in `env` (size symbol -> int); with no binding the
estimate is None.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..loopir import (Assign, Binary, Buffer, Cast, Const, Declare, Expr, If, Kernel, Let, Load, Loop,
                      MatmulTemplate, Program, Select, SizeOf, Store, Unary, Var)
from ..shapes import SymDim


class Unbound(Exception):
    """A symbolic size has no value in the environment."""


def eval_index(e: Expr, env: Optional[dict], loop_vars: Optional[dict] = None) -> int:
    """Value of an index expression (loop extents, matmul sizes); `loop_vars` binds the
    enclosing loops' variables (tiled loops' extents depend on them)."""
    if isinstance(e, Const):
        return int(e.value)
    if isinstance(e, Var):
        if loop_vars and e.name in loop_vars:
            return loop_vars[e.name]
        raise Unbound(f"variable {e.name}")
    if isinstance(e, SizeOf):
        try:
            return int(e.dim.evaluate(env or {}))
        except KeyError as missing:
            raise Unbound(str(missing)) from None
    if isinstance(e, Binary):
        a, b = eval_index(e.a, env, loop_vars), eval_index(e.b, env, loop_vars)
        if e.op == "add":
            return a + b
        if e.op == "sub":
            return a - b
        if e.op == "mul":
            return a * b
        if e.op == "floordiv":
            return a // b if b else 0
        if e.op == "mod":
            return a % b if b else 0
        if e.op == "max":
            return max(a, b)
        if e.op == "min":
            return min(a, b)
    raise Unbound(f"cannot evaluate {type(e).__name__} statically")


def dim_value(d, env: Optional[dict]) -> int:
    if isinstance(d, SymDim):
        try:
            return int(d.evaluate(env or {}))
        except KeyError as missing:
            raise Unbound(str(missing)) from None
    return int(d)


def buffer_bytes(buf: Buffer, env: Optional[dict]) -> int:
    n = 1
    for d in buf.shape:
        n *= dim_value(d, env)
    return n * buf.dtype.itemsize


def expr_flops(e: Expr) -> int:
    """Floating-point operations in one evaluation of `e` (shared subexpressions once)."""
    seen = set()
    count = 0
    stack = [e]
    while stack:
        x = stack.pop()
        if x is None or id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, (Unary, Binary)):
            operand_dtype = x.x.dtype if isinstance(x, Unary) else x.a.dtype
            if operand_dtype is not None and operand_dtype.is_floating:
                count += 1
        if isinstance(x, Unary):
            stack.append(x.x)
        elif isinstance(x, Binary):
            stack += [x.a, x.b]
        elif isinstance(x, Select):
            stack += [x.cond, x.a, x.b]
        elif isinstance(x, Cast):
            stack.append(x.x)
        elif isinstance(x, Load):
            stack.append(x.index)
    return count


EXACT_TRIP_LIMIT = 64   # loops up to this many trips are summed trip by trip


def stmts_flops(stmts, env: Optional[dict], loop_vars: Optional[dict] = None) -> int:
    loop_vars = dict(loop_vars or {})
    total = 0
    for s in stmts:
        if isinstance(s, Loop):
            trips = eval_index(s.extent, env, loop_vars)
            if trips <= 0:
                continue
            if trips <= EXACT_TRIP_LIMIT:
                total += sum(stmts_flops(s.body, env, {**loop_vars, s.var: t}) for t in range(trips))
            else:
                # Inner extents may depend on this variable (tiles, edges): average first and last trip.
                first = stmts_flops(s.body, env, {**loop_vars, s.var: 0})
                last = stmts_flops(s.body, env, {**loop_vars, s.var: trips - 1})
                total += (first + last) * trips // 2
        elif isinstance(s, (Let, Assign)):
            total += expr_flops(s.value)
        elif isinstance(s, Declare):
            total += expr_flops(s.init)
        elif isinstance(s, Store):
            total += expr_flops(s.value)
        elif isinstance(s, If):
            total += stmts_flops(s.then, env, loop_vars) + stmts_flops(s.orelse, env, loop_vars)
        elif isinstance(s, MatmulTemplate):
            b, m, n, k = (eval_index(x, env, loop_vars) for x in (s.batch, s.m, s.n, s.k))
            per_out = 2 * k if s.dtype.is_floating else 0
            if s.epilogue is not None:
                per_out += expr_flops(s.epilogue)
            total += b * m * n * per_out
    return total


@dataclass
class KernelCost:
    flops: Optional[int]
    bytes_read: Optional[int]
    bytes_written: Optional[int]
    reads: dict = field(default_factory=dict)     # buffer -> bytes (None if unbound)
    writes: dict = field(default_factory=dict)

    @property
    def bytes(self) -> Optional[int]:
        if self.bytes_read is None or self.bytes_written is None:
            return None
        return self.bytes_read + self.bytes_written

    @property
    def intensity(self) -> Optional[float]:
        if self.flops is None or not self.bytes:
            return None
        return self.flops / self.bytes


def _sizes(names, program: Program, env) -> dict:
    out = {}
    for name in names:
        buf = program.buffers.get(name)
        try:
            out[name] = buffer_bytes(buf, env) if buf is not None else None
        except Unbound:
            out[name] = None
    return out


def kernel_cost(kernel: Kernel, program: Program, env: Optional[dict] = None) -> KernelCost:
    reads = _sizes(kernel.reads, program, env)
    writes = _sizes(kernel.writes, program, env)
    try:
        flops = stmts_flops(kernel.body, env)
    except Unbound:
        flops = None
    total_r = None if None in reads.values() else sum(reads.values())
    total_w = None if None in writes.values() else sum(writes.values())
    return KernelCost(flops, total_r, total_w, reads, writes)


def human_bytes(n: Optional[float]) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def human_count(n: Optional[float], unit: str = "") -> str:
    if n is None:
        return "?"
    for prefix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {prefix}{unit}"
    return f"{n:.0f} {unit}".rstrip()
