"""The host target machine and the LLVM passes: text IR in, optimized module and object out.

One target machine per process (creating it costs milliseconds and every compile needs it).
Objects are position independent so the same bytes serve the in-process JIT and saved .ffa
artifacts.
"""
from __future__ import annotations

import functools
import threading

import llvmlite.binding as llvm

# The pass manager and target machine are not documented as thread safe: serialize compiles.
_LOCK = threading.Lock()


@functools.lru_cache(maxsize=None)
def _initialize() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()


@functools.lru_cache(maxsize=None)
def host_cpu() -> tuple:
    """(cpu name, flattened feature string) of this machine."""
    _initialize()
    return llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


@functools.lru_cache(maxsize=None)
def target_machine():
    _initialize()
    cpu, features = host_cpu()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=cpu, features=features, opt=3, reloc="pic",
                                        codemodel="default")


def module_header() -> str:
    tm = target_machine()
    return f'target triple = "{tm.triple}"\ntarget datalayout = "{tm.target_data}"\n'


class CompiledModule:
    """A parsed, verified and optimized module; asm and IR text are produced on demand."""

    def __init__(self, module):
        self.module = module
        self.object = target_machine().emit_object(module)
        self._asm = None
        self._ir = None

    @property
    def optimized_ir(self) -> str:
        if self._ir is None:
            self._ir = str(self.module)
        return self._ir

    @property
    def asm(self) -> str:
        if self._asm is None:
            with _LOCK:
                self._asm = target_machine().emit_assembly(self.module)
        return self._asm


def compile_ir(text: str, *, optimize: bool = True) -> CompiledModule:
    """Parse and verify `text` (bad IR would trip LLVM assertions later), run O3, emit code."""
    _initialize()
    with _LOCK:
        try:
            module = llvm.parse_assembly(text)
            module.verify()
        except RuntimeError as e:
            raise CodegenError(f"generated LLVM IR is invalid: {e}") from None
        if optimize:
            tm = target_machine()
            pto = llvm.create_pipeline_tuning_options(speed_level=3)
            pto.loop_vectorization = True
            pto.slp_vectorization = True
            pb = llvm.create_pass_builder(tm, pto)
            pb.getModulePassManager().run(module, pb)
        return CompiledModule(module)


class CodegenError(RuntimeError):
    """The code generator met something it cannot lower, or produced invalid IR (a compiler bug)."""
