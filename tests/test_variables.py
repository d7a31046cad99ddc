"""Variables in graph mode: naming, scopes, get_variable sharing, initialization, assignment
ordering (control dependencies, serial assigns), per-session state, in-place updates, control
flow ops, initializers, random op streams, collections and checkpoints."""
import os

import numpy as np
import pytest

import fuseflow
import fuseflow.compat.v1 as tf


@pytest.fixture
def graph():
    with tf.Graph().as_default() as g:
        yield g


# ------------------------------------------------------------------------------ naming and scopes
def test_variable_names(graph):
    names = [tf.Variable(1.0, name="firstval").name, tf.Variable(2.0, name="firstval").name,
             tf.Variable(3.0).name, tf.Variable(3.0).name]
    assert names == ["firstval:0", "firstval_1:0", "Variable:0", "Variable_1:0"]
    with tf.name_scope("a"):
        v = tf.Variable(1.0, name="v")
        w = tf.get_variable("w", [1])
        s = v + 1.0
    assert (v.name, w.name, v.op.name) == ("a/v:0", "w:0", "a/v")
    assert s.name.startswith("a/")


def test_get_variable_sharing_rules(graph):
    with tf.variable_scope("foo"):
        v = tf.get_variable("v", [1], initializer=tf.constant_initializer(1.0))
    with pytest.raises(ValueError, match="already exists, disallowed"):
        with tf.variable_scope("foo"):
            tf.get_variable("v", [1])
    with tf.variable_scope("foo", reuse=True):
        assert tf.get_variable("v", [1]) is v
        assert tf.get_variable_scope().reuse is True
        with tf.variable_scope("bar"):
            assert tf.get_variable_scope().reuse is True
        with pytest.raises(ValueError, match="does not exist"):
            tf.get_variable("missing", [1])
        with pytest.raises(ValueError, match="Trying to share variable foo/v"):
            tf.get_variable("v", [2])
    with tf.variable_scope("foo"):
        assert tf.get_variable_scope().reuse is False
        with tf.variable_scope("bar"):
            v3 = tf.get_variable("v", [1])
    with tf.variable_scope("", reuse=True):
        assert tf.get_variable("foo/bar/v", [1]) is v3
    with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
        a1 = tf.get_variable("x", [2])
    with tf.variable_scope("auto", reuse=tf.AUTO_REUSE):
        assert tf.get_variable("x", [2]) is a1


def test_scope_objects_default_names_and_op_names(graph):
    with tf.variable_scope("test1"):
        with tf.variable_scope("test2") as inner:
            v = tf.get_variable("firstvar", shape=[2])
            op = v * 2.0
    assert inner.name == "test1/test2" and v.name == "test1/test2/firstvar:0"
    assert op.name.startswith("test1/test2/")
    with tf.variable_scope(inner, reuse=True):
        assert tf.get_variable("firstvar", shape=[2]) is v
    with tf.variable_scope(None, default_name="dense"):
        d1 = tf.get_variable("k", [1])
    with tf.variable_scope(None, default_name="dense"):
        d2 = tf.get_variable("k", [1])
    assert (d1.name, d2.name) == ("dense/k:0", "dense_1/k:0")
    with tf.variable_scope("vs"):
        with tf.name_scope("ns"):
            inner_v = tf.get_variable("y", [1])
            inner_op = tf.add(inner_v, 1.0)
    assert inner_v.name == "vs/y:0" and inner_op.name.startswith("vs/ns/")


