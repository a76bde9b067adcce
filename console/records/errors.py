"""The records' errors, apart from the store so that the window and the command line can name
them without loading the database layer (SQLAlchemy) at start.

No error of the records ever says a database password: every password met in a database URL is
remembered (:func:`keep_secret`, called by :func:`console.records.urls.parse`) and masked in the
text of every :class:`RecordError` (:func:`redact`), whatever wrote the message (the store, a
database driver's own words passed on, a traceback's last line).
"""

from __future__ import annotations

import threading
from datetime import datetime
from urllib.parse import quote, quote_plus

#: What a password is replaced with in messages.
MASK = "***"
#: Secrets shorter than this are not masked: masking every "a" would garble each message, and
#: such a password protects nothing anyway.
MIN_MASKED = 3
_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def keep_secret(secret: str | None) -> None:
    """Remember ``secret`` (a database password), to be masked in every error message."""
    if not secret or len(secret) < MIN_MASKED:
        return
    with _secrets_lock:
        # As typed, and as it appears percent-encoded inside a URL.
        _secrets.update({secret, quote(secret, safe=""), quote_plus(secret, safe="")})


def redact(text: str) -> str:
    """``text`` with every remembered secret replaced by :data:`MASK` (longest first, so that
    a secret containing another is masked whole)."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RecordError(Exception):
    """Base class of the store's errors; its text never holds a remembered password."""

    def __str__(self) -> str:
        return redact(super().__str__())


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
