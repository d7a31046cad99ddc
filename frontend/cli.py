"""The `fuseflow` command line: `fuseflow dump` (see every compiler stage of a function, find
NaNs and wrong numbers, profile kernels) and `fuseflow demo`.

    fuseflow dump examples/mlp.py:train_step                     # the fused graph
    fuseflow dump examples/mlp.py:train_step --list-stages
    fuseflow dump examples/mlp.py:train_step --stage kernels
    fuseflow dump examples/mlp.py:train_step --stage after=simplify
    fuseflow dump examples/mlp.py:train_step --out dumps/          # every stage, one file each
    fuseflow dump examples/mlp.py:train_step --out fused.svg       # Graphviz (if installed)
    fuseflow dump examples/mlp.py:train_step --profile
    fuseflow dump examples/mlp.py:train_step --check-numerics --compare-reference
    fuseflow dump model.py:f --args "f32[256,784],f32[256,10]"

Example inputs, first match wins:
  1. --args SPEC: comma-separated `dtype[d0,d1,...]` (f16 f32 f64 i8 i16 i32 i64 u8 bool;
     `f32[]` is a scalar); random values from --seed (floats standard normal, ints 0..9).
  2. a module-level function `<FUNC>_example_args()` returning the positional arguments
     (a tuple/list; a single array means one argument).
  3. a module-level `EXAMPLE_ARGS`: a dict {function name: args or a callable returning
     them}, or args / a callable used for every function of the module.
  4. the input_signature of a `fuseflow.function` with fully known shapes (random values).
FUNC may be a `fuseflow.function` or a plain Python function taking tensors (it is wrapped
with fuseflow.function). The file is imported under a private module name, so its
`if __name__ == "__main__":` block does not run.

Exit status: 0 ok, 1 compilation failed or a check found a problem, 2 usage error.
"""
from __future__ import annotations

import argparse
import importlib.util
import linecache
import os
import re
import sys
from typing import Optional

import numpy as np

STAGE_HELP = {
    "traced": "the graph as traced from the function",
    "after=<pass>": "the graph after one pass of the pipeline",
    "after=autodiff": "the traced graph with its gradient subgraphs (autodiff runs while tracing)",
    "after=fusion": "same as fused",
    "after=buffer_planning": "same as kernels (buffers shown after planning)",
    "optimized": "after the last pass",
    "fused": "with each node's kernel",
    "kernels": "loop IR per kernel: fused nodes, bytes, flops, loops, why fusion stopped",
    "llvm": "generated LLVM IR",
    "llvm_opt": "LLVM IR after O3",
    "asm": "host assembly",
}
_DTYPES = {"f16": np.float16, "f32": np.float32, "f64": np.float64, "i8": np.int8, "i16": np.int16,
           "i32": np.int32, "i64": np.int64, "u8": np.uint8, "bool": np.bool_}
_FILE_SUFFIXES = (".svg", ".png", ".pdf", ".dot", ".txt", ".ll", ".s")


class UsageError(Exception):
    """Bad command line input: printed without a traceback, exit status 2."""


# ----------------------------------------------------------------------------- targets
def parse_target(target: str) -> tuple:
    """'path/to/file.py:func' -> (path, 'func')."""
    path, sep, func = target.rpartition(":")
    if not sep or not path or not func:
        raise UsageError(f"target '{target}' must be FILE.py:FUNC (e.g. examples/mlp.py:train_step)")
    return path, func


def load_module(path: str):
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)          # the file's sibling imports work as when run directly
    stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    spec = importlib.util.spec_from_file_location(f"_fuseflow_dump_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def resolve_function(module, name: str):
    obj = module
    for part in name.split("."):
        if not hasattr(obj, part):
            public = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                            and getattr(v, "__module__", module.__name__) == module.__name__)
            raise UsageError(f"{module.__file__} has no '{name}'; functions defined there: "
                             f"{', '.join(public) or '(none)'}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UsageError(f"'{name}' in {module.__file__} is a {type(obj).__name__}, not a function")
    return obj


def _split_specs(spec: str) -> list:
    parts, depth, cur = [], 0, ""
    for ch in spec:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts]


