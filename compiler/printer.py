"""Readable, diff-stable text for graphs.

    %3 = add(%1, %2) : f32[b,10]  # train.py:42 dense/add  {kernel 1}

Nodes are renumbered densely in topological order, so two dumps of equivalent graphs diff
cleanly whatever ids the passes allocated.
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


def format_graph(g: Graph, title: str = "graph") -> str:
    order = g.topo()
    number = {n: i for i, n in enumerate(order)}

    def ref(v: Value) -> str:
        outs = len(g.nodes[v.node]["outputs"])
        return f"%{number[v.node]}" + (f".{v.out}" if outs > 1 else "")

    params = [n for n in g.graph["inputs"] if n in g]
    lines = [f"{title}({', '.join(f'%{number[n]}: {g.value_type(Value(n, 0))}' for n in params)}) {{"]
    for n in order:
        d = g.nodes[n]
        if d["op"] == "parameter" and n in params:
            continue
        args = ", ".join(ref(v) for v in g.operands(n))
        attrs = d["attrs"]
        attr_text = ""
        if attrs:
            attr_text = "{" + ", ".join(f"{k}={_fmt_attr(v)}" for k, v in attrs.items()) + "}"
        types = ", ".join(str(t) for t in d["outputs"])
        comment = []
        if d.get("loc"):
            comment.append(str(d["loc"]))
        comment.append(d["name"])
        if d.get("group") is not None:
            comment.append(f"{{kernel {d['group']}}}")
        lines.append(f"  %{number[n]} = {d['op']}{attr_text}({args}) : {types}  # {' '.join(comment)}")
    outs = ", ".join(ref(v) for v in g.graph["outputs"])
    lines.append(f"  return {outs}")
    lines.append("}")
    return "\n".join(lines)
