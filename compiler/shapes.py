"""Shapes with static and symbolic dimensions.

A dimension is an `int` or a `SymDim`: an expression over named size symbols (the `None`
dims of an input signature) built from `*`, `//` and `+`. Symbolic dims let one compiled
program run for any batch size; the runtime binds symbols from the input shapes and
evaluates every derived dim with the same tiny expression language (see `SymDim.encode`).
"""
from __future__ import annotations

from typing import Iterable, Sequence, Union


class SymDim:
    """An integer-valued expression over size symbols. Immutable; equal when canonically equal."""

    __slots__ = ("kind", "args", "_key")

    def __init__(self, kind: str, args: tuple):
        self.kind = kind  # 'sym' | 'mul' | 'floordiv' | 'add'
        self.args = args
        self._key = self._render()

    @staticmethod
    def symbol(name: str) -> "SymDim":
        return SymDim("sym", (name,))

    def _render(self) -> str:
        if self.kind == "sym":
            return self.args[0]
        a, b = (str(x) for x in self.args)
        op = {"mul": "*", "floordiv": "//", "add": "+"}[self.kind]
        return f"({a}{op}{b})"

    def __str__(self) -> str:
        return self._key[1:-1] if self._key.startswith("(") else self._key

    __repr__ = __str__

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other) -> bool:
        return isinstance(other, SymDim) and other._key == self._key

    def symbols(self) -> set:
        if self.kind == "sym":
            return {self.args[0]}
        out = set()
        for a in self.args:
            if isinstance(a, SymDim):
                out |= a.symbols()
        return out

    def evaluate(self, env: dict) -> int:
        return evaluate_encoded(self.encode(), env)

    def encode(self):
        """Nested tuples the runtime evaluates without importing the compiler."""
        if self.kind == "sym":
            return ("sym", self.args[0])
        return (self.kind,) + tuple(encode_dim(a) for a in self.args)


Dim = Union[int, SymDim]
Shape = tuple  # tuple[Dim, ...]


def encode_dim(d: Dim):
    return d.encode() if isinstance(d, SymDim) else ("const", int(d))


def evaluate_encoded(code, env: dict) -> int:
    kind = code[0]
    if kind == "const":
        return code[1]
    if kind == "sym":
        return env[code[1]]
    a, b = evaluate_encoded(code[1], env), evaluate_encoded(code[2], env)
    if kind == "mul":
        return a * b
    if kind == "add":
        return a + b
    return a // b if b else 0


def dim_mul(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if a == 1:
        return b
    if b == 1:
        return a
    if a == 0 or b == 0:
        return 0
    if isinstance(a, int):  # canonical order: symbol first, constant second
        a, b = b, a
    return SymDim("mul", (a, b))


def dim_floordiv(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return a // b if b else 0
    if b == 1:
        return a
    if a == b:
        return 1
    # (x*c)//c and (x*c)//d with c % d == 0 simplify, which covers flatten/unflatten reshapes.
    if isinstance(a, SymDim) and a.kind == "mul" and isinstance(b, int) and isinstance(a.args[1], int):
        c = a.args[1]
        if c % b == 0:
            return dim_mul(a.args[0], c // b)
    if isinstance(a, SymDim) and a.kind == "mul" and a.args[1] == b:
        return a.args[0]
    return SymDim("floordiv", (a, b))


def dim_add(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    if a == 0:
        return b
    if b == 0:
        return a
    if isinstance(a, int):
        a, b = b, a
    return SymDim("add", (a, b))


def num_elements(shape: Sequence[Dim]) -> Dim:
    n: Dim = 1
    for d in shape:
        n = dim_mul(n, d)
    return n


def is_static(shape: Sequence[Dim]) -> bool:
    return all(isinstance(d, int) for d in shape)


def shape_symbols(shape: Sequence[Dim]) -> set:
    out = set()
    for d in shape:
        if isinstance(d, SymDim):
            out |= d.symbols()
    return out


def format_shape(shape: Sequence[Dim]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


class ShapeError(ValueError):
    """Raised for incompatible shapes; the message names the op, the shapes and the user's line."""


def broadcast_shapes(*shapes: Sequence[Dim], op: str = "broadcast") -> Shape:
    """numpy/TF broadcasting. A symbolic dim broadcasts with 1 and with itself; against a
    different static size > 1 it is assumed equal to it (checked by the runtime when bound)."""
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(rank):
        dims = [s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0]
        result: Dim = 1
        for d in dims:
            if d == 1 or d == result:
                continue
            if result == 1:
                result = d
            elif isinstance(d, SymDim) and isinstance(result, int):
                continue
            elif isinstance(result, SymDim) and isinstance(d, int):
                result = d
            elif isinstance(d, SymDim) and isinstance(result, SymDim):
                continue  # both unknown: keep the first, the runtime checks they agree
            else:
                raise ShapeError(
                    f"{op}: shapes {', '.join(format_shape(s) for s in shapes)} are not broadcast-compatible "
                    f"(dimension {i} is {result} vs {d})")
        out.append(result)
    return tuple(out)


def normalize_axis(axis: int, rank: int, op: str = "op") -> int:
    if not -rank <= axis < max(rank, 1) or (rank == 0 and axis not in (0, -1)):
        raise ShapeError(f"{op}: axis {axis} is out of range for a tensor of rank {rank}")
    return axis % rank if rank else 0


def normalize_axes(axes, rank: int, op: str = "op") -> tuple:
    """None means all axes; returns sorted unique non-negative axes."""
    if axes is None:
        return tuple(range(rank))
    if isinstance(axes, int):
        axes = (axes,)
    return tuple(sorted({normalize_axis(int(a), rank, op) for a in axes}))


def as_shape(dims: Iterable) -> Shape:
    """Normalize user dims (ints, None-free) into a Shape tuple."""
    return tuple(d if isinstance(d, SymDim) else int(d) for d in dims)