def parse_args_spec(spec: str, seed: int = 0) -> list:
    """'f32[256,784],i32[256]' -> random arrays of those types."""
    rng = np.random.default_rng(seed)
    arrays = []
    for item in _split_specs(spec):
        m = re.fullmatch(r"([a-z0-9]+)\[([0-9,\s]*)\]", item)
        if not m or m.group(1) not in _DTYPES:
            raise UsageError(f"bad --args item '{item}': expected dtype[d0,d1,...] with dtype one of "
                             f"{', '.join(_DTYPES)} (e.g. f32[256,784]; f32[] for a scalar)")
        dtype = _DTYPES[m.group(1)]
        shape = tuple(int(d) for d in m.group(2).replace(" ", "").split(",") if d)
        if np.issubdtype(dtype, np.floating):
            arrays.append(rng.standard_normal(shape).astype(dtype))
        elif dtype is np.bool_:
            arrays.append(rng.random(shape) < 0.5)
        else:
            arrays.append(rng.integers(0, 10, size=shape).astype(dtype))
    return arrays


def _as_args(value) -> list:
    if callable(value):
        value = value()
    if isinstance(value, (tuple, list)):
        return list(value)
    return [value]


def example_args(module, func_name: str, fn, spec: Optional[str], seed: int = 0) -> list:
    if spec:
        return parse_args_spec(spec, seed)
    short = func_name.split(".")[-1]
    maker = getattr(module, f"{short}_example_args", None)
    if callable(maker):
        return _as_args(maker)
    table = getattr(module, "EXAMPLE_ARGS", None)
    if isinstance(table, dict):
        if short in table:
            return _as_args(table[short])
    elif table is not None:
        return _as_args(table)
    signature = getattr(fn, "input_signature", None)
    if signature:
        args = _args_from_signature(signature, seed)
        if args is not None:
            return args
    raise UsageError(f"no example inputs for '{func_name}': pass --args \"f32[256,784],f32[256,10]\", or define "
                     f"{short}_example_args() or EXAMPLE_ARGS in {module.__file__} (see `fuseflow dump --help`)")


def _args_from_signature(signature, seed: int) -> Optional[list]:
    rng = np.random.default_rng(seed)
    out = []
    for spec in signature:
        shape = spec.shape.as_list() if spec.shape.rank is not None else None
        if shape is None or any(d is None for d in shape):
            return None
        np_dtype = spec.dtype.np
        if np.issubdtype(np_dtype, np.floating):
            out.append(rng.standard_normal(shape).astype(np_dtype))
        else:
            out.append(np.zeros(shape, np_dtype))
    return out


# ----------------------------------------------------------------------------- tracing
class Traced:
    """A function traced on example inputs: its IR, the compiled program (or the stages a
    failed compilation reached) and the arrays to call the program with."""

    def __init__(self, name, compiled, params, donate):
        self.name = name
        self.compiled = compiled      # CompiledGraph | dump.PartialCompilation
        self.params = params          # one array per graph input (arguments, then variables)
        self.donate = donate

    @property
    def failed(self) -> bool:
        return getattr(self.compiled, "error", None) is not None


