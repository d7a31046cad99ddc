"""Stages of a compiled program as text or DOT, to stdout or files (`fuseflow dump`, FUSEFLOW_DUMP=dir).

Stages, in compile order:
    traced          the graph as traced from the user's function
    after=<pass>    the graph after each pass of the pipeline (compiler/passes/pipeline.py)
    optimized       after the last pass
    fused           optimized graph with each node's kernel (`{kernel 3}`)
    kernels         loop IR per kernel: fused nodes, buffers with bytes, flops, loop nest,
                    why fusion stopped (compiler/debug/kernels.py)
    llvm            generated LLVM IR
    llvm_opt        LLVM IR after O3
    asm             host assembly

Graph stages (traced ... fused) also render as Graphviz DOT (compiler/debug/dot.py); the
kernels stage in DOT is the fused graph with kernels as clusters.

When compilation fails, `compile_for_dump` keeps every stage that was reached and the error
(which names the failing phase), so the stages before the failure can still be inspected.
"""
from __future__ import annotations

import itertools
import os
import traceback
from typing import Optional

from .driver import Stages
from .debug.dot import DEFAULT_MAX_NODES, RENDER_FORMATS, graph_to_dot, render

_STAGE_SUFFIX = {"llvm": ".ll", "llvm_opt": ".opt.ll", "asm": ".s", "kernels": ".kernels.txt"}
_counter = itertools.count()

GRAPH_STAGES = ("traced", "optimized", "fused")
FORMATS = ("text", "dot")


class DumpError(ValueError):
    """A stage or format the compiled program does not have (the message lists valid ones)."""


def is_graph_stage(stage: str) -> bool:
    return stage in GRAPH_STAGES or stage.startswith("after=")


def check_stage(compiled, stage: str) -> str:
    names = compiled.stage_names()
    aliases = getattr(compiled, "stage_aliases", lambda: [])()
    if stage in names or stage in aliases:
        return stage
    if stage.startswith("after="):
        passes = [s[len("after="):] for s in names + aliases if s.startswith("after=")]
        raise DumpError(f"unknown pass '{stage[len('after='):]}' in stage '{stage}'; passes: {', '.join(passes)}")
    hint = ""
    failed = getattr(compiled, "error", None)
    if failed is not None and stage in ALL_STAGES_AFTER_PASSES:
        hint = f" (compilation stopped before it: {failed})"
    raise DumpError(f"unknown stage '{stage}'{hint}; valid stages: {', '.join(names)}")


ALL_STAGES_AFTER_PASSES = ("optimized", "fused", "kernels", "llvm", "llvm_opt", "asm")


def _kernel_names(compiled) -> dict:
    from .debug.buffers import group_of_kernel
    program = getattr(compiled, "program", None)
    if program is None:
        return {}
    return {group_of_kernel(k): k.name for k in program.kernels if group_of_kernel(k) is not None}


def render_stage(compiled, stage: str, fmt: str = "text", *, max_nodes: int = DEFAULT_MAX_NODES) -> str:
    """One stage as text or DOT."""
    if fmt not in FORMATS:
        raise DumpError(f"unknown format '{fmt}'; formats: {', '.join(FORMATS)}")
    check_stage(compiled, stage)
    if fmt == "text":
        return compiled.stage(stage)
    if stage == "kernels":
        stage = "fused"
    if not is_graph_stage(stage):
        raise DumpError(f"stage '{stage}' has no DOT form (DOT is for graph stages: traced, after=<pass>, "
                        f"optimized, fused, kernels); use --format text")
    g = compiled.stage_graph(stage)
    return graph_to_dot(g, f"{compiled.name} [{stage}]", max_nodes=max_nodes, kernel_names=_kernel_names(compiled))


def stage_filename(index: int, stage: str, fmt: str) -> str:
    if fmt == "dot" and (is_graph_stage(stage) or stage == "kernels"):
        suffix = ".dot"
    else:
        suffix = _STAGE_SUFFIX.get(stage, ".txt")
    return f"{index:02d}_{stage.replace('=', '_')}{suffix}"


