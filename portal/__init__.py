"""The read side: lake reader, named queries, KPI scoring, cache. No Dash imports."""