def trace(fn, args: list, check_numerics: bool = False) -> Traced:
    from fuseflow.compiler.dump import compile_for_dump

    # import_module, not `import fuseflow.function`: the package attribute `function` is the decorator
    function_mod = importlib.import_module("fuseflow.function")
    function_state = importlib.import_module("fuseflow.function_state")
    nest = importlib.import_module("fuseflow.nest")

    if not isinstance(fn, function_mod.Function):
        fn = function_mod.function(fn)
    concrete = fn.get_concrete_function(*args)
    leaves = [x for x in nest.flatten(list(args)) if function_mod._is_tensor_leaf(x)]
    arrays = [np.ascontiguousarray(function_mod._leaf_array(x, t.dtype))
              for x, t in zip(leaves, concrete.graph.inputs)]
    try:
        ir, binders, donate, _, _ = concrete.build_ir()
    except Exception:   # noqa: BLE001 - symbolic shapes unsupported somewhere: per-shape, as calls do
        ir, binders, donate, _, _ = concrete.build_ir(tuple(a.shape for a in arrays))
    _locate_parameters(ir, binders, fn)
    compiled = compile_for_dump(ir, name=concrete.name, donate=donate or None, check_numerics=check_numerics)
    params = [arrays[ref] if kind == "arg" else np.array(function_state.variable_buffer(ref), copy=True)
              for kind, ref in binders]
    return Traced(concrete.name, compiled, params, donate or None)


def _locate_parameters(ir, binders, fn) -> None:
    """Give parameters without a source line one: an argument the function's `def` line, a
    variable the line of its first use in the function."""
    from fuseflow.compiler.ir import SourceLoc
    code = getattr(getattr(fn, "python_function", fn), "__code__", None)
    def_loc = None
    if code is not None:
        line = code.co_firstlineno          # the first decorator's line for a decorated function
        for k in range(line, line + 20):
            if linecache.getline(code.co_filename, k).lstrip().startswith(("def ", "async def ")):
                line = k
                break
        def_loc = SourceLoc(os.path.basename(code.co_filename), line)
    order = {n: i for i, n in enumerate(ir.topo())}
    for node, (kind, _) in zip(ir.graph["inputs"], binders):
        data = ir.nodes[node]
        if data.get("loc"):
            continue
        if kind == "arg":
            data["loc"] = def_loc
        else:
            users = sorted((u for u, _ in ir.users(node) if ir.nodes[u].get("loc")), key=order.__getitem__)
            data["loc"] = ir.nodes[users[0]]["loc"] if users else def_loc


