"""A small MLP training step (784 -> 128 -> 10, softmax cross-entropy, SGD), the running
example of the dump tool:

    fuseflow dump examples/mlp.py:train_step                   # the fused graph
    fuseflow dump examples/mlp.py:train_step --stage kernels   # what each native kernel does
    fuseflow dump examples/mlp.py:train_step --out dumps/      # every stage, one file each
    fuseflow dump examples/mlp.py:train_step --profile
    fuseflow dump examples/mlp.py:train_step --compare-reference

`train_step(x, y)` is one compiled native call: forward, backward (GradientTape) and the
in-place SGD update of the variables. Importing this module has no side effects: the model's
variables are created on first use, and the example inputs only when asked for
(`train_step_example_args()`, the dump tool's convention). `python examples/mlp.py` trains
for a few steps on random data.
"""
from __future__ import annotations

import numpy as np

import fuseflow as tf

BATCH, IN, HIDDEN, OUT = 256, 784, 128, 10
LEARNING_RATE = 0.1


class MLP:
    """Two dense layers; He-initialized weights, zero biases."""

    def __init__(self, seed: int = 0):
        rng = np.random.default_rng(seed)
        with tf.init_scope():  # plain (eager) variables even when first used inside a trace
            self.w1 = tf.Variable((rng.standard_normal((IN, HIDDEN)) * np.sqrt(2 / IN)).astype(np.float32),
                                  name="w1")
            self.b1 = tf.Variable(np.zeros(HIDDEN, np.float32), name="b1")
            self.w2 = tf.Variable((rng.standard_normal((HIDDEN, OUT)) * np.sqrt(2 / HIDDEN)).astype(np.float32),
                                  name="w2")
            self.b2 = tf.Variable(np.zeros(OUT, np.float32), name="b2")

    @property
    def variables(self) -> list:
        return [self.w1, self.b1, self.w2, self.b2]

    def __call__(self, x):
        with tf.name_scope("dense1"):
            h = tf.nn.relu(tf.matmul(x, self.w1) + self.b1)
        with tf.name_scope("dense2"):
            return tf.matmul(h, self.w2) + self.b2


_model = None


def model() -> MLP:
    global _model
    if _model is None:
        _model = MLP()
    return _model


@tf.function
def train_step(x, y):
    """One SGD step on a batch (x: f32[BATCH, IN], y: one-hot f32[BATCH, OUT]); returns the loss."""
    net = model()
    with tf.GradientTape() as tape:
        logits = net(x)
        with tf.name_scope("loss"):
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))
    grads = tape.gradient(loss, net.variables)
    with tf.name_scope("sgd"):
        for var, grad in zip(net.variables, grads):
            var.assign_sub(LEARNING_RATE * grad)
    return loss


def train_step_example_args(seed: int = 1) -> tuple:
    """A random batch: inputs and one-hot labels."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, IN)).astype(np.float32)
    y = np.eye(OUT, dtype=np.float32)[rng.integers(0, OUT, BATCH)]
    return x, y


if __name__ == "__main__":
    batch = train_step_example_args()
    for step in range(10):
        print(f"step {step}: loss {float(np.asarray(train_step(*batch))):.4f}")
