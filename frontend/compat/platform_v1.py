"""TF1 program scaffolding: `tf.logging`, `tf.flags` / `tf.app.flags` and `tf.app.run`.

`tf.logging` writes through Python's "tensorflow" logger (stderr), with TF's level numbers.
`tf.flags` is a small command-line flag registry with absl's spelling (DEFINE_string, ...,
FLAGS.name); `tf.app.run(main)` parses sys.argv into FLAGS, then exits with main(argv), as
absl's app.run does.
"""
from __future__ import annotations

import logging as _logging
import sys
import types

# ------------------------------------------------------------------------------ tf.logging
DEBUG, INFO, WARN, ERROR, FATAL = 10, 20, 30, 40, 50
_logger = _logging.getLogger("tensorflow")
if not _logger.handlers:
    _handler = _logging.StreamHandler(sys.stderr)
    _handler.setFormatter(_logging.Formatter("%(levelname)s:tensorflow:%(message)s"))
    _logger.addHandler(_handler)
    _logger.propagate = False
if _logger.level == _logging.NOTSET:
    _logger.setLevel(WARN)
_counts: dict = {}


def set_verbosity(v):
    _logger.setLevel(v)


def get_verbosity():
    return _logger.getEffectiveLevel()


def log(level, msg, *args, **kwargs):
    _logger.log(level, msg, *args, **kwargs)


def debug(msg, *args, **kwargs):
    _logger.debug(msg, *args, **kwargs)


def info(msg, *args, **kwargs):
    _logger.info(msg, *args, **kwargs)


def warning(msg, *args, **kwargs):
    _logger.warning(msg, *args, **kwargs)


warn = warning


def error(msg, *args, **kwargs):
    _logger.error(msg, *args, **kwargs)


def fatal(msg, *args, **kwargs):
    _logger.fatal(msg, *args, **kwargs)


def vlog(level, msg, *args, **kwargs):
    _logger.log(level, msg, *args, **kwargs)


def log_if(level, msg, condition, *args):
    if condition:
        _logger.log(level, msg, *args)


def _caller_key():
    frame = sys._getframe(2)
    return frame.f_code.co_filename, frame.f_lineno


def log_every_n(level, msg, n, *args):
    key = _caller_key()
    count = _counts.get(key, 0)
    _counts[key] = count + 1
    if count % n == 0:
        _logger.log(level, msg, *args)


def log_first_n(level, msg, n, *args):
    key = _caller_key()
    count = _counts.get(key, 0)
    _counts[key] = count + 1
    if count < n:
        _logger.log(level, msg, *args)


def flush():
    for h in _logger.handlers:
        h.flush()


class TaskLevelStatusMessage:
    def __init__(self, msg):
        self._msg = msg


logging = types.SimpleNamespace(
    DEBUG=DEBUG, INFO=INFO, WARN=WARN, ERROR=ERROR, FATAL=FATAL, set_verbosity=set_verbosity,
    get_verbosity=get_verbosity, log=log, debug=debug, info=info, warning=warning, warn=warn, error=error,
    fatal=fatal, vlog=vlog, log_if=log_if, log_every_n=log_every_n, log_first_n=log_first_n, flush=flush,
    TaskLevelStatusMessage=TaskLevelStatusMessage)


# ------------------------------------------------------------------------------ tf.flags
class Error(Exception):
    """A flag error (absl.flags.Error)."""


class UnrecognizedFlagError(Error):
    pass


def _parse_bool(text):
    low = str(text).lower()
    if low in ("1", "true", "t", "yes", "y"):
        return True
    if low in ("0", "false", "f", "no", "n"):
        return False
    raise Error(f"invalid boolean value {text!r}")


class _Flag:
    def __init__(self, name, default, help_, parse, kind):
        self.name, self.default, self.help, self._parse, self.kind = name, default, help_, parse, kind
        self.value = default
        self.present = 0

    def parse(self, text):
        self.value = self._parse(text)
        self.present += 1


