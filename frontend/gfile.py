"""`tf.io.gfile` (TF2 names) and `tf.gfile` (TF1 CamelCase names): file helpers on the local
file system (TF's other file systems are not supported)."""
from __future__ import annotations

import glob as _glob
import os
import shutil

from .errors import NotFoundError


class GFile:
    """A file object (`tf.io.gfile.GFile(name, mode)`); text or binary by mode, as `open`."""

    def __init__(self, name, mode="r"):
        self._name = os.fspath(name)
        self._mode = mode
        try:
            self._f = open(self._name, mode)
        except FileNotFoundError:
            raise NotFoundError(None, None, f"{self._name}; No such file or directory") from None

    @property
    def name(self):
        return self._name

    @property
    def mode(self):
        return self._mode

    def read(self, n=-1):
        return self._f.read(n)

    def readline(self):
        return self._f.readline()

    def readlines(self):
        return self._f.readlines()

    def write(self, data):
        if "b" not in self._mode and isinstance(data, bytes):
            data = data.decode("utf-8")
        return self._f.write(data)

    def flush(self):
        self._f.flush()

    def seek(self, offset, whence=0):
        return self._f.seek(offset, whence)

    def tell(self):
        return self._f.tell()

    def size(self):
        return os.path.getsize(self._name)

    def close(self):
        self._f.close()

    def __iter__(self):
        return iter(self._f)

    def __next__(self):
        return next(self._f)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def exists(path) -> bool:
    return os.path.exists(path)


def isdir(path) -> bool:
    return os.path.isdir(path)


def listdir(path) -> list:
    if not os.path.isdir(path):
        raise NotFoundError(None, None, f"Could not find directory {path}")
    return os.listdir(path)


def makedirs(path):
    os.makedirs(path, exist_ok=True)


def mkdir(path):
    os.mkdir(path)


def remove(path):
    if not os.path.exists(path):
        raise NotFoundError(None, None, f"{path}; No such file or directory")
    os.remove(path)


def rmtree(path):
    if not os.path.exists(path):
        raise NotFoundError(None, None, f"{path}; No such file or directory")
    shutil.rmtree(path)


def rename(src, dst, overwrite=False):
    if os.path.exists(dst) and not overwrite:
        raise FileExistsError(f"{dst} already exists")
    os.replace(src, dst)


def copy(src, dst, overwrite=False):
    if os.path.exists(dst) and not overwrite:
        raise FileExistsError(f"{dst} already exists")
    shutil.copyfile(src, dst)


def glob(pattern) -> list:
    return sorted(_glob.glob(pattern))


def walk(top, topdown=True, onerror=None):
    return os.walk(top, topdown=topdown, onerror=onerror)


def stat(path):
    st = os.stat(path)

    class FileStatistics:
        length = st.st_size
        mtime_nsec = st.st_mtime_ns
        is_directory = os.path.isdir(path)
    return FileStatistics


class _GFileV1:
    """TF1's `tf.gfile` namespace."""
    GFile = GFile
    Open = GFile
    FastGFile = GFile
    Exists = staticmethod(exists)
    IsDirectory = staticmethod(isdir)
    ListDirectory = staticmethod(listdir)
    MakeDirs = staticmethod(makedirs)
    MkDir = staticmethod(mkdir)
    Remove = staticmethod(remove)
    DeleteRecursively = staticmethod(rmtree)
    Rename = staticmethod(rename)
    Copy = staticmethod(copy)
    Glob = staticmethod(glob)
    Walk = staticmethod(walk)
    Stat = staticmethod(stat)


class _GFileV2:
    """TF2's `tf.io.gfile` namespace."""
    GFile = GFile
    exists = staticmethod(exists)
    isdir = staticmethod(isdir)
    listdir = staticmethod(listdir)
    makedirs = staticmethod(makedirs)
    mkdir = staticmethod(mkdir)
    remove = staticmethod(remove)
    rmtree = staticmethod(rmtree)
    rename = staticmethod(rename)
    copy = staticmethod(copy)
    glob = staticmethod(glob)
    walk = staticmethod(walk)
    stat = staticmethod(stat)


gfile_v1 = _GFileV1
gfile_v2 = _GFileV2
