"""A checked SoQL tree into DuckDB SQL with bound values (issue 18).

Why a checker and not a translation: every name in the tree is looked up in the dataset's SODA
fields (public columns only, from the declaration), every function in FUNCTIONS (known names,
arities and argument types), every operator against its operands' Socrata types, and every value
becomes a named parameter ($p0, $p1, ...). The SQL text is therefore made only of this module's
own words and the declaration's identifiers; nothing a client types reaches it. A refusal is a
SoqlError naming the clause and the position of the offending part.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from lark import Tree

from portal.quoting import quoted
from portal.soql.parse import SoqlError, position

TIMESTAMPS = ("floating_timestamp", "calendar_date")
COMPARABLE = ("text", "number", *TIMESTAMPS, "checkbox")
_NONE = object()  # not a literal
_OPS = {"=": "=", "==": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_EARTH_M = 6_371_008.8  # mean Earth radius, metres: within_circle's great-circle distance


@dataclass(frozen=True)
class Field:
    """One column of the table SoQL sees: its SODA name and type and its SQL over the version's
    public columns. `point`: a point's (latitude, longitude) SQL; `order`: what sorting by it sorts
    by (the primary key's columns for :id)."""

    name: str
    type: str
    sql: str
    point: tuple[str, str] | None = None
    order: tuple[str, ...] = ()
    system: bool = False


@dataclass(frozen=True)
class Expr:
    """A checked expression: its SQL (None for a literal until its type is known), Socrata type, a
    canonical key (to match $select against $group), the output name Socrata would give it, and
    which field names it reads outside any aggregate and outside the $group expressions."""

    sql: str | None
    type: str
    key: str
    name: str | None = None
    pos: int | None = None
    aggregate: bool = False
    loose: frozenset = frozenset()
    literal: object = _NONE
    point: tuple[str, str] | None = None
    order: tuple[str, ...] = ()


@dataclass
class Compiler:
    """One query's compilation: the fields, the bound values so far, and what later clauses may refer
    to ($group's keys, $select's aliases). `clause` names the clause being compiled, for errors."""

    fields: dict[str, Field]
    zone: str
    clause: str = "$select"
    params: dict = field(default_factory=dict)
    group_sql: dict[str, str] = field(default_factory=dict)  # $group's expressions by key
    aliases: dict[str, Expr] = field(default_factory=dict)
    use_aliases: bool = False

    # ---- errors and values --------------------------------------------------------------------------

    def error(self, message: str, where=None) -> SoqlError:
        """A refusal in the current clause; `where` is a tree, a token or a position already known."""
        return SoqlError(self.clause, message, where if isinstance(where, int) or where is None else position(where))

    def bind(self, value, sql_type: str) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"CAST(${name} AS {sql_type})"

    def sql(self, e: Expr, want: str | None = None) -> str:
        """The SQL of `e`; a literal is bound now, as `want` (its own type when None)."""
        if e.literal is _NONE:
            return e.sql
        return self.coerce(e, want or e.type).sql

    def settled(self, e: Expr) -> Expr:
        """`e` with its SQL: a literal standing alone ($select='x') is bound as its own type."""
        return e if e.literal is _NONE else self.coerce(e, e.type)

    def coerce(self, e: Expr, want: str) -> Expr:
        """A literal as a value of type `want` (a quoted ISO time for a timestamp, a quoted number for
        a number, as Socrata reads them); anything else must already be of that type."""
        if e.literal is _NONE:
            if e.type == want or (e.type in TIMESTAMPS and want in TIMESTAMPS):
                return e
            raise self.error(f"expected {want}, got {e.type}", e.pos)
        value = e.literal
        if value is None:
            return replace(e, sql="NULL", type=want, literal=_NONE)
        try:
            if want == "text":
                return replace(e, sql=self.bind(str(value) if not isinstance(value, bool) else str(value).lower(), "VARCHAR"),
                               type=want, literal=_NONE)
            if want == "number":
                number = float(value) if not isinstance(value, bool) else math.nan
                if not math.isfinite(number):
                    raise ValueError
                return replace(e, sql=self.bind(number, "DOUBLE"), type=want, literal=_NONE)
            if want in TIMESTAMPS:
                return replace(e, sql=self.bind(self.timestamp(value), "TIMESTAMP"), type=want, literal=_NONE)
            if want == "checkbox":
                flag = value if isinstance(value, bool) else {"true": True, "false": False}[str(value).lower()]
                return replace(e, sql="TRUE" if flag else "FALSE", type=want, literal=_NONE)
        except (ValueError, KeyError, TypeError):
            pass
        shown = quoted(value) if isinstance(value, str) else str(value)
        raise self.error(f"{shown} is not a {want} value", e.pos)

    def timestamp(self, value) -> datetime:
        """An ISO date or date-time as the city's floating (local) time; one with an offset is moved there."""
        if not isinstance(value, str):
            raise ValueError
        text = value.strip().replace(" ", "T", 1)
        parsed = datetime.fromisoformat(text.removesuffix("Z") + ("+00:00" if text.endswith("Z") else "")) \
            if "T" in text else datetime.combine(date.fromisoformat(text), datetime.min.time())
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(ZoneInfo(self.zone)).replace(tzinfo=None)
        if not 1 <= parsed.year <= 9999:
            raise ValueError
        return parsed

    # ---- the tree -----------------------------------------------------------------------------------

    def expr(self, node) -> Expr:
        e = self._expr(node)
        if e.key in self.group_sql:  # the very expression grouped by: the same SQL, so DuckDB sees it too
            e = replace(e, loose=frozenset(), sql=self.group_sql[e.key], literal=_NONE)
        return e

    def _expr(self, node) -> Expr:
        kind = node.data
        handler = getattr(self, f"_{kind}", None)
        if handler is None:  # a rule of the grammar this compiler does not answer
            raise self.error(f"{kind} is not supported", node)
        return handler(node)

    def _field(self, node: Tree) -> Expr:
        token = node.children[0]
        name = str(token)[1:-1] if token.type == "QUOTED_NAME" else str(token)
        if self.use_aliases and name in self.aliases:
            return replace(self.aliases[name], pos=position(token))
        f = self.fields.get(name)
        if f is None:
            raise self.error(f"no field {quoted(name)} in this dataset", token)
        return Expr(sql=f.sql, type=f.type, key=f"field:{f.name}", name=f.name, pos=position(token),
                    loose=frozenset({f.name}), point=f.point, order=f.order or (f.sql,))

    def _string(self, node: Tree) -> Expr:
        text = str(node.children[0])[1:-1].replace("''", "'")
        return Expr(sql=None, type="text", key=f"lit:{text!r}", pos=position(node), literal=text)

    def _number(self, node: Tree) -> Expr:
        text = str(node.children[0])
        if not math.isfinite(float(text)):
            raise self.error(f"{quoted(text)} is not a finite number", node)
        return Expr(sql=None, type="number", key=f"lit:{text}", pos=position(node), literal=text)

    def _true(self, node: Tree) -> Expr:
        return Expr(sql="TRUE", type="checkbox", key="lit:true", pos=position(node))

    def _false(self, node: Tree) -> Expr:
        return Expr(sql="FALSE", type="checkbox", key="lit:false", pos=position(node))

    def _null(self, node: Tree) -> Expr:
        return Expr(sql=None, type="null", key="lit:null", pos=position(node), literal=None)

    def _combine(self, node, sql: str, type_: str, parts: list[Expr], key: str) -> Expr:
        return Expr(sql=sql, type=type_, key=key, pos=position(node), aggregate=any(p.aggregate for p in parts),
                    loose=frozenset().union(*(p.loose for p in parts)))

    def boolean(self, e: Expr) -> str:
        """The SQL of a condition ($where, $having, AND/OR/NOT, case()): a checkbox, or a null."""
        if e.type not in ("checkbox", "null"):
            raise self.error(f"expected a condition (checkbox), got {e.type}", e.pos)
        return self.sql(e, "checkbox")

    def _or_(self, node: Tree) -> Expr:
        a, b = (self.expr(c) for c in node.children)
        return self._combine(node, f"({self.boolean(a)} OR {self.boolean(b)})", "checkbox", [a, b], f"({a.key} or {b.key})")

    def _and_(self, node: Tree) -> Expr:
        a, b = (self.expr(c) for c in node.children)
        return self._combine(node, f"({self.boolean(a)} AND {self.boolean(b)})", "checkbox", [a, b], f"({a.key} and {b.key})")

    def _not_(self, node: Tree) -> Expr:
        a = self.expr(node.children[0])
        return self._combine(node, f"(NOT {self.boolean(a)})", "checkbox", [a], f"(not {a.key})")

    def comparable(self, a: Expr, b: Expr, node) -> tuple[str, str]:
        """The SQL of two operands of one type (a literal takes the other side's), or a type error."""
        if a.literal is not _NONE and b.literal is _NONE:
            b, a = a, b
            sb, sa = self.comparable(a, b, node)
            return sa, sb
        if a.type not in (*COMPARABLE, "null"):
            raise self.error(f"a {a.type} cannot be compared", a.pos)
        if b.literal is not _NONE:
            want = a.type if a.type != "null" else b.type
            return self.sql(a, want), self.sql(self.coerce(b, want))
        if b.type not in COMPARABLE or not (a.type == b.type or {a.type, b.type} <= set(TIMESTAMPS)):
            raise self.error(f"cannot compare {a.type} with {b.type}", node)
        return self.sql(a), self.sql(b)

    def _compare(self, node: Tree) -> Expr:
        left, op, right = node.children
        a, b = self.expr(left), self.expr(right)
        sa, sb = self.comparable(a, b, op)
        if "checkbox" in (a.type, b.type) and _OPS[str(op)] not in ("=", "<>"):
            raise self.error(f"checkbox values compare with = and != only, not {str(op)}", op)
        return self._combine(node, f"({sa} {_OPS[str(op)]} {sb})", "checkbox", [a, b], f"({a.key} {_OPS[str(op)]} {b.key})")

    def _is_null(self, node: Tree, negate: bool = False) -> Expr:
        a = self.expr(node.children[0])
        word = "IS NOT NULL" if negate else "IS NULL"
        return self._combine(node, f"({self.sql(a, 'text')} {word})", "checkbox", [a], f"({a.key} {word})")

    def _is_not_null(self, node: Tree) -> Expr:
        return self._is_null(node, negate=True)

    def _between(self, node: Tree, negate: bool = False) -> Expr:
        a, lo, hi = (self.expr(c) for c in node.children)
        sa, slo = self.comparable(a, lo, node)
        _, shi = self.comparable(a, hi, node)
        word = "NOT BETWEEN" if negate else "BETWEEN"
        return self._combine(node, f"({sa} {word} {slo} AND {shi})", "checkbox", [a, lo, hi],
                             f"({a.key} {word} {lo.key} and {hi.key})")

    def _not_between(self, node: Tree) -> Expr:
        return self._between(node, negate=True)

    def _in_(self, node: Tree, negate: bool = False) -> Expr:
        a, *items = (self.expr(c) for c in node.children)
        listed = [self.comparable(a, item, node)[1] for item in items]
        word = "NOT IN" if negate else "IN"
        return self._combine(node, f"({self.comparable(a, items[0], node)[0]} {word} ({', '.join(listed)}))",
                             "checkbox", [a, *items], f"({a.key} {word} ({','.join(i.key for i in items)}))")

    def _not_in(self, node: Tree) -> Expr:
        return self._in_(node, negate=True)

    def _like(self, node: Tree, negate: bool = False) -> Expr:
        a, pattern = (self.expr(c) for c in node.children)
        if a.type != "text":
            raise self.error(f"like takes text, not {a.type}", a.pos)
        word = "NOT LIKE" if negate else "LIKE"
        return self._combine(node, f"({self.sql(a)} {word} {self.sql(self.coerce(pattern, 'text'))})", "checkbox",
                             [a, pattern], f"({a.key} {word} {pattern.key})")

    def _not_like(self, node: Tree) -> Expr:
        return self._like(node, negate=True)

    def _arith(self, node: Tree) -> Expr:
        left, op, right = node.children
        a, b = self.expr(left), self.expr(right)
        if str(op) == "||":
            sql = f"concat({self.sql(a, 'text')}, {self.sql(b, 'text')})"
            return self._combine(node, sql, "text", [a, b], f"({a.key} || {b.key})")
        sa, sb = self.sql(self.coerce(a, "number")), self.sql(self.coerce(b, "number"))
        divide = str(op) in ("/", "%")
        sql = f"({sa} {op} nullif({sb}, 0))" if divide else f"({sa} {op} {sb})"  # x / 0 is null, as in SQL
        return self._combine(node, sql, "number", [a, b], f"({a.key} {op} {b.key})")

    def _negate(self, node: Tree) -> Expr:
        a = self.expr(node.children[0])
        return self._combine(node, f"(- {self.sql(self.coerce(a, 'number'))})", "number", [a], f"(-{a.key})")

    def _call(self, node: Tree, args: list | None = None, distinct: bool = False) -> Expr:
        name_token = node.children[0]
        fname = str(name_token).lower()
        spec = FUNCTIONS.get(fname)
        if spec is None:
            raise self.error(f"unknown function {quoted(str(name_token))}; known: {', '.join(sorted(FUNCTIONS))}", name_token)
        if args is None:
            args = [self.expr(c) for c in node.children[1:] if c is not None]
        if spec.aggregate and any(a.aggregate for a in args):
            raise self.error(f"{fname}() cannot take an aggregate", node)
        sql, type_ = spec.build(self, node, args, distinct)
        names = [a.name for a in args if a.name]
        key = f"{fname}({'distinct ' if distinct else ''}{','.join(a.key for a in args)})"
        e = self._combine(node, sql, type_, args, key)
        name = "_".join([fname, *names]) if len(names) == len(args) else None
        return replace(e, name=name, aggregate=spec.aggregate or e.aggregate,
                       loose=frozenset() if spec.aggregate else e.loose)

    def _call_star(self, node: Tree) -> Expr:
        if str(node.children[0]).lower() != "count":
            raise self.error(f"only count takes *, not {quoted(str(node.children[0]))}", node.children[0])
        return replace(self._call(node, args=[]), name="count", key="count(*)")

    def _call_distinct(self, node: Tree) -> Expr:
        if str(node.children[0]).lower() != "count":
            raise self.error("distinct goes inside count() only", node.children[0])
        return self._call(node, args=[self.expr(node.children[1])], distinct=True)


# ---- functions ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Function:
    arity: tuple[int, int | None]  # least and most arguments (None: any number)
    build: Callable  # (compiler, node, args, distinct) -> (sql, type) after the arity check
    aggregate: bool = False

    def __post_init__(self):
        object.__setattr__(self, "build", _arity(self.arity, self.build))


def _arity(arity: tuple[int, int | None], build: Callable) -> Callable:
    def checked(c: Compiler, node, args: list[Expr], distinct: bool):
        least, most = arity
        if len(args) < least or (most is not None and len(args) > most):
            wanted = f"{least}" if least == most else f"{least} or more" if most is None else f"{least} to {most}"
            raise c.error(f"{str(node.children[0]).lower()}() takes {wanted} arguments, not {len(args)}", node)
        return build(c, node, args, distinct)
    return checked


def _typed(c: Compiler, e: Expr, *types: str) -> str:
    if e.literal is not _NONE:
        return c.sql(c.coerce(e, types[0]))
    if e.type not in types and not (e.type in TIMESTAMPS and set(types) & set(TIMESTAMPS)):
        raise c.error(f"expected {' or '.join(types)}, got {e.type}", e.pos)
    return e.sql


def _count(c: Compiler, node, args: list[Expr], distinct: bool):
    if not args:
        return "count(*)", "number"
    inner = c.sql(args[0], "text") if args[0].type != "point" else f"{args[0].point[0]}"
    return f"count({'DISTINCT ' if distinct else ''}{inner})", "number"


def _aggregate(sql_name: str, *types: str, keep_type: bool = False):
    def build(c: Compiler, node, args: list[Expr], distinct: bool):
        inner = _typed(c, args[0], *types)
        return f"{sql_name}({inner})", args[0].type if keep_type else "number"
    return build


def _trunc(part: str):
    return lambda c, node, args, distinct: (f"date_trunc('{part}', {_typed(c, args[0], *TIMESTAMPS)})", "floating_timestamp")


def _extract(part: str):
    return lambda c, node, args, distinct: (f"CAST(date_part('{part}', {_typed(c, args[0], *TIMESTAMPS)}) AS DOUBLE)", "number")


def _case(c: Compiler, node, args: list[Expr], distinct: bool):
    if len(args) % 2:
        raise c.error("case() takes pairs of condition, value", node)
    values = args[1::2]
    typed = [v.type for v in values if v.literal is _NONE and v.type != "null"]
    want = typed[0] if typed else next((v.type for v in values if v.type != "null"), "text")
    whens = " ".join(f"WHEN {c.boolean(cond)} THEN {c.sql(c.coerce(value, want))}"
                     for cond, value in zip(args[0::2], values, strict=True))
    return f"(CASE {whens} END)", want


def _starts_with(c: Compiler, node, args: list[Expr], distinct: bool):
    return f"starts_with({_typed(c, args[0], 'text')}, {_typed(c, args[1], 'text')})", "checkbox"


def _point(c: Compiler, e: Expr) -> tuple[str, str]:
    if e.point is None:
        raise c.error(f"expected a point, got {e.type}", e.pos)
    return e.point


def _within_circle(c: Compiler, node, args: list[Expr], distinct: bool):
    lat, lon = _point(c, args[0])
    clat, clon, radius = (_typed(c, a, "number") for a in args[1:])
    haversine = (f"2 * {_EARTH_M} * asin(sqrt(pow(sin(radians({lat} - {clat}) / 2), 2) + cos(radians({clat})) * "
                 f"cos(radians({lat})) * pow(sin(radians({lon} - {clon}) / 2), 2)))")
    return f"({haversine} <= {radius})", "checkbox"


def _within_box(c: Compiler, node, args: list[Expr], distinct: bool):
    lat, lon = _point(c, args[0])
    north, west, south, east = (_typed(c, a, "number") for a in args[1:])
    return f"({lat} BETWEEN {south} AND {north} AND {lon} BETWEEN {west} AND {east})", "checkbox"


def _text(sql_name: str):
    return lambda c, node, args, distinct: (f"{sql_name}({_typed(c, args[0], 'text')})", "text")


_EXTRACTS = {"y": "year", "m": "month", "d": "day", "hh": "hour", "mm": "minute", "ss": "second", "dow": "dow",
             "woy": "week"}
FUNCTIONS: dict[str, Function] = {
    "count": Function((0, 1), _count, aggregate=True),
    "sum": Function((1, 1), _aggregate("sum", "number"), aggregate=True),
    "avg": Function((1, 1), _aggregate("avg", "number"), aggregate=True),
    "min": Function((1, 1), _aggregate("min", "number", "text", *TIMESTAMPS, keep_type=True), aggregate=True),
    "max": Function((1, 1), _aggregate("max", "number", "text", *TIMESTAMPS, keep_type=True), aggregate=True),
    "date_trunc_ymd": Function((1, 1), _trunc("day")),
    "date_trunc_ym": Function((1, 1), _trunc("month")),
    "date_trunc_y": Function((1, 1), _trunc("year")),
    **{f"date_extract_{k}": Function((1, 1), _extract(v)) for k, v in _EXTRACTS.items()},
    "case": Function((2, None), _case),
    "starts_with": Function((2, 2), _starts_with),
    "within_circle": Function((4, 4), _within_circle),
    "within_box": Function((5, 5), _within_box),
    "upper": Function((1, 1), _text("upper")),
    "lower": Function((1, 1), _text("lower")),
}
