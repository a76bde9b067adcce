"""The records' errors, apart from the store so that the window and the command line can name
them without loading the database layer (SQLAlchemy) at start."""

from __future__ import annotations

from datetime import datetime


class RecordError(Exception):
    """Base class of the store's errors."""


class FieldError(RecordError, ValueError):
    """A form field is empty or absurd; ``field`` names it for the message beside it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class StoreUnavailableError(RecordError):
    """The database cannot be written or read now (locked, read-only, full, gone)."""


class RecordRejectedError(RecordError):
    """The database refused a record for what it holds (it would refuse it again)."""


class RecordNotFoundError(RecordError, LookupError):
    """No such client or session."""


class AccessRefusedError(RecordError):
    """A sign-in or a permission was refused (the command line exits with its own status)."""


class SignInRefusedError(AccessRefusedError):
    """A sign-in was refused (wrong name or secret, a disabled or a locked account)."""


class AccountLockedError(SignInRefusedError):
    """Too many refusals in a row: the account waits until ``until`` (UTC)."""

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


class PermissionRefusedError(AccessRefusedError):
    """The signed-in account's role does not allow what was asked (or nobody signed in)."""
