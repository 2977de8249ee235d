"""Errors the ETL reports to its user as one clear line (exit status 2), never as a traceback."""


class InputError(Exception):
    """The input cannot be loaded at all: empty, unreadable, unknown header or format."""


class LakeBusy(Exception):
    """Another load holds the dataset's writer lock."""
