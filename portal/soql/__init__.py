"""SoQL, the query language of Socrata's SODA 2.1 API: parsed by a grammar (parse.py, soql.lark) and
checked and compiled to DuckDB SQL with bound values (compile.py); portal/soda.py assembles a query."""
from portal.soql.compile import Compiler, Expr, Field
from portal.soql.parse import SoqlError, parse

__all__ = ["Compiler", "Expr", "Field", "SoqlError", "parse"]
