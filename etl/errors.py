"""Errors the ETL reports to its user as one clear line (exit status 2), never as a traceback.

The storage errors (LakeBusy, VersionPruned) belong to the storage contract: lake/errors.py."""


class InputError(Exception):
    """The input cannot be loaded at all: empty, unreadable, unknown header or format."""
