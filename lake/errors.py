"""Errors of the storage contract, shared by the writers (etl/) and the readers (portal/, api/)."""


class LakeBusy(Exception):
    """Another writer holds the dataset's writer lock."""


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
