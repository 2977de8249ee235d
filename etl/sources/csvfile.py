"""Read a delimited text file into a DuckDB table of VARCHAR columns, one per header field.

Why DuckDB's reader and not Python's csv module: it parses in parallel at several hundred MB/s,
and with `store_rejects` it reports each malformed record (wrong field count, broken quoting,
undecodable bytes) with its line number instead of failing the whole file. The dialect is given,
never sniffed: sniffing fails on real files with mixed LF/CRLF line endings (the Syracuse plow log).
"""
from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from etl.errors import InputError
from lake.sql import lit

SAMPLE_BYTES = 1 << 16


@dataclass(frozen=True)
class Dialect:
    encoding: str  # 'utf-8' or 'latin-1'
    header: tuple[str, ...]
    delimiter: str


def sniff_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the sample decodes as UTF-8, else Latin-1.

    A stray bad byte later in a UTF-8 file is not a reason to misread the rest: DuckDB rejects
    just that record (INVALID ENCODING) and the reject report says so.
    """
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Invalid UTF-8. If the sample also holds valid multi-byte sequences it is UTF-8 with a few bad
    # bytes (those records are rejected); with none, it is a single-byte encoding: Latin-1.
    text = sample.decode("utf-8", errors="replace")
    has_multibyte = any(ord(ch) > 127 and ch != "\ufffd" for ch in text)
    return "utf-8" if has_multibyte else "latin-1"


def read_header(path: Path) -> Dialect:
    """The header fields, trimmed, of a CSV/TSV file; an empty or binary file is an InputError."""
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not sample.strip():
        raise InputError(f"{path.name}: the file is empty")
    if b"\x00" in sample:
        raise InputError(f"{path.name}: this is not a text file (it contains NUL bytes)")
    encoding = sniff_encoding(sample)
    text = sample.decode(encoding, errors="replace").lstrip("\ufeff")
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    header = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    header = tuple(h.strip() for h in header)
    if len(header) < 2 or any(not h for h in header):
        raise InputError(f"{path.name}: the first line is not a header row: {first[:120]!r}")
    if len(set(header)) != len(header):
        raise InputError(f"{path.name}: the header repeats a column name")
    return Dialect(encoding=encoding, header=header, delimiter=delimiter)


def read_csv(con: duckdb.DuckDBPyConnection, path: Path, dialect: Dialect, table: str, tmp_dir: Path,
             select: Callable[[str], str]) -> list[dict]:
    """Create `table` from `select(scan)`, where scan is this file's read_csv call, and return the
    malformed records as [{line, reason, raw}] dicts.

    `select` must yield a `_line` column (any value): `table` is a view that sets it to the record's
    line number, with the header as line 1 (for files whose quoted fields span several lines it
    counts records, as DuckDB's reject report does). Selecting straight from the scan lets DuckDB
    parse, validate and store in one parallel pass, with no intermediate copy of the text.
    """
    try:
        rejected = _scan(con, path, dialect, table, select)
    except duckdb.InvalidInputException as exc:
        if "state machine" not in str(exc):
            raise InputError(f"{path.name}: unreadable as CSV: {str(exc).splitlines()[0]}") from None
        # Mixed LF and CRLF line endings: strict mode cannot read them, and non-strict mode would
        # silently cut records with too many fields. Normalise the endings into a copy instead.
        normalised = _normalise_line_endings(path, tmp_dir)
        try:
            rejected = _scan(con, normalised, dialect, table, select)
        except duckdb.Error as exc2:
            raise InputError(f"{path.name}: unreadable as CSV: {str(exc2).splitlines()[0]}") from None
        finally:
            normalised.unlink(missing_ok=True)
    except duckdb.Error as exc:
        raise InputError(f"{path.name}: unreadable as CSV: {str(exc).splitlines()[0]}") from None
    _number_lines(con, table, [r[0] for r in rejected])
    return [
        {"line": int(line), "reason": f"malformed record ({etype.lower()}): {message.splitlines()[0]}", "raw": raw}
        for line, etype, message, raw in _one_per_line(rejected)
    ]


# Larger than DuckDB's default (32 MB): a table stored from the scan in file order gets fewer, larger
# batches to stitch together; at 1M NYC rows the stored pass costs ~10% less CPU (docs/benchmarks-history.md).
BUFFER_BYTES = 64 << 20


def scan_sql(path: Path, dialect: Dialect) -> str:
    """The read_csv call for a file: every column text, dialect given, malformed records kept aside."""
    columns = "{" + ", ".join(f"{lit(name)}: 'VARCHAR'" for name in dialect.header) + "}"
    return (f"read_csv({lit(str(path))}, columns={columns}, header=true, auto_detect=false, delim={lit(dialect.delimiter)}, "
            f"quote='\"', escape='\"', encoding={lit(dialect.encoding)}, store_rejects=true, strict_mode=true, parallel=true, "
            f"buffer_size={BUFFER_BYTES})")


def _scan(con, path: Path, dialect: Dialect, table: str, select: Callable[[str], str]) -> list[tuple]:
    con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table}_t AS {select(scan_sql(path, dialect))}")
    return con.execute(
        "SELECT line, error_type, error_message, csv_line FROM reject_errors ORDER BY line"
    ).fetchall()


def _normalise_line_endings(path: Path, tmp_dir: Path) -> Path:
    """A copy of `path` with every CRLF turned into LF, written in 1 MiB chunks."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    out = tmp_dir / f"{path.name}.lf"
    with open(path, "rb") as src, open(out, "wb") as dst:
        carry = b""
        while chunk := src.read(1 << 20):
            chunk = carry + chunk
            carry = b"\r" if chunk.endswith(b"\r") else b""
            dst.write(chunk[: len(chunk) - len(carry)].replace(b"\r\n", b"\n"))
        dst.write(carry)
    return out


def _one_per_line(rejected):
    seen = set()
    for row in rejected:
        if row[0] not in seen:
            seen.add(row[0])
            yield row


def _number_lines(con, table: str, rejected_lines: list[int]) -> None:
    """Expose `table` as a view that numbers each good record with its line, skipping the numbers
    of rejected records. The table's rowid is its position in the file (DuckDB keeps insertion
    order), so no window over the whole file is needed.

    Good record k (0-based rowid) follows reject i (i-th smallest line r_i) exactly when
    k + 1 > r_i - 1 - i, so its line is k + 2 + #{i : r_i - 1 - i < k + 1}.
    """
    shifts = sorted(set(rejected_lines))
    con.execute("CREATE OR REPLACE TEMP TABLE _shift(k BIGINT)")
    if shifts:
        con.executemany("INSERT INTO _shift VALUES (?)", [[r - 1 - i] for i, r in enumerate(shifts, start=1)])
        line = "rowid + 2 + (SELECT count(*) FROM _shift s WHERE s.k < t.rowid + 1)"
    else:
        line = "rowid + 2"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * REPLACE ({line} AS _line) FROM {table}_t t")
