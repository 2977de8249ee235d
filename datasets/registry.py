"""Load the dataset declarations (one YAML file each) into frozen dataclasses, checked at load time.

Why: a declaration is the single source of truth; validation, DuckDB views, the data dictionary and
the open-data catalogs are derived from it, so a typo here must fail loudly at start-up, not later.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent

# Declaration types are Frictionless Table Schema types; each has one DuckDB storage type.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMPTZ",
    "geojson": "VARCHAR",
}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SOCRATA_ID = re.compile(r"^[a-z0-9]{4}-[a-z0-9]{4}$")  # what RSocrata and the portals accept as an id


class DeclarationError(ValueError):
    """A dataset declaration is malformed."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    required: bool = False
    public: bool = True
    unit: str | None = None
    allowed: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    future_ok: bool = False  # a planned time (a due date) may lie ahead; event times may not
    free_text: bool = False  # written by people: phone numbers and e-mail addresses are masked at load (decision 0014)

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]


@dataclass(frozen=True)
class Check:
    """A row-level rule over typed columns (an SQL boolean); a row failing it is rejected with `reason`."""

    name: str
    sql: str
    reason: str


@dataclass(frozen=True)
class SodaField:
    """One field of the SODA API (api/soda.py): a public column under the name a city's Socrata portal
    gives it, or a point made of a latitude and a longitude column (Socrata's `location`)."""

    name: str
    column: str | None = None
    point: tuple[str, str] | None = None  # (latitude column, longitude column)


@dataclass(frozen=True)
class SocrataAlias:
    """The Socrata identity of a dataset whose data is a city portal's (NYC 311 is `erm2-nwe9`): the
    id and field names a script written for that portal uses, so only its domain changes (issue 18)."""

    id: str
    fields: tuple[SodaField, ...]


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    description: str
    publisher: str
    contact: str
    licence_name: str
    licence_url: str
    update_cadence: str
    accrual_periodicity: str
    keywords: tuple[str, ...]
    theme: str
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    source_formats: tuple[str, ...]
    sort_by: tuple[str, ...] = ()
    time_column: str | None = None
    # Columns saying when a record's event happened; the newest value among them is the data's own
    # time ("data through 04:22 EST"), as opposed to when a version was published (issue 16).
    recorded_at: tuple[str, ...] = ()
    checks: tuple[Check, ...] = field(default_factory=tuple)
    socrata: SocrataAlias | None = None

    @property
    def soda_fields(self) -> tuple[SodaField, ...]:
        """The SODA API's fields: the alias's, else every public column under its own name."""
        if self.socrata is not None:
            return self.socrata.fields
        return tuple(SodaField(c.name, column=c.name) for c in self.public_columns)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def public_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.public)

    @property
    def typed(self) -> dict[str, str]:
        """Every column's DuckDB type by name: what a reader of the lake's files expects (lake/relation.py)."""
        return {c.name: c.duckdb_type for c in self.columns}

    @property
    def public_typed(self) -> dict[str, str]:
        """The public columns' DuckDB types by name: all the web side may read."""
        return {c.name: c.duckdb_type for c in self.public_columns}

    @property
    def free_text_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.free_text)


@dataclass(frozen=True)
class City:
    key: str
    name: str
    timezone: str
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float


def _column(raw: dict, where: str) -> Column:
    unknown = set(raw) - set(Column.__dataclass_fields__)
    if unknown:
        raise DeclarationError(f"{where}: unknown column keys {sorted(unknown)}")
    if not _NAME.match(str(raw.get("name", ""))):
        raise DeclarationError(f"{where}: column name {raw.get('name')!r} must be lower_snake_case")
    if raw.get("type") not in DUCKDB_TYPES:
        raise DeclarationError(f"{where}: column {raw['name']} has type {raw.get('type')!r}; allowed {sorted(DUCKDB_TYPES)}")
    if not raw.get("description"):
        raise DeclarationError(f"{where}: column {raw['name']} needs a description")
    if raw.get("free_text"):
        _check_free_text(raw, where)
    allowed = raw.get("allowed")
    return Column(**{**raw, "allowed": tuple(allowed) if allowed is not None else None})


def _check_free_text(raw: dict, where: str) -> None:
    """Free text is what people type: a public string with no vocabulary. Masking a closed list or a
    pattern would be a mistake in the YAML, and a non-public column never leaves the lake, so masking
    it would only destroy what the city keeps (a call-back number) for nothing."""
    name = raw["name"]
    if raw.get("free_text") is not True:
        raise DeclarationError(f"{where}: column {name}: free_text must be true or left out")
    if raw.get("type") != "string":
        raise DeclarationError(f"{where}: column {name} is free_text but has type {raw.get('type')!r}; free text is a string")
    if raw.get("public") is False:
        raise DeclarationError(f"{where}: column {name} is free_text but not public: only published text is masked")
    for key in ("allowed", "pattern"):
        if raw.get(key) is not None:
            raise DeclarationError(f"{where}: column {name} is free_text and has {key!r}: free text has no fixed form")


