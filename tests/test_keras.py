"""tf.keras subset: layers, models (Sequential, subclassed, functional), losses, metrics,
initializers and compile/fit with compiled training steps."""
import numpy as np
import pytest

import fuseflow as tf
from fuseflow import keras

layers = keras.layers
RS = np.random.RandomState(0)
X4 = RS.uniform(-1, 1, (4, 6)).astype(np.float32)


def _np(t):
    return np.asarray(t)


# ------------------------------------------------------------------------------ Dense and weights

def test_dense_builds_on_first_call_and_exposes_weights():
    d = layers.Dense(3, activation="relu")
    assert not d.built and d.weights == []
    y = d(X4)
    assert d.built and y.shape.as_list() == [4, 3]
    assert d.kernel.shape.as_list() == [6, 3] and d.bias.shape.as_list() == [3]
    assert len(d.trainable_variables) == 2 and d.non_trainable_variables == [] and len(d.variables) == 2
    w = RS.uniform(-1, 1, (6, 3)).astype(np.float32)
    b = np.array([0.1, -0.2, 0.3], np.float32)
    d.set_weights([w, b])
    np.testing.assert_allclose(_np(d(X4)), np.maximum(X4 @ w + b, 0), rtol=1e-5, atol=1e-6)
    assert [x.shape for x in d.get_weights()] == [(6, 3), (3,)]
    with pytest.raises(ValueError):
        d.set_weights([w])


def test_dense_initializers_and_options():
    d = layers.Dense(2, use_bias=False, kernel_initializer=keras.initializers.Constant(0.5))
    np.testing.assert_allclose(_np(d(X4)), np.repeat(X4.sum(1, keepdims=True) * 0.5, 2, 1), rtol=1e-5)
    assert d.bias is None and len(d.weights) == 1
    ones = layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros", activation="sigmoid")
    np.testing.assert_allclose(_np(ones(X4)), 1 / (1 + np.exp(-X4.sum(1, keepdims=True).repeat(2, 1))), rtol=1e-5)
    fixed = layers.Dense(2, kernel_initializer=lambda shape, dtype=None: tf.constant(np.full(shape, 2.0, np.float32)))
    np.testing.assert_allclose(_np(fixed(X4)), np.repeat(X4.sum(1, keepdims=True) * 2, 2, 1), rtol=1e-5)


def test_layer_names_and_trainable_flag():
    keras.backend.clear_session()
    a, b = layers.Dense(1), layers.Dense(1)
    assert (a.name, b.name) == ("dense", "dense_1")
    assert layers.Conv2D(1, 1).name == "conv2d" and layers.MaxPooling2D().name == "max_pooling2d"
    a(X4)
    a.trainable = False
    assert a.trainable_weights == [] and len(a.non_trainable_weights) == 2


def test_activation_layers():
    z = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]], np.float32)
    np.testing.assert_allclose(_np(layers.LeakyReLU()(z)), np.where(z > 0, z, 0.3 * z), rtol=1e-6)
    np.testing.assert_allclose(_np(layers.LeakyReLU(0.1)(z)), np.where(z > 0, z, 0.1 * z), rtol=1e-6)
    np.testing.assert_allclose(_np(layers.ReLU(max_value=1.0)(z)), np.clip(z, 0, 1), rtol=1e-6)
    e = np.exp(z - z.max())
    np.testing.assert_allclose(_np(layers.Softmax()(z)), e / e.sum(), rtol=1e-5)
    np.testing.assert_allclose(_np(layers.Activation("tanh")(z)), np.tanh(z), rtol=1e-5, atol=1e-6)
    assert keras.activations.get(None)(1.0) == 1.0
    with pytest.raises(ValueError):
        keras.activations.get("nope")


# ------------------------------------------------------------------------------ conv / pooling / BN

