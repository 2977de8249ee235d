"""Read JSON sources (an array of records, newline-delimited records, or GeoJSON) into records.

Why Python's json module here: the documents are nested (Open311 notes, GeoJSON geometry), and a
malformed line of NDJSON must become one rejected record, which a bulk reader cannot report.
Nested values are kept as JSON text so format mappings can reach into them with DuckDB's JSON
functions.
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from etl.errors import InputError


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_records(path: Path, reader: str, limit: int | None = None) -> tuple[list[dict], list[dict]]:
    """(records, rejects). Each record gets `_line`: its position (1-based), or its line for NDJSON."""
    text = _read_text(path)
    stripped = text.lstrip()
    if reader == "json" and not stripped.startswith(("[", "{")):
        raise InputError(f"{path.name}: not JSON: it starts with {stripped[:40]!r}")
    if reader == "json" and stripped.startswith("{") and "\n{" in stripped.rstrip():
        return _ndjson(text, limit)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path.name}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if reader == "geojson":
        return _features(doc, path.name, limit)
    return _array(doc, limit)


def _read_text(path: Path) -> str:
    """The file as text; an empty or binary file is an InputError before anything is parsed."""
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"{path.name}: the file is empty")
    if b"\x00" in data[:65536]:
        raise InputError(f"{path.name}: this is not a text file (it contains NUL bytes)")
    return _decode(data, path.name)


def _ndjson(text: str, limit: int | None) -> tuple[list[dict], list[dict]]:
    """One record a line: a malformed line is one reject, not a failed file."""
    records, rejects = [], []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            rejects.append({"line": lineno, "reason": f"malformed JSON: {exc.msg}", "raw": line[:10000]})
            continue
        _add(obj, lineno, records, rejects, line)
        if limit and len(records) >= limit:
            break
    return records, rejects


def _features(doc, name: str, limit: int | None) -> tuple[list[dict], list[dict]]:
    """A FeatureCollection's features as records: their properties plus `geometry`."""
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InputError(f"{name}: not a GeoJSON FeatureCollection")
    records, rejects = [], []
    for i, feature in enumerate(doc.get("features", []), start=1):
        if not isinstance(feature, dict):
            rejects.append({"line": i, "reason": "feature is not an object", "raw": json.dumps(feature)[:10000]})
            continue
        obj = dict(feature.get("properties") or {})
        obj["geometry"] = feature.get("geometry")
        _add(obj, i, records, rejects, feature)
        if limit and len(records) >= limit:
            break
    return records, rejects


def _array(doc, limit: int | None) -> tuple[list[dict], list[dict]]:
    """An array of records, or one record; a wrapper object holding one array is unwrapped."""
    if isinstance(doc, dict):
        # Open311 servers and some APIs wrap the array: {"requests": [...]} or {"data": [...]}.
        arrays = [v for v in doc.values() if isinstance(v, list)]
        doc = arrays[0] if len(arrays) == 1 else [doc]
    records, rejects = [], []
    for i, obj in enumerate(doc, start=1):
        _add(obj, i, records, rejects, obj)
        if limit and len(records) >= limit:
            break
    return records, rejects


def _add(obj, line: int, records: list, rejects: list, raw) -> None:
    if not isinstance(obj, dict):
        rejects.append({"line": line, "reason": "record is not a JSON object", "raw": json.dumps(raw)[:10000] if not isinstance(raw, str) else raw})
        return
    rec = {k.strip(): _text(v) for k, v in obj.items()}
    rec["_line"] = line
    records.append(rec)


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False)


def to_arrow(records: list[dict]) -> pa.Table:
    """A table of string columns (the union of the records' keys) plus the BIGINT `_line`."""
    keys: dict[str, None] = {}
    for rec in records:
        keys.update(dict.fromkeys(rec))
    keys.pop("_line", None)
    arrays = {k: pa.array([r.get(k) for r in records], type=pa.string()) for k in keys}
    arrays["_line"] = pa.array([r["_line"] for r in records], type=pa.int64())
    return pa.table(arrays)
