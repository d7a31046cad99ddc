"""Graphviz DOT for IR graphs: fusion groups as clusters, ops labelled with their types.

- Node label: `%N op` and its output type(s); tooltip: name and source line. `%N` matches the
  text dump. One-element constants are left out, as in the text dump.
- Edge label: the type of the value flowing along it.
- Fused graphs: one cluster per kernel, labelled with the kernel name and why fusion stopped.
- Large graphs (more than `max_nodes` drawn nodes) collapse by name scope: ops sharing a scope
  prefix (within one kernel) become one box `scope/* (k ops)`, at the deepest scope level that
  brings the count under the limit; edges between boxes are merged.

`render(dot_text, path)` runs Graphviz `dot` for .svg/.png/.pdf targets when it is installed;
otherwise it writes the .dot file next to the requested path and says so.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from typing import Optional

from ..ir import Graph
from ..printer import number_nodes

DEFAULT_MAX_NODES = 120


def _q(text: str) -> str:
    """A DOT double-quoted string (newlines become centered line breaks)."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _scope_key(name: str, depth: int) -> str:
    parts = name.split("/")
    if len(parts) <= depth:
        return name
    return "/".join(parts[:depth]) + "/*" if depth else "*"


def _types_text(g: Graph, n: int) -> str:
    return ", ".join(str(t) for t in g.nodes[n]["outputs"])


def _collapse_keys(g: Graph, nodes: list, max_nodes: int) -> tuple:
    """node -> box key, at the deepest scope depth keeping the box count <= max_nodes."""
    depth_max = max((len(g.nodes[n]["name"].split("/")) for n in nodes), default=1)
    for depth in range(depth_max, -1, -1):
        keys = {n: (g.nodes[n].get("group"), _scope_key(g.nodes[n]["name"], depth)) for n in nodes}
        if len(set(keys.values())) <= max_nodes or depth == 0:
            return keys, depth
    raise AssertionError("unreachable: depth 0 always returns")


