"""Errors the ETL reports to its user as one clear line (exit status 2), never as a traceback."""


class InputError(Exception):
    """The input cannot be loaded at all: empty, unreadable, unknown header or format."""


class LakeBusy(Exception):
    """Another load holds the dataset's writer lock."""


class VersionPruned(KeyError):
    """A version that was published but has since been removed by the retention policy (etl/compact.py).

    A KeyError, so callers that treat any missing version alike keep working; the API answers 410.
    """

    def __init__(self, dataset: str, version: int, oldest: int):
        super().__init__(f"{dataset} version {version} was removed by the retention policy; "
                         f"the oldest version kept is {oldest}")
        self.dataset, self.version, self.oldest = dataset, version, oldest

    def __str__(self) -> str:
        return self.args[0]
