"""A SODA 2.1 request (the $ clauses of a Socrata /resource/<id> URL) into one checked DuckDB query
over one lake version, and its rows as the finished JSON, CSV or GeoJSON text Socrata's clients read
(issue 18; decision 0017).

Why here: like portal/rows.py, the query runs through the worker's one reader with the web time
limit (habit 4); the clauses are parsed and checked by portal/soql/ against the dataset's SODA
fields (public columns under the names its Socrata alias declares, datasets/*.yaml). The rows are
written as text by DuckDB itself, one string per row (decision 0004), so a 50,000-row page costs
no Python per value. Values follow Socrata's conventions: numbers as strings, floating
timestamps `YYYY-MM-DDTHH:MM:SS.000` in the city's time, points as GeoJSON, missing fields left out.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field, replace

import duckdb

import config
import datasets
import lake
from datasets import Dataset
from lake import stamps
from lake.sql import ident, lit
from portal.reader import QueryError, Results, reader
from portal.rows import RowQuery
from portal.soql import Compiler, Expr, Field, SoqlError, parse

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 1_000  # Socrata's default page
MAX_OFFSET = 10**12
MAX_SEARCH_WORDS = 20
CLAUSES = ("$select", "$where", "$order", "$group", "$having", "$limit", "$offset", "$q", "$query")
OPTIONS = ("$$app_token", "$$exclude_system_fields")
# Declaration type -> Socrata type (what X-SODA2-Types and /api/views say)
SODA_TYPES = {"string": "text", "integer": "number", "number": "number", "boolean": "checkbox",
              "date": "calendar_date", "datetime": "floating_timestamp", "geojson": "line"}
ID = ":id"
CREATED_AT, UPDATED_AT = ":created_at", ":updated_at"
_PARAM = re.compile(r"\$(p[0-9]+)\b")


def max_limit() -> int:
    return config.get_int("soda_max_limit")


def zone() -> str:
    return datasets.city(config.get("city")).timezone


def fields(ds: Dataset) -> dict[str, Field]:
    """The table SoQL sees: each SODA field as SQL over the version's public columns, and :id (the
    primary key as text, sorted by the key's own columns)."""
    out = {}
    for f in ds.soda_fields:
        if f.point:
            lat, lon = (ident(c) for c in f.point)
            sql = (f"CASE WHEN {lat} IS NULL OR {lon} IS NULL THEN NULL ELSE concat('{{\"type\":\"Point\",\"coordinates\":[', "
                   f"{lon}, ',', {lat}, ']}}') END")
            out[f.name] = Field(f.name, "point", sql, point=(lat, lon))
            continue
        col = ds.column(f.column)
        sql = {"datetime": f"timezone({lit(zone())}, {ident(col.name)})",
               "date": f"CAST({ident(col.name)} AS TIMESTAMP)"}.get(col.type, ident(col.name))
        out[f.name] = Field(f.name, SODA_TYPES[col.type], sql)
    keys = [ident(k) for k in ds.primary_key]
    as_text = keys[0] if len(keys) == 1 else f"concat_ws('|', {', '.join(keys)})"
    out[ID] = Field(ID, "text", f"CAST({as_text} AS VARCHAR)", order=tuple(keys), system=True)
    # when the row entered the lake and last changed (lake/stamps.py), in the city's time as every
    # floating timestamp here; NULL for rows written before the lake stamped them
    for name, column in ((CREATED_AT, stamps.CREATED), (UPDATED_AT, stamps.UPDATED)):
        out[name] = Field(name, "floating_timestamp", f"timezone({lit(zone())}, {column})", system=True)
    return out


@dataclass
class SodaQuery:
    """A checked request: output columns (name, expression), SQL pieces with their bound values."""

    ds: Dataset
    columns: list[tuple[str, Expr]]
    where: list[str] = field(default_factory=list)
    group: list[str] = field(default_factory=list)
    having: str | None = None
    order: list[str] = field(default_factory=list)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    params: dict = field(default_factory=dict)
    grouped: bool = False  # aggregated: one row per group (or one row), no primary key left

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.columns]

    @property
    def types(self) -> list[str]:
        return [e.type if e.type != "null" else "text" for _, e in self.columns]


