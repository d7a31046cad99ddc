"""TF2 handbook custom Layer / Loss / Metric with tf.zeros_initializer(), trained through fit."""
import numpy as np

import fuseflow as tf


class LinearLayer(tf.keras.layers.Layer):
    def __init__(self, units):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(name="w", shape=[input_shape[-1], self.units], initializer=tf.zeros_initializer())
        self.b = self.add_weight(name="b", shape=[self.units], initializer=tf.zeros_initializer())

    def call(self, inputs):
        return tf.matmul(inputs, self.w) + self.b


class MSE(tf.keras.losses.Loss):
    def call(self, y_true, y_pred):
        return tf.reduce_mean(tf.square(y_pred - y_true))


class CountAccuracy(tf.keras.metrics.Metric):
    def __init__(self):
        super().__init__()
        self.total = self.add_weight(name="total", dtype=tf.int32, initializer=tf.zeros_initializer())
        self.count = self.add_weight(name="count", dtype=tf.int32, initializer=tf.zeros_initializer())

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = tf.cast(tf.equal(y_true, tf.argmax(y_pred, axis=-1, output_type=tf.int32)), tf.int32)
        self.total.assign_add(tf.shape(y_true)[0])
        self.count.assign_add(tf.reduce_sum(values))

    def result(self):
        return self.count / self.total


def test_tf2_initializer_names_and_custom_classes():
    assert float(tf.reduce_sum(tf.ones_initializer()([2, 3]))) == 6.0
    assert tf.constant_initializer(2.0)([2], dtype=tf.float32).numpy().tolist() == [2.0, 2.0]
    model = tf.keras.Sequential([LinearLayer(1)])
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.01), loss=MSE())
    h = model.fit(tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), tf.constant([[10.0], [20.0]]), epochs=2, verbose=0)
    np.testing.assert_allclose(h.history["loss"], [250.0, 2.41], rtol=1e-5)   # numpy transcription of SGD
    m = CountAccuracy()
    m.update_state(tf.constant([1, 0, 2]), tf.constant([[0.1, 0.9, 0.0], [0.2, 0.7, 0.1], [0.0, 0.0, 1.0]]))
    r = m.result()
    assert r.dtype == tf.float64 and abs(float(r) - 2 / 3) < 1e-12
