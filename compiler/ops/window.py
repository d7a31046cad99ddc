"""Sliding-window geometry shared by conv and pooling ops (NHWC only, TF semantics).

Spatial attrs (`strides`, `dilations`, `ksize`) accept an int, an (h, w) pair or TF's
4-tuple (1, h, w, 1). `padding` is 'SAME', 'VALID' or explicit ((top, bottom), (left,
right)) (TF's 4-pair form with zero batch/channel pads is accepted too).

SAME: out = ceil(in / stride); the total padding max((out-1)*stride + eff_k - in, 0) is split
with the smaller half before, as TF does. VALID: out = ceil((in - eff_k + 1) / stride).
"""
from __future__ import annotations

from ..loopir import INDEX, Binary, Const, Expr
from ..shapes import Dim, dim_add, dim_floordiv
from .index_util import idx
from .registry import OpError


def pair(v, name: str, op: str, default=1) -> tuple:
    if v is None:
        return (default, default)
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(x) for x in v)
    if len(v) == 1:
        return (v[0], v[0])
    if len(v) == 2:
        return v
    if len(v) == 4:
        if v[0] != 1 or v[3] != 1:
            raise OpError(f"{op}: {name} {list(v)} must be 1 in the batch and channel dimensions (NHWC)")
        return (v[1], v[2])
    raise OpError(f"{op}: {name} must have 1, 2 or 4 entries, got {list(v)}")


def padding_mode(padding, op: str):
    """('same' | 'valid' | 'explicit', ((top, bottom), (left, right)) or None)."""
    if isinstance(padding, str):
        p = padding.upper()
        if p not in ("SAME", "VALID"):
            raise OpError(f"{op}: padding must be 'SAME', 'VALID' or explicit pairs, got {padding!r}")
        return p.lower(), None
    pads = tuple(tuple(int(x) for x in p) for p in padding)
    if len(pads) == 4:
        if pads[0] != (0, 0) or pads[3] != (0, 0):
            raise OpError(f"{op}: explicit padding {[list(p) for p in pads]} must not pad batch or channels")
        pads = pads[1:3]
    if len(pads) != 2 or any(len(p) != 2 or min(p) < 0 for p in pads):
        raise OpError(f"{op}: explicit padding must be ((top, bottom), (left, right)), got {padding!r}")
    return "explicit", pads


def check_data_format(attrs, op: str) -> None:
    fmt = str(attrs.get("data_format", "NHWC") or "NHWC").upper()
    if fmt != "NHWC":
        raise OpError(f"{op}: only data_format NHWC is supported, got {fmt}")


class Window:
    """One op's window parameters, resolved from its attrs."""

    def __init__(self, attrs, op: str, kernel_hw=None):
        check_data_format(attrs, op)
        self.op = op
        self.strides = pair(attrs.get("strides"), "strides", op)
        self.dilations = pair(attrs.get("dilations"), "dilations", op)
        self.kernel = tuple(kernel_hw) if kernel_hw is not None else pair(attrs.get("ksize"), "ksize", op)
        if not all(isinstance(k, int) for k in self.kernel):
            raise OpError(f"{op}: the window (filter) height and width must be known when the graph is built, "
                          f"got {[str(k) for k in self.kernel]}")
        if min(self.strides) < 1 or min(self.dilations) < 1 or min(self.kernel) < 1:
            raise OpError(f"{op}: strides {list(self.strides)}, dilations {list(self.dilations)} and window "
                          f"{list(self.kernel)} must be positive")
        self.mode, self.explicit = padding_mode(attrs.get("padding", "VALID"), op)

    def effective(self, axis: int) -> int:
        return (self.kernel[axis] - 1) * self.dilations[axis] + 1

    def out_dim(self, d: Dim, axis: int) -> Dim:
        s, eff = self.strides[axis], self.effective(axis)
        if self.mode == "same":
            return -(-d // s) if isinstance(d, int) else dim_floordiv(dim_add(d, s - 1), s)
        extra = 0 if self.mode == "valid" else sum(self.explicit[axis])
        if isinstance(d, int):
            span = d + extra - eff
            if span < 0:
                raise OpError(f"{self.op}: computed output size would be negative: input {d} (+{extra} padding) "
                              f"is smaller than the window {eff} on spatial axis {axis}")
            return span // s + 1
        # (d + extra - eff + s) // s, TF's formula: the numerator is negative exactly when TF
        # reports a negative output size (checked at run time), never for a valid input, so the
        # runtime's floor division and the native code's truncating one agree
        return dim_floordiv(dim_add(d, extra - eff + s), s)

    def pad_before(self, d: int, axis: int) -> int:
        """Static padding before the data (reference implementations)."""
        if self.mode == "valid":
            return 0
        if self.mode == "explicit":
            return self.explicit[axis][0]
        out = self.out_dim(d, axis)
        return max((out - 1) * self.strides[axis] + self.effective(axis) - d, 0) // 2

    def pad_after(self, d: int, axis: int) -> int:
        if self.mode == "valid":
            return 0
        if self.mode == "explicit":
            return self.explicit[axis][1]
        out = self.out_dim(d, axis)
        return max((out - 1) * self.strides[axis] + self.effective(axis) - d, 0) - self.pad_before(d, axis)

    def pad_before_expr(self, d: Dim, axis: int) -> Expr:
        """The padding before the data as an index expression (symbolic dims allowed)."""
        if self.mode != "same":  # does not depend on the input size
            return Const(0 if self.mode == "valid" else self.explicit[axis][0], INDEX)
        if isinstance(d, int):
            return Const(self.pad_before(d, axis), INDEX)
        out = idx(self.out_dim(d, axis))
        total = (out - 1) * Const(self.strides[axis], INDEX) + Const(self.effective(axis), INDEX) - idx(d)
        return Binary("floordiv", Binary("max", total, Const(0, INDEX)), Const(2, INDEX))