def test_conv_and_pooling_layers():
    x = RS.uniform(-1, 1, (2, 5, 5, 3)).astype(np.float32)
    conv = layers.Conv2D(4, 3, padding="same")
    assert conv(x).shape.as_list() == [2, 5, 5, 4] and conv.kernel.shape.as_list() == [3, 3, 3, 4]
    assert layers.Conv2D(2, (3, 1), strides=(2, 1))(x).shape.as_list() == [2, 2, 5, 2]
    assert layers.Conv2D(1, 3, dilation_rate=2)(x).shape.as_list() == [2, 1, 1, 1]
    ones = layers.Conv2D(1, 2, kernel_initializer="ones", use_bias=False)(x)
    expect = sum(x[:, i:i + 4, j:j + 4, :].sum(-1) for i in range(2) for j in range(2))
    np.testing.assert_allclose(_np(ones)[..., 0], expect, rtol=1e-5, atol=1e-5)
    assert layers.Conv2DTranspose(2, 3, strides=2, padding="same")(x).shape.as_list() == [2, 10, 10, 2]
    assert layers.Conv2DTranspose(1, 3)(x).shape.as_list() == [2, 7, 7, 1]
    p = np.arange(32, dtype=np.float32).reshape(1, 4, 4, 2)
    np.testing.assert_allclose(_np(layers.MaxPool2D(2)(p))[0, :, :, 0], [[10, 14], [26, 30]])
    np.testing.assert_allclose(_np(layers.AveragePooling2D(2)(p))[0, :, :, 1], [[6, 10], [22, 26]])
    assert layers.MaxPool2D(2, padding="SAME")(p[:, :3, :3]).shape.as_list() == [1, 2, 2, 2]
    np.testing.assert_allclose(_np(layers.GlobalAveragePooling2D()(p)), [[15.0, 16.0]])
    assert layers.Flatten()(p).shape.as_list() == [1, 32]
    sep = layers.SeparableConv2D(4, 3, padding="same")
    sep.build((None, 5, 5, 3))
    assert sep.count_params() == 27 + 12 + 4


def test_batch_normalization_training_and_moving_stats():
    x = RS.normal(2.0, 3.0, (50, 3)).astype(np.float32)
    bn = layers.BatchNormalization()
    np.testing.assert_allclose(_np(bn(x, training=False)), x / np.sqrt(1 + 1e-3), rtol=1e-5, atol=1e-5)
    assert len(bn.trainable_variables) == 2 and len(bn.non_trainable_variables) == 2
    y = _np(bn(x, training=True))
    mean, var = x.mean(0), x.var(0)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * mean, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.99 + 0.01 * var, rtol=1e-4)
    bn0 = layers.BatchNormalization(momentum=0.0)
    bn0(x, training=True)
    np.testing.assert_allclose(bn0.moving_mean.numpy(), mean, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------ models

def test_sequential_build_count_params_and_summary():
    m = keras.Sequential([layers.Dense(5, activation="relu"), layers.Dense(2)])
    with pytest.raises(ValueError):
        m.count_params()
    m.build((None, 6))
    assert m.count_params() == 6 * 5 + 5 + 5 * 2 + 2 and len(m.layers) == 2
    assert m(X4).shape.as_list() == [4, 2]
    lines = []
    m.summary(print_fn=lines.append)
    assert "Total params: 47" in lines[0] and "(None, 5)" in lines[0]
    m2 = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(3)])
    assert m2.built and m2.count_params() == 21


def test_subclassed_model_tracks_layers():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.blocks = [layers.Dense(4, activation="tanh"), layers.Dense(4)]
            self.head = layers.Dense(1)

        def call(self, inputs, training=None):
            x = inputs
            for blk in self.blocks:
                x = blk(x)
            return self.head(x)

    net = Net()
    net.build((None, 6))
    out = net(X4)
    assert out.shape.as_list() == [4, 1]
    assert len(net.trainable_variables) == 6 and net.count_params() == 28 + 20 + 5
    assert [l.name for l in net.layers][-1] == net.head.name


