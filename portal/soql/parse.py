"""SoQL text into a lark tree (grammar: soql.lark), or a SoqlError naming the clause and position.

Why a parser library and limits before anything else: a clause is untrusted text from a URL. Lark's
LALR parser is iterative (a thousand nested parentheses cannot overflow Python's stack while
parsing), and the limits here (length, nesting depth, IN list size) are checked before the
recursive compiler (portal/soql/compile.py) ever walks the tree.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from portal.quoting import quoted

MAX_CHARS = 20_000  # one clause or statement; Socrata's own limit on a URL is in this range
MAX_DEPTH = 60  # nesting of the tree; real queries stay under 20
MAX_LIST = 1_000  # values of one IN (...), as the rows API's col__in
STARTS = ("select_clause", "where_clause", "having_clause", "group_clause", "order_clause", "query")


class SoqlError(ValueError):
    """A clause the API refuses: a 400 whose message names the clause ($where...) and, where known,
    the 1-based character position in it."""

    def __init__(self, clause: str, message: str, position: int | None = None):
        where = f" at position {position}" if position else ""
        super().__init__(f"{clause}: {message}{where}")
        self.clause, self.position = clause, position


@cache
def _parser() -> Lark:
    grammar = (Path(__file__).with_name("soql.lark")).read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", start=list(STARTS), propagate_positions=True, maybe_placeholders=True)


def parse(text: str, clause: str, start: str) -> Tree:
    """The tree of one clause (`start` names its grammar rule), checked against the limits."""
    if len(text) > MAX_CHARS:
        raise SoqlError(clause, f"is {len(text):,} characters long; at most {MAX_CHARS:,}")
    if not text.strip():
        raise SoqlError(clause, "is empty")
    try:
        tree = _parser().parse(text, start=start)
    except UnexpectedCharacters as exc:
        raise SoqlError(clause, f"unexpected character {quoted(text[exc.pos_in_stream])}", exc.column) from None
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise SoqlError(clause, "ends too early", len(text)) from None
        raise SoqlError(clause, f"unexpected {quoted(str(exc.token))}", exc.column) from None
    except UnexpectedEOF:
        raise SoqlError(clause, "ends too early", len(text)) from None
    except UnexpectedInput as exc:  # any other refusal of lark's
        raise SoqlError(clause, "cannot be parsed", getattr(exc, "column", None)) from None
    _check_shape(tree, clause)
    return tree


def _check_shape(tree: Tree, clause: str) -> None:
    """Nesting depth and list sizes, walked without recursion."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise SoqlError(clause, f"nests deeper than {MAX_DEPTH} levels", position(node))
        if node.data in ("in_", "not_in") and len(node.children) - 1 > MAX_LIST:
            raise SoqlError(clause, f"lists more than {MAX_LIST:,} values in one IN", position(node))
        stack += [(child, depth + 1) for child in node.children if isinstance(child, Tree)]


def position(node) -> int | None:
    """The 1-based column where a tree or token starts (a clause is one line)."""
    if isinstance(node, Token):
        return node.column
    meta = getattr(node, "meta", None)
    return None if meta is None or meta.empty else meta.column