def parse_request(ds: Dataset, args: dict[str, list[str]]) -> SodaQuery:
    """Check every parameter of a SODA request (`args`: name -> its values) and build the query;
    SoqlError (a 400) on anything else."""
    table = fields(ds)
    for key, values in args.items():
        if key.startswith("$") and key not in (*CLAUSES, *OPTIONS):
            raise SoqlError(key, f"is not a SODA parameter; known: {', '.join((*CLAUSES, *OPTIONS))}")
        if key.startswith("$") and len(values) > 1:
            raise SoqlError(key, "is given more than once")
        if not key.startswith("$") and (key not in table or table[key].system):
            raise SoqlError(key, "is neither a $ parameter nor a field of this dataset")
    one = {k: v[0] for k, v in args.items() if k.startswith("$")}
    clauses = {k: v for k, v in one.items() if k in CLAUSES}
    if "$query" in clauses:
        if len(clauses) > 1:
            raise SoqlError("$query", f"cannot be combined with {', '.join(k for k in clauses if k != '$query')}")
        clauses = _statement(clauses["$query"])
    system = one.get("$$exclude_system_fields", "true").lower()
    if system not in ("true", "false"):
        raise SoqlError("$$exclude_system_fields", "must be true or false")
    c = Compiler(fields=table, zone=zone())
    q = _compile(ds, c, clauses, include_system=system == "false")
    for key, values in args.items():
        if not key.startswith("$"):
            for value in values:
                q.where.append(_equals(c, table[key], key, value))
    if "$q" in clauses:
        q.where.append(_search(c, table, clauses["$q"]))
    q.params = c.params
    return q


def _statement(text: str) -> dict[str, object]:
    """The clauses of a whole $query statement, each as its subtree (positions are the statement's)."""
    tree = parse(text, "$query", "query")
    out: dict[str, object] = {"$statement": True}
    names = {"select_clause": "$select", "where_clause": "$where", "group_clause": "$group",
             "having_clause": "$having", "order_clause": "$order"}
    rest = []
    for child in tree.children:
        if child is None:
            continue
        if hasattr(child, "data"):
            out[names[child.data]] = child
        else:
            rest.append(child)
    for token in rest:  # SEARCH 'text', LIMIT n, OFFSET n in order; a STRING is the search
        if token.type == "STRING":
            out["$q"] = str(token)[1:-1].replace("''", "'")
        elif "$limit" not in out and _follows(text, token, "limit"):
            out["$limit"] = str(token)
        else:
            out["$offset"] = str(token)
    return out


def _follows(text: str, token, word: str) -> bool:
    return text[:token.start_pos].rstrip().lower().endswith(word)


def _tree(clauses: dict, key: str, start: str):
    raw = clauses.get(key)
    if raw is None:
        return None
    return raw if not isinstance(raw, str) else parse(raw, key, start)


