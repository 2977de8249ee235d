"""The demo lake: deterministic data for the demo city (New York City shaped), every dataset built
and loaded through the ordinary load path, so `make run` shows a living portal.

The parts: the city's tables (etl/demo_city.py) and complaint profiles (etl/demo_complaints.py);
the 311 export generator (etl/demo_nyc311.py, its SQL in etl/demo_nyc311_sql.py); snow, volunteers
and boundaries from small seeded generators (etl/demo_snow.py, demo_volunteers.py, demo_geo.py).
"""
from __future__ import annotations

from etl.demo_city import BOROUGHS, DISTRICTS, TZ
from etl.demo_complaints import complaint_types
from etl.demo_nyc311 import DEFAULT_END, SPAN_DAYS, as_datetime, write_nyc311_csv
from etl.demo_nyc311_sql import FMT, HEADER

__all__ = ["BOROUGHS", "DEFAULT_END", "DISTRICTS", "FMT", "HEADER", "SCALES", "SPAN_DAYS", "TZ", "build",
           "complaint_types", "rows_for", "write_nyc311_csv"]

SCALES = {"small": 50_000, "medium": 1_000_000, "large": 20_000_000}


def rows_for(scale) -> int:
    """311 row count of a scale: small, medium, large, or a whole number."""
    if isinstance(scale, int):
        return scale
    if str(scale).isascii() and str(scale).isdigit():
        return int(scale)
    try:
        return SCALES[scale]
    except KeyError:
        raise ValueError(f"scale must be one of {', '.join(SCALES)} or a row count, not {scale!r}") from None


def build(scale="small", seed: int = 311, data_dir=None, end=None) -> list[dict]:
    """Build the demo lake: write every dataset's source file to <data dir>/demo-src/ and load it.

    311 goes through the NYC export format (recognised from the header), the rest through their
    plain schema. Returns the LoadResult dicts, one per dataset.
    """
    import config
    import lake.write
    from etl.demo_geo import write_boundaries
    from etl.demo_snow import write_snow
    from etl.demo_volunteers import write_volunteers
    from etl.load import load_file

    end_dt = as_datetime(end)
    settings = config.active() if data_dir is None else config.active().replace(data_dir=data_dir)
    with config.using(settings):
        src = config.data_dir() / "demo-src"
        src.mkdir(parents=True, exist_ok=True)
        files = {**write_snow(src, seed, end_dt), **write_volunteers(src, seed, end_dt)}
        files["service_requests"] = write_nyc311_csv(src / "service_requests_nyc311.csv", rows_for(scale), seed, end_dt)
        for path in write_boundaries(config.data_dir() / "geo").values():
            lake.write.share(f"geo/{path.name}", path)  # over an object store, for every node's maps
        return [load_file(name, path).to_dict() for name, path in files.items()]