def write_stages(compiled, directory: str, stages=None, fmt: str = "text", *, prefix: Optional[str] = None,
                 max_nodes: int = DEFAULT_MAX_NODES) -> list:
    """One file per stage. By default the names start with a sequence number and the program
    name so that everything one run compiles sorts in compile order (FUSEFLOW_DUMP); pass
    `prefix=""` for plain `NN_stage.ext` names. With fmt='dot', graph stages are written as
    .dot and the others as text. Returns the paths written."""
    os.makedirs(directory, exist_ok=True)
    if prefix is None:
        prefix = f"{next(_counter):03d}_{compiled.name}."
    all_names = compiled.stage_names()
    paths = []
    for stage in stages or all_names:
        check_stage(compiled, stage)
        index = all_names.index(stage)
        stage_fmt = fmt if (is_graph_stage(stage) or stage == "kernels") else "text"
        path = os.path.join(directory, prefix + stage_filename(index, stage, stage_fmt))
        with open(path, "w") as f:
            f.write(render_stage(compiled, stage, stage_fmt, max_nodes=max_nodes))
            f.write("\n")
        paths.append(path)
    error = getattr(compiled, "error", None)
    if error is not None:
        path = os.path.join(directory, prefix + "error.txt")
        with open(path, "w") as f:
            f.write(error.report())
        paths.append(path)
    return paths


def write_rendered(compiled, stage: str, path: str, *, max_nodes: int = DEFAULT_MAX_NODES) -> tuple:
    """A single stage to `path`: .svg/.png/.pdf run Graphviz on the DOT form, .dot writes DOT,
    anything else text. Returns (path written, message for the user or '')."""
    ext = os.path.splitext(path)[1].lower()[1:]
    fmt = "dot" if ext == "dot" or ext in RENDER_FORMATS else "text"
    text = render_stage(compiled, stage, fmt, max_nodes=max_nodes)
    if fmt == "dot":
        return render(text, path)
    with open(path, "w") as f:
        f.write(text + "\n")
    return path, ""


# ----------------------------------------------------------------------------- partial compiles
class CompileFailure:
    """Where and why compilation stopped; `context` adds what the message alone does not say
    (for a code generation error: the fused ops of the kernel and their source lines)."""

    def __init__(self, phase: str, exc: BaseException, context: str = ""):
        self.phase = phase
        self.exc = exc
        self.context = context

    def __str__(self) -> str:
        text = f"{self.phase} failed: {type(self.exc).__name__}: {self.exc}"
        return text + (f"\n  {self.context}" if self.context else "")

    def report(self) -> str:
        tb = "".join(traceback.format_exception(type(self.exc), self.exc, self.exc.__traceback__))
        return f"{self}\n\n{tb}"


class PartialCompilation(Stages):
    """The stages a failed compilation reached, with the same stage API as CompiledGraph."""

    def __init__(self, reached: Stages, error: CompileFailure):
        super().__init__(reached.name, reached._traced, reached._snapshots, reached._fused, reached.program,
                         reached.codegen)
        self.error = error

    def _missing(self, name: str) -> str:
        return f"stage '{name}' was not reached ({self.error})"


def compile_for_dump(g, *, name: str = "main", donate: Optional[dict] = None, **options):
    """compile_graph, or on failure a PartialCompilation with every stage reached and the
    failing phase (passes / fusion / lowering / codegen / loading the native code)."""
    from .driver import compile_graph
    try:
        return compile_graph(g, name=name, donate=donate, **options)
    except Exception as e:       # noqa: BLE001 - any failure: show what was reached
        phase, reached = getattr(e, "fuseflow_partial", ("passes", Stages(name, g, {})))
        part = PartialCompilation(reached, None)
        context = _kernel_context(part, str(e)) if phase == "codegen" else ""
        part.error = CompileFailure(phase, e, context)
        return part


def _kernel_context(part: PartialCompilation, message: str) -> str:
    """`kernel k3_add fuses: add 'dense/add' at model.py:12, ...` for the kernel a message names."""
    import re

    from .debug.buffers import kernel_members
    names = set(re.findall(r"\b(k\d+_\w+|copy_\w+)", message))
    for kernel in part.program.kernels:
        if kernel.name in names:
            members = kernel_members(part._fused, kernel)
            what = ", ".join(part._fused.describe(n) for n in members) or ", ".join(kernel.nodes)
            return f"kernel {kernel.name} fuses: {what}"
    return ""
