"""`Graph.as_graph_def()` and `tf.train.write_graph`: a GraphDef view of a frontend graph.

Nodes carry TF's op type names (Const, MatMul, AddV2, VarHandleOp, ...), their inputs
(`name`, `name:1`, `^control`) and devices; attributes are not encoded. `str(graph_def)` is
protobuf text format and `SerializeToString()` the binary GraphDef TensorBoard reads."""
from __future__ import annotations

import os

from .op_names import default_op_name

# compiler/frontend op types whose TF type differs from their default op name
_TF_TYPES = {
    "add": "AddV2", "var_handle": "VarHandleOp", "read_variable": "ReadVariableOp",
    "assign": "AssignVariableOp", "assign_add": "AssignAddVariableOp", "assign_sub": "AssignSubVariableOp",
    "placeholder_with_default": "PlaceholderWithDefault", "assert_v1": "Assert", "print_v1": "Print",
    "conv2d_backprop_input": "Conv2DBackpropInput", "decode_csv": "DecodeCSV", "reverse": "ReverseV2",
    "iterator_init": "MakeIterator",
}


def tf_op_type(op_type: str) -> str:
    if op_type[:1].isupper():       # frontend ops already named as TF names them (NoOp)
        return op_type
    return _TF_TYPES.get(op_type, default_op_name(op_type))


class NodeDef:
    def __init__(self, name, op, inputs=(), device=""):
        self.name = name
        self.op = op
        self.input = list(inputs)
        self.device = device
        self.attr = {}

    def _text(self, indent=""):
        lines = [f'{indent}name: "{self.name}"', f'{indent}op: "{self.op}"']
        lines += [f'{indent}input: "{i}"' for i in self.input]
        if self.device:
            lines.append(f'{indent}device: "{self.device}"')
        return "\n".join(lines)

    def __str__(self):
        return self._text() + "\n"


class GraphDef:
    def __init__(self, nodes=(), serialized=b""):
        self.node = list(nodes)
        self._serialized = serialized

    def SerializeToString(self) -> bytes:
        return self._serialized

    def ByteSize(self) -> int:
        return len(self._serialized)

    def __str__(self):
        body = "".join("node {\n" + n._text("  ") + "\n}\n" for n in self.node)
        return body + "versions {\n  producer: 27\n}\n"


def graph_def(graph) -> GraphDef:
    from .summary_v1 import graph_def_bytes
    nodes = []
    for op in graph.get_operations():
        inputs = [t.op.name if t.value_index == 0 else f"{t.op.name}:{t.value_index}" for t in op.inputs]
        inputs += [f"^{c.name}" for c in op.control_inputs]
        nodes.append(NodeDef(op.name, op.type, inputs, op.device or ""))
    return GraphDef(nodes, graph_def_bytes(graph))


def write_graph(graph_or_graph_def, logdir, name, as_text=True):
    """Write a GraphDef (text format by default) to logdir/name; returns the path."""
    gd = graph_or_graph_def if isinstance(graph_or_graph_def, GraphDef) else graph_or_graph_def.as_graph_def()
    os.makedirs(logdir, exist_ok=True)
    path = os.path.join(logdir, name)
    if as_text:
        with open(path, "w") as f:
            f.write(str(gd))
    else:
        with open(path, "wb") as f:
            f.write(gd.SerializeToString())
    return path


TRAIN_EXPORTS = {"write_graph": write_graph}
