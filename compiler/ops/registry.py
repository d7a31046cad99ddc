"""The op registry: every op is defined once, in one `OpDef`.

An OpDef carries the op's kind (which drives fusion), its type rule, its numpy reference
(which is also the interpreter and the constant folder), its gradient rule (emits IR), and
the lowering hook its kind calls for:

- elementwise:  `scalar(args: list[Expr], attrs, out_dtype) -> Expr`
- injective:    `index(ctx, out_index: list[Expr]) -> Expr` (value of the output at an index,
                reading operands through `ctx.input(slot, index)`); broadcasts, movement ops
- reduce:       `reduction: ReduceSpec` (identity, combine, finalize)
- matmul:       lowered by the matmul template
- opaque/source: `lower_kernel(ctx) -> list of loop-IR statements` or runs outside the
                native program (parameters, constants, variables)
- composite:    `decompose(em, node) -> list[Value]` rewrites it into primitives early
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from ..shapes import ShapeError

KINDS = ("elementwise", "injective", "reduce", "matmul", "opaque", "source", "composite")


class OpError(ValueError):
    """A type/shape error in building an op: the message names the op, operand types and location."""


@dataclass
class ReduceSpec:
    identity: Callable           # dtype -> python scalar
    combine: Callable            # (acc: Expr, x: Expr) -> Expr
    finalize: Optional[Callable] = None   # (acc: Expr, count: Expr(index), out_dtype) -> Expr
    accumulate_dtype: Optional[Callable] = None  # in dtype -> accumulator dtype


@dataclass
class OpDef:
    name: str
    kind: str
    infer: Callable                      # (in_types, attrs) -> list[TensorType]
    reference: Callable                  # (arrays, attrs) -> list[np.ndarray]
    arity: Optional[int] = None          # None: variadic
    grad: Optional[Callable] = None      # (em, node, out_grads) -> list[Optional[Value]]
    scalar: Optional[Callable] = None
    index: Optional[Callable] = None
    reduction: Optional[ReduceSpec] = None
    decompose: Optional[Callable] = None
    lower_kernel: Optional[Callable] = None
    cheap: bool = True                   # may be recomputed when fused into several consumers
    stateful: bool = False               # never CSE'd, folded or deleted (random ops, assigns)
    differentiable: bool = True
    doc: str = ""
    extra: dict = field(default_factory=dict)

    def infer_types(self, in_types, attrs, loc=None, name=None):
        if self.arity is not None and len(in_types) != self.arity:
            raise OpError(f"{self.name}: expects {self.arity} operands, got {len(in_types)}{_where(loc)}")
        try:
            return list(self.infer(in_types, attrs))
        except (OpError, ShapeError, TypeError, ValueError) as e:
            msg = str(e)
            if not msg.startswith(self.name):
                msg = f"{self.name}: {msg}"
            operands = ", ".join(str(t) for t in in_types)
            if "operands" not in msg and operands:
                msg += f" (operands: {operands})"
            msg += _where(loc)
            raise OpError(msg) from None


def _where(loc) -> str:
    return f" [at {loc}]" if loc else ""


_REGISTRY: dict = {}


def register(opdef: OpDef) -> OpDef:
    if opdef.kind not in KINDS:
        raise ValueError(f"op {opdef.name}: unknown kind {opdef.kind}")
    if opdef.name in _REGISTRY:
        raise ValueError(f"op {opdef.name} registered twice")
    _REGISTRY[opdef.name] = opdef
    return opdef


def get_op(name: str) -> OpDef:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise NotImplementedError(f"fuseflow has no op named '{name}'") from None


def all_ops() -> dict:
    return dict(_REGISTRY)
