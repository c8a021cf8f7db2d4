"""The one error hierarchy of neocloud, with stable codes.

    NeocloudError (code)
    ├── NotFound             not_found
    ├── InvalidInput         invalid_input   (carries every Problem found, not only the first)
    ├── Conflict             conflict
    │   └── PreconditionFailed precondition_failed (another version than the one expected)
    ├── InsufficientCapacity insufficient_capacity
    ├── InvalidTransition    invalid_transition
    ├── Unauthenticated      unauthenticated (no credentials, or none that are valid now)
    ├── Forbidden            forbidden
    └── Unavailable          unavailable     (a service cannot be reached or is busy: retry)

No HTTP or exit codes here: the API and the CLI each map ``code`` in one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with some input: where it is, which field, what value, and why."""

    field: str
    value: object
    message: str
    location: str = ""  # "file.yaml:12" or a path such as "sites[0].halls[1]"

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        value = str(self.value) if isinstance(self.value, Decimal) else repr(self.value)
        return f"{where}{self.field}={value}: {self.message}"


class NeocloudError(Exception):
    """Base of every error neocloud raises on purpose."""

    code: ClassVar[str] = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(NeocloudError):
    code = "not_found"


class InvalidInput(NeocloudError):
    """Bad input. ``problems`` lists every problem found, each naming field and value."""

    code = "invalid_input"

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], summary: str = "") -> None:
        self.problems = tuple(problems)
        if not self.problems:
            raise ValueError("InvalidInput needs at least one problem")
        head = summary or (
            str(self.problems[0])
            if len(self.problems) == 1
            else f"{len(self.problems)} problems in input"
        )
        super().__init__(head)

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return self.message
        return "\n".join([self.message, *(f"  {p}" for p in self.problems)])

    @classmethod
    def single(cls, field: str, value: object, message: str) -> InvalidInput:
        return cls([Problem(field=field, value=value, message=message)])


class Conflict(NeocloudError):
    code = "conflict"


class PreconditionFailed(Conflict):
    """A change names the version it expects (the API's If-Match) and another is stored:
    nothing was changed; read it again."""

    code = "precondition_failed"


class InsufficientCapacity(NeocloudError):
    code = "insufficient_capacity"


class InvalidTransition(NeocloudError):
    code = "invalid_transition"


class Unauthenticated(NeocloudError):
    """No credentials, or a key that is unknown, revoked or expired. Which of these it was
    is not said to the caller (the log says it), so a stolen key's owner learns nothing."""

    code = "unauthenticated"


class Forbidden(NeocloudError):
    code = "forbidden"


class Unavailable(NeocloudError):
    """Something the command needs (the database) cannot be reached or is busy; nothing
    was changed, and the same command may work later."""

    code = "unavailable"
