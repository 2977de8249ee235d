"""Errors of the storage contract, shared by the writers (etl/) and the readers (portal/, api/)."""


class LakeBusy(Exception):
    """Another writer holds the dataset's writer lock."""


class VersionConflict(RuntimeError):
    """Another writer published the version this one was about to (two writers on two hosts over an
    object store, or a version that moved under a load): nothing of this load was published."""


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


class StorageFull(OSError):
    """The lake's file system ran out of space while a writer wrote. Nothing was published: the
    dataset's current version is the one before, intact (a version is published only once all of
    its files are written and synced, lake/write.py)."""

    def __init__(self, dataset: str, current: int | None, where: str):
        kept = f"version {current} stays current" if current else "no version was published"
        super().__init__(28, f"no space left on the lake's disk ({where}) while loading {dataset}: the load "
                             f"published nothing and {kept}; free space there and load again")
        self.dataset, self.current = dataset, current

    def __str__(self) -> str:
        return self.strerror


def is_out_of_space(exc: BaseException) -> bool:
    """Whether a write failed for lack of space: an OSError with ENOSPC, or DuckDB's IO error,
    which carries the errno only in its text."""
    if isinstance(exc, OSError) and exc.errno == 28:
        return True
    text = str(exc)
    return "No space left on device" in text or '"errno":"28"' in text
