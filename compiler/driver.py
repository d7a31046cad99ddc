"""compile_graph: IR graph -> passes -> fusion -> loop IR -> LLVM -> runtime Executable.

Every stage is kept (rendered to text only when asked) for the dump tool:
traced, after=<pass> for each pass, optimized, fused, kernels, llvm, llvm_opt, asm.
"""
from __future__ import annotations

import os
import time
from typing import Optional

from .buffer_planning import plan_buffers
from .fusion import fuse
from .ir import Graph
from .lowering import lower
from .passes.pipeline import PIPELINE, run_passes
from .printer import format_graph



class Stages:
    """Stage rendering shared by a compiled program and a failed compilation (the dump tool's
    PartialCompilation): a stage exists once compilation reached it."""

    # Passes that run outside the pass list still answer `after=<name>`: autodiff runs while
    # the frontend traces (tf.gradients / GradientTape), fusion and buffer planning after it.
    STAGE_ALIASES = {"after=autodiff": "traced", "after=fusion": "fused", "after=buffer_planning": "kernels"}

    def __init__(self, name: str, traced: Graph, pass_snapshots: dict, fused: Optional[Graph] = None,
                 program=None, codegen=None):
        self.name = name
        self._traced = traced
        self._snapshots = pass_snapshots
        self._fused = fused
        self.program = program
        self.codegen = codegen

    @property
    def graph(self) -> Optional[Graph]:
        """The optimized, fused IR graph (node attr `group` = kernel id)."""
        return self._fused

    def _has_autodiff(self) -> bool:
        return any(str(d.get("name", "")).startswith("gradients/") or "/gradients/" in str(d.get("name", ""))
                   for _, d in self._traced.nodes(data=True))

    def _missing(self, name: str) -> str:
        return f"unknown stage '{name}'; stages: {', '.join(self.stage_names())}"

    def stage_graph(self, name: str) -> Graph:
        """The IR graph of a graph stage (traced, after=<pass>, optimized, fused)."""
        if self.STAGE_ALIASES.get(name) in ("traced", "fused"):
            name = self.STAGE_ALIASES[name]
        if name == "traced":
            return self._traced
        if name.startswith("after="):
            pass_name = name[len("after="):]
            if pass_name not in self._snapshots:
                raise KeyError(f"no pass named '{pass_name}'; passes: {', '.join(self._snapshots)}")
            return self._snapshots[pass_name]
        if name in ("optimized", "fused") and self._fused is None:
            raise KeyError(self._missing(name))
        if name == "optimized":
            return list(self._snapshots.values())[-1] if self._snapshots else self._traced
        if name == "fused":
            return self._fused
        raise KeyError(f"stage '{name}' is not a graph; graph stages: traced, after=<pass>, optimized, fused")

    def stage(self, name: str) -> str:
        name = self.STAGE_ALIASES.get(name, name)
        if name == "traced" or name.startswith("after=") or name in ("optimized", "fused"):
            return format_graph(self.stage_graph(name), self.name)
        if name == "kernels" and self.program is not None:
            from .debug.kernels import format_kernels
            return format_kernels(self.program, self._fused)
        if name in ("llvm", "llvm_opt", "asm") and self.codegen is not None:
            return {"llvm": lambda: self.codegen.llvm_ir, "llvm_opt": lambda: self.codegen.optimized_ir,
                    "asm": lambda: self.codegen.asm}[name]()
        raise KeyError(self._missing(name))

    def stage_names(self) -> list:
        names = ["traced"] + [f"after={p}" for p in self._snapshots]
        if self._fused is not None:
            names += ["optimized", "fused"]
        if self.program is not None:
            names.append("kernels")
        if self.codegen is not None:
            names += ["llvm", "llvm_opt", "asm"]
        return names

    def stage_aliases(self) -> list:
        """Other accepted names: passes that run outside the pass list (see STAGE_ALIASES)."""
        reached = set(self.stage_names())
        return [a for a, target in self.STAGE_ALIASES.items()
                if target in reached and (a != "after=autodiff" or self._has_autodiff())]

    @property
    def stages(self) -> dict:
        return {s: self.stage(s) for s in self.stage_names()}


