"""`fuseflow dump` / `fuseflow demo` command line: in process through `main(argv)` (fast), and
once each through `python -m fuseflow.cli` and the `fuseflow` console script."""
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

import fuseflow.cli as cli
from fuseflow.cli import main, parse_args_spec

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MLP = os.path.join(ROOT, "examples", "mlp.py")


@pytest.fixture(autouse=True, scope="module")
def compile_each_target_once():
    """Each `main()` call imports the target file afresh and compiles it; the MLP takes seconds
    to compile, so within this module a (file, function) pair is traced once (the first test
    to use it still goes through the whole path)."""
    original = cli.trace
    memo = {}

    def trace_once(fn, args, check_numerics=False):
        code = getattr(getattr(fn, "python_function", fn), "__code__", None)
        key = (code.co_filename, code.co_name) if code is not None else id(fn)
        if key not in memo:
            memo[key] = original(fn, args, check_numerics)
        return memo[key]
    cli.trace = trace_once
    yield
    cli.trace = original


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def nan_file(tmp_path_factory):
    """A function dividing by a row sum that is zero for the example inputs."""
    path = tmp_path_factory.mktemp("cli") / "nanfile.py"
    path.write_text(textwrap.dedent("""\
        import numpy as np
        import fuseflow as tf


        def f(x, y):
            s = tf.reduce_sum(y, axis=1, keepdims=True)
            q = tf.exp(x) / s
            return tf.reduce_mean(q - 0.5 * q)


        def f_example_args():
            y = np.ones((4, 3), np.float32)
            y[2] = [1.0, -1.0, 0.0]
            return np.ones((4, 3), np.float32), y


        def g(x):
            return tf.tanh(x) * 2.0


        EXAMPLE_ARGS = {"g": lambda: [np.ones((3,), np.float32)]}


        def no_inputs(x):
            return x + 1.0


        def h(x, w):
            z = tf.matmul(x, w)
            return tf.reduce_sum(tf.exp(tf.tanh(z * 0.5) + z), axis=1)


        def h_example_args():
            rng = np.random.default_rng(0)
            return rng.standard_normal((8, 16)).astype(np.float32), rng.standard_normal((16, 4)).astype(np.float32)
        """))
    return str(path)


def line_of(path, text):
    return next(i for i, ln in enumerate(open(path).read().splitlines(), 1) if text in ln)


DIV_LINE = 7   # `q = tf.exp(x) / s` in nan_file


def test_list_stages(capsys):
    status, out, _ = run(capsys, "dump", f"{MLP}:train_step", "--list-stages")
    assert status == 0
    names = [ln.split()[0] for ln in out.splitlines()]
    assert names[0] == "traced" and names[-9:-3] == ["optimized", "fused", "kernels", "llvm", "llvm_opt", "asm"]
    # passes outside the pass list are listed as aliases: autodiff (while tracing), fusion, buffer planning
    assert names[-3:] == ["after=autodiff", "after=fusion", "after=buffer_planning"]
    assert any(n.startswith("after=simplify") for n in names)


def test_default_is_the_fused_graph_with_user_lines(capsys):
    status, out, _ = run(capsys, "dump", f"{MLP}:train_step")
    assert status == 0 and out.startswith("train_step(")
    lines = [ln for ln in out.splitlines() if re.match(r"\s+%\d+ = ", ln) and " = constant" not in ln]
    assert lines and all("{kernel " in ln for ln in lines)
    assert any(re.search(r"# mlp\.py:\d+ dense1/", ln) for ln in lines)
    assert any("sgd/" in ln for ln in lines)


def test_kernels_stage_and_after_pass(capsys):
    status, out, _ = run(capsys, "dump", f"{MLP}:train_step", "--stage", "kernels")
    assert status == 0 and "\nkernel 0  " in out and "boundary:" in out and "matmul" in out
    status, out, _ = run(capsys, "dump", f"{MLP}:train_step", "--stage", "after=decompose")
    assert status == 0 and out.startswith("train_step(")


