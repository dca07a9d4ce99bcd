"""Errors that reach the user as a clear message (exit status 1), never a traceback."""
from __future__ import annotations


class SitegraphError(Exception):
    """A data or user error. `str()` is the message to show (Chinese first)."""


class BackendUnavailable(SitegraphError):
    """The database cannot be opened or reached."""


class DatabaseBusy(SitegraphError):
    """Another process holds the write lock of an embedded store."""


class ReadOnlyViolation(SitegraphError):
    """A statement that would write was sent through a read path."""


class QueryError(SitegraphError):
    """The database refused a query (syntax, unknown label, timeout …)."""
