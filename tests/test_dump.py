"""The IR dump debugging tool: every stage, diff-stable text, DOT, kernel view, the NaN finder,
the reference comparison that pinpoints a broken kernel, and the profiler."""
import inspect
import os
import re

import numpy as np
import pytest

from fuseflow.compiler import dtypes as dt
from fuseflow.compiler.builder import Emitter
from fuseflow.compiler.debug import machine
from fuseflow.compiler.debug.compare import compare_reference, measure
from fuseflow.compiler.debug.cost import kernel_cost
from fuseflow.compiler.debug.dot import graph_to_dot
from fuseflow.compiler.debug.numerics import NumericsError, check_numerics
from fuseflow.compiler.driver import compile_graph
from fuseflow.compiler.dump import (DumpError, PartialCompilation, check_stage, compile_for_dump, render_stage,
                                    write_rendered, write_stages)
from fuseflow.compiler.ir import Graph, SourceLoc
from fuseflow.compiler.loopir import Binary, Const
from fuseflow.compiler.ops.registry import get_op
from fuseflow.compiler.printer import format_graph

HERE = os.path.basename(__file__)


def line_here() -> SourceLoc:
    """The caller's file:line, as the frontend records it for user code."""
    return SourceLoc(HERE, inspect.currentframe().f_back.f_lineno)


def params(*specs):
    g = Graph()
    em = Emitter(g, loc=SourceLoc(HERE, 1))
    vals = []
    for i, (shape, name) in enumerate(specs):
        p = em.emit("parameter", index=i, shape=tuple(shape), dtype=dt.float32, name=name)
        g.graph["inputs"].append(p.node)
        vals.append(p)
    return g, em, vals


def mlp_graph(extra_output=False, extra_op_in_second=False):
    """x @ w + b -> relu -> softmax-ish; a second output sums the hidden layer."""
    g, em, (x, w, b) = params(((16, 8), "x"), ((8, 4), "w"), ((4,), "b"))
    em.prefix = "dense"
    em.loc = SourceLoc("model.py", 10)
    h = em.relu(em.add(em.matmul(x, w, transpose_a=False, transpose_b=False), b))
    em.prefix = "softmax"
    em.loc = SourceLoc("model.py", 11)
    e = em.exp(h)
    p = em.div(e, em.reduce_sum(e, axes=(1,), keepdims=True))
    em.prefix = "stats"
    em.loc = SourceLoc("model.py", 12)
    second = em.reduce_sum(h, axes=(0,), keepdims=False)
    if extra_op_in_second:
        second = em.mul(second, em.constant(np.float32(0.5)))
    outs = [p, second]
    if extra_output:
        em.loc = SourceLoc("model.py", 13)
        outs.append(em.tanh(x))
    g.graph["outputs"] = outs
    return g


def mlp_args(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((16, 8)).astype(np.float32), rng.standard_normal((8, 4)).astype(np.float32),
            rng.standard_normal(4).astype(np.float32)]


@pytest.fixture(scope="module")
def compiled():
    return compile_graph(mlp_graph(), name="mlp")


# ----------------------------------------------------------------------------- stages
def test_every_stage_is_present_and_has_its_shape(compiled):
    names = compiled.stage_names()
    assert names[0] == "traced" and names[-6:] == ["optimized", "fused", "kernels", "llvm", "llvm_opt", "asm"]
    assert any(n.startswith("after=") for n in names)
    for name in names:
        assert compiled.stage(name).strip(), name
    fused = compiled.stage("fused")
    node_lines = [ln for ln in fused.splitlines() if re.match(r"\s+%\d+ = ", ln)]
    assert node_lines and all("{kernel " in ln for ln in node_lines)
    assert all(re.search(r" : \S+  # model\.py:\d+ \S+", ln) for ln in node_lines), fused
    kernels = compiled.stage("kernels")
    for k in range(compiled.num_kernels):
        assert f"\nkernel {k}  " in kernels
    for field in ("fuses:", "reads:", "writes:", "cost:", "boundary:", "loops:"):
        assert kernels.count(field) >= compiled.num_kernels - (field == "reads:"), field
    assert "define" in compiled.stage("llvm") and "define" in compiled.stage("llvm_opt")
    assert "ff_entry_mlp" in compiled.stage("asm")


