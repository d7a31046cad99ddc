"""`tf.keras.datasets`: the Keras loaders, reading only Keras' local cache (~/.keras/datasets, or
$KERAS_HOME/datasets). fuseflow never downloads: a data set that is not cached raises the error
Keras raises when its download fails, naming the file to place there."""
from __future__ import annotations

import gzip
import os
import pickle
import types

import numpy as np

_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


class DatasetNotCachedError(ConnectionError):
    """Keras' get_file raises a plain Exception when the download fails; this is one."""


def _cache_dir() -> str:
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "datasets")


def _cached(fname: str, origin: str) -> str:
    path = os.path.join(_cache_dir(), fname)
    if not os.path.exists(path):
        raise DatasetNotCachedError(
            f"URL fetch failure on {origin}: fuseflow does not download data sets. Place the file at {path} "
            f"(Keras' cache) to load it offline.")
    return path


def _npz_loader(default_name):
    def load_data(path=default_name):
        local = _cached(path, _ORIGIN + default_name)
        with np.load(local, allow_pickle=True) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    return load_data


def _fashion_mnist_load_data():
    origin = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
    parts = []
    for name, offset in (("train-labels-idx1-ubyte.gz", 8), ("train-images-idx3-ubyte.gz", 16),
                         ("t10k-labels-idx1-ubyte.gz", 8), ("t10k-images-idx3-ubyte.gz", 16)):
        with gzip.open(_cached(os.path.join("fashion-mnist", name), origin + name), "rb") as f:
            parts.append(np.frombuffer(f.read(), np.uint8, offset=offset))
    y_train, x_train, y_test, x_test = parts
    return (x_train.reshape(len(y_train), 28, 28), y_train), (x_test.reshape(len(y_test), 28, 28), y_test)


def _cifar_batch(path, label_key):
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")
    d = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in d.items()}
    return d["data"].reshape(-1, 3, 32, 32), np.asarray(d[label_key])


def _cifar10_load_data():
    root = _cached("cifar-10-batches-py", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")
    xs, ys = zip(*[_cifar_batch(os.path.join(root, f"data_batch_{i}"), "labels") for i in range(1, 6)])
    x_test, y_test = _cifar_batch(os.path.join(root, "test_batch"), "labels")
    x_train = np.concatenate(xs).transpose(0, 2, 3, 1)
    y_train = np.concatenate(ys).reshape(-1, 1).astype(np.uint8)
    return (x_train, y_train), (x_test.transpose(0, 2, 3, 1), y_test.reshape(-1, 1).astype(np.uint8))


def _cifar100_load_data(label_mode="fine"):
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'`label_mode` must be one of `"fine"`, `"coarse"`. Received: label_mode={label_mode}.')
    root = _cached("cifar-100-python", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz")
    key = label_mode + "_labels"
    x_train, y_train = _cifar_batch(os.path.join(root, "train"), key)
    x_test, y_test = _cifar_batch(os.path.join(root, "test"), key)
    return ((x_train.transpose(0, 2, 3, 1), y_train.reshape(-1, 1).astype(np.int64)),
            (x_test.transpose(0, 2, 3, 1), y_test.reshape(-1, 1).astype(np.int64)))


def _module(name, **fns):
    m = types.ModuleType(f"fuseflow.keras.datasets.{name}")
    m.__dict__.update(fns)
    return m


mnist = _module("mnist", load_data=_npz_loader("mnist.npz"))
fashion_mnist = _module("fashion_mnist", load_data=_fashion_mnist_load_data)
cifar10 = _module("cifar10", load_data=_cifar10_load_data)
cifar100 = _module("cifar100", load_data=_cifar100_load_data)


def _unsupported(name):
    def load_data(*args, **kwargs):
        raise NotImplementedError(f"tf.keras.datasets.{name}.load_data is not supported by fuseflow "
                                  f"(it needs a download; fuseflow works offline)")
    return load_data


imdb = _module("imdb", load_data=_unsupported("imdb"))
reuters = _module("reuters", load_data=_unsupported("reuters"))
boston_housing = _module("boston_housing", load_data=_unsupported("boston_housing"))