class FlagValues:
    """Registered flags; attribute access gives the value (sys.argv is parsed on first access)."""

    def __init__(self):
        object.__setattr__(self, "_flags", {})
        object.__setattr__(self, "_parsed", False)

    def _define(self, flag):
        if flag.name in self._flags:
            raise Error(f"The flag '{flag.name}' is defined twice.")
        self._flags[flag.name] = flag

    def __call__(self, argv, known_only=False):
        """Parse `--name=value` / `--name value` / `--flag` / `--noflag`; returns the other arguments."""
        rest = [argv[0]] if argv else []
        args = list(argv[1:])
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if arg == "--":
                rest.extend(args[i:])
                break
            if not arg.startswith("-") or arg == "-":
                rest.append(arg)
                continue
            body = arg.lstrip("-")
            name, eq, value = body.partition("=")
            flag = self._flags.get(name)
            if flag is None and name.startswith("no") and not eq and name[2:] in self._flags \
                    and self._flags[name[2:]].kind == "bool":
                self._flags[name[2:]].parse("false")
                continue
            if flag is None:
                if known_only:
                    rest.append(arg)
                    continue
                raise UnrecognizedFlagError(f"Unknown command line flag '{name}'")
            if not eq:
                if flag.kind == "bool":
                    value = "true"
                elif i < len(args):
                    value = args[i]
                    i += 1
                else:
                    raise Error(f"Flag --{name} needs a value")
            flag.parse(value)
        object.__setattr__(self, "_parsed", True)
        return rest

    def is_parsed(self):
        return self._parsed

    def mark_as_parsed(self):
        object.__setattr__(self, "_parsed", True)

    def __getattr__(self, name):
        flags = object.__getattribute__(self, "_flags")
        if name not in flags:
            raise AttributeError(name)
        if not self._parsed:
            self(sys.argv[:1] + [a for a in sys.argv[1:]], known_only=True)
        return flags[name].value

    def __setattr__(self, name, value):
        if name not in self._flags:
            raise AttributeError(name)
        self._flags[name].value = value

    def __contains__(self, name):
        return name in self._flags

    def __iter__(self):
        return iter(self._flags)

    def flag_values_dict(self):
        return {n: f.value for n, f in self._flags.items()}


FLAGS = FlagValues()


def _definer(kind, parse):
    def define(name, default, help=None, flag_values=FLAGS, **kwargs):  # noqa: A002 - absl's argument name
        flag_values._define(_Flag(name, default, help, parse, kind))
    define.__name__ = f"DEFINE_{kind}"
    return define


DEFINE_string = _definer("string", str)
DEFINE_integer = _definer("integer", int)
DEFINE_float = _definer("float", float)
DEFINE_boolean = _definer("bool", _parse_bool)
DEFINE_bool = DEFINE_boolean
DEFINE_list = _definer("list", lambda s: [p for p in str(s).split(",") if p])


def DEFINE_enum(name, default, enum_values, help=None, flag_values=FLAGS, **kwargs):  # noqa: N802,A002
    def parse(text):
        if text not in enum_values:
            raise Error(f"value should be one of <{'|'.join(enum_values)}>")
        return text
    flag_values._define(_Flag(name, default, help, parse, "enum"))


flags = types.SimpleNamespace(
    FLAGS=FLAGS, FlagValues=FlagValues, Error=Error, UnrecognizedFlagError=UnrecognizedFlagError,
    DEFINE_string=DEFINE_string, DEFINE_integer=DEFINE_integer, DEFINE_float=DEFINE_float,
    DEFINE_boolean=DEFINE_boolean, DEFINE_bool=DEFINE_bool, DEFINE_list=DEFINE_list, DEFINE_enum=DEFINE_enum)


# ------------------------------------------------------------------------------ tf.app
def run(main=None, argv=None):
    """Parse flags from `argv` (default sys.argv), call main(remaining argv) and exit with its result."""
    main = main or sys.modules["__main__"].main
    args = FLAGS(list(sys.argv if argv is None else argv), known_only=True)
    sys.exit(main(args))


app = types.SimpleNamespace(run=run, flags=flags)
