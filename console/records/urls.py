"""Which records databases a console may open, checked before any connection is tried.

A records database is SQLite (a file) or PostgreSQL (a server several rooms share). Before the
store connects, the URL given with ``--db`` is checked here, so that a mistake is one sentence
naming what is wrong (the path, the folder, the host), never a traceback or a silent new file:

* A command that only reads the records (``sessions``, ``report``) refuses a SQLite file that does
  not exist: it would only find an empty database, and a typing mistake in ``--db`` must not look
  like a clinic with no sessions.
* A console that records (the window, ``run``) creates the SQLite file if its folder exists. It
  creates the folder only for its own default place (the user's data folder): a folder given in
  ``--db`` that does not exist is most often a typing mistake or a drive not mounted, and records
  written to a stray new folder would be lost to the clinic.

No SQLAlchemy at import: the window names these checks before the database layer is loaded.

Passwords: a PostgreSQL URL needs none. Without one, psycopg's libpq looks in its standard
places: the ``PGPASSWORD`` variable, the password file (``~/.pgpass``, or ``PGPASSFILE``; owner-
only, or libpq ignores it) and a service of the service file (``?service=NAME`` with
``~/.pg_service.conf`` or ``PGSERVICEFILE``), so the password is in neither the shell's history
nor the process list. A password given in a URL anyway is remembered and never printed
(:func:`console.records.errors.redact`): messages show ``***`` in its place.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from console.records.errors import StoreUnavailableError, keep_secret

#: The kinds of database the records are kept in (SQLAlchemy's backend names).
SUPPORTED = ("sqlite", "postgresql")
EXAMPLES = "sqlite:///PATH/records.sqlite3 or postgresql+psycopg://USER@HOST/DATABASE"
#: What to install for each database driver SQLAlchemy may ask for.
DRIVER_PACKAGES = {
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
    "pg8000": "pg8000",
    "asyncpg": "asyncpg",
}


#: ``USER:PASSWORD@`` after ``//``, or, in a URL typed without ``//``, from its start.
_USER_PASSWORD = re.compile(r"(//[^:/@]*:|^(?!.*//)[^:/@]*:)[^@]*@")


def parse(url: str) -> Any:
    """SQLAlchemy's URL of ``url``; a string that is not one is refused in a sentence."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    _keep_password_of(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StoreUnavailableError(
            f"{_masked(url)!r} is not a database URL; give {EXAMPLES}"
        ) from None
    keep_secret(parsed.password)
    return parsed


def _keep_password_of(url: str) -> None:
    """Remember the password part of ``url`` as typed, before anything may quote it back
    (a URL that does not parse still holds it)."""
    found = _USER_PASSWORD.search(url)
    if found:
        typed = found.group(0)[len(found.group(1)) : -1]
        keep_secret(typed)
        keep_secret(unquote(typed))


def _masked(url: str) -> str:
    """``url`` with anything between ``USER:`` and ``@`` hidden (a URL that did not parse may
    still hold a password: ``//`` or the start of the text before the user, as mistyped)."""
    return _USER_PASSWORD.sub(r"\1***@", url)


def safe(url: str) -> str:
    """``url`` without its password, for messages (the text itself if it does not parse)."""
    try:
        return parse(url).render_as_string(hide_password=True)
    except StoreUnavailableError:
        return _masked(url)


def check_url(url: str, *, create: bool, make_folder: bool = True, default: bool = False) -> None:
    """Refuse ``url`` in one sentence if the records cannot be kept there.

    ``create``: the caller records (a new SQLite file may be made); ``make_folder``: its folder
    too (the console's own default place, and programs that chose the path themselves; not a
    folder a user typed); ``default``: ``url`` is the console's default place."""
    parsed = parse(url)
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise StoreUnavailableError(
            f"cannot use the database {safe(url)}: mc-console keeps its records in SQLite or "
            f"PostgreSQL, not {backend} (give {EXAMPLES})"
        )
    if backend == "sqlite":
        _check_sqlite_file(parsed.database, create, make_folder, default)


def _check_sqlite_file(
    database: str | None, create: bool, make_folder: bool, default: bool
) -> None:
    """The SQLite file and its folder: there, or (when recording) possible to make."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return  # in memory, or a URI the caller manages itself
    path = Path(database).expanduser().resolve()
    blocker = _file_in_the_way(path.parent)
    if blocker is not None:
        raise StoreUnavailableError(
            f"the records database {path} cannot be made: {blocker} is a file, not a folder"
        )
    if path.is_dir():
        raise StoreUnavailableError(
            f"{path} is a folder, not a records database file; give the file's path in --db"
        )
    if path.exists():
        return
    if not create and default:
        raise StoreUnavailableError(
            f"nothing has been recorded on this computer yet (there is no records database at "
            f"{path}); give --db to read another one"
        )
    if not create:
        raise StoreUnavailableError(
            f"there is no records database at {path}: check --db (sessions are recorded "
            "there by the window or by 'mc-console run' with --db)"
        )
    if not make_folder and not path.parent.is_dir():
        raise StoreUnavailableError(
            f"the folder {path.parent} for the records database does not exist: create it "
            "first, or correct --db"
        )


def _file_in_the_way(folder: Path) -> Path | None:
    """The nearest existing ancestor of ``folder`` (itself included) if it is not a folder."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def driver_hint(url: str, error: ImportError) -> str:
    """A missing database driver, said with the package to install."""
    module = (error.name or "").split(".")[0]
    package = DRIVER_PACKAGES.get(module, module or "the database driver")
    return (
        f"cannot use the database {safe(url)}: its driver {module or '?'} is not installed; "
        f"install it with 'pip install {package}' (PostgreSQL: 'pip install \"psycopg[binary]\"' "
        "and a postgresql+psycopg:// URL)"
    )


def server_of(url: str) -> str | None:
    """``host:port`` of a database server (never the user or the password); None for SQLite."""
    parsed = parse(url)
    if parsed.get_backend_name() == "sqlite":
        return None
    host = parsed.host or "localhost"
    return f"{host}:{parsed.port or 5432}"