def test_functional_model():
    inp = keras.Input(shape=(6,))
    h = layers.Dense(4, activation="relu", kernel_initializer="ones")(inp)
    out = layers.Dense(2, kernel_initializer="ones")(h)
    model = keras.Model(inputs=inp, outputs=out)
    assert isinstance(model.layers[0], layers.InputLayer) and len(model.layers) == 3
    assert out.shape.as_list() == [None, 2]
    expect = np.maximum(X4.sum(1, keepdims=True), 0) * 4
    np.testing.assert_allclose(_np(model(X4)), np.repeat(expect, 2, 1), rtol=1e-5)
    assert model.count_params() == 28 + 10


# ------------------------------------------------------------------------------ losses / metrics

def test_losses_match_keras_formulas():
    y_true = np.array([[0, 1, 0], [1, 0, 0]], np.float32)
    logits = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]], np.float32)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    cce = -(y_true * np.log(p)).sum(1).mean()
    np.testing.assert_allclose(float(keras.losses.CategoricalCrossentropy(from_logits=True)(y_true, logits)), cce, rtol=1e-5)
    np.testing.assert_allclose(float(keras.losses.CategoricalCrossentropy()(y_true, p)), cce, rtol=1e-5)
    np.testing.assert_allclose(float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        np.array([1, 0]), logits)), cce, rtol=1e-5)
    probs = keras.activations.softmax(tf.constant(logits))        # remembers its logits (Keras 3)
    np.testing.assert_allclose(float(keras.losses.CategoricalCrossentropy()(y_true, probs)), cce, rtol=1e-5)
    np.testing.assert_allclose(_np(keras.losses.MSE(y_true, logits)), ((y_true - logits) ** 2).mean(1), rtol=1e-6)
    np.testing.assert_allclose(float(keras.losses.MeanSquaredError()(y_true, logits)), ((y_true - logits) ** 2).mean(),
                               rtol=1e-6)
    yb = np.array([[1.0], [0.0]], np.float32)
    pb = np.array([[0.8], [0.3]], np.float32)
    bce = -(yb * np.log(pb) + (1 - yb) * np.log(1 - pb)).mean()
    np.testing.assert_allclose(float(keras.losses.BinaryCrossentropy()(yb, pb)), bce, rtol=1e-5)
    sw = np.array([1.0, 0.0], np.float32)
    np.testing.assert_allclose(float(keras.losses.MeanSquaredError()(y_true, logits, sample_weight=sw)),
                               ((y_true - logits) ** 2).mean(1)[0] / 2, rtol=1e-6)


def test_metrics_accumulate_and_reset():
    m = keras.metrics.SparseCategoricalAccuracy()
    m.update_state(np.array([1, 0, 2]), np.array([[0.1, 0.9, 0], [0.8, 0.1, 0.1], [0.5, 0.4, 0.1]], np.float32))
    assert float(m.result()) == pytest.approx(2 / 3)
    m.update_state(np.array([[2]]), np.array([[0, 0, 1]], np.float32))
    assert float(m.result()) == pytest.approx(3 / 4)
    m.reset_state()
    assert float(m.result()) == 0.0
    c = keras.metrics.CategoricalAccuracy()
    c.update_state(np.eye(3, dtype=np.float32), np.eye(3, dtype=np.float32)[[0, 2, 2]])
    assert float(c.result()) == pytest.approx(2 / 3)
    mean = keras.metrics.Mean()
    mean.update_state(2.0)
    mean.update_state(4.0, sample_weight=3.0)
    assert float(mean.result()) == pytest.approx(3.5)
    assert float(keras.metrics.Accuracy()(np.array([1, 2, 3]), np.array([1, 2, 0]))) == pytest.approx(2 / 3)


def test_initializers():
    a = keras.initializers.GlorotUniform(seed=3)((40, 60))
    b = keras.initializers.GlorotUniform(seed=3)((40, 60))
    np.testing.assert_array_equal(_np(a), _np(b))
    limit = np.sqrt(6 / 100)
    assert np.abs(_np(a)).max() <= limit and np.abs(_np(a)).max() > 0.9 * limit
    he = _np(keras.initializers.HeNormal(seed=1)((400, 300)))
    assert abs(he.std() - np.sqrt(2 / 400)) < 0.1 * np.sqrt(2 / 400)
    tn = _np(keras.initializers.TruncatedNormal(stddev=1.0, seed=0)((1000,)))
    assert np.abs(tn).max() <= 2.0
    assert _np(keras.initializers.get("zeros")((2,))).tolist() == [0.0, 0.0]
    assert _np(keras.initializers.Ones()((2,), dtype="float64")).dtype == np.float64


