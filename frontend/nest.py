"""`tf.nest`: nested structures of lists, tuples, namedtuples and dicts (dict keys in sorted order).

Used by fuseflow.function (arguments and outputs), tf.data (elements) and Keras.
"""
from __future__ import annotations


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def is_nested(x) -> bool:
    return isinstance(x, (list, tuple, dict))


is_sequence = is_nested


def _sorted_keys(d: dict) -> list:
    try:
        return sorted(d)
    except TypeError:
        return list(d)


def _children(x) -> list:
    if isinstance(x, dict):
        return [x[k] for k in _sorted_keys(x)]
    return list(x)


def flatten(structure, expand_composites=False) -> list:
    """The leaves of `structure`, depth first (dicts by sorted key); a leaf flattens to [leaf]."""
    if not is_nested(structure):
        return [structure]
    out = []
    for c in _children(structure):
        out.extend(flatten(c))
    return out


def _rebuild(template, children):
    if isinstance(template, dict):
        keys = _sorted_keys(template)
        rebuilt = dict(zip(keys, children))
        return type(template)((k, rebuilt[k]) for k in template) if type(template) is not dict else \
            {k: rebuilt[k] for k in template}
    if _is_namedtuple(template):
        return type(template)(*children)
    if isinstance(template, tuple):
        return tuple(children)
    return list(children)


def pack_sequence_as(structure, flat_sequence, expand_composites=False):
    flat = list(flat_sequence)
    n = len(flatten(structure))
    if n != len(flat):
        raise ValueError(f"pack_sequence_as: structure has {n} leaves but {len(flat)} values were given")
    return _pack(structure, iter(flat))


def _pack(s, it):
    # A module-level recursion, not a self-referencing closure: a closure cycle would keep every
    # packed value (e.g. a function's large outputs) alive until the cyclic GC runs.
    if not is_nested(s):
        return next(it)
    return _rebuild(s, [_pack(c, it) for c in _children(s)])


def map_structure(func, *structures, check_types=True, expand_composites=False):
    if not structures:
        raise ValueError("map_structure needs at least one structure")
    for s in structures[1:]:
        assert_same_structure(structures[0], s, check_types=check_types)
    flats = [flatten(s) for s in structures]
    return pack_sequence_as(structures[0], [func(*xs) for xs in zip(*flats)])


def assert_same_structure(a, b, check_types=True, expand_composites=False):
    if is_nested(a) != is_nested(b):
        raise ValueError(f"The two structures don't have the same nested structure: {a!r} vs {b!r}")
    if not is_nested(a):
        return
    if check_types and type(a) is not type(b) and not (isinstance(a, dict) and isinstance(b, dict)):
        raise TypeError(f"The two structures don't have the same sequence type: {type(a).__name__} vs "
                        f"{type(b).__name__}")
    if isinstance(a, dict):
        if set(a) != set(b):
            raise ValueError(f"The two dictionaries don't have the same keys: {sorted(a)} vs {sorted(b)}")
    elif len(a) != len(b):
        raise ValueError(f"The two structures don't have the same number of elements: {len(a)} vs {len(b)}")
    for x, y in zip(_children(a), _children(b)):
        assert_same_structure(x, y, check_types=check_types)
