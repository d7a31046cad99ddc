"""Readable, diff-stable text for graphs.

    %12 = add(%3, %7) : f32[256,10]  # train.py:42 dense/add  {kernel 3}

Numbering does not depend on the node ids passes happen to allocate: parameters are %0..%k-1
in call order, then every other node is numbered in depth-first post-order from the graph
outputs (outputs in order, operands in slot order), so each value is defined just before its
first use. Consequences a diff reader can rely on:
- two compilations of the same function print identical text;
- an op added to (or removed from) the computation of one output renumbers only the lines
  that come after it; the cones of earlier outputs keep their numbers.
Nodes no output depends on (before DCE) follow, in id order. Scalar constants are printed
inline as literals (`mul(%3, 1.5:f32)`) so that folding one does not renumber anything.
"""
from __future__ import annotations

from .ir import Graph, Literal, Value


def _fmt_attr(v) -> str:
    if isinstance(v, Literal):
        return repr(v)
    if isinstance(v, tuple):
        return "(" + ",".join(_fmt_attr(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if hasattr(v, "name") and hasattr(v, "kind") and hasattr(v, "bits"):
        return v.name
    return str(v)


def is_inline_literal(g: Graph, n: int) -> bool:
    """A one-element constant of rank <= 1 that no output returns: printed in place of a
    reference (`1.5:f32`, or `[1.5]:f32` for shape [1])."""
    d = g.nodes[n]
    if d["op"] != "constant" or g.is_output(n):
        return False
    shape = d["outputs"][0].shape
    return len(shape) <= 1 and all(s == 1 for s in shape)


def literal_text(g: Graph, n: int) -> str:
    """`1.5:f32` (shortest text that round-trips in the literal's own dtype), `[1.5]:f32` for shape [1]."""
    t = g.nodes[n]["outputs"][0]
    a = g.nodes[n]["attrs"]["value"].array
    text = str(a.reshape(-1)[0]) if a.dtype != object else repr(a.reshape(-1)[0])
    return f"{'[' + text + ']' if a.ndim else text}:{t.dtype.short}"


def print_order(g: Graph) -> list:
    """Nodes in printing order: parameters, then depth-first post-order from the outputs,
    then whatever no output reaches (in id order). Inline literals are left out."""
    params = [n for n in g.graph["inputs"] if n in g]
    seen = set(params)
    order = list(params)
    for root in [v.node for v in g.graph["outputs"]]:
        if root in seen:
            continue
        # iterative post-order: (node, next operand position)
        stack = [(root, 0)]
        seen.add(root)
        while stack:
            n, i = stack[-1]
            operands = g.operands(n)
            if i < len(operands):
                stack[-1] = (n, i + 1)
                m = operands[i].node
                if m not in seen:
                    seen.add(m)
                    stack.append((m, 0))
            else:
                stack.pop()
                order.append(n)
    rest = [n for n in g.topo() if n not in seen]
    order += rest
    return [n for n in order if not is_inline_literal(g, n)]


def number_nodes(g: Graph) -> dict:
    """node id -> the number it is printed with (`%number`)."""
    return {n: i for i, n in enumerate(print_order(g))}


def value_ref(g: Graph, number: dict, v: Value) -> str:
    if v.node not in number and is_inline_literal(g, v.node):
        return literal_text(g, v.node)
    outs = len(g.nodes[v.node]["outputs"])
    return f"%{number[v.node]}" + (f".{v.out}" if outs > 1 else "")


def node_comment(g: Graph, n: int) -> str:
    d = g.nodes[n]
    parts = []
    if d.get("loc"):
        parts.append(str(d["loc"]))
    parts.append(d["name"])
    text = " ".join(parts)
    if d.get("group") is not None:
        text += f"  {{kernel {d['group']}}}"
    return text


def format_node(g: Graph, n: int, number: dict) -> str:
    d = g.nodes[n]
    args = ", ".join(value_ref(g, number, v) for v in g.operands(n))
    attrs = d["attrs"]
    attr_text = ""
    if attrs:
        attr_text = "{" + ", ".join(f"{k}={_fmt_attr(v)}" for k, v in attrs.items()) + "}"
    types = ", ".join(str(t) for t in d["outputs"])
    if len(d["outputs"]) != 1:
        types = f"({types})"
    return f"%{number[n]} = {d['op']}{attr_text}({args}) : {types}  # {node_comment(g, n)}"


def format_graph(g: Graph, title: str = "graph") -> str:
    order = print_order(g)
    number = {n: i for i, n in enumerate(order)}
    params = [n for n in g.graph["inputs"] if n in g]
    header = ", ".join(f"%{number[n]}: {g.value_type(Value(n, 0))}" for n in params)
    lines = [f"{title}({header}) {{"]
    for n in params:
        # Parameters are in the header; their source line and name are still worth a comment.
        lines.append(f"  # %{number[n]}: {node_comment(g, n)}")
    for n in order:
        if n in params:
            continue
        lines.append("  " + format_node(g, n, number))
    outs = ", ".join(value_ref(g, number, v) for v in g.graph["outputs"])
    lines.append(f"  return {outs}")
    lines.append("}")
    return "\n".join(lines)