def _compile(ds: Dataset, c: Compiler, clauses: dict, include_system: bool) -> SodaQuery:
    """The clauses checked in the order they may refer to one another: $group (fields and $select's
    aliases), $select (knowing the groups), $where, $having and $order (aliases too). Inside a $query
    statement every error names $query, whose text its positions count in."""
    statement = bool(clauses.get("$statement"))

    def label(name: str) -> str:
        return "$query" if statement else name

    select_tree = _tree(clauses, "$select", "select_clause")
    distinct = bool(select_tree is not None and select_tree.children and getattr(select_tree.children[0], "data", "") == "distinct")
    group_trees = _tree(clauses, "$group", "group_clause")
    group: dict[str, str] = {}
    if group_trees is not None:
        c.clause = label("$group")
        named = _aliased(select_tree)
        for node in group_trees.children:
            name = str(node.children[0]) if getattr(node, "data", None) == "field" else None
            e = c.expr(named[name] if name in named and name not in c.fields else node)
            _check_groupable(c, e)
            group.setdefault(e.key, c.sql(e))
        c.group_sql = dict(group)
    c.clause = label("$select")
    columns = _select(c, select_tree, include_system)
    if distinct:
        group = {e.key: c.sql(e) for _, e in columns}
        c.group_sql = dict(group)
        columns = [(n, replace(e, loose=frozenset())) for n, e in columns]
    c.aliases = {n: e for n, e in columns}
    q = SodaQuery(ds=ds, columns=columns)
    where = _tree(clauses, "$where", "where_clause")
    if where is not None:
        c.clause = label("$where")
        e = c.expr(where.children[0])
        if e.aggregate:
            raise c.error("aggregates such as count() belong in $having", e.pos)
        q.where.append(c.boolean(e))
    c.use_aliases = True
    having = _tree(clauses, "$having", "having_clause")
    having_expr = None
    if having is not None:
        c.clause = label("$having")
        having_expr = c.expr(having.children[0])
        q.having = c.boolean(having_expr)
    order = _tree(clauses, "$order", "order_clause")
    order_exprs = []
    if order is not None:
        c.clause = label("$order")
        for item in order.children:
            e = c.expr(item.children[0])
            if e.type in ("point", "line"):
                raise c.error(f"a {e.type} cannot be sorted", e.pos)
            direction = " DESC" if item.children[1] is not None and str(item.children[1]).lower() == "desc" else ""
            q.order += [s + direction for s in (e.order or (c.sql(e),))]
            order_exprs.append(e)
    grouped = bool(group) or any(e.aggregate for _, e in columns) or (having_expr is not None and having_expr.aggregate)
    if having is not None and not grouped:
        raise SoqlError(label("$having"), "needs $group or an aggregate in $select")
    if grouped:
        for clause, exprs in (("$select", [e for _, e in columns]), ("$order", order_exprs),
                              ("$having", [having_expr] if having_expr else [])):
            for e in exprs:
                if e.loose:
                    raise SoqlError(label(clause), f"{', '.join(sorted(e.loose))} must be in $group or inside an aggregate such as count()",
                                    e.pos)
        q.group, q.grouped = list(group.values()), True
        q.order += [g for g in q.group if g not in q.order]  # a total order: the groups are unique
    else:
        q.order += [k for k in c.fields[ID].order if k not in q.order]  # ties broken by the primary key: stable pages
    q.limit = _whole(clauses, "$limit", DEFAULT_LIMIT, max_limit())
    q.offset = _whole(clauses, "$offset", 0, MAX_OFFSET)
    return q


def only_row(q: SodaQuery, row_id: str) -> None:
    """Narrow `q` to the one row whose :id is `row_id` (/resource/<id>/<row>.json)."""
    name = f"p{len(q.params)}"
    q.params[name] = row_id
    q.where.append(f"({fields(q.ds)[ID].sql} = CAST(${name} AS VARCHAR))")
    q.limit, q.offset = 1, 0


def _aliased(select_tree) -> dict:
    """$select's aliases and the expressions they name, so `$group=alias` groups by the expression."""
    if select_tree is None:
        return {}
    return {str(n.children[1].children[0]): n.children[0] for n in select_tree.children
            if getattr(n, "data", None) == "selected" and n.children[1] is not None}


def _check_groupable(c: Compiler, e: Expr) -> None:
    if e.aggregate:
        raise c.error("cannot group by an aggregate", e.pos)
    if e.type in ("point", "line"):
        raise c.error(f"cannot group by a {e.type}", e.pos)


def _select(c: Compiler, tree, include_system: bool) -> list[tuple[str, Expr]]:
    """The output columns: `*` is every field (and the system fields with $$exclude_system_fields=false),
    `:*` the system fields and every field; names are the alias, the field's, or Socrata's
    `function_field` form, made unique."""
    def everything(system: bool) -> list[tuple[str, Expr]]:
        chosen = [f for f in c.fields.values() if system or not f.system]
        return [(f.name, Expr(sql=f.sql, type=f.type, key=f"field:{f.name}", name=f.name, loose=frozenset({f.name}),
                              point=f.point, order=f.order or (f.sql,))) for f in chosen]

    if tree is None:
        return everything(include_system)
    out: list[tuple[str, Expr]] = []
    for i, node in enumerate(n for n in tree.children if getattr(n, "data", None) != "distinct" and n is not None):
        if node.data == "all_fields":
            out += everything(include_system)
        elif node.data == "system_fields":
            out += everything(True)
        else:
            expr_node, alias = node.children
            e = c.expr(expr_node)
            e = c.settled(e)
            name = str(alias.children[0]).strip("`") if alias is not None else (e.name or f"_expr_{i}")
            out.append((name, e))
    seen: dict[str, int] = {}
    unique = []
    for name, e in out:
        n = seen.get(name, 0)
        seen[name] = n + 1
        unique.append((name if n == 0 else f"{name}_{n}", e))
    return unique


