"""CSV lines are built in SQL (decision 0004); they must be exactly what Python's csv module writes
for the same values, formulas neutralised, so the speed-up changed no byte of a download (issue 5)."""
from __future__ import annotations

import csv
import io
import math
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa
import pytest

from api import exports
from api.rowquery import to_json
from datasets import Column

TEXT = ["plain", "=1+1", "+x", "-x", "@x", "\tx", "\rx", 'say "hi", then\nleave', "a,b", "x\r", "", None, "é=ü", "'quoted"]
TYPES = {
    "s": ("string", pa.string(), TEXT),
    "g": ("geojson", pa.string(), ['{"type":"Point","coordinates":[-73.9,40.7]}', None] * 7),
    "i": ("integer", pa.int64(), [0, -5, 2**62, None, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]),
    "n": ("number", pa.float64(), [0.1, -73.93289668154927, 1e16, 1e-05, -0.0, 2.0, math.nan, math.inf, -math.inf, None,
                                   1.5e-07, 123456789012345680.0, 1e15, 40.7]),
    "b": ("boolean", pa.bool_(), [True, False, None] * 4 + [True, False]),
    "d": ("date", pa.date32(), [date(2025, 3, 1), None, date(1999, 12, 31)] * 4 + [date(2026, 1, 1), None]),
    "t": ("datetime", pa.timestamp("us", tz="UTC"),
          [datetime(2025, 3, 1, 8, 0, tzinfo=UTC), datetime(2025, 3, 1, 8, 0, 0, 123, tzinfo=UTC), None,
           datetime(2023, 11, 20, 23, 59, 59, 999999, tzinfo=UTC)] * 3 + [None, datetime(2026, 1, 1, tzinfo=UTC)]),
}


def _python_csv(table: pa.Table, columns: list[Column]) -> bytes:
    """The writer this replaced: csv.writer over each value's JSON form, text neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for row in table.to_pylist():
        cells = []
        for col in columns:
            value = row[col.name]
            if value is None or (isinstance(value, float) and not math.isfinite(value)):
                cells.append("")
            elif isinstance(value, bool):
                cells.append("true" if value else "false")
            elif isinstance(value, float):
                cells.append(repr(value))
            else:
                value = to_json(value)
                cells.append(exports.neutralise(value) if col.type in ("string", "geojson") else value)
        writer.writerow(cells)
    return buf.getvalue().encode("utf-8")


def _sql_csv(table: pa.Table, columns: list[Column]) -> bytes:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("t", table)
    reader = con.sql(f"SELECT {exports.csv_line(columns)} FROM t").to_arrow_reader(5)
    return b"".join(exports.csv_chunks(reader))


def _table() -> pa.Table:
    return pa.table({name: pa.array(values, type=arrow) for name, (_, arrow, values) in TYPES.items()})


@pytest.mark.parametrize("names", [list(TYPES), ["s"], ["n"], ["t", "s"], ["g", "b", "d"]])
def test_sql_lines_equal_the_csv_module(names):
    columns = [Column(name=n, type=TYPES[n][0], description="") for n in names]
    table = _table().select(names)
    assert _sql_csv(table, columns) == _python_csv(table, columns)


def test_a_record_of_one_empty_cell_is_quoted_not_a_blank_line():
    columns = [Column(name="s", type="string", description="")]
    out = _sql_csv(pa.table({"s": pa.array(["", None, "x"])}), columns)
    assert out == b'""\r\n""\r\nx\r\n'
    assert len(list(csv.reader(io.StringIO(out.decode())))) == 3


def test_batches_are_sliced_not_copied_row_by_row():
    lines = pa.array(["a\r\n", "bb\r\n", "ccc\r\n", "dddd\r\n"]).slice(1, 2)  # an offset into the buffer
    assert exports._joined(lines) == b"bb\r\nccc\r\n"
    assert exports._joined(pa.array(["x\r\n"], type=pa.large_string())) == b"x\r\n"
    assert exports._joined(pa.array([], type=pa.string())) == b""
