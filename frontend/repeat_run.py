"""The repeated-call path of `Session.run`: a training loop calls `sess.run` with the same
fetches and feed keys thousands of times, so what only depends on those is worked out once.

`Session.run` keys a call by the identity of its fetch objects (graph tensors and ops in
lists and tuples, nested as the user wrote them) and of its feed keys, in order. The first
call takes the general path (flatten, convert, plan, find the compiled segment) and leaves a
`RepeatedRun` behind; later calls with that key only convert the feed values, gather the
arguments and pack the results. Anything unusual — fetches by name, dicts, variables, host
ops in the plan, options — keeps the general path.

The key holds ids, so the RepeatedRun keeps the keyed objects alive: no other object can take
one of their ids while it exists.
"""
from __future__ import annotations

import itertools

import numpy as np

from .errors import run_native
from .feeds import feed_array
from .graph import Operation
from .tensor import Tensor
from .variables import uninitialized_error


def repeat_key(fetches, feed_dict):
    """Identity key of a run call made of graph tensors/ops in (nested) lists and tuples, fed
    by a dict keyed by graph tensors; None for anything else."""
    tokens: list = []
    if not _fetch_tokens(fetches, tokens):
        return None
    if not feed_dict:
        return (tuple(tokens), feed_dict is None)
    if type(feed_dict) is not dict:
        return None
    for k in feed_dict:
        if type(k) is not Tensor:
            return None
    return (tuple(tokens), tuple(map(id, feed_dict)))


def _fetch_tokens(fetches, tokens: list) -> bool:
    """A prefix code of the fetch structure: an object's id, or (is_list, length) then the items.
    Ids are addresses, so they never equal a marker or a length."""
    kind = type(fetches)
    if kind is Tensor or kind is Operation:
        tokens.append(id(fetches))
        return True
    if kind is not list and kind is not tuple:
        return False
    tokens.append(kind is list)
    tokens.append(len(fetches))
    if _GRAPH_ELEMENTS.issuperset(map(type, fetches)):
        tokens.extend(map(id, fetches))
        return True
    for x in fetches:
        kind = type(x)
        if kind is Tensor or kind is Operation:
            tokens.append(id(x))
        elif not _fetch_tokens(x, tokens):
            return False
    return True


_GRAPH_ELEMENTS = frozenset((Tensor, Operation))


def _leaves(fetches) -> list:
    if isinstance(fetches, (list, tuple)):
        return [o for x in fetches for o in _leaves(x)]
    return [fetches]


def _structure(fetches):
    """None for a leaf; (list|tuple, item count) for a flat sequence; (list|tuple, [items])."""
    if not isinstance(fetches, (list, tuple)):
        return None
    items = [_structure(x) for x in fetches]
    return (type(fetches), len(items) if all(s is None for s in items) else items)


def _pack(structure, leaves):
    ctor, items = structure
    if type(items) is int:
        return ctor(itertools.islice(leaves, items))
    return ctor([next(leaves) if s is None else _pack(s, leaves) for s in items])


class _Last:
    """What the previous call ran: valid while the feeds keep their dtypes and shapes. One
    object swapped whole, so a concurrent call never mixes two calls' segments and shapes."""

    __slots__ = ("segment", "feed_types", "leaf_index", "scalars", "args", "feed_slots", "store_version")

    def __init__(self, segment, feed_types, leaf_index, scalars, feed_slots):
        self.segment = segment
        self.feed_types = feed_types    # per feed: (dtype, shape)
        self.leaf_index = leaf_index    # per fetch leaf: its index in outputs + feeds + [None]
        self.scalars = scalars          # leaf positions of 0-d results (returned as numpy scalars)
        self.feed_slots = feed_slots    # (argument position, feed index)
        self.args = None                # arguments with variables bound, feeds left to fill
        self.store_version = -1


