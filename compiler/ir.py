"""The graph IR: a networkx MultiDiGraph of op nodes.

Node data: `op` (registry name), `attrs` (an immutable `Attrs`), `outputs` (tuple of
`TensorType`, one per result), `name` (TF-style, output i printed `name:i`), `loc`
(`SourceLoc`), and after fusion `group`. Edge data: `src_out`, `dst_in`. Edge insertion order
is not operand order: `operands()` sorts by `dst_in`. Graph attrs: `inputs` (parameter
node ids, in call order), `outputs` (list of `Value`), `constants` (unused; literals live
on their node).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator, Mapping, NamedTuple, Optional, Sequence

import networkx as nx
import numpy as np

from . import dtypes as dt
from .shapes import format_shape


@dataclass(frozen=True)
class TensorType:
    shape: tuple
    dtype: dt.DType

    @property
    def rank(self) -> int:
        return len(self.shape)

    def __str__(self) -> str:
        return f"{self.dtype.short}{format_shape(self.shape)}"


class Value(NamedTuple):
    """One result of one node: (node id, output index)."""
    node: int
    out: int = 0


@dataclass(frozen=True)
class SourceLoc:
    file: str
    line: int
    scope: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Literal:
    """A constant array held by a `constant` node: hashable by content so CSE can merge copies."""

    __slots__ = ("array", "_digest")

    def __init__(self, array: np.ndarray):
        array = np.asarray(array)
        self.array = np.ascontiguousarray(array).reshape(array.shape)  # ascontiguousarray makes 0-d 1-d
        self.array.setflags(write=False)
        h = hashlib.blake2b(digest_size=12)
        h.update(str((self.array.dtype.str, self.array.shape)).encode())
        if self.array.dtype != object:
            h.update(self.array.tobytes())
        else:
            h.update(repr(self.array.tolist()).encode())
        self._digest = h.hexdigest()

    def __hash__(self) -> int:
        return hash(self._digest)

    def __eq__(self, other) -> bool:
        return isinstance(other, Literal) and other._digest == self._digest

    def __repr__(self) -> str:
        a = self.array
        if a.size <= 6:
            return np.array2string(a, separator=",", threshold=6).replace("\n", "") if a.ndim else repr(a.item())
        return f"<{a.dtype}{list(a.shape)} #{self._digest[:8]}>"


class Attrs(Mapping):
    """Immutable, hashable op attributes (lists become tuples)."""

    __slots__ = ("_items", "_hash")

    def __init__(self, items: Optional[Mapping] = None, **kw):
        merged = dict(items or {}, **kw)
        self._items = tuple(sorted((k, _freeze(v)) for k, v in merged.items()))
        self._hash = hash(self._items)

    def __getitem__(self, key):
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        return isinstance(other, Attrs) and other._items == self._items

    def replace(self, **kw) -> "Attrs":
        return Attrs(dict(self._items), **kw)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k}={v!r}" for k, v in self._items) + "}"


def _freeze(v):
    if isinstance(v, np.ndarray):
        return Literal(v)
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, tuple):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return Attrs(v)
    if isinstance(v, np.generic):
        return v.item()
    return v


class IRError(Exception):
    """An IR invariant does not hold (raised by the verifier, naming the node)."""


class Graph(nx.MultiDiGraph):
    """The IR graph. Node ids are ints allocated by `add_op`; never reused within a graph."""

    def __init__(self, incoming_graph_data=None, **attr):
        super().__init__(incoming_graph_data, **attr)
        self.graph.setdefault("inputs", [])
        self.graph.setdefault("outputs", [])
        self.graph.setdefault("next_id", 0)

    # -- building -------------------------------------------------------------------------
    def add_op(self, op: str, operands: Sequence[Value] = (), attrs: Optional[Mapping] = None, *,
               name: Optional[str] = None, loc: Optional[SourceLoc] = None,
               outputs: Optional[Sequence[TensorType]] = None) -> int:
        """Add a node; infers its output types from the registry unless `outputs` is given."""
        from .ops.registry import get_op  # late: ops import ir

        attrs = attrs if isinstance(attrs, Attrs) else Attrs(attrs or {})
        operands = [Value(*v) for v in operands]
        opdef = get_op(op)
        if outputs is None:
            in_types = [self.value_type(v) for v in operands]
            outputs = opdef.infer_types(in_types, attrs, loc=loc, name=name)
        node = self.graph["next_id"]
        self.graph["next_id"] = node + 1
        self.add_node(node, op=op, attrs=attrs, outputs=tuple(outputs), name=name or op, loc=loc)
        for slot, v in enumerate(operands):
            if v.node not in self:
                raise IRError(f"{op}: operand {slot} refers to missing node {v.node}")
            self.add_edge(v.node, node, src_out=v.out, dst_in=slot)
        return node

    # -- queries --------------------------------------------------------------------------
    def op(self, n: int) -> str:
        return self.nodes[n]["op"]

    def attrs(self, n: int) -> Attrs:
        return self.nodes[n]["attrs"]

    def operands(self, n: int) -> list:
        edges = sorted(self.in_edges(n, data=True), key=lambda e: e[2]["dst_in"])
        return [Value(u, d["src_out"]) for u, _, d in edges]

    def users(self, n: int, out: Optional[int] = None) -> list:
        """(user node, dst_in) pairs reading node n (output `out` if given), in a stable order."""
        res = [(v, d["dst_in"]) for _, v, d in self.out_edges(n, data=True)
               if out is None or d["src_out"] == out]
        return sorted(res)

    def value_type(self, v: Value) -> TensorType:
        return self.nodes[v.node]["outputs"][v.out]

    def output_types(self, n: int) -> tuple:
        return self.nodes[n]["outputs"]

    def is_output(self, n: int) -> bool:
        return any(v.node == n for v in self.graph["outputs"])

    def topo(self) -> list:
        """Deterministic topological order (smallest ready node id first)."""
        return list(nx.lexicographical_topological_sort(self))

    def value_name(self, v: Value) -> str:
        return f"{self.nodes[v.node]['name']}:{v.out}"

    def describe(self, n: int) -> str:
        """`op 'name' at file:line` for error messages."""
        d = self.nodes[n]
        where = f" at {d['loc']}" if d.get("loc") else ""
        return f"{d['op']} '{d['name']}'{where}"

    # -- rewriting ------------------------------------------------------------------------
    def replace_uses(self, old: Value, new: Value) -> None:
        """Point every reader of `old` (and the graph outputs) at `new`."""
        old, new = Value(*old), Value(*new)
        if old == new:
            return
        for _, v, k, d in list(self.out_edges(old.node, keys=True, data=True)):
            if d["src_out"] == old.out:
                slot = d["dst_in"]
                self.remove_edge(old.node, v, key=k)
                self.add_edge(new.node, v, src_out=new.out, dst_in=slot)
        self.graph["outputs"] = [new if o == old else o for o in self.graph["outputs"]]

    def set_operand(self, n: int, slot: int, new: Value) -> None:
        for u, _, k, d in list(self.in_edges(n, keys=True, data=True)):
            if d["dst_in"] == slot:
                self.remove_edge(u, n, key=k)
        self.add_edge(new.node, n, src_out=new.out, dst_in=slot)

    def copy_graph(self) -> "Graph":
        g = Graph()
        g.graph.update({k: (list(v) if isinstance(v, list) else v) for k, v in self.graph.items()})
        g.add_nodes_from((n, dict(d)) for n, d in self.nodes(data=True))
        g.add_edges_from((u, v, dict(d)) for u, v, d in self.edges(data=True))
        return g


def verify(g: Graph) -> None:
    """Check the IR invariants; raise IRError naming the first node that breaks one."""
    from .ops.registry import get_op

    if not nx.is_directed_acyclic_graph(g):
        cycle = nx.find_cycle(g)
        raise IRError(f"graph has a cycle through nodes {[e[0] for e in cycle]}")
    for n, d in g.nodes(data=True):
        opdef = get_op(d["op"])
        ops = g.operands(n)
        slots = [e[2]["dst_in"] for e in g.in_edges(n, data=True)]
        if sorted(slots) != list(range(len(slots))):
            raise IRError(f"{g.describe(n)}: operand slots {sorted(slots)} are not 0..{len(slots) - 1}")
        if opdef.arity is not None and len(ops) != opdef.arity:
            raise IRError(f"{g.describe(n)}: expects {opdef.arity} operands, has {len(ops)}")
        for v in ops:
            if v.out >= len(g.nodes[v.node]["outputs"]):
                raise IRError(f"{g.describe(n)}: reads output {v.out} of {g.describe(v.node)} which has "
                              f"{len(g.nodes[v.node]['outputs'])}")
        inferred = tuple(opdef.infer_types([g.value_type(v) for v in ops], d["attrs"], loc=d.get("loc"),
                                           name=d["name"]))
        if inferred != tuple(d["outputs"]):
            raise IRError(f"{g.describe(n)}: stored types {[str(t) for t in d['outputs']]} differ from "
                          f"inferred {[str(t) for t in inferred]}")
    for o in g.graph["outputs"]:
        if o.node not in g:
            raise IRError(f"graph output refers to missing node {o.node}")
