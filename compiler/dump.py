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


class PartialCompilation:
    """The stages a failed compilation reached, with the same stage API as CompiledGraph."""

    def __init__(self, name: str, traced, snapshots: dict, fused=None, program=None, codegen=None,
                 error: Optional[CompileFailure] = None):
        self.name = name
        self._traced = traced
        self._snapshots = snapshots
        self._fused = fused
        self.program = program
        self.codegen = codegen
        self.error = error

    @property
    def graph(self):
        return self._fused

    def stage_names(self) -> list:
        names = ["traced"] + [f"after={p}" for p in self._snapshots]
        if self._fused is not None:
            names += ["optimized", "fused"]
        if self.program is not None:
            names.append("kernels")
        if self.codegen is not None:
            names += ["llvm", "llvm_opt", "asm"]
        return names

    def stage_graph(self, name: str):
        if name == "traced":
            return self._traced
        if name.startswith("after=") and name[len("after="):] in self._snapshots:
            return self._snapshots[name[len("after="):]]
        if name == "optimized" and self._fused is not None:
            return list(self._snapshots.values())[-1] if self._snapshots else self._traced
        if name == "fused" and self._fused is not None:
            return self._fused
        raise KeyError(f"stage '{name}' was not reached ({self.error})")

    def stage(self, name: str) -> str:
        from .printer import format_graph
        if is_graph_stage(name):
            return format_graph(self.stage_graph(name), self.name)
        if name == "kernels" and self.program is not None:
            from .debug.kernels import format_kernels
            return format_kernels(self.program, self._fused)
        if self.codegen is not None and name in ("llvm", "llvm_opt", "asm"):
            return {"llvm": lambda: self.codegen.llvm_ir, "llvm_opt": lambda: self.codegen.optimized_ir,
                    "asm": lambda: self.codegen.asm}[name]()
        raise KeyError(f"stage '{name}' was not reached ({self.error})")


def compile_for_dump(g, *, name: str = "main", donate: Optional[dict] = None, **options):
    """compile_graph, or on failure a PartialCompilation with every stage reached and the
    failing phase (passes / fusion / lowering / codegen / load)."""
    from .driver import compile_graph
    try:
        return compile_graph(g, name=name, donate=donate, **options)
    except Exception as first:   # noqa: BLE001 - re-run phase by phase to see how far it gets
        return _compile_phases(g, name, donate, first)


def _compile_phases(g, name: str, donate, first: Exception) -> PartialCompilation:
    from .buffer_planning import plan_buffers
    from .driver import _symbol_name
    from .fusion import fuse
    from .lowering import lower
    from .passes.pipeline import PIPELINE, run_passes

    snapshots: dict = {}
    part = PartialCompilation(name, g, snapshots)

    def snap(pass_name, graph):
        snapshots[pass_name] = graph.copy_graph()
    try:
        optimized = run_passes(g, PIPELINE, snapshot=snap)
    except Exception as e:       # noqa: BLE001
        part.error = CompileFailure("passes", e)
        return part
    try:
        part._fused = fuse(optimized)
    except Exception as e:       # noqa: BLE001
        part.error = CompileFailure("fusion", e)
        return part
    try:
        part.program = plan_buffers(lower(part._fused, name=_symbol_name(name), donate=donate))
    except Exception as e:       # noqa: BLE001
        part.error = CompileFailure("lowering", e)
        return part
    try:
        from .codegen.llvm import generate
        part.codegen = generate(part.program)
    except Exception as e:       # noqa: BLE001
        part.error = CompileFailure("codegen", e, _kernel_context(part, str(e)))
        return part
    part.error = CompileFailure("loading the native code", first)
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
