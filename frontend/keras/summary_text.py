"""`model.summary()` text in Keras 3's table layout."""
from __future__ import annotations

import numpy as np


def _params(weights) -> int:
    return int(sum(int(np.prod(w.shape.as_list() if hasattr(w.shape, "as_list") else w.shape)) for w in weights))


def _size(n: int, itemsize: int = 4) -> str:
    b = float(n * itemsize)
    for unit in ("B", "KB", "MB", "GB"):
        if b < 1024 or unit == "GB":
            return f"{b:.2f} {unit}"
        b /= 1024
    return f"{b:.2f} GB"


def _shape_text(layer) -> str:
    shape = getattr(layer, "_output_shape", None)
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def model_summary(model, line_length: int = 80) -> str:
    widths = [int(line_length * 0.42), int(line_length * 0.32), line_length - int(line_length * 0.42)
              - int(line_length * 0.32) - 4]
    from .engine import InputLayer
    rows = []
    for layer in model.layers:
        if isinstance(layer, InputLayer):
            continue
        count = _params(layer.weights) if layer.built else 0
        rows.append((f"{layer.name} ({type(layer).__name__})", _shape_text(layer),
                     f"{count:,}" if layer.built else "0 (unbuilt)"))

    def fit(text, width):
        return text if len(text) <= width else text[:width - 1] + "…"

    def row(cells, left="│", mid="│", right="│"):
        a, b, c = (fit(t, w - 2) for t, w in zip(cells, widths))
        return (f"{left} {a:<{widths[0] - 2}} {mid} {b:<{widths[1] - 2}} {mid} {c:>{widths[2] - 2}} {right}")

    def rule(l, m, r, ch):
        return l + m.join(ch * w for w in widths) + r

    lines = [f'Model: "{model.name}"', rule("┏", "┳", "┓", "━"),
             row(("Layer (type)", "Output Shape", "Param #"), "┃", "┃", "┃"), rule("┡", "╇", "┩", "━")]
    for i, r in enumerate(rows):
        if i:
            lines.append(rule("├", "┼", "┤", "─"))
        lines.append(row(r))
    lines.append(rule("└", "┴", "┘", "─"))
    total = _params(model.weights) if model.built else 0
    trainable = _params(model.trainable_weights) if model.built else 0
    # Keras 3 groups thousands with commas: "Total params: 34,826 (136.04 KB)"
    lines += [f" Total params: {total:,} ({_size(total)})", f" Trainable params: {trainable:,} ({_size(trainable)})",
              f" Non-trainable params: {total - trainable:,} ({_size(total - trainable)})"]
    return "\n".join(lines)