def graph_to_dot(g: Graph, title: str = "graph", *, max_nodes: int = DEFAULT_MAX_NODES,
                 kernel_names: Optional[dict] = None) -> str:
    """DOT text for `g`. `kernel_names`: group id -> kernel name (cluster labels)."""
    number = number_nodes(g)
    nodes = [n for n in number]                      # printing order, inline literals left out
    outputs = {v.node for v in g.graph["outputs"]}
    inputs = set(g.graph["inputs"])
    collapsed = len(nodes) > max_nodes
    if collapsed:
        key_of, depth = _collapse_keys(g, nodes, max_nodes)
    else:
        key_of, depth = {n: (g.nodes[n].get("group"), n) for n in nodes}, None
    boxes: dict = {}                                  # key -> member nodes (printing order)
    for n in nodes:
        boxes.setdefault(key_of[n], []).append(n)
    box_id = {key: f"n{number[members[0]]}" for key, members in boxes.items()}

    lines = [f"digraph {_q(title)} {{",
             "  rankdir=TB;",
             '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=8, color="#555555"];']
    label = title if not collapsed else f"{title}  ({len(nodes)} ops collapsed by name scope, depth {depth})"
    lines.append(f"  label={_q(label)}; labelloc=t;")

    def box_line(key, members) -> str:
        if len(members) == 1:
            n = members[0]
            d = g.nodes[n]
            text = f"%{number[n]} {d['op']}\n{_types_text(g, n)}"
            tooltip = f"{d['name']}" + (f" at {d['loc']}" if d.get("loc") else "")
            attrs = [f"label={_q(text)}", f"tooltip={_q(tooltip)}"]
            if n in inputs:
                attrs.append('shape=invhouse, fillcolor="#e8f0fe"')
            elif d["op"] == "constant":
                attrs.append('shape=note, fillcolor="#f4f4f4"')
            if n in outputs:
                attrs.append("peripheries=2")
            return f"  {box_id[key]} [{', '.join(attrs)}];"
        ops = Counter(g.nodes[m]["op"] for m in members)
        top = ", ".join(f"{op} x{c}" if c > 1 else op for op, c in ops.most_common(3))
        more = ", ..." if len(ops) > 3 else ""
        scope = "" if key[1] == "*" else f"{key[1]}  "
        text = f"{scope}({len(members)} ops)\n{top}{more}"
        tooltip = ", ".join(f"%{number[m]}" for m in members)
        extra = ", peripheries=2" if any(m in outputs for m in members) else ""
        return f'  {box_id[key]} [label={_q(text)}, tooltip={_q(tooltip)}, fillcolor="#fff7e0"{extra}];'

    groups = g.graph.get("groups", {})
    by_group: dict = {}
    for key, members in boxes.items():
        by_group.setdefault(key[0], []).append((key, members))
    for gid in sorted((k for k in by_group if k is not None)):
        grp = groups.get(gid)
        name = (kernel_names or {}).get(gid, f"kernel {gid}")
        reason = getattr(grp, "reason", "") if grp is not None else ""
        lines.append(f"  subgraph cluster_k{gid} {{")
        lines.append(f"    label={_q(name + (chr(10) + reason if reason else ''))}; "
                     f'style="rounded,filled"; fillcolor="#eef6ee"; color="#4a8a4a"; fontsize=9;')
        for key, members in by_group[gid]:
            lines.append("  " + box_line(key, members))
        lines.append("  }")
    for key, members in by_group.get(None, []):
        lines.append(box_line(key, members))

    edges: dict = {}                                  # (src box, dst box) -> list of edge labels
    for n in nodes:
        for slot, v in enumerate(g.operands(n)):
            if v.node not in key_of:
                continue                              # an inline literal
            a, b = key_of[v.node], key_of[n]
            if a == b:
                continue
            t = g.value_type(v)
            out = f":{v.out}" if len(g.nodes[v.node]["outputs"]) > 1 else ""
            edges.setdefault((a, b), []).append(f"{t}{out}")
    for (a, b), labels in edges.items():
        text = labels[0] if len(set(labels)) == 1 else f"{len(labels)} values"
        if len(labels) > 1 and len(set(labels)) == 1 and collapsed:
            text = f"{labels[0]} x{len(labels)}"
        lines.append(f"  {box_id[a]} -> {box_id[b]} [label={_q(text)}];")
    for i, v in enumerate(g.graph["outputs"]):
        if v.node in key_of:
            lines.append(f'  out{i} [label={_q(f"return {i}")}, shape=plaintext, style=""];')
            lines.append(f"  {box_id[key_of[v.node]]} -> out{i} [label={_q(str(g.value_type(v)))}];")
    lines.append("}")
    return "\n".join(lines)


RENDER_FORMATS = ("svg", "png", "pdf")


def render(dot_text: str, path: str) -> tuple:
    """Write `dot_text` to `path`. For .svg/.png/.pdf, run Graphviz; when `dot` is not installed
    (or fails), write `<path stem>.dot` instead. Returns (path written, message or '')."""
    stem, ext = os.path.splitext(path)
    fmt = ext[1:].lower()
    if fmt not in RENDER_FORMATS:
        with open(path, "w") as f:
            f.write(dot_text + "\n")
        return path, ""
    dot_path = stem + ".dot"
    exe = shutil.which("dot")
    if exe is None:
        with open(dot_path, "w") as f:
            f.write(dot_text + "\n")
        return dot_path, (f"Graphviz 'dot' is not installed (not on PATH), so {path} was not rendered; "
                          f"wrote {dot_path} instead (render it with: dot -T{fmt} {dot_path} -o {path})")
    proc = subprocess.run([exe, f"-T{fmt}", "-o", path], input=dot_text.encode(), capture_output=True,
                          timeout=120)
    if proc.returncode != 0:
        with open(dot_path, "w") as f:
            f.write(dot_text + "\n")
        return dot_path, (f"Graphviz 'dot' failed ({proc.stderr.decode(errors='replace').strip()}); "
                          f"wrote {dot_path} instead")
    return path, ""
