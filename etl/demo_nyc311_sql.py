"""The SQL that generates the demo's NYC 311 export, one chunk of rows at a time.

Why SQL over range() with hash-based randomness: every value of row i is a pure function of (i,
seed), drawn as u(i, k) = DuckDB hash(64 i + k + seed offset) (the macro etl/demo_nyc311.py
defines), so the same seed gives byte-identical files whatever the chunk size or number of
workers, and no Python runs per row. Three statements a chunk: `core` (created time and complaint
type), `rows` (the values several columns share), then one finished CSV line per row, built from
the export's 41 columns named by their header.
"""
from __future__ import annotations

from etl.demo_city import BOROUGH_SHARE, BOROUGHS, DISTRICTS, HIGHWAYS, PARKS, STREETS
from etl.demo_complaints import AGENCIES, OPEN_NOTE
from lake.sql import lit

FMT = "%m/%d/%Y %I:%M:%S %p"
DIRT_RATE = 0.0001  # closed before created: the validator rightly rejects these few rows

HEADER = (
    "Unique Key,Created Date,Closed Date,Agency,Agency Name,Complaint Type,Descriptor,Location Type,Incident Zip,"
    "Incident Address,Street Name,Cross Street 1,Cross Street 2,Intersection Street 1,Intersection Street 2,"
    "Address Type,City,Landmark,Facility Type,Status,Due Date,Resolution Description,Resolution Action Updated Date,"
    "Community Board,BBL,Borough,X Coordinate (State Plane),Y Coordinate (State Plane),Open Data Channel Type,"
    "Park Facility Name,Park Borough,Vehicle Type,Taxi Company Borough,Taxi Pick Up Location,Bridge Highway Name,"
    "Bridge Highway Direction,Road Ramp,Bridge Highway Segment,Latitude,Longitude,Location"
)


def sql_list(values) -> str:
    return "[" + ", ".join(lit(v) for v in values) + "]"


def _csv(value: str) -> str:
    """A value as it appears in a CSV field: quoted when it holds a comma or a quote."""
    return '"' + value.replace('"', '""') + '"' if any(ch in value for ch in ',"\n') else value


def _flat(groups) -> tuple[list, list[int], list[int]]:
    """Lists of lists as one flat list plus per-group offsets and counts, for indexing in SQL."""
    flat, offsets, counts = [], [], []
    for g in groups:
        offsets.append(len(flat))
        counts.append(len(g))
        flat.extend(g)
    return flat, offsets, counts


def core_sql(lo: int, hi: int) -> str:
    """Rows lo..hi-1: created time from the hour slots, complaint type from that hour's mix."""
    return f"""CREATE OR REPLACE TEMP TABLE core AS
        WITH r AS (SELECT range AS i, u(range, 6) AS uf, u(range, 7) AS ut FROM range({lo}, {hi})),
        t AS (SELECT r.i, r.ut, s.key, s.t0 + floor(((r.i - s.first) + r.uf) * 3600.0 / s.n)::BIGINT AS created
              FROM r ASOF JOIN slots s ON r.i >= s.first)
        SELECT t.i, t.created, m.ty, m.agency, m.median_s, m.sigma, m.target_s
        FROM t ASOF JOIN mix m ON t.key = m.key AND t.ut >= m.lo
        ORDER BY t.i"""