def test_unknown_stage_is_a_clear_usage_error(capsys):
    status, out, err = run(capsys, "dump", f"{MLP}:train_step", "--stage", "bogus")
    assert status == 2 and "unknown stage 'bogus'" in err and "valid stages: traced" in err


def test_out_directory_gets_every_stage(capsys, tmp_path):
    status, out, _ = run(capsys, "dump", f"{MLP}:train_step", "--out", str(tmp_path))
    assert status == 0
    files = sorted(os.listdir(tmp_path))
    assert files[0] == "00_traced.txt" and any(f.endswith("kernels.kernels.txt") for f in files)
    assert any(f.endswith(".ll") for f in files) and any(f.endswith(".s") for f in files)
    assert len(out.splitlines()) == len(files)


def test_dot_format_and_missing_graphviz(capsys, tmp_path, monkeypatch):
    status, out, _ = run(capsys, "dump", f"{MLP}:train_step", "--format", "dot")
    assert status == 0 and out.startswith("digraph") and "subgraph cluster_k0" in out
    monkeypatch.setattr(shutil, "which", lambda name: None)
    status, out, err = run(capsys, "dump", f"{MLP}:train_step", "--out", str(tmp_path / "g.svg"))
    assert status == 0 and "Graphviz 'dot' is not installed" in err
    assert os.path.exists(tmp_path / "g.dot") and not os.path.exists(tmp_path / "g.svg")


def test_check_numerics_names_the_division_line(capsys, nan_file):
    status, out, _ = run(capsys, "dump", f"{nan_file}:f", "--check-numerics")
    assert status == 1 and DIV_LINE == line_of(nan_file, "tf.exp(x) / s")
    assert re.search(rf"produced by: %\d+ div '\w+' at nanfile\.py:{DIV_LINE}", out), out
    assert "(1 zeros)" in out                     # the row sum that is zero


def test_compare_reference(capsys, nan_file):
    status, out, _ = run(capsys, "dump", f"{nan_file}:g", "--compare-reference")
    assert status == 0 and "every kernel matches the reference" in out


@pytest.mark.slow
def test_compare_reference_on_the_mlp(capsys):
    status, out, _ = run(capsys, "dump", f"{MLP}:train_step", "--compare-reference")
    assert status == 0 and "every kernel matches the reference" in out


def test_example_args_conventions(capsys, nan_file):
    status, out, _ = run(capsys, "dump", f"{nan_file}:g")                 # EXAMPLE_ARGS dict
    assert status == 0 and "tanh" in out
    status, out, _ = run(capsys, "dump", f"{nan_file}:no_inputs", "--args", "f32[2,5]")
    assert status == 0 and "f32[2,5]" in out
    status, _, err = run(capsys, "dump", f"{nan_file}:no_inputs")
    assert status == 2 and "no_inputs_example_args()" in err and "--args" in err
    status, _, err = run(capsys, "dump", f"{nan_file}:missing")
    assert status == 2 and "has no 'missing'" in err and "no_inputs" in err
    status, _, err = run(capsys, "dump", f"{nan_file}:no_inputs", "--args", "float[3]")
    assert status == 2 and "bad --args item" in err
    status, _, err = run(capsys, "dump", "nowhere.py:f")
    assert status == 2 and "no such file" in err


def test_parse_args_spec():
    a, b, c = parse_args_spec("f32[256,784], i32[7],bool[]")
    assert a.shape == (256, 784) and a.dtype.name == "float32"
    assert b.dtype.name == "int32" and c.shape == () and c.dtype == bool


def test_profile(capsys, tmp_path, monkeypatch, nan_file):
    from fuseflow.compiler.debug import machine
    monkeypatch.setattr(machine, "machine_limits",
                        lambda refresh=False: machine.MachineLimits("cpu", {"16384": 50.0}, 50.0, 8, True))
    monkeypatch.setattr("fuseflow.compiler.debug.profile.DEFAULT_MIN_TIME", 0.001)
    status, out, _ = run(capsys, "dump", f"{nan_file}:g", "--profile")
    assert status == 0 and "GB/s" in out and "of roofline" in out and "k0_" in out