def read_yaml(path: Path):
    """A declaration file, parsed with libyaml's safe loader when PyYAML has it (about ten times
    faster than the pure-Python one, which took ~0.1 s of every process's first load)."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _dataset(path: Path) -> Dataset:
    raw = read_yaml(path)
    where = path.name
    required = ["name", "title", "description", "publisher", "contact", "licence", "update_cadence",
                "accrual_periodicity", "primary_key", "columns", "source_formats"]
    missing = [k for k in required if k not in raw]
    if missing:
        raise DeclarationError(f"{where}: missing {missing}")
    if raw["name"] != path.stem:
        raise DeclarationError(f"{where}: name {raw['name']!r} must match the file name")
    columns = tuple(_column(c, where) for c in raw["columns"])
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise DeclarationError(f"{where}: duplicate column names")
    for key in raw["primary_key"] + raw.get("sort_by", []) + ([raw["time_column"]] if raw.get("time_column") else []):
        if key not in names:
            raise DeclarationError(f"{where}: {key!r} is not a declared column")
    for key in raw.get("recorded_at", []):
        if key not in names or columns[names.index(key)].type != "datetime" or not columns[names.index(key)].public:
            raise DeclarationError(f"{where}: recorded_at {key!r} must be a public datetime column")
    for key in raw["primary_key"]:
        col = columns[names.index(key)]
        if not col.required:
            raise DeclarationError(f"{where}: primary key column {key} must be required")
    return Dataset(
        name=raw["name"],
        title=raw["title"],
        description=" ".join(raw["description"].split()),
        publisher=raw["publisher"],
        contact=raw["contact"],
        licence_name=raw["licence"]["name"],
        licence_url=raw["licence"]["url"],
        update_cadence=raw["update_cadence"],
        accrual_periodicity=raw["accrual_periodicity"],
        keywords=tuple(raw.get("keywords", ())),
        theme=raw.get("theme", ""),
        primary_key=tuple(raw["primary_key"]),
        columns=columns,
        source_formats=tuple(raw["source_formats"]),
        sort_by=tuple(raw.get("sort_by", ())),
        time_column=raw.get("time_column"),
        recorded_at=tuple(raw.get("recorded_at", ())),
        checks=tuple(Check(**c) for c in raw.get("checks", ())),
        socrata=_socrata(raw["socrata"], columns, where) if "socrata" in raw else None,
    )


def _socrata(raw: dict, columns: tuple[Column, ...], where: str) -> SocrataAlias:
    """The alias checked: a Socrata-shaped id, lower_snake_case field names, each naming a public column
    (or a point of two number columns), and every public column reachable under some field, so the
    alias hides nothing the rows API shows."""
    if set(raw) != {"id", "fields"} or not SOCRATA_ID.match(str(raw["id"])):
        raise DeclarationError(f"{where}: socrata needs an id like 'erm2-nwe9' and fields, got {sorted(raw)}")
    public = {c.name: c for c in columns if c.public}
    fields = []
    for name, source in raw["fields"].items():
        if not _NAME.match(name):
            raise DeclarationError(f"{where}: socrata field {name!r} must be lower_snake_case")
        if isinstance(source, dict) and set(source) == {"point"} and len(source["point"]) == 2:
            lat, lon = source["point"]
            if any(public.get(c) is None or public[c].type != "number" for c in (lat, lon)):
                raise DeclarationError(f"{where}: socrata field {name}: a point is [latitude, longitude] number columns")
            fields.append(SodaField(name, point=(lat, lon)))
        elif source in public:
            fields.append(SodaField(name, column=source))
        else:
            raise DeclarationError(f"{where}: socrata field {name} names {source!r}, not a public column")
    reached = {f.column for f in fields} | {c for f in fields for c in (f.point or ())}
    if set(public) - reached:
        raise DeclarationError(f"{where}: socrata fields leave out public columns {sorted(set(public) - reached)}")
    return SocrataAlias(id=raw["id"], fields=tuple(fields))


@cache
def datasets() -> dict[str, Dataset]:
    """Every declared dataset by name, in file-name order."""
    return {p.stem: _dataset(p) for p in sorted(HERE.glob("*.yaml")) if p.stem not in ("cities", "kpis", "rollups")}


def get(name: str) -> Dataset:
    try:
        return datasets()[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(datasets())}") from None


@cache
def cities() -> dict[str, City]:
    raw = read_yaml(HERE / "cities.yaml")
    return {key: City(key=key, name=v["name"], timezone=v["timezone"], **v["bbox"]) for key, v in raw.items()}


def city(key: str) -> City:
    try:
        return cities()[key]
    except KeyError:
        raise KeyError(f"unknown city profile {key!r}; known: {', '.join(cities())}") from None


def by_soda_id(key: str) -> Dataset:
    """The dataset a SODA URL names: by its Socrata alias (`erm2-nwe9`) or its own name."""
    for ds in datasets().values():
        if key == ds.name or (ds.socrata is not None and key == ds.socrata.id):
            return ds
    raise KeyError(f"unknown dataset {key!r}")