def lookup_lists(types: list[dict]) -> dict[str, list]:
    """The lookup lists the SQL indexes into, set once per connection as DuckDB variables.

    Variables keep the statements short: parsing ~50 KB of list literals for every chunk cost more
    than generating a small chunk.
    """
    agencies, codes = list(AGENCIES), sorted(DISTRICTS)
    out = {
        "boro_first": [codes.index(next(c for c in codes if c // 100 == b + 1)) for b in range(5)],
        "boro_count": [sum(1 for c in codes if c // 100 == b + 1) for b in range(5)],
        "cd_lat": [DISTRICTS[c][0] for c in codes], "cd_lon": [DISTRICTS[c][1] for c in codes], "cd_rad": [DISTRICTS[c][2] for c in codes],
        "cities": [DISTRICTS[c][4] for c in codes], "boards": [f"{c % 100:02d} {BOROUGHS[c // 100 - 1]}" for c in codes],
        "boroughs": list(BOROUGHS), "blocks": [2250, 5958, 8955, 16350, 8050], "highways": list(HIGHWAYS),
        "agencies": agencies, "agency_names": [_csv(AGENCIES[a][0]) for a in agencies],
        "types": [_csv(t["name"]) for t in types], "extra": [t["extra"] for t in types],
    }
    for name, groups in (("streets", STREETS), ("parks", PARKS), ("zips", [DISTRICTS[c][3].split() for c in codes]),
                         ("descriptors", [[_csv(x) for x in t["descriptors"]] for t in types]),
                         ("places", [[_csv(x) for x in t["locations"]] for t in types]),
                         ("notes", [[_csv(x) for x in AGENCIES[a][4]] for a in agencies])):
        out[name], out[f"{name}_off"], out[f"{name}_n"] = _flat(groups)
    return out


def v(name: str) -> str:
    return f"getvariable('{name}')"


def _pick(name: str, group: str, k: int) -> str:
    """A uniformly drawn (draw k) element of `group`'s part of the flat list `name`."""
    return f"{v(name)}[1 + {v(name + '_off')}[{group} + 1] + floor(u(i, {k}) * {v(name + '_n')}[{group} + 1])::INT]"


def rows_sql(end_s: int) -> str:
    """The values of each request that several export columns share, computed once per row."""
    share = [sum(BOROUGH_SHARE[: b + 1]) for b in range(4)]
    return f"""CREATE OR REPLACE TEMP TABLE rows AS
    WITH a AS (
      SELECT i, created, ty, agency, target_s, {end_s} - created AS age,
        CASE {' '.join(f'WHEN u(i, 10) < {share[b]} THEN {b}' for b in range(4))} ELSE 4 END AS b,
        u(i, 11) < 0.004 AS unsp,
        least(400 * 86400, greatest(120, median_s * exp(sigma * sqrt(-2 * ln(u(i, 1) + 1e-300)) * cos(2 * pi() * u(i, 2)))))::BIGINT AS res
      FROM core),
    b AS (
      SELECT *, {v('boro_first')}[b + 1] + floor(u(i, 12) * {v('boro_count')}[b + 1])::INT AS cd,
        res > age OR u(i, 3) < 0.03 + 0.5 * exp(-age / (86400 * 60.0)) AS open,
        {v('streets_off')}[b + 1] AS s_off, {v('streets_n')}[b + 1] AS s_n, floor(u(i, 13) * 100)::INT AS s
      FROM a),
    c AS (
      SELECT *,
        CASE WHEN open THEN NULL WHEN u(i, 4) < {DIRT_RATE} THEN created - 3600 - floor(u(i, 5) * 86400 * 20)::BIGINT ELSE created + res END AS closed,
        CASE WHEN NOT open THEN 0 WHEN agency = 0 THEN 2 WHEN agency = 1 THEN 1 WHEN u(i, 24) < 0.45 THEN 1
             WHEN u(i, 24) < 0.8 THEN 2 WHEN u(i, 24) < 0.92 THEN 3 ELSE 4 END AS st,
        CASE WHEN NOT unsp AND u(i, 19) >= 0.01
             THEN greatest(40.47, least(40.93, {v('cd_lat')}[cd + 1] + {v('cd_rad')}[cd + 1] * (u(i, 15) + u(i, 16) - 1))) END AS lat
      FROM b)
    SELECT i, created, ty, agency, b, cd, unsp, st, closed, age, {v('extra')}[ty + 1] AS extra,
      CASE WHEN created + target_s <= {end_s} THEN created + target_s END AS due,
      CASE WHEN unsp THEN 0 WHEN u(i, 14) < 0.84 THEN 1 WHEN u(i, 14) < 0.94 THEN 2 WHEN u(i, 14) < 0.97 THEN 3
           WHEN u(i, 14) < 0.98 THEN 4 ELSE 0 END AS atype,
      1 + s_off + s % s_n AS s1,
      1 + s_off + (s + 1 + floor(u(i, 20) * 5)::INT) % s_n AS s2,
      1 + s_off + (s + 6 + floor(u(i, 21) * 5)::INT) % s_n AS s3,
      lat, CAST(lat AS VARCHAR) AS lat_s,
      CAST(CASE WHEN lat IS NOT NULL
                THEN greatest(-74.27, least(-73.68, {v('cd_lon')}[cd + 1] + 1.3 * {v('cd_rad')}[cd + 1] * (u(i, 17) + u(i, 18) - 1))) END
           AS VARCHAR) AS lon_s
    FROM c"""


def _ts(epoch_sql: str) -> str:
    """An epoch-seconds expression as the export writes times."""
    return f"strftime(make_timestamp(({epoch_sql}) * 1000000), '{FMT}')"


_STREET, _CROSS1, _CROSS2 = f"{v('streets')}[s1]", f"{v('streets')}[s2]", f"{v('streets')}[s3]"
_BOROUGH = f"{v('boroughs')}[b + 1]"


def _request_fields() -> list[tuple[str, str]]:
    """Key, times, agency and complaint of a request."""
    return [
        ("Unique Key", "55000000 + i + i * 137 // 1000"),  # rises with i, with gaps like the real ones
        ("Created Date", _ts("created")),
        ("Closed Date", _ts("closed")),
        ("Agency", f"{v('agencies')}[agency + 1]"),
        ("Agency Name", f"{v('agency_names')}[agency + 1]"),
        ("Complaint Type", f"{v('types')}[ty + 1]"),
        ("Descriptor", _pick("descriptors", "ty", 25)),
        ("Location Type", _pick("places", "ty", 26)),
    ]


def _address_fields() -> list[tuple[str, str]]:
    """Where: ZIP, address or intersection by address type (`atype`), city, landmark."""
    house = ("CASE WHEN b = 3 THEN concat(10 + floor(u(i, 22) * 240)::INT, '-', lpad((1 + floor(u(i, 23) * 98)::INT)::VARCHAR, 2, '0')) "
             "ELSE (1 + floor(u(i, 22) * u(i, 22) * 2400)::INT)::VARCHAR END")
    return [
        ("Incident Zip", f"CASE WHEN NOT unsp AND u(i, 27) >= 0.005 THEN {_pick('zips', 'cd', 28)} END"),
        ("Incident Address", f"CASE WHEN atype IN (1, 4) THEN concat({house}, ' ', {_STREET}) END"),
        ("Street Name", f"CASE WHEN atype IN (1, 3) THEN {_STREET} END"),
        ("Cross Street 1", f"CASE WHEN atype IN (1, 3) THEN {_CROSS1} END"),
        ("Cross Street 2", f"CASE WHEN atype IN (1, 3) THEN {_CROSS2} END"),
        ("Intersection Street 1", f"CASE atype WHEN 1 THEN {_CROSS1} WHEN 2 THEN {_STREET} END"),
        ("Intersection Street 2", f"CASE atype WHEN 1 THEN {_CROSS2} WHEN 2 THEN {_CROSS1} END"),
        ("Address Type", "['', 'ADDRESS', 'INTERSECTION', 'BLOCKFACE', 'UNRECOGNIZED'][atype + 1]"),
        ("City", f"CASE WHEN NOT unsp THEN {v('cities')}[cd + 1] END"),
        ("Landmark", f"CASE WHEN atype = 1 THEN {_STREET} END"),
        ("Facility Type", "''"),
    ]


def _status_fields(end_s: int) -> list[tuple[str, str]]:
    """Status, due date, the agency's note and when it was updated."""
    return [
        ("Status", "['Closed', 'Open', 'In Progress', 'Assigned', 'Pending'][st + 1]"),
        ("Due Date", _ts("due")),
        ("Resolution Description", f"CASE WHEN closed IS NOT NULL THEN {_pick('notes', 'agency', 29)} "
                                   f"WHEN agency > 0 AND st > 1 THEN {lit(_csv(OPEN_NOTE))} END"),
        ("Resolution Action Updated Date",
         f"CASE WHEN closed IS NOT NULL THEN {_ts(f'least({end_s}, closed + 5 + floor(u(i, 30) * 600)::BIGINT)')} "
         f"WHEN agency > 0 AND st > 1 THEN {_ts('created + floor(u(i, 30) * least(age, 259200))::BIGINT')} END"),
    ]


def _district_fields() -> list[tuple[str, str]]:
    """Community board, tax lot, borough, State Plane position and the channel the request came by."""
    return [
        ("Community Board", f"CASE WHEN unsp THEN '0 Unspecified' ELSE {v('boards')}[cd + 1] END"),
        ("BBL", f"CASE WHEN atype = 1 THEN (b + 1) * 1000000000::BIGINT + (1 + floor(u(i, 31) * {v('blocks')}[b + 1])::BIGINT) * 10000"
                " + 1 + floor(u(i, 32) * 150)::BIGINT END"),
        ("Borough", f"CASE WHEN unsp THEN 'Unspecified' ELSE {_BOROUGH} END"),
        ("X Coordinate (State Plane)", "round(983687 + (CAST(lon_s AS DOUBLE) + 74.002028) * 276760)::BIGINT"),  # near enough
        ("Y Coordinate (State Plane)", "round(162001 + (lat - 40.611332) * 364370)::BIGINT"),
        ("Open Data Channel Type", "CASE WHEN u(i, 33) < 0.31 THEN 'PHONE' WHEN u(i, 33) < 0.62 THEN 'ONLINE' "
                                   "WHEN u(i, 33) < 0.94 THEN 'MOBILE' WHEN u(i, 33) < 0.99 THEN 'UNKNOWN' ELSE 'OTHER' END"),
    ]


def _extra_fields() -> list[tuple[str, str]]:
    """Columns only some complaint types fill (`extra`: 1 park, 2 taxi, 3 highway), and the position."""
    return [
        ("Park Facility Name", f"CASE WHEN extra = 1 AND NOT unsp THEN {_pick('parks', 'b', 34)} ELSE 'Unspecified' END"),
        ("Park Borough", f"CASE WHEN unsp THEN 'Unspecified' ELSE {_BOROUGH} END"),
        ("Vehicle Type", "''"),
        ("Taxi Company Borough", "''"),
        ("Taxi Pick Up Location",
         f"CASE WHEN extra = 2 AND NOT unsp THEN concat('\"', {_STREET}, ' AND ', {_CROSS1}, ', ', {_BOROUGH}, ', NY\"') END"),
        ("Bridge Highway Name", f"CASE WHEN extra = 3 THEN {v('highways')}[1 + floor(u(i, 35) * {len(HIGHWAYS)})::INT] END"),
        ("Bridge Highway Direction",
         "CASE WHEN extra = 3 THEN ['Eastbound', 'Westbound', 'Northbound', 'Southbound'][1 + floor(u(i, 36) * 4)::INT] END"),
        ("Road Ramp", "CASE WHEN extra = 3 THEN CASE WHEN u(i, 37) < 0.8 THEN 'Roadway' ELSE 'Ramp' END END"),
        ("Bridge Highway Segment", "CASE WHEN extra = 3 THEN concat('Exit ', 1 + floor(u(i, 38) * 30)::INT) END"),
        ("Latitude", "lat_s"),
        ("Longitude", "lon_s"),
        ("Location", "CASE WHEN lat_s IS NOT NULL THEN concat('\"(', lat_s, ', ', lon_s, ')\"') END"),
    ]


def line_sql(end_s: int) -> str:
    """One finished CSV line per row, fields joined by commas and quoted where they need it.

    One concat() per row whose bytes are written straight from Arrow is about twice as fast as
    DuckDB's order-preserving CSV COPY of 41 columns (measured on 2 cores: ~3 s against ~7 s per
    million rows).
    """
    fields = [*_request_fields(), *_address_fields(), *_status_fields(end_s), *_district_fields(), *_extra_fields()]
    assert [name for name, _ in fields] == HEADER.split(","), "the fields must follow the export's header"
    return "SELECT concat(" + ", ',', ".join(sql for _, sql in fields) + ", chr(10)) AS line FROM rows"