def test_python_m_cli_subprocess(nan_file):
    proc = subprocess.run([sys.executable, "-m", "fuseflow.cli", "dump", f"{nan_file}:f", "--check-numerics"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert f"nanfile.py:{DIV_LINE}" in proc.stdout


def test_console_script_and_demo_dispatch():
    exe = shutil.which("fuseflow") or os.path.join(os.path.dirname(sys.executable), "fuseflow")
    if not os.path.exists(exe):
        pytest.skip("the fuseflow console script is not installed (pip install -e .)")
    proc = subprocess.run([exe, "demo", "--help"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "fuseflow demo" in proc.stdout
    proc = subprocess.run([exe, "dump", "--help"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "EXAMPLE_ARGS" in proc.stdout


def test_check_numerics_env_through_fuseflow_function(monkeypatch, tmp_path):
    """FUSEFLOW_CHECK_NUMERICS=1: a fuseflow.function call raises at the user's line."""
    import numpy as np

    import fuseflow as tf
    from fuseflow.compiler.debug.numerics import NumericsError
    monkeypatch.setenv("FUSEFLOW_CHECK_NUMERICS", "1")

    @tf.function
    def f(x):
        y = tf.math.log(x)
        return tf.reduce_sum(y * x)
    log_line = f.python_function.__code__.co_firstlineno + 2
    with pytest.raises(NumericsError, match=rf"log '\w+' at test_cli\.py:{log_line}"):
        f(np.array([1.0, 2.0, 0.0], np.float32))
    assert np.isfinite(np.asarray(f(np.array([1.0, 2.0, 3.0], np.float32))))


def test_parameters_get_source_lines(capsys):
    """Arguments point at the function's def line, variables at their first use."""
    status, out, _ = run(capsys, "dump", f"{MLP}:train_step", "--stage", "traced")
    src = open(MLP).read().splitlines()
    def_line = next(i for i, ln in enumerate(src, 1) if ln.startswith("def train_step("))
    comments = {name: loc for loc, name in re.findall(r"# %\d+: (\S+) (\w+)", out)}
    assert comments["x"] == comments["y"] == f"mlp.py:{def_line}"
    first_use = next(i for i, ln in enumerate(src, 1) if "self.w1)" in ln)
    assert comments["w1"] == f"mlp.py:{first_use}"


def test_compare_reference_pinpoints_a_broken_lowering(capsys, nan_file):
    """Test-only hook: tanh's scalar lowering is off by 0.8%; its numpy reference is right."""
    from fuseflow.compiler.loopir import Binary, Const
    from fuseflow.compiler.ops.registry import get_op
    op = get_op("tanh")
    original = op.scalar
    op.scalar = lambda args, attrs, dtype: Binary("mul", original(args, attrs, dtype), Const(1.0078125, dtype))
    try:
        status, out, _ = run(capsys, "dump", f"{nan_file}:h", "--compare-reference")
    finally:
        op.scalar = original
    assert status == 1 and "<-- diverges" in out
    tanh_line = line_of(nan_file, "tf.tanh(z")
    assert re.search(rf"disagrees with its reference: %\d+ tanh '\w+' at nanfile\.py:{tanh_line}", out), out


def test_failed_compilation_still_shows_the_stages_reached(capsys, tmp_path):
    path = tmp_path / "failing.py"
    path.write_text(textwrap.dedent("""\
        import numpy as np
        import fuseflow as tf


        def f(x):
            return tf.exp(x) * 2.0


        EXAMPLE_ARGS = [np.ones((4,), np.float32)]
        """))
    from fuseflow.compiler.ops.registry import get_op

    def broken(args, attrs, dtype):
        raise RuntimeError("exp lowering exploded")
    op = get_op("exp")
    original, op.scalar = op.scalar, broken
    try:
        status, out, err = run(capsys, "dump", f"{path}:f", "--stage", "fused")
        assert status == 1 and "lowering failed" in err and "exp lowering exploded" in err
        assert "= exp(" in out and "{kernel 0}" in out
        status, out, err = run(capsys, "dump", f"{path}:f", "--stage", "asm")
        assert status == 1 and "compilation stopped before it" in err
    finally:
        op.scalar = original
