"""fuseflow.function: tracing, the signature cache, symbolic None dims, variables by reference,
retracing warnings and the staged lower/compile API."""
import warnings

import numpy as np
import pytest

from fuseflow import math_ops as M
from fuseflow.compiler import dtypes as dt
from fuseflow.function import FuncGraph, RetracingWarning, TensorSpec, function, init_scope, inside_function
from fuseflow.tensor import EagerTensor
from fuseflow.variables import Variable


def test_none_batch_signature_traced_and_compiled_once():
    traces = []

    @function(input_signature=[TensorSpec([None, 3], dt.float32)])
    def f(x):
        traces.append(1)
        return M.reduce_sum(x * 2.0, axis=1)

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(21, dtype=np.float32).reshape(7, 3)
    np.testing.assert_allclose(f(a).numpy(), (a * 2).sum(1))
    np.testing.assert_allclose(f(b).numpy(), (b * 2).sum(1))
    assert len(traces) == 1 and f.experimental_get_tracing_count() == 1
    concrete = f.get_concrete_function()
    assert concrete._symbolic is not None and not concrete._by_shape    # one symbolic program
    assert "b0" in f.lower(TensorSpec([None, 3])).as_text("traced")


def test_signature_rejects_incompatible_shapes():
    f = function(lambda x: x + 1.0, input_signature=[TensorSpec([None, 3], dt.float32)])
    with pytest.raises(ValueError):
        f(np.zeros((2, 4), np.float32))


def test_python_side_effects_run_once_per_trace_and_shapes_retrace():
    calls = []

    @function
    def g(x):
        calls.append(x.shape.as_list())
        return x * x

    g(np.ones(3, np.float32))
    g(np.ones(3, np.float32) * 2)
    assert len(calls) == 1
    out = g(np.ones(4, np.float32) * 3)
    assert len(calls) == 2 and out.numpy().tolist() == [9.0] * 4


def test_python_arguments_are_part_of_the_key():
    @function
    def h(x, k):
        return x * float(k)

    assert h(np.ones(2, np.float32), 2).numpy().tolist() == [2.0, 2.0]
    assert h(np.ones(2, np.float32), 3).numpy().tolist() == [3.0, 3.0]
    assert h(np.ones(2, np.float32), 2).numpy().tolist() == [2.0, 2.0]
    assert h.experimental_get_tracing_count() == 2


def test_retrace_warning_after_many_traces():
    @function
    def k(x, n):
        return x + float(n)

    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        for n in range(7):
            k(np.zeros(1, np.float32), n)
    assert any(issubclass(w.category, RetracingWarning) for w in rec)


def test_reduce_retracing_relaxes_changed_dims():
    @function(reduce_retracing=True)
    def r(x):
        return x + x

    for n in (2, 3, 4, 5):
        np.testing.assert_allclose(r(np.ones((n, 2), np.float32)).numpy(), np.full((n, 2), 2.0))
    assert r.experimental_get_tracing_count() == 2
    spec = r.get_concrete_function(np.zeros((9, 2), np.float32)).structured_input_signature[0]
    assert spec.shape.as_list() == [None, 2]


def test_nested_outputs_and_python_values():
    @function
    def f(x, y):
        return {"sum": x + y, "pair": (x * y, 7), "none": None}

    out = f(np.float32(2.0), np.float32(3.0))
    assert isinstance(out["sum"], EagerTensor) and float(out["sum"]) == 5.0
    assert float(np.asarray(out["pair"][0])) == 6.0 and out["pair"][1] == 7 and out["none"] is None


def test_variables_bound_by_reference_and_updated_in_place():
    v = Variable(np.array([1.0, 2.0], np.float32))
    counter = Variable(0)

    @function
    def step(x):
        v.assign_add(x)
        counter.assign_add(1)
        return v.read_value() * 2.0

    np.testing.assert_allclose(step(np.ones(2, np.float32)).numpy(), [4.0, 6.0])
    np.testing.assert_allclose(v.numpy(), [2.0, 3.0])
    v.assign(np.array([10.0, 10.0], np.float32))           # current value used at the next call
    np.testing.assert_allclose(step(np.ones(2, np.float32)).numpy(), [22.0, 22.0])
    assert int(counter.numpy()) == 2 and step.experimental_get_tracing_count() == 1


def test_variable_created_in_init_scope_once():
    holder = []

    @function
    def f(x):
        if not holder:
            with init_scope():
                holder.append(Variable(np.float32(3.0)))
        assert inside_function()
        return x * holder[0]

    assert float(f(np.float32(2.0))) == 6.0
    assert not inside_function()
    assert holder[0].numpy() == 3.0


def test_lower_stages_and_compile():
    f = function(lambda x: M.tanh(x) + 1.0)
    lowered = f.lower(TensorSpec([None, 4], dt.float32))
    assert "tanh" in lowered.as_text("traced")
    compiled = lowered.compile()
    for stage in ("optimized", "fused", "kernels", "llvm"):
        assert compiled.as_text(stage)
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_allclose(compiled(x).numpy(), np.tanh(x) + 1.0, rtol=1e-5, atol=1e-6)
    assert f.python_function(np.float32(0.0)) is not None