# ----------------------------------------------------------------------------- commands
def _print(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _list_stages(compiled) -> str:
    lines = []
    aliases = getattr(compiled, "stage_aliases", lambda: [])()
    for s in compiled.stage_names() + aliases:
        key = s if s in STAGE_HELP else ("after=<pass>" if s.startswith("after=") else s)
        lines.append(f"{s:<22} {STAGE_HELP.get(key, '')}".rstrip())
    return "\n".join(lines)


def _is_file_target(out: str) -> bool:
    return os.path.splitext(out)[1].lower() in _FILE_SUFFIXES


def cmd_dump(opts) -> int:
    from fuseflow.compiler.dump import DumpError

    path, func_name = parse_target(opts.target)
    module = load_module(path)
    fn = resolve_function(module, func_name)
    args = example_args(module, func_name, fn, opts.args, opts.seed)
    traced = trace(fn, args)
    compiled = traced.compiled
    status = 0
    if traced.failed:
        sys.stderr.write(f"fuseflow dump: compiling {traced.name} failed: {compiled.error}\n"
                         f"stages reached: {', '.join(compiled.stage_names())}\n")
        status = 1

    if opts.list_stages:
        _print(_list_stages(compiled))
        return status

    checks = opts.profile or opts.compare_reference or opts.check_numerics
    stage = opts.stage or (None if checks and not opts.out else ("all" if opts.out and not _is_file_target(opts.out)
                                                                 else "fused"))
    try:
        if stage is not None:
            status = max(status, _emit_stage(compiled, stage, opts))
    except DumpError as e:
        if traced.failed and (stage in STAGE_HELP or stage.startswith("after=")):
            sys.stderr.write(f"fuseflow dump: {e}\n")    # a real stage the failed compilation did not reach
            return 1
        raise UsageError(str(e)) from None

    if checks and traced.failed:
        sys.stderr.write("fuseflow dump: --profile/--check-numerics/--compare-reference need a compiled program\n")
        return 1
    if opts.check_numerics:
        from fuseflow.compiler.debug.numerics import check_numerics
        report = check_numerics(compiled.graph, compiled.program.name, traced.params, donate=traced.donate)
        _print(report.render() if report is not None else "check-numerics: every kernel result is finite")
        status = max(status, 1 if report is not None else 0)
    if opts.compare_reference:
        from fuseflow.compiler.debug.compare import compare_reference
        report = compare_reference(compiled.graph, compiled.program.name, traced.params, donate=traced.donate,
                                   rtol=opts.rtol, atol=opts.atol)
        _print(report.render())
        status = max(status, 0 if report.ok else 1)
    if opts.profile:
        _print(compiled.profile(*traced.params).render())
    return status


def _emit_stage(compiled, stage: str, opts) -> int:
    from fuseflow.compiler.dump import check_stage, render_stage, write_rendered, write_stages

    stages = compiled.stage_names() if stage == "all" else [check_stage(compiled, stage)]
    if opts.out and not _is_file_target(opts.out):
        paths = write_stages(compiled, opts.out, stages, opts.format, prefix="", max_nodes=opts.max_nodes)
        _print("\n".join(paths))
        return 0
    if opts.out:
        if len(stages) != 1:
            raise UsageError(f"--out {opts.out} is one file: pick one --stage, or give a directory for all")
        written, message = write_rendered(compiled, stages[0], opts.out, max_nodes=opts.max_nodes)
        if message:
            sys.stderr.write(f"fuseflow dump: {message}\n")
        _print(written)
        return 0
    for s in stages:
        if len(stages) > 1:
            _print(f"===== {s} =====")
        _print(render_stage(compiled, s, opts.format, max_nodes=opts.max_nodes))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fuseflow", description="fuseflow command line tools")
    sub = parser.add_subparsers(dest="command", metavar="{dump,demo}")
    dump = sub.add_parser("dump", help="print or write the compiler stages of a function",
                          description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    dump.add_argument("target", help="FILE.py:FUNC")
    dump.add_argument("--stage", help="a stage name, 'all', or after=PASS (default: fused; all with --out DIR)")
    dump.add_argument("--out", help="a directory (one file per stage) or a file: .svg/.png/.pdf (Graphviz), "
                                    ".dot, .txt")
    dump.add_argument("--format", choices=("text", "dot"), default="text")
    dump.add_argument("--list-stages", action="store_true", help="name the stages and exit")
    dump.add_argument("--profile", action="store_true", help="per-kernel time, GB/s, GFLOP/s vs machine limits")
    dump.add_argument("--check-numerics", action="store_true",
                      help="find the first kernel and op producing NaN/Inf on the example inputs")
    dump.add_argument("--compare-reference", action="store_true",
                      help="max abs/rel error per kernel vs the numpy reference; names the first divergent one")
    dump.add_argument("--args", help='example inputs, e.g. "f32[256,784],f32[256,10]"')
    dump.add_argument("--seed", type=int, default=0, help="seed for --args values")
    dump.add_argument("--max-nodes", type=int, default=120,
                      help="DOT: collapse by name scope above this many nodes")
    dump.add_argument("--rtol", type=float, default=1e-4)
    dump.add_argument("--atol", type=float, default=1e-5)
    demo = sub.add_parser("demo", help="what the compiler does, in one minute", add_help=False)
    demo.add_argument("demo_args", nargs=argparse.REMAINDER)
    return parser


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "demo":
        from fuseflow import demo
        return demo.main(argv[1:])
    parser = build_parser()
    opts = parser.parse_args(argv)
    if opts.command is None:
        parser.print_help()
        return 2
    try:
        return cmd_dump(opts)
    except UsageError as e:
        sys.stderr.write(f"fuseflow dump: error: {e}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
