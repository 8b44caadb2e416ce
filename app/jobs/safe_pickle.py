"""Reading arq's pickles without running them.

arq keeps job definitions and results as pickles, and `pickle.loads` calls whatever callable a
payload names: anyone who can write to Redis could make the admin API run `os.system`. This loader
only builds a small allowlist of harmless types (containers, numbers, dates, UUIDs, the builtin
exceptions, arq's own errors); any other global becomes an inert `Unreadable` stand-in that records
its name and is never called, so a refused payload shows as "<unreadable …>" and executes nothing.
"""

from __future__ import annotations

import builtins
import io
import pickle
from typing import Any

_BUILTIN_TYPES = frozenset(
    {
        "dict", "list", "tuple", "set", "frozenset", "bytes", "bytearray", "str", "int",
        "float", "complex", "bool", "slice", "range", "object",
    }
)  # fmt: skip
_ALLOWED: dict[str, frozenset[str]] = {
    "datetime": frozenset({"datetime", "date", "time", "timedelta", "timezone"}),
    "uuid": frozenset({"UUID", "SafeUUID"}),
    "decimal": frozenset({"Decimal"}),
    "collections": frozenset({"OrderedDict"}),
    "asyncio.exceptions": frozenset({"CancelledError", "TimeoutError", "InvalidStateError"}),
    "arq.jobs": frozenset({"JobExecutionFailed", "SerializationError", "DeserializationError"}),
    "arq.worker": frozenset({"Retry", "RetryJob", "JobExecutionFailed"}),
}


class Unreadable:
    """What a refused global (and anything built from it) becomes: a name, never a call."""

    def __init__(self, name: str, args: tuple[Any, ...] = ()) -> None:
        self.name = name
        self.args = args

    def __setstate__(self, state: Any) -> None:  # BUILD: the state is kept out, not applied
        pass

    def __repr__(self) -> str:
        return f"<unreadable {self.name}>"

    __str__ = __repr__


def _allowed_builtin(name: str) -> bool:
    if name in _BUILTIN_TYPES:
        return True
    value = getattr(builtins, name, None)
    return isinstance(value, type) and issubclass(value, BaseException)


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module == "builtins" and _allowed_builtin(name)) or name in _ALLOWED.get(
            module, frozenset()
        ):
            return super().find_class(module, name)
        return _RefusedClass.named(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        return Unreadable("persistent id")


class _RefusedClass(type):
    """NEWOBJ calls `cls.__new__(cls, *args)`, REDUCE calls `cls(*args)`: a class whose
    construction yields an Unreadable covers both without running anything of the payload's."""

    @staticmethod
    def named(name: str) -> type:
        def new(cls: type, *args: Any, **kwargs: Any) -> Unreadable:
            return Unreadable(name, args)

        return _RefusedClass("Refused", (), {"__new__": new, "__qualname__": name})


def safe_loads(raw: bytes) -> Any:
    """Like `pickle.loads`, but only for the allowlisted types (see the module's docstring)."""
    return _SafeUnpickler(io.BytesIO(raw)).load()


def contains_unreadable(value: Any, depth: int = 0) -> bool:
    if isinstance(value, Unreadable):
        return True
    if depth > 20:
        return False
    if isinstance(value, dict):
        return any(
            contains_unreadable(k, depth + 1) or contains_unreadable(v, depth + 1)
            for k, v in value.items()
        )
    if isinstance(value, list | tuple | set | frozenset):
        return any(contains_unreadable(v, depth + 1) for v in value)
    return False
