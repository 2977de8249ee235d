"""JSON, NDJSON and GeoJSON exports are built in SQL like CSV (decision 0004); they must be exactly what
the Python writers they replaced produced: json.dumps of each row's JSON-safe values, so the speed-up
changed no byte of a download. The one allowed difference: a geojson column's stored text goes out as
stored, where Python re-read and re-wrote it with spaces, so those compare as parsed JSON."""
from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest

from api import exports
from api.rowquery import to_json
from datasets import Column
from tests.unit.test_csv_export import TYPES, _table

CONTROL = ["".join(chr(i) for i in range(32)), "\x7f DEL", "\u2028 \u2029", "emoji 😀", 'back\\slash "quote"', "/slash",
           "\x1b", "\\u001B typed, not escaped", "a\\u001Fb\x1f", "\\\x1b", "\\\\u001B"]


def _python_rows(table: pa.Table, columns: list[Column]) -> list[dict]:
    geo = {c.name for c in columns if c.type == "geojson"}
    return [{k: json.loads(v) if k in geo and v else to_json(v) for k, v in row.items()} for row in table.to_pylist()]


def _python(fmt: str, table: pa.Table, columns: list[Column], geometry: str | None = None) -> bytes:
    """The writers this replaced (api/exports.py before this change)."""
    rows = _python_rows(table, columns)
    dump = lambda o: json.dumps(o, ensure_ascii=False).encode("utf-8")  # noqa: E731
    if fmt == "ndjson":
        return b"".join(dump(r) + b"\n" for r in rows)
    if fmt == "json":
        return b"[" + b",\n".join(dump(r) for r in rows) + b"]\n"
    features = []
    for row in rows:
        if geometry:
            geom = row.pop(geometry, None)
        else:
            lon, lat = row.get("longitude"), row.get("latitude")
            geom = {"type": "Point", "coordinates": [lon, lat]} if lon is not None and lat is not None else None
        features.append(dump({"type": "Feature", "geometry": geom, "properties": row}))
    return b'{"type":"FeatureCollection","features":[' + b",\n".join(features) + b"]}\n"


def _sql(fmt: str, table: pa.Table, columns: list[Column], geometry: str | None = None, batch: int = 5) -> bytes:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("t", table)
    reader = con.sql(f"SELECT {exports.json_line(columns, fmt, geometry)} FROM t").to_arrow_reader(batch)
    writer = {"json": exports.json_chunks, "ndjson": exports.ndjson_chunks, "geojson": exports.geojson_chunks}[fmt]
    return b"".join(writer(reader))


def _columns(names: list[str]) -> list[Column]:
    return [Column(name=n, type=TYPES[n][0], description="") for n in names]


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
@pytest.mark.parametrize("names", [list("sinbdt"), ["s"], ["n"], ["t", "s"], ["b", "d"]])
def test_sql_json_equals_json_dumps_byte_for_byte(fmt, names):
    table = _table().select(names)
    assert _sql(fmt, table, _columns(names)) == _python(fmt, table, _columns(names))


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_control_characters_and_unicode_are_escaped_as_python_does(fmt):
    table = pa.table({"s": pa.array(CONTROL)})
    columns = [Column(name="s", type="string", description="")]
    assert _sql(fmt, table, columns) == _python(fmt, table, columns)


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_a_geojson_column_goes_out_as_the_same_json(fmt):
    names = ["g", "s", "i"]
    table = _table().select(names)
    sql, python = _sql(fmt, table, _columns(names)), _python(fmt, table, _columns(names))
    parse = (lambda b: [json.loads(x) for x in b.splitlines()]) if fmt == "ndjson" else json.loads  # noqa: E731
    assert parse(sql) == parse(python)


def test_geojson_points_from_longitude_and_latitude_as_before():
    values = [-73.9, None, float("nan"), -74.0]
    table = pa.table({"request_id": pa.array(["a", "b", "c", "d"]), "longitude": pa.array(values, pa.float64()),
                      "latitude": pa.array([40.7, 40.8, 40.6, None], pa.float64())})
    columns = [Column(name="request_id", type="string", description=""),
               Column(name="longitude", type="number", description=""), Column(name="latitude", type="number", description="")]
    assert _sql("geojson", table, columns) == _python("geojson", table, columns)


def test_geojson_geometry_from_a_geometry_column_is_left_out_of_the_properties():
    names = ["s", "g"]
    table = _table().select(names)
    sql = json.loads(_sql("geojson", table, _columns(names), geometry="g"))
    assert sql == json.loads(_python("geojson", table, _columns(names), geometry="g"))
    assert all("g" not in f["properties"] for f in sql["features"])


@pytest.mark.parametrize("fmt", ["json", "geojson"])
def test_an_empty_export_is_an_empty_array_or_collection(fmt):
    table = _table().select(["s", "n"]).slice(0, 0)
    columns = _columns(["s", "n"]) if fmt == "json" else [
        Column(name="longitude", type="number", description=""), Column(name="latitude", type="number", description="")]
    if fmt == "geojson":
        table = pa.table({"longitude": pa.array([], pa.float64()), "latitude": pa.array([], pa.float64())})
    assert _sql(fmt, table, columns) == _python(fmt, table, columns)


@pytest.mark.parametrize("fmt", ["json", "ndjson", "geojson"])
def test_a_geojson_column_stored_loosely_goes_out_as_strict_json_on_one_line(fmt):
    """Ingest takes what DuckDB's json_valid takes: newlines inside, a trailing comma."""
    loose = '{"type": "LineString",\n "coordinates": [[-76.1, 43.0], [-76.2, 43.1],],}'
    table = pa.table({"s": pa.array(["a", "b"]), "g": pa.array([loose, None])})
    columns = [Column(name="s", type="string", description=""), Column(name="g", type="geojson", description="")]
    out = _sql(fmt, table, columns, geometry="g" if fmt == "geojson" else None)
    if fmt == "ndjson":
        rows = [json.loads(line) for line in out.decode().splitlines()]
        assert len(rows) == 2 and rows[0]["g"]["coordinates"][1] == [-76.2, 43.1] and rows[1]["g"] is None
    else:
        parsed = json.loads(out)
        first = parsed["features"][0]["geometry"] if fmt == "geojson" else parsed[0]["g"]
        assert first == {"type": "LineString", "coordinates": [[-76.1, 43.0], [-76.2, 43.1]]}
