"""A persistent cache of compiled objects, across processes.

LLVM's optimization and code generation are most of a compile (about 1.5 s of a 1.6 s
training-step compile), and the same module text compiles to the same object for the same CPU
with the same LLVM. So objects are stored under a hash of everything that determines them: the
IR text, whether it was optimized, the host CPU name and features, and the llvmlite/LLVM
versions. A second run of a program (a test suite, a tutorial, a restarted training script)
loads its native code instead of compiling it again.

Where: $FUSEFLOW_CACHE_DIR, else $XDG_CACHE_HOME/fuseflow, else ~/.cache/fuseflow.
FUSEFLOW_CACHE_DIR=off (or 0, or empty) disables it. Size: at most $FUSEFLOW_CACHE_MAX_MB
(default 512) MiB; past that the least recently used entries go (checked on a process's first
store and every 64th after). The cache is best effort: a directory
that cannot be created, read or written is skipped silently, and an entry whose checksum does
not match its contents is ignored (a truncated object must never be loaded and run). Entries
are written to a temporary file and renamed into place, so concurrent compiles are safe.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Optional

import llvmlite
import llvmlite.binding as llvm

FORMAT = b"fuseflow-object-cache-1\n"
EVICT_EVERY = 64
_stores = [0]


def cache_dir() -> Optional[str]:
    configured = os.environ.get("FUSEFLOW_CACHE_DIR")
    if configured is not None:
        if configured.strip().lower() in ("", "0", "off", "none", "false"):
            return None
        return configured
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "fuseflow")


def entry_key(text: str, optimize: bool, cpu: str, features: str) -> str:
    h = hashlib.sha256()
    for part in (FORMAT.decode(), llvmlite.__version__, ".".join(map(str, llvm.llvm_version_info)), cpu,
                 features, "O3" if optimize else "O0"):
        h.update(part.encode())
        h.update(b"\0")
    h.update(text.encode())
    return h.hexdigest()


def _path(directory: str, key: str) -> str:
    return os.path.join(directory, key[:2], key[2:] + ".o")


def load(key: str) -> Optional[bytes]:
    directory = cache_dir()
    if directory is None:
        return None
    path = _path(directory, key)
    try:
        with open(path, "rb") as f:
            data = f.read()
        os.utime(path)              # recency for eviction (atime is often not kept)
    except OSError:
        return None
    head = len(FORMAT)
    if data[:head] != FORMAT or len(data) < head + 32:
        return None
    digest, obj = data[head:head + 32], data[head + 32:]
    if hashlib.sha256(obj).digest() != digest:
        return None
    return obj


def store(key: str, obj: bytes) -> None:
    directory = cache_dir()
    if directory is None:
        return
    path = _path(directory, key)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(FORMAT + hashlib.sha256(obj).digest() + obj)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return
    if _stores[0] % EVICT_EVERY == 0:
        evict(directory, max_bytes())
    _stores[0] += 1


def max_bytes() -> int:
    try:
        return int(float(os.environ.get("FUSEFLOW_CACHE_MAX_MB", "512")) * (1 << 20))
    except ValueError:
        return 512 << 20


def evict(directory: str, limit: int) -> None:
    """Delete the least recently used entries until the cache is under 3/4 of `limit`."""
    entries = []
    try:
        for sub in os.scandir(directory):
            if sub.is_dir():
                for e in os.scandir(sub.path):
                    if e.name.endswith(".o"):
                        st = e.stat()
                        entries.append((st.st_mtime, st.st_size, e.path))
    except OSError:
        return
    total = sum(size for _, size, _ in entries)
    if total <= limit:
        return
    for _, size, path in sorted(entries):
        try:
            os.unlink(path)
        except OSError:
            continue
        total -= size
        if total <= limit * 3 // 4:
            break