def test_fused_stage_line_format(compiled):
    line = next(ln for ln in compiled.stage("fused").splitlines() if " = matmul" in ln)
    assert re.fullmatch(r"  %\d+ = matmul\{transpose_a=False, transpose_b=False\}\(%\d+, %\d+\) : f32\[16,4\]"
                        r"  # model\.py:10 dense/matmul  \{kernel \d+\}", line), line


def test_unknown_stage_lists_the_valid_ones(compiled):
    with pytest.raises(DumpError) as e:
        check_stage(compiled, "lowered")
    assert "valid stages: traced" in str(e.value) and "kernels" in str(e.value)
    with pytest.raises(DumpError, match="passes: "):
        check_stage(compiled, "after=nonesuch")
    with pytest.raises(DumpError, match="no DOT form"):
        render_stage(compiled, "asm", "dot")


def test_write_stages_one_file_per_stage(compiled, tmp_path):
    paths = write_stages(compiled, str(tmp_path), prefix="")
    assert len(paths) == len(compiled.stage_names())
    names = sorted(os.listdir(tmp_path))
    assert names[0] == "00_traced.txt"
    assert any(n.endswith("_kernels.kernels.txt") for n in names)
    assert any(n.endswith("_llvm.ll") for n in names) and any(n.endswith("_asm.s") for n in names)
    dots = write_stages(compiled, str(tmp_path / "d"), ["fused", "asm"], "dot", prefix="")
    assert dots[0].endswith("fused.dot") and dots[1].endswith("asm.s")