def _whole(clauses: dict, key: str, default: int, most: int) -> int:
    raw = clauses.get(key)
    if raw is None:
        return default
    raw = str(raw).strip()
    if not (raw.isascii() and raw.isdigit()) or int(raw) > most:
        raise SoqlError(key, f"must be a whole number from 0 to {most:,}"
                        + ("; page through more rows with $offset" if key == "$limit" else ""))
    return int(raw)


def _equals(c: Compiler, f: Field, key: str, value: str) -> str:
    """A simple filter (`borough=BRONX`): the field equals the value, read as the field's type."""
    c.clause = key
    if f.type in ("point", "line"):
        raise SoqlError(key, f"a {f.type} cannot be filtered with {key}=; use $where")
    literal = Expr(sql=None, type="text", key="", literal=value)
    return f"({f.sql} = {c.sql(c.coerce(literal, f.type))})"


def _search(c: Compiler, table: dict[str, Field], text) -> str:
    """$q: every word appears, in any case, in some text field (Socrata's full-text search, plainly)."""
    words = str(text).split()
    if not words or len(words) > MAX_SEARCH_WORDS:
        raise SoqlError("$q", f"takes 1 to {MAX_SEARCH_WORDS} words")
    texts = [f.sql for f in table.values() if f.type == "text" and not f.system]
    if not texts:
        raise SoqlError("$q", "this dataset has no text fields to search")
    found = []
    for word in words:
        p = c.bind(word.lower(), "VARCHAR")
        found.append("(" + " OR ".join(f"contains(lower({s}), {p})" for s in texts) + ")")
    return "(" + " AND ".join(found) + ")"


# ---- the SQL and its text -----------------------------------------------------------------------

def _number_text(c: str) -> str:
    d = f"CAST({c} AS DOUBLE)"
    return (f"CASE WHEN NOT isfinite({d}) THEN NULL WHEN {d} = trunc({d}) AND abs({d}) < 1e15 "
            f"THEN CAST(CAST({d} AS BIGINT) AS VARCHAR) ELSE CAST({d} AS VARCHAR) END")


def _plain(type_: str, c: str, e: Expr | None = None) -> str:
    """SQL of a value's text as CSV and GeoJSON properties carry it (NULL when missing)."""
    if type_ == "number":
        return _number_text(c)
    if type_ in ("floating_timestamp", "calendar_date"):
        return f"strftime(CAST({c} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%g')"
    if type_ == "checkbox":
        return f"CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END"
    return f"CAST({c} AS VARCHAR)"


def _json(type_: str, c: str) -> str:
    """SQL of a value's JSON text (NULL when missing): numbers and times as strings, points and lines as GeoJSON."""
    if type_ in ("point", "line"):
        return f"CAST(json(nullif({c}, '')) AS VARCHAR)"
    if type_ == "checkbox":
        return _plain(type_, c)
    return f"CAST(to_json({_plain(type_, c)}) AS VARCHAR)"


def _object(parts: list[tuple[str, str]]) -> str:
    """A JSON object of (name, value JSON SQL); concat_ws leaves out the missing ones."""
    if not parts:
        return "'{}'"
    members = ", ".join(f"{lit(json.dumps(n) + ':')} || {v}" for n, v in parts)
    return f"concat('{{', concat_ws(',', {members}), '}}')"


def row_sql(q: SodaQuery, fmt: str) -> str:
    """SQL of one row's finished text in `fmt` over the inner query's columns c0, c1, ..."""
    cols = [(name, e.type, f"c{i}") for i, (name, e) in enumerate(q.columns)]
    if fmt == "csv":
        cells = [f"coalesce('\"' || replace({_plain(t, c)}, '\"', '\"\"') || '\"', '')" for _, t, c in cols]
        return "concat(" + ", ',', ".join(cells) + ")" if cells else "''"
    if fmt == "geojson":
        geo = next((c for _, t, c in cols if t in ("point", "line")), None)
        props = [(n, _json(t, c)) for n, t, c in cols if c != geo]
        geometry = f"coalesce({_json('point', geo)}, 'null')" if geo else "'null'"
        return f"concat('{{\"type\":\"Feature\",\"geometry\":', {geometry}, ',\"properties\":', {_object(props)}, '}}')"
    return _object([(n, _json(t, c)) for n, t, c in cols])


