"""Errors services raise; interfaces turn them into HTTP answers or CLI messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class PatronError(Exception):
    """A rule was broken; `code` is stable and machine-readable, `message` is for people.

    `problems` lists every field's problem separately (the message joins them), so a caller
    such as the CSV import can point each one at its own column.
    """

    code = "invalid_request"
    status = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        problems: Sequence[FieldProblem] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.problems = tuple(problems) or (FieldProblem(field or "", message),)


class ValidationFailed(PatronError):
    code = "invalid_request"
    status = 400


class NotFound(PatronError):
    code = "not_found"
    status = 404


class Conflict(PatronError):
    code = "conflict"
    status = 409


class PermissionDenied(PatronError):
    code = "forbidden"
    status = 403


@dataclass
class ProblemList:
    """Collects every problem of one record so the user sees them all at once."""

    problems: list[FieldProblem] = field(default_factory=list)

    def add(self, field_name: str, message: str) -> None:
        self.problems.append(FieldProblem(field_name, message))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            first = self.problems[0]
            joined = "; ".join(f"{problem.field}: {problem.message}" for problem in self.problems)
            raise ValidationFailed(joined, field=first.field, problems=self.problems)