def test_fuseflow_dump_env_writes_stages(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSEFLOW_DUMP", str(tmp_path))
    c = compile_graph(mlp_graph(), name="envdump")
    files = os.listdir(tmp_path)
    assert len(files) == len(c.stage_names()) and all("envdump" in f for f in files)


# ----------------------------------------------------------------------------- diff stability
def _body(text):
    return [ln for ln in text.splitlines() if ln.startswith("  %")]


def test_two_compilations_print_identical_text():
    a, b = compile_graph(mlp_graph(), name="m"), compile_graph(mlp_graph(), name="m")
    for stage in ("traced", "optimized", "fused", "kernels"):
        assert a.stage(stage) == b.stage(stage), stage


def test_unrelated_op_does_not_renumber_other_lines():
    base = _body(format_graph(mlp_graph()))
    # a new output (its own cone) leaves every existing line as it was
    more = _body(format_graph(mlp_graph(extra_output=True)))
    assert more[:len(base)] == base and len(more) == len(base) + 1
    # an op added to the second output's computation keeps the first output's lines
    changed = _body(format_graph(mlp_graph(extra_op_in_second=True)))
    first_cone = [ln for ln in base if "model.py:12" not in ln]
    assert changed[:len(first_cone)] == first_cone


def test_passes_do_not_change_numbering_of_surviving_prefix(compiled):
    # the optimized graph prints the same numbering scheme: parameters first, in call order
    opt = compiled.stage("optimized")
    assert opt.splitlines()[0].startswith("mlp(%0: f32[16,8], %1: f32[8,4], %2: f32[4])")
    assert "# %0: " in opt and " x" in opt.splitlines()[1]


def test_scalar_constants_print_inline():
    g, em, (x,) = params(((4,), "x"))
    g.graph["outputs"] = [em.mul(x, em.constant(np.float32(1.5)))]
    text = format_graph(g)
    assert "mul(%0, 1.5:f32)" in text and "constant" not in text


# ----------------------------------------------------------------------------- kernel view
def test_kernel_view_bytes_flops_and_value_names(compiled):
    text = compiled.stage("kernels")
    mm = compiled.program.kernels[0]
    assert mm.name.startswith("k0_matmul")
    cost = kernel_cost(mm, compiled.program)
    assert cost.flops >= 2 * 16 * 4 * 8                      # matmul + epilogue
    assert cost.bytes_read == (16 * 8 + 8 * 4 + 4) * 4       # x, w, b
    block = text.split("\nkernel 0  ")[1].split("\nkernel 1  ")[0]
    assert "512 B  <- %0 x" in block                        # x is f32[16,8]
    assert "(model.py:10)" in block and "boundary: " in block
    assert "total: " in text.splitlines()[-1]


# ----------------------------------------------------------------------------- DOT
def test_dot_has_kernel_clusters_labelled_nodes_and_typed_edges(compiled):
    dot = render_stage(compiled, "fused", "dot")
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    clusters = re.findall(r"subgraph cluster_k(\d+) \{\n\s+label=\"([^\"]*)\"", dot)
    assert len(clusters) == len(compiled.graph.graph["groups"])
    names = {k.name for k in compiled.program.kernels}
    for _, label in clusters:
        assert label.split("\\n")[0] in names and "\\n" in label        # kernel name + reason
    assert re.search(r'label="%\d+ matmul\\nf32\[16,4\]"', dot)
    assert re.search(r'-> n\d+ \[label="f32\[16,4\]"\]', dot)
    assert render_stage(compiled, "kernels", "dot") == dot


def test_dot_collapses_large_graphs_by_scope():
    g, em, (x,) = params(((8,), "x"))
    v = x
    for layer in range(30):
        em.prefix = f"block{layer}"
        v = em.tanh(em.add(em.mul(v, em.constant(np.float32(0.5))), em.constant(np.float32(0.1))))
    g.graph["outputs"] = [v]
    full = graph_to_dot(g, "big", max_nodes=1000)
    small = graph_to_dot(g, "big", max_nodes=40)
    boxes = lambda d: len(re.findall(r"^\s+n\d+ \[", d, re.M))   # noqa: E731
    assert boxes(full) == 91 and boxes(small) <= 40
    assert "collapsed by name scope" in small and "block7/*  (3 ops)" in small


def test_render_without_graphviz_writes_dot_and_says_so(tmp_path, monkeypatch, compiled):
    monkeypatch.setattr("shutil.which", lambda name: None)
    path, message = write_rendered(compiled, "fused", str(tmp_path / "g.svg"))
    assert path.endswith("g.dot") and os.path.exists(path)
    assert "Graphviz 'dot' is not installed" in message and "dot -Tsvg" in message


@pytest.mark.skipif(not __import__("shutil").which("dot"), reason="Graphviz not installed")
def test_render_svg_with_graphviz(tmp_path, compiled):
    path, message = write_rendered(compiled, "fused", str(tmp_path / "g.svg"))
    assert message == "" and open(path).read().lstrip().startswith("<")


# ----------------------------------------------------------------------------- locations, failures
def test_lowering_errors_name_the_source_line(monkeypatch):
    from fuseflow.compiler import lowering
    g, em, (a, b) = params(((2, 4, 5), "a"), ((2, 5, 6), "b"))
    em.loc = line_here()
    g.graph["outputs"] = [em.matmul(a, b, transpose_a=False, transpose_b=False)]

    def unsupported(self):
        raise lowering.LoweringError(f"{self.g.describe(self.grp.anchor)}: not supported by this code generator")
    monkeypatch.setattr(lowering.KernelBuilder, "_matmul", unsupported)
    with pytest.raises(Exception, match=rf"at {HERE}:{em.loc.line}"):
        compile_graph(g)
    part = compile_for_dump(g)
    assert isinstance(part, PartialCompilation) and part.error.phase == "lowering"
    assert part.stage_names()[-2:] == ["optimized", "fused"]
    assert f"{HERE}:{em.loc.line}" in str(part.error)


def test_every_node_keeps_its_location_through_the_passes(compiled):
    for stage in compiled.stage_names():
        if stage in ("kernels", "llvm", "llvm_opt", "asm"):
            continue
        g = compiled.stage_graph(stage)
        missing = [g.describe(n) for n in g if not g.nodes[n].get("loc")]
        assert not missing, (stage, missing)


# ----------------------------------------------------------------------------- NaN finder
def div_by_zero_graph():
    g, em, (x, y) = params(((4, 3), "x"), ((4, 3), "y"))
    em.loc = SourceLoc(HERE, 200)
    h = em.exp(em.mul(x, em.constant(np.float32(2.0))))
    s = em.reduce_sum(y, axes=(1,), keepdims=True)
    em.loc = line_here()
    q = em.div(h, s)                                  # the line the report must name
    div_line = em.loc.line
    em.loc = SourceLoc(HERE, 201)
    z = em.sub(q, em.mul(q, em.constant(np.float32(0.5))))
    g.graph["outputs"] = [em.reduce_mean(z, axes=(0, 1), keepdims=False)]
    return g, div_line


def nan_args():
    x = np.ones((4, 3), np.float32)
    y = np.ones((4, 3), np.float32)
    y[2] = [1.0, -1.0, 0.0]                         # row sum 0: x / 0 = inf, then inf - inf = NaN
    return [x, y]


@pytest.mark.parametrize("native", [True, False])
def test_nan_finder_names_the_dividing_line(native):
    g, line = div_by_zero_graph()
    c = compile_graph(g, name="nan")
    report = check_numerics(c.graph, "nan", nan_args(), native=native)
    assert report is not None and report.loc == f"{HERE}:{line}"
    text = report.render()
    assert f"div 'div' at {HERE}:{line}" in text
    assert "reduce_sum" in text and "(1 zeros)" in text          # the operand range shows the zero
    assert "kernel inputs:" in text
    assert check_numerics(c.graph, "nan", [np.ones((4, 3), np.float32)] * 2) is None


def test_check_numerics_mode_raises_at_the_source_line(monkeypatch):
    g, line = div_by_zero_graph()
    c = compile_graph(g, check_numerics=True)
    good = c(np.ones((4, 3), np.float32), np.ones((4, 3), np.float32))
    assert np.isfinite(good[0])
    with pytest.raises(NumericsError, match=rf"{HERE}:{line}"):
        c(*nan_args())
    monkeypatch.setenv("FUSEFLOW_CHECK_NUMERICS", "1")
    with pytest.raises(NumericsError, match=rf"{HERE}:{line}"):
        compile_graph(div_by_zero_graph()[0])(*nan_args())


def test_nan_finder_skips_masked_intermediates_and_blames_inputs():
    g, em, (x,) = params(((6,), "x"))
    em.loc = SourceLoc("m.py", 1)
    safe = em.select(em.greater(x, em.constant(np.float32(0))), em.log(x), em.constant(np.float32(0)))
    em.loc = SourceLoc("m.py", 2)
    bad = em.sqrt(em.sub(safe, em.constant(np.float32(5))))       # sqrt(negative): the real NaN
    g.graph["outputs"] = [bad]
    c = compile_graph(g)
    arr = np.array([-1, 0, 1, 2, 3, 4], np.float32)
    report = check_numerics(c.graph, c.program.name, [arr])
    assert report.loc == "m.py:2" and "sqrt" in report.node_desc
    arr[0] = np.nan
    report = check_numerics(c.graph, c.program.name, [arr])
    assert report.kernel_index is None and "come in with the inputs" in report.note


# ----------------------------------------------------------------------------- reference comparison
def test_measure_tolerances():
    a = np.array([1.0, 2.0, np.nan], np.float32)
    assert not measure(a, a.copy()).exceeds
    assert measure(a, np.array([1.0, 2.0, 3.0], np.float32)).exceeds
    assert measure(np.float32([1.001]), np.float32([1.0])).exceeds
    assert not measure(np.float32([1.00001]), np.float32([1.0])).exceeds
    assert measure(np.int32([1, 2]), np.int32([1, 3])).exceeds


def test_compare_reference_passes_on_a_healthy_program(compiled):
    report = compare_reference(compiled.graph, compiled.program.name, mlp_args())
    assert report.ok and len(report.kernels) == compiled.num_kernels
    assert "every kernel matches" in report.render()


@pytest.fixture
def broken_tanh():
    """Test-only hook: tanh's scalar lowering returns 1.0078125 * tanh(x); its numpy reference
    stays right, so compiled code and interpreter disagree exactly where tanh is fused."""
    op = get_op("tanh")
    original = op.scalar
    op.scalar = lambda args, attrs, dtype: Binary("mul", original(args, attrs, dtype), Const(1.0078125, dtype))
    yield
    op.scalar = original


def tanh_graph():
    g, em, (x, w) = params(((8, 16), "x"), ((16, 4), "w"))
    em.loc = SourceLoc("net.py", 5)
    h = em.matmul(x, w, transpose_a=False, transpose_b=False)
    em.loc = SourceLoc("net.py", 6)
    s = em.reduce_sum(h, axes=(1,), keepdims=True)
    em.loc = SourceLoc("net.py", 7)
    a = em.tanh(em.mul(em.sub(h, s), em.constant(np.float32(0.25))))        # the broken op
    em.loc = SourceLoc("net.py", 8)
    g.graph["outputs"] = [em.reduce_sum(em.exp(a), axes=(0,), keepdims=False)]
    return g


def test_compare_reference_pinpoints_the_broken_kernel_and_op(broken_tanh):
    c = compile_graph(tanh_graph(), name="tanhnet")
    rng = np.random.default_rng(1)
    args = [rng.standard_normal((8, 16)).astype(np.float32), rng.standard_normal((16, 4)).astype(np.float32)]
    report = compare_reference(c.graph, c.program.name, args)
    assert not report.ok
    bad = report.kernels[report.first_divergent]
    assert "tanh" in [c.graph.op(n) for n in bad.members]
    assert all(not k.local.exceeds for k in report.kernels[:report.first_divergent])
    assert report.culprit is not None and c.graph.op(report.culprit) == "tanh"
    text = report.render()
    assert "<-- diverges" in text and "tanh 'tanh' at net.py:7" in text


# ----------------------------------------------------------------------------- profile
FAKE_LIMITS = machine.MachineLimits("testcpu", {"16384": 100.0, "67108864": 20.0}, 100.0, 8, True)


def test_profile_reports_every_kernel(compiled):
    report = compiled.profile(*mlp_args(), min_time=0.001, limits=FAKE_LIMITS)
    assert [k.name for k in report.kernels] == [k.name for k in compiled.program.kernels]
    assert abs(sum(k.share for k in report.kernels) - 1.0) < 1e-6
    assert report.program_seconds > 0
    text = report.render()
    assert "GB/s" in text and "GFLOP/s" in text and "testcpu" in text
    assert "hottest: kernel" in text


def test_profile_does_not_touch_donated_inputs():
    g, em, (v, d) = params(((64,), "v"), ((64,), "d"))
    g.graph["outputs"] = [em.sub(v, d)]
    c = compile_graph(g, donate={0: 0})
    v0 = np.ones(64, np.float32)
    c.profile(v0, np.ones(64, np.float32), min_time=0.001, limits=FAKE_LIMITS)
    assert np.all(v0 == 1)


def test_machine_limits_are_measured_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSEFLOW_CACHE_DIR", str(tmp_path))
    calls = []
    monkeypatch.setattr(machine, "measure_fma_peak", lambda cpu, feats: calls.append(1) or (50.0, 8, True))
    monkeypatch.setattr(machine, "measure_copy_bandwidth", lambda cpu, feats: {"16384": 80.0, "67108864": 10.0})
    first = machine.machine_limits()
    second = machine.machine_limits()
    assert calls == [1] and first == second
    assert os.path.exists(tmp_path / machine.CACHE_FILE)
    assert second.bandwidth_for(1 << 10)[0] == 80.0 and second.bandwidth_for(1 << 30)[1] == "memory"
    assert 10.0 < second.bandwidth_for(1 << 20)[0] < 80.0


def test_fma_and_copy_measurements_run():
    cpu, feats = machine._host()
    gflops, width, _ = machine.measure_fma_peak(cpu, feats, target_seconds=0.005)
    assert gflops > 0.5 and width in (4, 8, 16)
    bw = machine.measure_copy_bandwidth(cpu, feats, sizes=(16 << 10,), target_seconds=0.005)
    assert bw["16384"] > 0.5


def test_codegen_failure_names_the_kernels_ops_and_lines(monkeypatch):
    probe = compile_graph(mlp_graph(), name="probe")
    victim = next(k.name for k in probe.program.kernels if "reduce_sum" in k.name)

    def failing_generate(program, **kw):
        raise RuntimeError(f"kernel {victim}: cannot generate code for expression Foo()")
    monkeypatch.setattr("fuseflow.compiler.codegen.llvm.generate", failing_generate)
    part = compile_for_dump(mlp_graph(), name="m")
    assert part.error.phase == "codegen"
    message = str(part.error)
    assert f"kernel {victim} fuses:" in message and "reduce_sum 'softmax/reduce_sum' at model.py:11" in message
    assert part.stage_names()[-1] == "kernels" and "kernel 0" in part.stage("kernels")