def csv_point(e: Expr) -> str | None:
    """A point field's CSV text, as Socrata writes it: POINT (longitude latitude)."""
    if e.point is None:
        return None
    lat, lon = e.point
    return f"CASE WHEN {lat} IS NULL OR {lon} IS NULL THEN NULL ELSE concat('POINT (', {lon}, ' ', {lat}, ')') END"


def sql(q: SodaQuery, manifest: lake.Manifest | None, fmt: str) -> str:
    """The whole query over `manifest`'s files: the clauses and the page inside, the text outside."""
    source = RowQuery(ds=q.ds, manifest=manifest, columns=[]).source(stamps=True)
    where = " WHERE " + " AND ".join(q.where) if q.where else ""
    keys = [f"{s.removesuffix(' DESC')} AS k{j}" for j, s in enumerate(q.order)]
    selected = [f"{(csv_point(e) if fmt == 'csv' else None) or e.sql} AS c{i}" for i, (_, e) in enumerate(q.columns)]
    order = ", ".join(f"k{j}" + (" DESC" if s.endswith(" DESC") else "") for j, s in enumerate(q.order))
    cut = f"{' ORDER BY ' + order if order else ''} LIMIT {int(q.limit)} OFFSET {int(q.offset)}"
    if q.grouped:
        inner = f"SELECT {', '.join(selected + keys)} FROM ({source}) AS src{where}"
        inner += (" GROUP BY " + ", ".join(q.group) if q.group else "") + (" HAVING " + q.having if q.having else "")
        page = f"SELECT * FROM ({inner}) AS q{cut}"
    else:
        # Late materialisation: only the sort keys and the primary key are sorted to find the page (a
        # 50,000-row page deep into 1M rows sorted every column before: 6 s, past the time limit);
        # then the page's rows are read by key and only they are written as text.
        pk = ", ".join(ident(k) for k in q.ds.primary_key)
        found = f"SELECT {', '.join(keys)}, {pk} FROM ({source}) AS src{where}{cut}"
        page = f"SELECT {', '.join(selected + keys)} FROM ({source}) AS src SEMI JOIN ({found}) AS found USING ({pk})"
    return f"SELECT {row_sql(q, fmt)} AS r FROM ({page}) AS p{' ORDER BY ' + order if order else ''}"


def run(q: SodaQuery, manifest: lake.Manifest | None, fmt: str) -> Results:
    """The page's rows (one text each) through the worker's reader, with the web time limit. DuckDB
    refusing a query the checker passed is a QueryError in fixed words (its own go to the log)."""
    text = sql(q, manifest, fmt)
    used = set(_PARAM.findall(text))  # a value bound for an expression that $group's own SQL replaced is left out
    params = {k: v for k, v in q.params.items() if k in used}
    try:
        return reader().execute(text, params, name="soda",
                                versions={q.ds.name: manifest.version if manifest else None},
                                time_limit_ms=config.get_int("query_time_limit_ms"), max_rows=max(q.limit, 1))
    except duckdb.Error as exc:
        if isinstance(exc, (duckdb.InterruptException, duckdb.OutOfMemoryException)):
            raise
        log.info("soda query refused by DuckDB: %s", exc)
        raise QueryError("the query could not be run as written; check that each selected field is in $group "
                         "or inside an aggregate, and that values fit their fields") from None


def body(q: SodaQuery, rows: list[tuple], fmt: str) -> bytes:
    """The page as Socrata sends it: a JSON array, CSV with a header, or a GeoJSON FeatureCollection."""
    texts = [r[0] for r in rows]
    if fmt == "csv":
        head = ",".join('"' + n.replace('"', '""') + '"' for n in q.names)
        return ("\n".join([head, *texts]) + "\n").encode()
    if fmt == "geojson":
        return ('{"type":"FeatureCollection","features":[' + ",".join(texts) + "]}").encode()
    return ("[" + ",\n".join(texts) + "]\n").encode()