class RepeatedRun:
    def __init__(self, session, fetches, feed_dict, leaves, feeds, tensors, ops, plan):
        """`leaves`, `feeds`, `tensors`, `ops`: the general path's view of this call; `plan`:
        the session's plan for its targets (None when every fetch is fed or nothing runs)."""
        self.session = session
        self.anchors = (_leaves(fetches), list(feed_dict or ()))
        self.feed_tensors = list(feeds)
        self.targets = [t for t in tensors if t not in feeds]
        self.ops = ops
        self.plan = plan
        self.leaves = leaves
        self.structure = _structure(fetches)
        self.last = _Last(None, [(t.dtype.np, None) for t in self.feed_tensors], None, (), ())

    def __call__(self, feed_dict):
        last = self.last
        arrays = []
        same_types = True
        if feed_dict:
            for t, value, (npdtype, shape) in zip(self.feed_tensors, feed_dict.values(), last.feed_types):
                if type(value) is np.ndarray and value.dtype is npdtype and value.shape == shape and \
                        value.flags.c_contiguous:
                    arrays.append(value)
                else:
                    arr = feed_array(t, value)
                    same_types = same_types and arr.dtype == npdtype and arr.shape == shape
                    arrays.append(arr)
        seg = last.segment
        if last.leaf_index is None or not same_types or \
                (seg is not None and seg.dynamic_vars and not self.session._vars_match(seg)):
            results = self._general_call(arrays)
        else:
            if seg is None:
                values = []
            elif seg.simple:
                values = self._call_in_place(seg, last, arrays)   # all outputs of the program
            else:
                values = self.session._call(seg, dict(zip(self.feed_tensors, arrays)))   # one per target
            pool = values + arrays
            pool.append(None)
            results = [pool[i] for i in last.leaf_index]
        for i in self.last.scalars:
            results[i] = results[i][()]
        if self.structure is None:
            return results[0]
        return _pack(self.structure, iter(results))

    def _general_call(self, arrays) -> list:
        """This call through the session's general path; remember how to shortcut the next."""
        seg, values = None, []
        if self.plan is not None:
            known = dict(zip(self.feed_tensors, arrays))
            seg, values = self.session._call_segment(self.targets, self.ops, self.plan, known)   # one per target
        pool = values + arrays + [None]
        results = [pool[i] for i in self._leaf_index(len(values), None)]
        scalars = tuple(i for i, r in enumerate(results) if isinstance(r, np.ndarray) and r.ndim == 0)
        if seg is not None and seg.simple:
            leaf_index = self._leaf_index(seg.n_outputs, seg.fetch_outs)
        else:
            leaf_index = self._leaf_index(len(values), None)
        feed_index = {t: k for k, t in enumerate(self.feed_tensors)}
        feed_slots = () if seg is None else tuple((pos, feed_index[ref]) for pos, (kind, ref)
                                                  in enumerate(seg.binds) if kind == "feed")
        self.last = _Last(seg, [(a.dtype, a.shape) for a in arrays], leaf_index, scalars, feed_slots)
        return results

    def _leaf_index(self, n_values, fetch_outs) -> list:
        """Per fetch leaf, its position in values + feeds + [None]; values are one per target,
        or all outputs of a program whose k-th target is output fetch_outs[k]."""
        target_index = {t: k for k, t in enumerate(self.targets)}
        feed_index = {t: k for k, t in enumerate(self.feed_tensors)}
        index = []
        for kind, x in self.leaves:
            if kind == "o":
                index.append(n_values + len(self.feed_tensors))
            elif x in target_index:
                k = target_index[x]
                index.append(k if fetch_outs is None else fetch_outs[k])
            else:
                index.append(n_values + feed_index[x])
        return index

    def _call_in_place(self, seg, last, arrays) -> list:
        """One native call of a segment whose variable updates are all written in place: the
        variable buffers do not change between calls unless the store changes them."""
        store = self.session._store
        if last.store_version != store.version:
            args, version = [], store.version
            for kind, ref in seg.binds:
                if kind == "feed":
                    args.append(None)
                else:
                    buf = store.buffer(ref)
                    if buf is None:
                        raise uninitialized_error(ref)
                    args.append(buf)
                    if ref._graph is None:
                        version = None    # an eager variable's buffer changes outside the store
            last.args, last.store_version = args, version
        args = last.args[:]
        for pos, k in last.feed_slots:
            args[pos] = arrays[k]
        return run_native(seg.compiled, args)
