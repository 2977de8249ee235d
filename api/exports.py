"""Streaming writers for downloads: Arrow record batches in, bytes out, one batch in memory at a time.

Why batches from one relation: the download reads the one manifest chosen when it started, so it
returns exactly one version even while a load publishes (files are immutable), and memory stays
flat whatever the size (habit 6, datasette's stream_csv).

CSV, JSON, NDJSON and GeoJSON are written by the query, not by Python: DuckDB turns each row into its
finished CSV line (RFC 4180 quoting, formulas neutralised, the text Python's csv module wrote
before) or JSON text (the text json.dumps wrote before) on all its threads, and a batch of lines
leaves as one slice of the Arrow string buffer, with no Python per row
(docs/decisions/0004-csv-export-in-sql.md).
"""
from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

from datasets import Column
from lake.sql import ident, lit
from portal.rows import EXPORT_FORMATS

BATCH_ROWS = 10_000  # ~4 MB of service_requests CSV; a bigger first batch delays the first row
# DuckDB's streaming_buffer_size: how far its threads may run ahead of the reader. At the default
# (~1 MB) they wait between batches and CSV streams at about 2/3 of the speed (decision 0004).
STREAM_BUFFER = "32MB"
FORMATS = {f.extension: f.content_type for f in EXPORT_FORMATS}  # extension -> Content-Type, from the one list
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


_ESCAPE_START = "\\u00"
_BACKSLASHES = "\\\\"  # an escaped backslash in JSON text
_UPPER_ESCAPES = [(f"\\u{code:04X}", f"\\u{code:04x}") for code in (0x0B, *range(0x0E, 0x20)) if f"{code:04X}" != f"{code:04x}"]


def _json_value(col: Column) -> str:
    """SQL for one value's JSON text, exactly as json.dumps(to_json(value), ensure_ascii=False) writes
    it ('null' when missing). A geojson column's stored text goes in as it is: the same JSON, written
    without the spaces json.dumps would add after re-reading it."""
    c = ident(col.name)
    if col.type == "string":
        text = f"CAST(to_json({c}) AS VARCHAR)"
        # DuckDB writes \u001B where Python writes \u001b: only control characters, so only looked at
        # then, and only in the pieces between escaped backslashes ("\\"), so a value that holds the
        # six characters \u001B itself (written "\\u001B") is left as it is.
        piece = "x"
        for upper, lower in _UPPER_ESCAPES:
            piece = f"replace({piece}, {lit(upper)}, {lit(lower)})"
        fixed = f"array_to_string(list_transform(string_split({text}, {lit(_BACKSLASHES)}), lambda x: {piece}), {lit(_BACKSLASHES)})"
        value = f"CASE WHEN contains({text}, {lit(_ESCAPE_START)}) THEN {fixed} ELSE {text} END"
    elif col.type == "geojson":
        value = _stored_json(c)
    elif col.type == "datetime":  # concat() skips NULLs: quoted only when there is a value
        value = f"CASE WHEN {c} IS NOT NULL THEN concat('\"', {_csv_cell(col)}, '\"') END"
    elif col.type == "date":
        value = f"CASE WHEN {c} IS NOT NULL THEN concat('\"', CAST({c} AS VARCHAR), '\"') END"
    elif col.type == "number":
        value = _csv_cell(col)  # repr()'s text; NaN and infinity become null
    else:
        value = f"CAST({c} AS VARCHAR)"  # integer; boolean as true/false
    return f"coalesce({value}, 'null')"


def _stored_json(c: str) -> str:
    """A geojson column's stored text as one line of strict JSON: ingest accepts what DuckDB's
    json_valid accepts (newlines, trailing commas), which json() writes compactly and strictly."""
    return f"CAST(json(nullif({c}, '')) AS VARCHAR)"


def _json_object(columns: list[Column]) -> list[str]:
    """The parts of a concat() writing a row as json.dumps(dict) does: {"name": value, ...}."""
    parts = ["'{'"]
    for i, col in enumerate(columns):
        parts += [lit(("" if i == 0 else ", ") + json.dumps(col.name) + ": "), _json_value(col)]
    return parts + ["'}'"]


def json_line(columns: list[Column], fmt: str, geometry: str | None = None) -> str:
    """SQL for a row's finished text in a JSON export (decision 0004, as for CSV): an NDJSON line, an
    element of a JSON array, or a GeoJSON Feature (geometry from the declared geojson column, else a
    Point from longitude and latitude). Array elements and features start with the ",\n" that
    separates them from the one before; json_chunks drops the first one."""
    if fmt == "ndjson":
        return "concat(" + ", ".join(_json_object(columns)) + ", chr(10))"
    if fmt == "json":
        return "concat(',', chr(10), " + ", ".join(_json_object(columns)) + ")"
    if geometry:
        geom = f"coalesce({_stored_json(ident(geometry))}, 'null')"
        properties = [c for c in columns if c.name != geometry]
    else:
        lon, lat = (f"CASE WHEN isfinite({ident(n)}) THEN CAST({ident(n)} AS VARCHAR) END" for n in ("longitude", "latitude"))
        geom = (f"CASE WHEN {lon} IS NOT NULL AND {lat} IS NOT NULL THEN concat('{{\"type\": \"Point\", "
                f"\"coordinates\": [', {lon}, ', ', {lat}, ']}}') ELSE 'null' END")
        properties = columns
    return (f"concat(',', chr(10), '{{\"type\": \"Feature\", \"geometry\": ', {geom}, ', \"properties\": ', "
            + ", ".join(_json_object(properties)) + ", '}')")


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


def ndjson_chunks(batches: pa.RecordBatchReader):
    """Each batch of finished NDJSON lines (json_line) as one chunk."""
    for batch in batches:
        yield _joined(batch.column(0))


def _separated(batches: pa.RecordBatchReader, head: bytes, tail: bytes):
    """head, the elements (each made with a leading ",\n", dropped from the first), tail."""
    yield head
    first = True
    for batch in batches:
        chunk = _joined(batch.column(0))
        if first and chunk:
            chunk, first = chunk[2:], False
        yield chunk
    yield tail


def json_chunks(batches: pa.RecordBatchReader):
    """A JSON array of row objects, as json.dumps wrote them one by one."""
    return _separated(batches, b"[", b"]\n")


def geojson_chunks(batches: pa.RecordBatchReader):
    """A FeatureCollection of the Features json_line wrote."""
    return _separated(batches, b'{"type":"FeatureCollection","features":[', b"]}\n")


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
