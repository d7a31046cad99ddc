"""`tf.print` (eager): TF's text for tensors -- nested brackets, elements separated by spaces,
`summarize` leading and trailing elements per dimension around '...', floats printed with 6
significant digits unless that does not round-trip (then 9 for float32, 17 for float64)."""
from __future__ import annotations

import sys

import numpy as np

from ..tensor import EagerTensor, Tensor


def _element(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, (np.floating, float)):
        if np.isnan(v):
            return "nan"
        if np.isinf(v):
            return "inf" if v > 0 else "-inf"
        t = type(v) if isinstance(v, np.floating) else np.float64
        short = f"{v:.6g}"
        if t(short) == v:
            return short
        return f"{v:.9g}" if t == np.float32 or t == np.float16 else f"{v:.17g}"
    if isinstance(v, (np.bool_, bool)):
        return "1" if v else "0"
    return str(v)


def _format(a: np.ndarray, summarize: int, indent: int = 0) -> str:
    if a.ndim == 0:
        v = a[()]
        return _element(v)
    n = a.shape[0]
    show = list(range(n)) if summarize < 0 or n <= 2 * summarize else \
        list(range(summarize)) + [None] + list(range(n - summarize, n))
    if a.ndim == 1:
        parts = ["..." if i is None else (f'"{_element(a[i])}"' if a.dtype.kind in "SOU" else _element(a[i]))
                 for i in show]
        return "[" + " ".join(parts) + "]"
    sep = "\n" + " " * (indent + 1)
    parts = ["..." if i is None else _format(a[i], summarize, indent + 1) for i in show]
    return "[" + sep.join(parts) + "]"


def print_(*inputs, output_stream=sys.stderr, summarize=3, sep=" ", end="\n", name=None):
    """Prints its inputs: at once in eager mode; inside a fuseflow.function, every time the
    compiled function runs (the tensors become extra outputs of the program and are printed on
    the host after the call, in trace order)."""
    from ..graph import get_default_graph, graph_is_active
    if graph_is_active() or any(isinstance(x, Tensor) for x in inputs):
        graph = get_default_graph()
        if not hasattr(graph, "add_host_callback"):
            raise NotImplementedError("tf.print in a TF1 graph is not supported by fuseflow: use tf.Print "
                                      "(compat.v1), whose output must be used, or print the fetched values")
        _check_stream(output_stream)
        tensors = [x for x in inputs if isinstance(x, Tensor)]

        def print_values(arrays):
            it = iter(arrays)
            _write([next(it) if isinstance(x, Tensor) else x for x in inputs], output_stream, summarize, sep, end)

        graph.add_host_callback(tensors, print_values)
        return None
    _check_stream(output_stream)
    values = [np.asarray(x.numpy() if hasattr(x, "numpy") else x)
              if isinstance(x, EagerTensor) or hasattr(x, "_as_tensor") else x for x in inputs]
    _write(values, output_stream, summarize, sep, end)


def _check_stream(output_stream):
    if output_stream is sys.stderr or output_stream is sys.stdout or hasattr(output_stream, "write"):
        return
    if isinstance(output_stream, str) and output_stream.startswith("file://"):
        return
    raise ValueError(f"tf.print: unsupported output_stream {output_stream!r}")


def _write(values, output_stream, summarize, sep, end):
    texts = [_format(x, summarize) if isinstance(x, np.ndarray) else str(x) for x in values]
    text = sep.join(texts) + end
    if isinstance(output_stream, str):
        with open(output_stream[len("file://"):], "a") as f:
            f.write(text)
    else:
        output_stream.write(text)