def test_scope_initializer_regularizer_and_dtype_errors(graph):
    with tf.variable_scope("init", initializer=tf.constant_initializer(0.5),
                           regularizer=lambda w: tf.reduce_sum(w)):
        x = tf.get_variable("x", [2])
        y = tf.get_variable("y", [2], initializer=tf.constant_initializer(-1.0))
        z = tf.get_variable("z", initializer=tf.constant([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="do not specify shape"):
        tf.get_variable("bad", [3], initializer=tf.constant([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="must be fully defined"):
        tf.get_variable("noshape")
    losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    assert len(losses) == 3
    i = tf.get_variable("i", [2], dtype=tf.int32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        xv, yv, zv, lv, iv = sess.run([x, y, z, losses, i])
    assert xv.tolist() == [0.5, 0.5] and yv.tolist() == [-1.0, -1.0] and zv.tolist() == [1.0, 2.0, 3.0]
    assert [float(l) for l in lv] == [1.0, -2.0, 6.0] and iv.tolist() == [0, 0]


# ------------------------------------------------------------------------------ values and state
def test_counter_and_assign_family(graph):
    state = tf.Variable(0, name="counter")
    update = tf.assign(state, state + 1)
    with tf.Session() as sess:
        sess.run(tf.initialize_all_variables())
        seen = [sess.run(state)]
        for _ in range(3):
            sess.run(update)
            seen.append(sess.run(state))
    assert seen == [0, 1, 2, 3]
    v = tf.Variable(tf.constant(1.0, shape=[2]), name="v")
    ops = [tf.assign(v, [5.0, 6.0]), tf.assign_add(v, [1.0, 1.0]), tf.assign_sub(v, [0.5, 2.0]), v.assign(v * 2.0)]
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert [sess.run(o).tolist() for o in ops] == [[5.0, 6.0], [6.0, 7.0], [5.5, 5.0], [11.0, 10.0]]
        op = v.assign_add([1.0, 1.0], read_value=False)
        assert sess.run(op) is None and sess.run(v).tolist() == [12.0, 11.0]


def test_initial_value_and_initialized_value(graph):
    w0 = np.arange(6, dtype=np.float32).reshape(2, 3)
    w = tf.Variable(w0, name="weights")
    w2 = tf.Variable(w.initial_value * 0.5, name="w2")
    with pytest.raises(NotImplementedError):
        w.initialized_value()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert np.array_equal(sess.run(w2), w0 * 0.5)
    assert w.get_shape().as_list() == [2, 3] and w.dtype == tf.float32


def test_uninitialized_reads_and_reports(graph):
    u = tf.Variable(3.0, name="uninit")
    t = tf.Variable(1.0, name="t_var")
    with tf.Session() as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="uninitialized value uninit"):
            sess.run(u)
        with pytest.raises(tf.errors.FailedPreconditionError):
            sess.run(u * 2.0)
        assert sorted(sess.run(tf.report_uninitialized_variables([u, t])).tolist()) == [b"t_var", b"uninit"]
        sess.run(tf.variables_initializer([u]))
        assert sess.run(u) == 3.0
        assert [bool(sess.run(tf.is_variable_initialized(x))) for x in (u, t)] == [True, False]


def test_state_is_per_session_and_load(graph):
    c = tf.Variable(0, name="c")
    inc = tf.assign_add(c, 1)
    s1, s2 = tf.Session(), tf.Session()
    s1.run(c.initializer)
    s2.run(c.initializer)
    s1.run(inc)
    s1.run(inc)
    assert (s1.run(c), s2.run(c)) == (2, 0)
    c.load(41, s2)
    assert s2.run(inc) == 42
    s1.close()
    s2.close()


def test_assign_updates_buffer_in_place_and_fetches_do_not_alias(graph):
    v = tf.Variable(np.zeros(1000, np.float32))
    inc = v.assign_add(np.ones(1000, np.float32))
    with tf.Session() as sess:
        sess.run(v.initializer)
        buf = sess._store.buffer(v)
        r1 = sess.run(inc)
        r2 = sess.run(inc)
        assert sess._store.buffer(v) is buf           # donated: the native code wrote into the buffer
        assert r1[0] == 1.0 and r2[0] == 2.0 and buf[0] == 2.0
        snapshot = sess.run(v)
        sess.run(inc)
        assert snapshot[0] == 2.0


def test_swap_reads_start_values(graph):
    a = tf.Variable(1.0)
    b = tf.Variable(2.0)
    swap = tf.group(a.assign(b), b.assign(a))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(swap)
        assert sess.run([a, b]) == [2.0, 1.0]


def test_other_dtypes(graph):
    i64 = tf.Variable(np.array([1, 2, 3], dtype=np.int64))
    f64 = tf.Variable(np.array([0.5]))
    with tf.Session() as sess:
        sess.run(tf.variables_initializer([i64, f64]))
        assert sess.run(i64 * 2).tolist() == [2, 4, 6]
        assert sess.run(f64 + 0.25).tolist() == [0.75]
    assert (i64.dtype.base_dtype.name, f64.dtype.name) == ("int64", "float64")


def test_collections(graph):
    t = tf.Variable(1.0, name="t")
    nt = tf.Variable(2.0, trainable=False, name="nt")
    loc = tf.Variable(3.0, collections=[tf.GraphKeys.LOCAL_VARIABLES], name="loc", trainable=False)
    assert tf.trainable_variables() == [t] and tf.global_variables() == [t, nt]
    assert tf.local_variables() == [loc]
    tf.add_to_collection("losses", tf.constant(1.0, name="l1"))
    tf.add_to_collections(["losses", "other"], tf.constant(2.0, name="l2"))
    assert len(tf.get_collection("losses")) == 2 and len(tf.get_collection_ref("other")) == 1
    with tf.variable_scope("hidden1"):
        h1 = tf.get_variable("k", [1])
    with tf.variable_scope("hidden2"):
        tf.get_variable("k", [1])
    assert tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES, scope="hidden[1]") == [h1]
    with tf.Session() as sess:
        sess.run(tf.local_variables_initializer())
        assert sess.run(loc) == 3.0


# ------------------------------------------------------------------------------ ordering
def test_reads_after_assign_dependencies(graph):
    x = tf.Variable(0.0)
    inc = tf.assign_add(x, 1.0)
    with tf.control_dependencies([inc]):
        y = tf.identity(x)
        z = x + 10.0
    free = x * 1.0
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert [sess.run(y) for _ in range(3)] == [1.0, 2.0, 3.0]
        assert sess.run(z) == 14.0
        assert sess.run([free, inc]) == [4.0, 5.0]      # an unordered read sees the start value


def test_serial_assigns_and_cleared_dependencies(graph):
    c = tf.Variable(0)
    i1 = tf.assign_add(c, 1)
    i2 = tf.assign_add(c, 100)
    with tf.control_dependencies([i1]):
        with tf.control_dependencies([i2]):
            r = tf.identity(c)
        with tf.control_dependencies(None):
            free = tf.constant(5)
    assert len(free.op.control_inputs) == 0
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(r) == 101


def test_group_no_op_tuple_with_dependencies(graph):
    a = tf.Variable(1.0)
    b = tf.Variable(10.0)
    grp = tf.group(tf.assign_add(a, 1.0), tf.assign_sub(b, 1.0), name="grp")
    train = tf.no_op(name="train")
    assert (grp.name, grp.type, train.type) == ("grp", "NoOp", "NoOp")
    inc = tf.assign_add(a, 5.0)
    gated = tf.tuple([tf.constant(2.0), tf.constant(1.0)], control_inputs=[inc])
    after = tf.with_dependencies([b.assign_add(1.0)], tf.constant(7.0))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(train) is None
        sess.run(grp)
        sess.run(grp)
        assert sess.run([a, b]) == [3.0, 8.0]
        assert sess.run(gated) == [2.0, 1.0] and sess.run(a) == 8.0   # the gate ran inc
        assert sess.run(after) == 7.0 and sess.run(b) == 9.0


def test_cond(graph):
    x = tf.placeholder(tf.float32, shape=[])
    out = tf.cond(x > 0.0, lambda: x * 2.0, lambda: x - 1.0)
    assert tf.cond(True, lambda: 1, lambda: 2) == 1
    v = tf.Variable(0.0)
    # assignments in runtime branches take effect only for the branch taken
    picked = tf.cond(x > 0.0, lambda: v.assign(1.0), lambda: v.assign_add(2.0))
    q = tf.FIFOQueue(2, tf.float32)
    with pytest.raises(NotImplementedError, match="side effects"):
        tf.cond(x > 0.0, lambda: q.enqueue(1.0), lambda: tf.no_op())
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(out, {x: 3.0}) == 6.0
        assert sess.run(out, {x: -3.0}) == -4.0
        assert sess.run(picked, {x: -1.0}) == 2.0 and sess.run(v) == 2.0
        assert sess.run(picked, {x: 1.0}) == 1.0 and sess.run(v) == 1.0
        assert sess.run(picked, {x: -1.0}) == 3.0


# ------------------------------------------------------------------------------ initializers, random
def test_initializers(graph):
    shapes = {"z": tf.zeros_initializer(), "o": tf.ones_initializer(), "c": tf.constant_initializer([1.0, 2.0]),
              "g": tf.glorot_uniform_initializer(seed=1), "n": tf.truncated_normal_initializer(stddev=0.1, seed=2),
              "u": tf.random_uniform_initializer(-1.0, 1.0, seed=3),
              "h": tf.variance_scaling_initializer(2.0, seed=4), "rn": tf.random_normal_initializer(seed=5)}
    vs = {k: tf.get_variable(k, [64, 32] if k != "c" else [3], initializer=init) for k, init in shapes.items()}
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        got = sess.run(vs)
    assert got["z"].sum() == 0 and got["o"].sum() == 64 * 32
    assert got["c"].tolist() == [1.0, 2.0, 2.0]
    limit = np.sqrt(6.0 / (64 + 32))
    assert np.abs(got["g"]).max() <= limit and np.abs(got["g"]).max() > 0.8 * limit
    assert np.abs(got["n"]).max() <= 0.2 + 1e-6
    assert got["u"].min() >= -1.0 and got["u"].max() < 1.0
    assert 0.5 < got["rn"].std() < 1.5


def test_random_ops_fresh_and_reproducible():
    def draw():
        with tf.Graph().as_default():
            tf.set_random_seed(1234)
            a = tf.random_normal([4], seed=1)
            with tf.Session() as sess:
                return sess.run(a), sess.run(a)
    (a1, a2), (b1, b2) = draw(), draw()
    assert np.array_equal(a1, b1) and np.array_equal(a2, b2) and not np.array_equal(a1, a2)


# ------------------------------------------------------------------------------ eager variables
def test_eager_variables():
    v = fuseflow.Variable([1.0, 2.0])
    assert v.numpy().tolist() == [1.0, 2.0] and v.name == "Variable:0"
    v.assign_add([1.0, 1.0])
    v.assign_sub([0.5, 0.5])
    assert v.read_value().numpy().tolist() == [1.5, 2.5]
    t = v * 2.0
    assert t.numpy().tolist() == [3.0, 5.0]
    v.assign([0.0, 0.0])
    assert t.numpy().tolist() == [3.0, 5.0]      # earlier reads do not alias the buffer
    with pytest.raises(ValueError, match="Shape mismatch"):
        v.assign([1.0])


# ------------------------------------------------------------------------------ checkpoints
def test_saver_roundtrip(graph, tmp_path):
    w = tf.Variable(np.arange(4, dtype=np.float32), name="w")
    step = tf.Variable(0, name="step", trainable=False)
    inc = tf.assign_add(step, 1)
    saver = tf.train.Saver(max_to_keep=2)
    prefix = os.path.join(str(tmp_path), "model.ckpt")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        paths = []
        for _ in range(3):
            sess.run(inc)
            paths.append(saver.save(sess, prefix, global_step=step))
    assert paths[-1] == prefix + "-3"
    assert tf.train.latest_checkpoint(str(tmp_path)) == paths[-1]
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert state.all_model_checkpoint_paths == paths[1:]
    assert not os.path.exists(paths[0] + ".index")
    assert dict(tf.train.list_variables(str(tmp_path))) == {"step": [], "w": [4]}
    with tf.Session() as sess:
        saver.restore(sess, paths[1])
        assert sess.run(step) == 2 and sess.run(w).tolist() == [0.0, 1.0, 2.0, 3.0]
    with tf.Session() as sess:
        with pytest.raises(tf.errors.NotFoundError):
            tf.train.Saver({"nope": w}).restore(sess, paths[1])


def test_make_template_shares_variables(graph):
    def scale(x):
        return tf.get_variable("w", [1], initializer=tf.ones_initializer()) * x
    t = tf.make_template("scale", scale)
    a, b = t(tf.constant([2.0])), t(tf.constant([3.0]))
    assert [v.name for v in tf.global_variables()] == ["scale/w:0"]
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert [r.tolist() for r in sess.run([a, b])] == [[2.0], [3.0]]


def test_scatter_ops_and_count_up_to(graph):
    v = tf.Variable(np.zeros((4, 2), np.float32))
    add = tf.scatter_add(v, [0, 0, 2], np.ones((3, 2), np.float32))
    upd = tf.scatter_update(v, [1], [[5.0, 6.0]])
    sub = tf.scatter_sub(v, 3, [1.0, 1.0])
    c = tf.Variable(0, name="c")
    up = c.count_up_to(2)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(add)
        sess.run(upd)
        assert sess.run(sub).tolist() == [[2.0, 2.0], [5.0, 6.0], [1.0, 1.0], [-1.0, -1.0]]
        assert [sess.run(up), sess.run(up)] == [0, 1]
        with pytest.raises(tf.errors.OutOfRangeError):
            sess.run(up)


def test_while_loop_unrolls_static_trip_counts(graph):
    x = tf.placeholder(tf.float32, [None])
    i, y = tf.while_loop(lambda i, y: i < 5, lambda i, y: (i + 1, y * 2.0), [tf.constant(0), x])
    w = tf.Variable(1.0)
    _, z = tf.while_loop(lambda k, z: tf.less(k, 3), lambda k, z: [k + 1, z + w], (tf.constant(0), tf.constant(0.0)))
    dz = tf.gradients(z, w)[0]
    capped = tf.while_loop(lambda a: a < 100, lambda a: a * 2, [tf.constant(1)], maximum_iterations=3)
    with pytest.raises(NotImplementedError, match="only known when the graph runs"):
        tf.while_loop(lambda v: tf.reduce_sum(v) < 10.0, lambda v: v * 2.0, [x])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        iv, yv, zv, dv, cv = sess.run([i, y, z, dz, capped], {x: [1.0, 3.0]})
    assert iv == 5 and yv.tolist() == [32.0, 96.0] and zv == 3.0 and dv == 3.0 and cv == 8


def test_while_loop_eager():
    import fuseflow
    out = fuseflow.while_loop(lambda a, b: a < 4, lambda a, b: (a + 1, b * 2), [fuseflow.constant(0), fuseflow.constant(1)])
    assert [int(t.numpy()) for t in out] == [4, 16]


def test_tf1_initializers_do_not_depend_on_import_order():
    """`tf.initializers` (TF2: Keras') once shadowed the TF1 initializer module when the TF2
    namespace loaded first: constant_initializer then stopped padding with its last value."""
    import subprocess
    import sys
    code = ("import fuseflow as tf2; tf2.constant(1.0); tf2.initializers\n"
            "import fuseflow.compat.v1 as tf\n"
            "tf.disable_eager_execution()\n"
            "v = tf.get_variable('c', [3], initializer=tf.constant_initializer([1.0, 2.0]))\n"
            "s = tf.Session(); s.run(tf.global_variables_initializer()); print(s.run(v).tolist())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[1.0, 2.0, 2.0]"
