"""`fuseflow.errors` (TF's `tf.errors`): the exceptions a Session run raises, by status code.

As in TensorFlow, every run-time error is an `OpError` carrying the failing operation (when
known), a message and a canonical error code; subclasses name the code. Python-side usage
errors (a feed of the wrong shape, fetching something that is not a graph element) stay
ValueError/TypeError, exactly as TF raises them before anything runs.
"""
from __future__ import annotations

OK = 0
CANCELLED = 1
UNKNOWN = 2
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
NOT_FOUND = 5
ALREADY_EXISTS = 6
PERMISSION_DENIED = 7
RESOURCE_EXHAUSTED = 8
FAILED_PRECONDITION = 9
ABORTED = 10
OUT_OF_RANGE = 11
UNIMPLEMENTED = 12
INTERNAL = 13
UNAVAILABLE = 14
DATA_LOSS = 15
UNAUTHENTICATED = 16


class OpError(Exception):
    """A failed run: `op` (the Operation, or None), `node_def`, `message`, `error_code`."""

    def __init__(self, node_def, op, message, error_code=UNKNOWN, *args):
        super().__init__(message)
        self._node_def = node_def
        self._op = op
        self._message = message
        self._error_code = error_code

    @property
    def message(self) -> str:
        return self._message

    @property
    def op(self):
        return self._op

    @property
    def node_def(self):
        return self._node_def

    @property
    def error_code(self) -> int:
        return self._error_code

    def __str__(self):
        if self._op is not None:
            return f"{self._message}\n\t [[{{{{node {self._op.name}}}}}]]"
        return self._message

    def __reduce__(self):
        return type(self), (self._node_def, self._op, self._message)


def _subclass(name: str, code: int, doc: str):
    def __init__(self, node_def, op, message, *args):
        OpError.__init__(self, node_def, op, message, code)
    return type(name, (OpError,), {"__init__": __init__, "__doc__": doc,
                                   "__reduce__": OpError.__reduce__})


CancelledError = _subclass("CancelledError", CANCELLED, "An operation was cancelled (a closed queue).")
UnknownError = _subclass("UnknownError", UNKNOWN, "An unknown error.")
InvalidArgumentError = _subclass("InvalidArgumentError", INVALID_ARGUMENT,
                                 "An op received an invalid argument (or a placeholder was not fed).")
DeadlineExceededError = _subclass("DeadlineExceededError", DEADLINE_EXCEEDED, "A deadline expired.")
NotFoundError = _subclass("NotFoundError", NOT_FOUND, "A requested entity (file, checkpoint key) was not found.")
AlreadyExistsError = _subclass("AlreadyExistsError", ALREADY_EXISTS, "An entity already exists.")
PermissionDeniedError = _subclass("PermissionDeniedError", PERMISSION_DENIED, "Permission denied.")
ResourceExhaustedError = _subclass("ResourceExhaustedError", RESOURCE_EXHAUSTED, "A resource is exhausted.")
FailedPreconditionError = _subclass("FailedPreconditionError", FAILED_PRECONDITION,
                                    "The system is not in a state to run the op (an uninitialized variable).")
AbortedError = _subclass("AbortedError", ABORTED, "An operation was aborted.")
OutOfRangeError = _subclass("OutOfRangeError", OUT_OF_RANGE, "Iterated past the end (an exhausted queue).")
UnimplementedError = _subclass("UnimplementedError", UNIMPLEMENTED, "An operation is not implemented.")
InternalError = _subclass("InternalError", INTERNAL, "An internal invariant broke.")
UnavailableError = _subclass("UnavailableError", UNAVAILABLE, "A service is unavailable.")
DataLossError = _subclass("DataLossError", DATA_LOSS, "Unrecoverable data loss (a corrupt record).")
UnauthenticatedError = _subclass("UnauthenticatedError", UNAUTHENTICATED, "Not authenticated.")

_BY_CODE = {
    CANCELLED: CancelledError, UNKNOWN: UnknownError, INVALID_ARGUMENT: InvalidArgumentError,
    DEADLINE_EXCEEDED: DeadlineExceededError, NOT_FOUND: NotFoundError, ALREADY_EXISTS: AlreadyExistsError,
    PERMISSION_DENIED: PermissionDeniedError, RESOURCE_EXHAUSTED: ResourceExhaustedError,
    FAILED_PRECONDITION: FailedPreconditionError, ABORTED: AbortedError, OUT_OF_RANGE: OutOfRangeError,
    UNIMPLEMENTED: UnimplementedError, INTERNAL: InternalError, UNAVAILABLE: UnavailableError,
    DATA_LOSS: DataLossError, UNAUTHENTICATED: UnauthenticatedError,
}


def exception_type_from_error_code(error_code: int):
    return _BY_CODE[error_code]


def error_code_from_exception_type(cls) -> int:
    for code, c in _BY_CODE.items():
        if c is cls:
            return code
    return UNKNOWN


class _ShapeBindingError(InvalidArgumentError):
    """The program's size assumptions fail for these input shapes (found when the runtime binds
    them, before anything ran): a program compiled for these exact shapes may still run them."""


def run_native(compiled, args) -> list:
    """Call a segment's program; what the runtime rejects or a check in the native code reports
    is an InvalidArgumentError, as TF reports bad feeds and failed kernel checks."""
    try:
        return compiled._call(*args)
    except ValueError as e:          # shapes the program cannot run on (bound at call time)
        raise _ShapeBindingError(None, None, str(e)) from None
    except RuntimeError as e:
        if type(e).__name__ == "ExecutionError":
            raise InvalidArgumentError(None, None, str(e)) from None
        raise


class raise_exception_on_not_ok_status:  # noqa: N801 - TF's spelling
    """TF1 context manager kept for old code; errors are raised directly, so it does nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


__all__ = [n for n in dir() if not n.startswith("_") and (n.endswith("Error") or n.isupper())] + [
    "exception_type_from_error_code", "error_code_from_exception_type", "raise_exception_on_not_ok_status"]