def test_methods_get_their_own_cache_and_calls_inside_traces_inline():
    class Scale:
        def __init__(self, s):
            self.s = s

        @function
        def apply(self, x):
            return x * self.s

    a, b = Scale(2.0), Scale(3.0)
    assert float(a.apply(np.float32(1.0))) == 2.0 and float(b.apply(np.float32(1.0))) == 3.0

    inner = function(lambda x: x + 1.0)

    @function
    def outer(x):
        return inner(x) * 2.0

    assert float(outer(np.float32(1.0))) == 4.0
    assert inner.experimental_get_tracing_count() == 0      # inlined into outer's trace


def test_funcgraph_rejects_foreign_symbolic_tensors():
    g = FuncGraph("other")
    with g.as_default():
        t = g.placeholder(dt.float32, [2], "p")
    f = function(lambda x: x + t)
    with pytest.raises(ValueError, match="another graph"):
        f(np.zeros(2, np.float32))


def test_tensor_spec_basics():
    s = TensorSpec([None, 3], "float32", name="x")
    assert s.shape.as_list() == [None, 3] and s.dtype == dt.float32 and s.name == "x"
    assert s.is_compatible_with(TensorSpec([5, 3], dt.float32))
    assert not s.is_compatible_with(TensorSpec([5, 4], dt.float32))
    assert s == TensorSpec([None, 3], dt.float32, name="x")
    assert "TensorSpec(shape=(None, 3)" in repr(s)


def test_python_branch_on_tensor_value_falls_back_to_eager_with_a_warning():
    @function
    def relu_sum(x):
        total = M.reduce_sum(x)
        if total > 0:                       # needs AutoGraph in TF; fuseflow runs this signature eagerly
            return total
        return total * 0.0

    with pytest.warns(RuntimeWarning, match="tensor's value in Python control flow"):
        assert float(relu_sum(np.array([1.0, 2.0], np.float32))) == 3.0
    assert float(relu_sum(np.array([-1.0, -2.0], np.float32))) == 0.0
    with pytest.raises(TypeError, match="cannot be traced"):
        relu_sum.get_concrete_function(np.array([1.0, 2.0], np.float32))


def test_python_loop_over_a_tensor_of_unknown_length_falls_back_to_eager():
    import fuseflow as tf

    @function
    def triangle(n):
        s = tf.constant(0)
        for i in tf.range(n):               # AutoGraph makes this a while loop in TF
            s += i
        return s

    with pytest.warns(RuntimeWarning, match="Cannot iterate over a tensor"):
        assert int(triangle(tf.constant(5))) == 10
    assert int(triangle(tf.constant(4))) == 6


def test_repeated_calls_of_arrays_tensors_and_scalars_stay_exact():
    """Calls made of arrays, eager tensors and Python scalars take a shortcut keyed by their
    dtypes, shapes and scalar values: new values, shapes, dtypes and scalars must still be seen."""
    traces = []
    v = Variable(np.float32(1.0))

    @function
    def f(x, scale, y):
        traces.append(1)
        v.assign_add(1.0)
        return {"out": x * scale + M.reduce_sum(y), "v": v.read_value()}

    x = np.ones((2, 2), np.float32)
    y = EagerTensor(np.array([1.0, 2.0], np.float32), dt.float32)
    for i in range(3):
        r = f(x * i, 2.0, y)
        np.testing.assert_allclose(r["out"].numpy(), 2.0 * i + 3.0)
        assert float(r["v"]) == 2.0 + i
    assert len(traces) == 1
    np.testing.assert_allclose(f(x, 3.0, y)["out"].numpy(), 6.0)          # another scalar: a new trace
    np.testing.assert_allclose(f(np.ones((3, 2), np.float32), 2.0, y)["out"].numpy(), np.full((3, 2), 5.0))
    y64 = EagerTensor(np.array([1.0, 2.0]), dt.float64)
    np.testing.assert_allclose(f(np.ones((2, 2)), 2.0, y64)["out"].numpy(), 5.0)   # float64: traced apart
    assert f(np.ones((2, 2)), 2.0, y64)["out"].dtype == dt.float64
    np.testing.assert_allclose(f(np.ones((2, 2), np.float32).T, 2.0, y)["out"].numpy(), 5.0)  # not contiguous
    assert len(traces) == 4
    assert float(v.read_value()) == 9.0


def test_shapes_the_symbolic_program_cannot_take_are_compiled_for_themselves():
    import fuseflow as tf

    @function(input_signature=[TensorSpec([None], dt.float32)])
    def f(v):
        return v[:5], v + tf.constant([1.0, 2.0, 3.0])     # a size-1 v broadcasts, as in TF

    head, total = f(np.arange(3, dtype=np.float32))
    assert head.numpy().tolist() == [0, 1, 2] and total.numpy().tolist() == [1, 3, 5]
    head, total = f(np.array([10.0], np.float32))
    assert head.numpy().tolist() == [10.0] and total.numpy().tolist() == [11, 12, 13]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"add: shapes \[6\], \[3\] are not broadcast-compatible"):
        f(np.arange(6, dtype=np.float32))
    assert f.experimental_get_tracing_count() == 1