class CompiledGraph(Stages):
    """A compiled program: call it on numpy arrays; inspect `.stage(name)`."""

    def __init__(self, name: str, traced: Graph, pass_snapshots: dict, fused: Graph, program, codegen,
                 executable, timings: dict):
        super().__init__(name, traced, pass_snapshots, fused, program, codegen)
        self.executable = executable
        self.timings = timings
        self._call = executable.__call__

    def __call__(self, *arrays):
        return self._call(*arrays)

    @property
    def num_kernels(self) -> int:
        return len(self.program.kernels)

    def profile(self, *arrays, **options):
        """Per-kernel time, share and GB/s or GFLOP/s against this machine's limits, for one set
        of inputs (see compiler/debug/profile.py)."""
        from .debug.profile import profile
        return profile(self, *arrays, **options)


def compile_graph(g: Graph, *, name: str = "main", donate: Optional[dict] = None, strict: bool = False,
                  verify_each: Optional[bool] = None, check_numerics: Optional[bool] = None) -> CompiledGraph:
    """Compile an IR graph whose `inputs`/`outputs` graph attrs define the call signature.

    `donate` maps output index -> input index: that output is written into the input's
    buffer (variable updates in place). `check_numerics` (default: FUSEFLOW_CHECK_NUMERICS=1)
    checks every kernel's results on each call and raises NumericsError naming the op and
    source line of the first NaN/Inf (slower: see compiler/debug/numerics.py).

    On failure the original exception is re-raised carrying `fuseflow_partial`: the failing
    phase (passes / fusion / lowering / codegen / loading the native code) and the stages
    reached, for the dump tool."""
    from .codegen import llvm as codegen
    from fuseflow.runtime import Executable

    timings = {}
    snapshots: dict = {}
    reached = Stages(name, g, snapshots)
    phase = "passes"
    try:
        t0 = time.perf_counter()
        optimized = run_passes(g, PIPELINE, verify_each=verify_each,
                               snapshot=lambda pass_name, graph: snapshots.__setitem__(pass_name, graph.copy_graph()))
        t1 = time.perf_counter()
        phase = "fusion"
        reached._fused = fuse(optimized)
        phase = "lowering"
        reached.program = plan_buffers(lower(reached._fused, name=_symbol_name(name), donate=donate))
        t2 = time.perf_counter()
        phase = "codegen"
        reached.codegen = codegen.generate(reached.program, strict=strict)
        t3 = time.perf_counter()
        phase = "loading the native code"
        executable = Executable(reached.codegen.object, reached.codegen.signature)
        t4 = time.perf_counter()
    except Exception as e:
        e.fuseflow_partial = (phase, reached)
        raise
    timings.update(passes=t1 - t0, fuse_lower=t2 - t1, codegen=t3 - t2, load=t4 - t3)
    compiled = CompiledGraph(name, g, snapshots, reached._fused, reached.program, reached.codegen, executable,
                             timings)
    if check_numerics is None:
        check_numerics = os.environ.get("FUSEFLOW_CHECK_NUMERICS", "") not in ("", "0")
    if check_numerics:
        from .debug.numerics import CheckedCall
        compiled._call = CheckedCall(compiled)
    _maybe_dump(compiled)
    return compiled


def _symbol_name(name: str) -> str:
    ident = "".join(c if c.isalnum() else "_" for c in name)
    return ident or "main"


def _maybe_dump(compiled: CompiledGraph) -> None:
    """FUSEFLOW_DUMP=dir writes every stage of every compiled program."""
    target = os.environ.get("FUSEFLOW_DUMP")
    if not target:
        return
    from .dump import write_stages
    write_stages(compiled, target)
