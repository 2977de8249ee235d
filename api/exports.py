"""Streaming writers for downloads: Arrow record batches in, bytes out, one batch in memory at a time.

Why batches from one relation: the download reads the one manifest chosen when it started, so it
returns exactly one version even while a load publishes (files are immutable), and memory stays
flat whatever the size (habit 6, datasette's stream_csv).

CSV is written by the query, not by Python: DuckDB turns each row into its finished CSV line (RFC
4180 quoting, formulas neutralised, the text Python's csv module wrote before) on all its threads,
and a batch of lines leaves as one slice of the Arrow string buffer, with no Python per row
(docs/decisions/0004-csv-export-in-sql.md).
"""
from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

from api.rowquery import to_json
from datasets import Column
from etl.sql import ident, lit

BATCH_ROWS = 10_000  # ~4 MB of service_requests CSV; a bigger first batch delays the first row
# DuckDB's streaming_buffer_size: how far its threads may run ahead of the reader. At the default
# (~1 MB) they wait between batches and CSV streams at about 2/3 of the speed (decision 0004).
STREAM_BUFFER = "32MB"
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "geojson": "application/geo+json",
    "parquet": "application/vnd.apache.parquet",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CSV_SPECIAL = (",", '"', "\n", "\r")  # a cell holding one of these is quoted, its quotes doubled


def neutralise(text: str) -> str:
    """A text cell a spreadsheet would run as a formula gets a leading quote (OWASP CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _char(ch: str) -> str:
    return f"chr({ord(ch)})" if ch < " " else lit(ch)


def _csv_cell(col: Column) -> str:
    """SQL for one cell's CSV text (NULL when empty), as Python's csv module wrote the value's JSON form."""
    c = ident(col.name)
    if col.type in ("string", "geojson"):
        starts = ", ".join(str(ord(ch)) for ch in _FORMULA_START)  # ascii(): the first character's code point
        text = f"CASE WHEN ascii({c}) IN ({starts}) THEN concat({lit(chr(39))}, {c}) ELSE {c} END"  # neutralise()
        special = " OR ".join(f"contains({c}, {_char(ch)})" for ch in _CSV_SPECIAL)
        return f"CASE WHEN {special} THEN concat({lit(chr(34))}, replace({text}, {lit(chr(34))}, {lit(chr(34) * 2)}), " \
               f"{lit(chr(34))}) ELSE {text} END"
    if col.type == "datetime":  # datetime.isoformat() in UTC, the connection's time zone: no fraction when it is 0
        return (f"CASE WHEN epoch_us({c}) % 1000000 = 0 THEN strftime({c}, '%Y-%m-%dT%H:%M:%S+00:00') "
                f"ELSE strftime({c}, '%Y-%m-%dT%H:%M:%S.%f+00:00') END")
    if col.type == "number":  # the shortest text that reads back exactly, as repr(); NaN and infinity empty
        return f"CASE WHEN isfinite({c}) THEN CAST({c} AS VARCHAR) END"
    return f"CAST({c} AS VARCHAR)"  # integer; boolean as true/false; date as ISO


def csv_line(columns: list[Column]) -> str:
    """SQL for a row's whole CSV line, CRLF included. concat() skips NULLs, so an empty cell is ''; a
    record that is one empty cell is written "" as the csv module does, so it is not a blank line."""
    cells = [_csv_cell(c) for c in columns]
    if len(cells) == 1:
        cells = [f"coalesce(nullif({cells[0]}, ''), {lit(chr(34) * 2)})"]
    return "concat(" + ", ',', ".join(cells) + ", chr(13), chr(10))"


def csv_header(names: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(names)  # RFC 4180: CRLF, quoted when needed
    return buf.getvalue().encode("utf-8")


def _joined(lines: pa.Array) -> bytes:
    """A batch of lines back to back: the string array's data buffer from its first to its last offset."""
    if len(lines) == 0:
        return b""
    if lines.type not in (pa.string(), pa.large_string()):
        lines = lines.cast(pa.large_string())
    width = 8 if lines.type == pa.large_string() else 4
    _, offsets, data = lines.buffers()
    bounds = memoryview(offsets)[lines.offset * width:(lines.offset + len(lines) + 1) * width].cast("q" if width == 8 else "i")
    return memoryview(data)[bounds[0]:bounds[-1]].tobytes()


def csv_chunks(batches: pa.RecordBatchReader):
    """Each batch of finished lines (the query's one column) as one chunk; the header is sent apart."""
    for batch in batches:
        yield _joined(batch.column(0))


def _rows(batches: pa.RecordBatchReader, geojson_columns: set[str]):
    for batch in batches:
        for row in batch.to_pylist():
            out = {}
            for k, v in row.items():
                out[k] = json.loads(v) if k in geojson_columns and v else to_json(v)
            yield out


def json_chunks(batches, geojson_columns: set[str]):
    yield b"["
    first = True
    for row in _rows(batches, geojson_columns):
        yield (b"" if first else b",\n") + json.dumps(row, ensure_ascii=False).encode("utf-8")
        first = False
    yield b"]\n"


def ndjson_chunks(batches, geojson_columns: set[str]):
    for row in _rows(batches, geojson_columns):
        yield json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n"


def geojson_chunks(batches, geojson_columns: set[str], geometry: str | None):
    """A FeatureCollection: geometry from the declared geojson column, else a Point from lon/lat."""
    yield b'{"type":"FeatureCollection","features":['
    first = True
    for row in _rows(batches, geojson_columns):
        if geometry:
            geom = row.pop(geometry, None)
        else:
            lon, lat = row.get("longitude"), row.get("latitude")
            geom = {"type": "Point", "coordinates": [lon, lat]} if lon is not None and lat is not None else None
        feature = {"type": "Feature", "geometry": geom, "properties": row}
        yield (b"" if first else b",\n") + json.dumps(feature, ensure_ascii=False).encode("utf-8")
        first = False
    yield b"]}\n"


class _Sink(io.RawIOBase):
    """A write-only file that hands back what was written since the last drain."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def drain(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def parquet_chunks(batches: pa.RecordBatchReader):
    """One row group per batch, flushed as soon as it is written; the footer comes last."""
    sink = _Sink()
    writer = pq.ParquetWriter(sink, batches.schema, compression="zstd")
    try:
        for batch in batches:
            writer.write_batch(batch)
            yield sink.drain()
    finally:
        writer.close()
    yield sink.drain()
