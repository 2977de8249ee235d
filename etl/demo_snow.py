"""Demo snow operations: street segments, the storms of the last two winters, and plow passes.

Small enough for a seeded Python generator (random.Random seeded with a string is the same on every
platform and run). Times are generated in UTC and written as local New York time with its offset,
so passes stay in order across a clock change and load without guessing the zone.
"""
from __future__ import annotations

import csv
import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from etl.demo_city import BOROUGHS, DISTRICTS, STREETS, TZ

SEGMENTS = 2000
# Share of plowed street segments by borough (roughly, lane miles), and route-name prefixes.
SEGMENT_SHARE = {"MANHATTAN": 0.12, "BRONX": 0.14, "BROOKLYN": 0.25, "QUEENS": 0.32, "STATEN ISLAND": 0.17}
PREFIX = {"MANHATTAN": "MN", "BRONX": "BX", "BROOKLYN": "BK", "QUEENS": "QN", "STATEN ISLAND": "SI"}
STORM_NAMES = ("Ava", "Blake", "Cora", "Dexter", "Elsa", "Finn")
# Per route priority: median hours from a storm's start to the first pass, hours between passes, base passes.
FIRST_PASS_MEDIAN = {1: 2.5, 2: 7.0, 3: 14.0}
PASS_GAP = {1: (1.5, 4.0), 2: (3.0, 7.0), 3: (5.0, 12.0)}
BASE_PASSES = {1: 4, 2: 3, 3: 2}
BBOX = (40.47, 40.93, -74.27, -73.68)


def _local(t: datetime) -> str:
    return t.astimezone(TZ).isoformat(sep=" ")


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def segments(rng: random.Random) -> list[dict]:
    """~2,000 segments: priority 1/2/3 about 30/40/30%, in routes of one priority, inside the city."""
    by_borough = {b: [c for c in sorted(DISTRICTS) if c // 100 == i + 1] for i, b in enumerate(BOROUGHS)}
    out = []
    for n in range(1, SEGMENTS + 1):
        borough = rng.choices(list(SEGMENT_SHARE), weights=list(SEGMENT_SHARE.values()))[0]
        lat0, lon0, radius, _, _ = DISTRICTS[rng.choice(by_borough[borough])]
        priority = rng.choices((1, 2, 3), weights=(30, 40, 30))[0]
        miles = round(rng.uniform(0.05, 0.5), 3)
        heading = rng.uniform(0, math.pi)
        lat, lon = lat0 + rng.uniform(-1.5, 1.5) * radius, lon0 + rng.uniform(-1.5, 1.5) * radius
        points = []
        for k in range(3):  # a slight bend in the middle
            step = miles / 2 * k
            bend = 0.0 if k != 1 else rng.uniform(-0.15, 0.15)
            p_lat = lat + step / 69.0 * math.sin(heading + bend)
            p_lon = lon + step / 52.4 * math.cos(heading + bend)
            points.append([round(min(BBOX[3], max(BBOX[2], p_lon)), 6), round(min(BBOX[1], max(BBOX[0], p_lat)), 6)])
        out.append({
            "segment_id": f"SEG-{n:05d}",
            "street": " ".join(rng.choice(STREETS[BOROUGHS.index(borough)]).split()),
            "route_id": f"{PREFIX[borough]}-{priority}{rng.randint(1, 12):02d}",
            "route_priority": priority,
            "district": borough,
            "length_miles": miles,
            "lanes": rng.randint(*{1: (2, 6), 2: (2, 4), 3: (1, 2)}[priority]),
            "geometry": json.dumps({"type": "LineString", "coordinates": points}, separators=(",", ":")),
        })
    return out


def storms(rng: random.Random, end: datetime) -> list[dict]:
    """4 to 6 storms over the last two complete winters (December to mid-March) before `end`."""
    last = end.year - 1 if end.month >= 4 else end.year - 2  # the last winter starts in December of this year
    count = rng.randint(4, 6)
    out = []
    for w, winter in enumerate((last - 1, last)):
        n = count // 2 if w == 0 else count - count // 2
        season_start = datetime(winter, 12, 1, 5, tzinfo=UTC)
        days = sorted(rng.sample(range(0, 100, 12), n))  # at least 8 days apart
        for d in days:
            started = season_start + timedelta(days=d + rng.uniform(0, 4), hours=rng.randint(0, 23))
            started = started.replace(minute=0, second=0, microsecond=0)
            out.append({"started": started, "ended": started + timedelta(hours=rng.randint(10, 40)),
                        "snowfall_inches": round(min(30.0, rng.lognormvariate(math.log(6), 0.6)), 1)})
    out.sort(key=lambda s: s["started"])
    for k, s in enumerate(out):
        s["storm_id"] = f"STORM-{s['started'].astimezone(TZ):%Y-%m-%d}"
        s["name"] = f"Storm {STORM_NAMES[k]}"
    return out


def plow_passes(rng: random.Random, segs: list[dict], events: list[dict]) -> list[list]:
    """One observation per plow pass: priority 1 first (mostly within 6 hours), passes counted up."""
    passes = {s["segment_id"]: 0 for s in segs}
    rows = []
    for k, storm in enumerate(events):
        extra = int(storm["snowfall_inches"] // 6)
        stop = events[k + 1]["started"] if k + 1 < len(events) else storm["ended"] + timedelta(days=7)
        for seg in segs:
            p = seg["route_priority"]
            t = storm["started"] + timedelta(hours=rng.lognormvariate(math.log(FIRST_PASS_MEDIAN[p]), 0.5))
            for _ in range(max(1, BASE_PASSES[p] + extra + rng.randint(-1, 1))):
                t = t.replace(microsecond=0)
                if t >= stop:  # the counter must not run backwards into the next storm
                    break
                passes[seg["segment_id"]] += 1
                observed = t + timedelta(seconds=rng.randint(30, 600))
                phase = "Plowing" if t <= storm["ended"] else "Cleanup"
                rows.append([observed, seg["segment_id"], storm["storm_id"], phase, t, passes[seg["segment_id"]]])
                t += timedelta(hours=rng.uniform(*PASS_GAP[p]))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [[seg, _local(obs), storm, phase, _local(t), n] for obs, seg, storm, phase, t, n in rows]


def write_snow(src: Path, seed: int, end: datetime) -> dict[str, Path]:
    """Write the three snow datasets in their plain schema as CSV under `src`; returns {dataset: path}."""
    rng = random.Random(f"pulse-demo-snow:{seed}")
    end_utc = end.replace(tzinfo=TZ).astimezone(UTC)
    segs = segments(rng)
    events = [s for s in storms(rng, end) if s["ended"] < end_utc]
    cols = ["segment_id", "street", "route_id", "route_priority", "district", "length_miles", "lanes", "geometry"]
    return {
        "snow_segments": _write(src / "snow_segments.csv", cols, [[s[c] for c in cols] for s in segs]),
        "snow_storms": _write(src / "snow_storms.csv", ["storm_id", "name", "started", "ended", "snowfall_inches"],
                              [[s["storm_id"], s["name"], _local(s["started"]), _local(s["ended"]), s["snowfall_inches"]] for s in events]),
        "plow_activity": _write(src / "plow_activity.csv", ["segment_id", "observed_at", "storm_id", "storm_phase", "last_serviced", "passes"],
                                plow_passes(rng, segs, events)),
    }
