"""Streaming writers for downloads: Arrow record batches in, bytes out, one batch in memory at a time.

Why batches from one relation: the download reads the one manifest chosen when it started, so it
returns exactly one version even while a load publishes (files are immutable), and memory stays
flat whatever the size (habit 6, datasette's stream_csv).
"""
from __future__ import annotations

import csv
import io
import json
import math

import pyarrow as pa
import pyarrow.parquet as pq

from api.rowquery import to_json

BATCH_ROWS = 10_000
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "geojson": "application/geo+json",
    "parquet": "application/vnd.apache.parquet",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A text cell a spreadsheet would run as a formula gets a leading quote (OWASP CSV injection)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_cell(value, is_text: bool):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)
    value = to_json(value)
    return neutralise(value) if is_text else value


def csv_chunks(batches: pa.RecordBatchReader, text_columns: set[str]):
    names = batches.schema.names
    text = [n in text_columns for n in names]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180: CRLF, quotes doubled, quoted when needed
    writer.writerow(names)
    for batch in batches:
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for row in zip(*columns, strict=True):
            writer.writerow([_csv_cell(v, t) for v, t in zip(row, text, strict=True)])
        yield buf.getvalue().encode("utf-8")
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue().encode("utf-8")


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