# ------------------------------------------------------------------------------ compile / fit

def _make_model(seed_base):
    return keras.Sequential([
        layers.Dense(8, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed=seed_base)),
        layers.Dense(3, kernel_initializer=keras.initializers.GlorotUniform(seed=seed_base + 1)),
    ])


def test_fit_compiled_step_matches_eager_and_traces_once():
    rs = np.random.RandomState(1)
    x = rs.randn(70, 4).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0).astype(np.int64)
    results = {}
    for eager in (True, False):
        model = _make_model(5)
        model.compile(optimizer=keras.optimizers.SGD(0.1),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"], run_eagerly=eager)
        hist = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
        results[eager] = (hist.history, model.get_weights())
        if not eager:
            step = model.train_function.compiled
            assert step.experimental_get_tracing_count() == 1          # batches of 32, 32 and 6
            concrete = step.get_concrete_function()
            assert concrete._symbolic is not None and not concrete._by_shape
            assert isinstance(model.metrics[1], keras.metrics.SparseCategoricalAccuracy)
            loss, acc = model.evaluate(x, y, verbose=0)
            assert 0.0 <= acc <= 1.0 and loss > 0
            assert model.predict(x[:5], verbose=0).shape == (5, 3)
    (h_eager, w_eager), (h_comp, w_comp) = results[True], results[False]
    assert set(h_comp) == {"loss", "accuracy"}
    np.testing.assert_allclose(h_comp["loss"], h_eager["loss"], rtol=1e-5)
    np.testing.assert_allclose(h_comp["accuracy"], h_eager["accuracy"])
    for a, b in zip(w_comp, w_eager):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fit_on_dataset_with_validation_and_callbacks():
    rs = np.random.RandomState(2)
    x = rs.randn(40, 4).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5], [0.0]], np.float32)
    model = keras.Sequential([layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    seen = []
    cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(10)
    hist = model.fit(ds, epochs=3, validation_data=(x, y), callbacks=[cb], verbose=0)
    assert seen == [0, 1, 2] and set(hist.history) == {"loss", "val_loss"}
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert float(model.evaluate(x, y, verbose=0)) == pytest.approx(hist.history["val_loss"][-1], rel=1e-5)


def test_early_stopping_and_tensorboard_callback(tmp_path):
    import glob
    x = np.linspace(-1, 1, 16, dtype=np.float32)[:, None]
    model = keras.Sequential([layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")       # lr 0: the loss never improves
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=1)
    board = keras.callbacks.TensorBoard(log_dir=str(tmp_path))
    # shuffle=False: with shuffling, the epoch mean of the same batch losses is summed in a different
    # order each epoch and can "improve" by one ulp (Keras behaves the same way)
    hist = model.fit(x, 2 * x, epochs=10, batch_size=8, callbacks=[stop, board], verbose=0, shuffle=False)
    assert len(hist.history["loss"]) == 2 and stop.stopped_epoch == 1
    assert glob.glob(str(tmp_path / "train" / "events.out.tfevents.*"))


def test_save_and_load_weights(tmp_path):
    a = keras.Sequential([layers.Dense(3)])
    a.build((None, 6))
    b = keras.Sequential([layers.Dense(3)])
    b.build((None, 6))
    path = str(tmp_path / "w.weights.h5")
    a.save_weights(path)
    b.load_weights(path)
    np.testing.assert_allclose(_np(b(X4)), _np(a(X4)), rtol=1e-6)


def test_recurrent_layers_match_keras_formulas():
    rs = np.random.RandomState(3)
    x = rs.randn(2, 4, 3).astype(np.float32)

    def sig(v):
        return 1 / (1 + np.exp(-v))

    lstm = layers.LSTM(5, return_sequences=True, return_state=True)
    seq, h, c = lstm(x)
    w, u, b = lstm.get_weights()
    assert b[5:10].tolist() == [1.0] * 5                              # unit_forget_bias
    hh = cc = np.zeros((2, 5))
    outs = []
    for t in range(4):
        i, f, g, o = np.split(x[:, t] @ w + hh @ u + b, 4, -1)
        cc = sig(f) * cc + sig(i) * np.tanh(g)
        hh = sig(o) * np.tanh(cc)
        outs.append(hh)
    np.testing.assert_allclose(_np(seq), np.stack(outs, 1), atol=1e-5)
    np.testing.assert_allclose(_np(c), cc, atol=1e-5)
    gru = layers.GRU(5)
    y = gru(x)
    w, u, b = gru.get_weights()
    assert b.shape == (2, 15)                                          # reset_after=True
    hh = np.zeros((2, 5))
    for t in range(4):
        xz, xr, xh = np.split(x[:, t] @ w + b[0], 3, -1)
        rz, rr, rh = np.split(hh @ u + b[1], 3, -1)
        z, r = sig(xz + rz), sig(xr + rr)
        hh = z * hh + (1 - z) * np.tanh(xh + r * rh)
    np.testing.assert_allclose(_np(y), hh, atol=1e-5)
    cell = layers.SimpleRNNCell(6)
    out, state = cell(x[:, 0], [tf.zeros([2, 6])])
    assert out.shape.as_list() == [2, 6] and state[0] is out
    model = keras.Sequential([layers.Embedding(20, 8), layers.LSTM(6), layers.Dense(1)])
    model.build((None, 7))
    assert model.count_params() == 160 + 4 * 6 * (8 + 6 + 1) + 7


def test_functional_operators_and_multiple_inputs():
    a, b = keras.Input(shape=(4,)), keras.Input(shape=(4,))
    h = layers.Dense(3, kernel_initializer="ones")(a)
    out = (h * 2.0 + layers.Dense(3, kernel_initializer="ones")(b))[:, :2]
    model = keras.Model(inputs=[a, b], outputs=out)
    assert out.shape.as_list() == [None, 2]
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(_np(model([x, x])), np.full((2, 2), 12.0))
    model.compile(optimizer="sgd", loss="mse")
    hist = model.fit([x, x], np.zeros((2, 2), np.float32), epochs=1, verbose=0)
    assert hist.history["loss"] == [pytest.approx(144.0)]


def test_fit_class_weight_equals_sample_weight():
    x = np.linspace(-1, 1, 8, dtype=np.float32)[:, None]
    y = (np.arange(8) % 2).astype(np.int64)
    runs = []
    for kw in ({"class_weight": {0: 1.0, 1: 3.0}}, {"sample_weight": np.where(y == 1, 3.0, 1.0).astype(np.float32)}):
        model = keras.Sequential([layers.Dense(2, kernel_initializer="ones")])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True))
        runs.append(model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, **kw).history["loss"])
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-6)


def test_reshaping_layers():
    x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
    up = _np(layers.UpSampling2D(2)(x))
    assert up.shape == (1, 4, 4, 2) and up[0, :, :, 0].tolist()[1] == [0.0, 0.0, 2.0, 2.0]
    assert layers.ZeroPadding2D(1)(x).shape.as_list() == [1, 4, 4, 2]
    assert layers.Cropping2D(((1, 0), (0, 1)))(x).shape.as_list() == [1, 1, 1, 2]
    np.testing.assert_allclose(_np(layers.Rescaling(0.5, offset=1.0)(x)), x * 0.5 + 1.0)
    assert layers.RepeatVector(3)(np.ones((2, 4), np.float32)).shape.as_list() == [2, 3, 4]
    model = keras.Sequential([layers.ZeroPadding2D(1), layers.UpSampling2D(2), layers.Cropping2D(1)])
    model.build((None, 2, 2, 2))
    assert model.layers[-1].output_shape == (None, 6, 6, 2) and model(x).shape.as_list() == [1, 6, 6, 2]
