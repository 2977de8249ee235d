"""Readers: turn a file into a DuckDB table of text columns plus `_line`, and its malformed records."""
from __future__ import annotations

from pathlib import Path

import duckdb

from etl.errors import InputError
from etl.sources import csvfile, jsonfile


def read_raw(con: duckdb.DuckDBPyConnection, reader: str, path: Path, table: str, tmp_dir: Path,
             keep: set[str] | None = None) -> tuple[tuple[str, ...], list[dict]]:
    """(header, malformed records) after creating `table`; `keep` names the columns worth keeping."""
    if reader == "csv":
        dialect = csvfile.read_header(path)
        kept = [h for h in dialect.header if keep is None or h.lower() in {k.lower() for k in keep}] or [dialect.header[0]]
        projection = ", ".join('"' + h.replace('"', '""') + '"' for h in kept)
        return dialect.header, csvfile.read_csv(
            con, path, dialect, table, tmp_dir, lambda scan: f"SELECT {projection}, NULL::BIGINT AS _line FROM {scan}")
    if reader in ("json", "geojson"):
        records, rejects = jsonfile.read_records(path, reader)
        if not records and not rejects:
            raise InputError(f"{path.name}: holds no records")
        arrow = jsonfile.to_arrow(records)
        con.register("_arrow_records", arrow)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _arrow_records")
        con.unregister("_arrow_records")
        return tuple(n for n in arrow.column_names if n != "_line"), rejects
    if reader == "parquet":
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT CAST(COLUMNS(*) AS VARCHAR), "
                f"row_number() OVER () AS _line FROM read_parquet(?)",
                [str(path)],
            )
        except duckdb.Error as exc:
            raise InputError(f"{path.name}: unreadable as Parquet: {str(exc).splitlines()[0]}") from None
        header = tuple(r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] != "_line")
        return header, []
    raise InputError(f"no reader {reader!r}")
