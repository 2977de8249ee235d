"""The lake: the storage contract the writers (etl/) and the readers (portal/, api/) share.

Each dataset is a chain of immutable versions, each a manifest listing Parquet files.
Layout under PULSE_DATA_DIR/lake/<dataset>/:
    data/<uuid>.parquet       immutable data files, shared between versions
    rollups/<name>/...        rollup base and delta files (etl/rollups.py, decision 0008)
    projections/<name>/...    one narrow sorted file per data file (etl/projections.py, decision 0007)
    versions/<N>.json         manifest of version N (lake/model.py): files, rows, load, rollups
    CURRENT                   the number of the current version, replaced atomically (os.replace)
    OLDEST                    the oldest version retention keeps (etl/compact.py); absent: 1
    rejects/<run_id>.parquet  quarantined rows of a load, with line, reason and raw values
    .lock                     flock held by the one writer
Beside the lake: PULSE_DATA_DIR/runs.jsonl (lake/runlog.py) and realtime/<writer>.json
(lake/writerstate.py).

Modules: model (the typed manifest and its entries), read (what readers may do), write (what only writers do),
runlog, writerstate, sql (quoting), relation (a version's files with every column a reader expects: NULL
where a file predates a column, decision 0026), stamps, errors; store (the S3 object store a lake may live in,
PULSE_LAKE_URL) and mirror (a node's read-through copy of it). The read functions are re-exported
here, so a reader writes `lake.manifest(name)`; writers import `lake.write`. Every file access of
the contract goes through this package, so a lake in a folder and one in an object store look the
same to both sides (docs/decisions/0016-lake-on-object-storage.md).
"""
from lake.errors import LakeBusy, StorageFull, VersionConflict, VersionPruned, is_out_of_space
from lake.model import DataFile, Manifest, ProjectionEntry, RollupEntry, SummaryEntry
from lake.read import (
                       current_version,
                       dataset_dir,
                       entry_paths,
                       file_paths,
                       has_version,
                       lake_dir,
                       local_path,
                       manifest,
                       manifest_path,
                       oldest_version,
                       shared_file,
                       version_numbers,
                       versions,
)

__all__ = ["DataFile", "LakeBusy", "Manifest", "ProjectionEntry", "RollupEntry", "StorageFull", "SummaryEntry",
           "VersionConflict", "VersionPruned", "is_out_of_space",
           "current_version", "dataset_dir", "entry_paths", "file_paths", "has_version", "lake_dir", "local_path", "manifest", "manifest_path",
           "oldest_version", "shared_file", "version_numbers", "versions"]
