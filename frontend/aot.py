"""Ahead-of-time export: a traced function becomes one self-contained `.ffa` artifact.

    import fuseflow as tf
    fuseflow.aot.export(model_fn, tf.TensorSpec([None, 784], tf.float32), path="model.ffa")

    from fuseflow import runtime            # later, anywhere: needs numpy + llvmlite only
    predict = runtime.load("model.ffa")
    (probs,) = predict(batch)

Variables the function reads are frozen into the artifact as constants (their values at export
time), so its inputs are exactly the function's tensor arguments, in order. Assignments the
function makes are dropped: an artifact is an inference program. The artifact holds native
code for the exporting machine's CPU and refuses to load on a CPU lacking its features.
"""
from __future__ import annotations

import numpy as np

from fuseflow.compiler.driver import compile_graph
from fuseflow.compiler.ir import Literal, Value
from fuseflow.runtime import artifact

from . import function_state
from .function import Function, function as make_function


def freeze(program):
    """The program's IR with variable parameters replaced by constants and only the function's
    own outputs kept."""
    g = program.ir_graph.copy_graph()
    kept = []
    for node, (kind, ref) in zip(list(g.graph["inputs"]), program.binders):
        if kind != "var":
            kept.append(node)
            continue
        value = np.array(function_state.variable_buffer(ref), copy=True)
        d = g.nodes[node]
        const = g.add_op("constant", [], {"value": Literal(value)}, name=d["name"], loc=d.get("loc"))
        g.replace_uses(Value(node, 0), Value(const, 0))
        g.remove_node(node)
    g.graph["inputs"] = kept
    g.graph["outputs"] = list(g.graph["outputs"])[:program.n_outputs]
    return g


def export(fn, *specs, path: str, name: str | None = None):
    """Trace `fn` (a fuseflow.function or a plain Python function) for `specs`, freeze its
    variables, compile, and write the artifact to `path`. Returns the compiled graph."""
    f = fn if isinstance(fn, Function) else make_function(fn)
    compiled = f.lower(*specs).compile()
    graph = freeze(compiled.program)
    result = compile_graph(graph, name=name or getattr(f, "__name__", None) or "model")
    artifact.save(path, result.codegen.object, result.codegen.signature)
    return result
