"""`python -m etl simulate`: a live demo source. It plays the demo city forward in accelerated time
from where the lake ends: new 311 requests and their closures, a storm with plow passes over every
segment, and a day of service with its sign-ups, written into the lake as micro-batches through the
ordinary load path, so a newcomer running `make run` sees a living portal.

Shapes come from the demo generators (etl/demo_city.py, demo_complaints.py, demo_snow.py, demo_volunteers.py): complaint
types with their agencies, volumes, resolution times and closing notes; boroughs and community
districts; plow passes by route priority. Each step covers the next `speed * every` simulated
seconds and never goes past the real clock (nothing is written in the future). Everything is a pure
function of (seed, simulated minute), so a restart re-emits the same rows and an interrupted step
replayed publishes nothing twice (loads upsert); the state (PULSE_DATA_DIR/realtime/simulate.json)
holds the clock, the scenario's start and the open requests waiting for their closure time.

Every SCENARIO_DAYS the scenario repeats: a storm starts half an hour in (30 s at the default 60x),
lasts 10 to 16 hours and doubles 311 calls; the day after is a day of service (shovelling out older
neighbours) whose sign-ups stream in meanwhile.
"""
from __future__ import annotations

import csv
import hashlib
import heapq
import math
import random
import threading
import time
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import duckdb

import datasets
import lake
from etl import demo_city as city
from etl import demo_complaints as complaints
from etl import demo_snow as snow_demo
from etl.log import logger as log_for
from etl.realtime import Lifecycle, Pause
from lake import writerstate

KEY = "simulate"
SCENARIO_DAYS = 3
STORM_OFFSET_H = 0.5
SIGNUPS_PER_DAY = 14 * 10  # the demo's day-of-service rate (etl/demo_volunteers.py)
MAX_OPEN_DAYS = 60  # closures further out are not tracked (the request simply stays open)
TZ = city.TZ
log = log_for("simulate")


NOT_SIMULATED = {"service_requests": ("reporter_phone",)}  # declared columns the simulator has no value for


def columns(dataset: str) -> tuple[str, ...]:
    """The CSV header of a dataset's micro-batch: its declared columns, in declaration order (the
    order the row builders below write them), less NOT_SIMULATED."""
    skipped = NOT_SIMULATED.get(dataset, ())
    return tuple(c.name for c in datasets.get(dataset).columns if c.name not in skipped)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).astimezone(TZ).isoformat(sep=" ")


def _rng(*parts) -> random.Random:
    return random.Random(":".join(str(p) for p in ("pulse-simulate", *parts)))


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method (small rates only, as here)."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


@lru_cache(maxsize=1)
def _types():
    types = complaints.complaint_types()
    return types, [i for i, t in enumerate(types) if t["season"] == "snow" or "Snow" in t["name"]]


@lru_cache(maxsize=64)
def _type_weights(month: int, storm: bool) -> tuple[float, ...]:
    types, snowy = _types()
    weights = [t["weight"] * complaints.SEASONS[t["season"]][month - 1] for t in types]
    if storm:
        for i in snowy:
            weights[i] *= 40
    return tuple(weights)


class Scenario:
    """The fixed timeline of one scenario cycle, from the simulation's anchor time."""

    def __init__(self, seed: int, anchor: float, cycle: int):
        rng = _rng(seed, "scenario", cycle)
        self.cycle = cycle
        self.start = anchor + cycle * SCENARIO_DAYS * 86400
        self.storm_start = self.start + STORM_OFFSET_H * 3600
        self.storm_end = self.storm_start + rng.randint(10, 16) * 3600
        self.snowfall = round(min(30.0, rng.lognormvariate(math.log(8), 0.4)), 1)
        day = datetime.fromtimestamp(self.storm_start, UTC).astimezone(TZ).date()
        self.storm_id = f"STORM-{day.isoformat()}"
        self.storm_name = f"Storm {snow_demo.STORM_NAMES[(cycle + rng.randint(0, 5)) % len(snow_demo.STORM_NAMES)]}"
        self.event_day: date = day + timedelta(days=1)
        self.event_posted = self.start + 3600
        self.opportunity_id = f"OPP-SIM-{self.event_day:%Y%m%d}"
        self.borough = rng.choice(city.BOROUGHS)

    def storm_active(self, t: float) -> bool:
        return self.storm_start <= t < self.storm_end + 12 * 3600  # snow complaints outlast the snowfall


class Simulator:
    def __init__(self, seed: int = 311, speed: float = 60.0, every: float = 5.0, start: str | None = None,
                 per_day: float | None = None):
        self.seed, self.speed, self.every = seed, speed, every
        self.life = Lifecycle(KEY)
        if self.state.get("seed") != seed or start:
            self.state.clear()  # a new seed or start is a new simulation
        self.life.started("simulate", name="simulate", every=every, speed=speed, seed=seed)
        if "anchor" not in self.state:
            anchor = self._anchor(start)
            self.state.update(anchor=anchor, reached=anchor, open=[], steps=0,
                              per_day=per_day or self._rate(anchor))
        elif per_day:
            self.state["per_day"] = per_day
        self._segments = None
        self._passes: dict[int, list[tuple]] = {}

    @property
    def state(self) -> dict:
        """The saved state: the simulated clock, the scenario's anchor, requests waiting to close."""
        return self.life.state

    @property
    def stop(self) -> threading.Event:
        return self.life.stop

    # ---- where to start, how busy -----------------------------------------------------------------

    @staticmethod
    def _files(dataset: str) -> list[str]:
        m = lake.manifest(dataset)
        return lake.file_paths(dataset, m) if m and m.files else []

    def _anchor(self, start: str | None) -> float:
        now = time.time()
        if start and start != "now":
            return min(now, datetime.fromisoformat(start).astimezone(UTC).timestamp())
        files = self._files("service_requests")
        if start == "now" or not files:
            return now - 3600
        with duckdb.connect() as con:
            newest = con.execute("SELECT epoch(max(created)) FROM read_parquet(?)", [files]).fetchone()[0]
        return min(now, float(newest)) if newest else now - 3600

    def _rate(self, anchor: float) -> float:
        """311 requests a day: the lake's last four weeks before the anchor (at least 48)."""
        files = self._files("service_requests")
        if not files:
            return 480.0
        with duckdb.connect() as con:
            n = con.execute("SELECT count(*) FROM read_parquet(?) WHERE created >= to_timestamp(?)",
                            [files, anchor - 28 * 86400]).fetchone()[0]
        return max(48.0, n / 28)

    # ---- 311 -------------------------------------------------------------------------------------

    @lru_cache(maxsize=4096)  # noqa: B019 (one simulator per process)
    def _arrivals(self, minute: int) -> tuple[dict, ...]:
        """The requests created in one simulated minute, with their closure times."""
        t = minute * 60
        scen = self._scenario(t)
        local = datetime.fromtimestamp(t, UTC).astimezone(TZ)
        weekend = local.weekday() >= 5
        hourly = city.HOURLY[weekend][local.hour] / (sum(city.HOURLY[weekend]) / 24)
        storm = scen.storm_active(t)
        lam = self.state["per_day"] / 1440 * hourly * (2.0 if storm else 1.0)  # a storm doubles 311 calls
        rng = _rng(self.seed, "sr", minute)
        types, _ = _types()
        weights = _type_weights(local.month, storm)
        out = []
        for k in range(_poisson(rng, lam)):
            ty = types[rng.choices(range(len(types)), weights=weights)[0]]
            name, _, _, target, notes = complaints.AGENCIES[ty["agency"]]
            b = rng.choices(range(5), weights=city.BOROUGH_SHARE)[0]
            cd = rng.choice([c for c in sorted(city.DISTRICTS) if c // 100 == b + 1])
            lat0, lon0, radius, zips, _ = city.DISTRICTS[cd]
            created = t + rng.randrange(60)
            res_h = min(400 * 24, max(2 / 60, ty["median_hours"] * math.exp(ty["sigma"] * rng.gauss(0, 1))))
            street = " ".join(rng.choice(city.STREETS[b]).split())
            out.append({
                "request_id": f"9{minute}{k:02d}", "created": created, "closes": created + res_h * 3600,
                "due": created + target * 3600, "status": "Open", "agency": ty["agency"], "agency_name": name,
                "complaint_type": ty["name"], "descriptor": rng.choice(ty["descriptors"]),
                "location_type": rng.choice(ty["locations"]), "incident_zip": rng.choice(zips.split()),
                "incident_address": f"{1 + int(rng.random() ** 2 * 2400)} {street}", "borough": city.BOROUGHS[b],
                "community_board": f"{cd % 100:02d} {city.BOROUGHS[b]}",
                "latitude": round(lat0 + radius * rng.uniform(-1, 1), 6),
                "longitude": round(lon0 + 1.3 * radius * rng.uniform(-1, 1), 6),
                "channel": rng.choices(("phone", "online", "mobile", "other"), weights=(31, 31, 32, 6))[0],
                "note": rng.choice(notes),
            })
        return tuple(out)

    @staticmethod
    def _sr_row(r: dict, closed: bool) -> list:
        return [r["request_id"], _iso(r["created"]), _iso(r["closes"]) if closed else "", _iso(r["due"]),
                "Closed" if closed else r["status"], r["agency"], r["agency_name"], r["complaint_type"], r["descriptor"],
                r["location_type"], r["incident_zip"], r["incident_address"], r["borough"], r["community_board"],
                r["latitude"], r["longitude"], r["channel"], r["note"] if closed else "",
                _iso(r["closes"]) if closed else ""]

    def _requests(self, t0: float, t1: float) -> tuple[list[list], list]:
        """(rows, open requests left) for [t0, t1): new requests, then the closures now due."""
        rows: dict[str, list] = {}
        heap = [tuple(x) for x in self.state["open"]]
        heapq.heapify(heap)
        for minute in range(int(t0 // 60), int(math.ceil(t1 / 60))):
            for k, r in enumerate(self._arrivals(minute)):
                if not t0 <= r["created"] < t1:
                    continue
                rows[r["request_id"]] = self._sr_row(r, closed=r["closes"] < t1)
                if t1 <= r["closes"] < r["created"] + MAX_OPEN_DAYS * 86400:
                    heapq.heappush(heap, (r["closes"], minute, k))
        while heap and heap[0][0] < t1:
            _, minute, k = heapq.heappop(heap)
            arrivals = self._arrivals(int(minute))
            if k < len(arrivals):  # (a changed --per-day reshuffles old minutes: their closures are dropped)
                rows[arrivals[k]["request_id"]] = self._sr_row(arrivals[k], closed=True)
        return list(rows.values()), [list(x) for x in heap]

    # ---- snow ------------------------------------------------------------------------------------

    def _scenario(self, t: float) -> Scenario:
        cycle = max(0, int((t - self.state["anchor"]) // (SCENARIO_DAYS * 86400)))
        return _scenario(self.seed, self.state["anchor"], cycle)

    def _segment_list(self) -> list[tuple[str, int]]:
        if self._segments is None:
            files = self._files("snow_segments")
            with duckdb.connect() as con:
                self._segments = con.execute(
                    "SELECT segment_id, coalesce(route_priority, 3) FROM read_parquet(?) ORDER BY segment_id",
                    [files]).fetchall() if files else []
        return self._segments

    def _pass_rows(self, scen: Scenario) -> list[tuple]:
        """Every plow observation of a scenario's storm, as (observed epoch, row), like demo_snow's."""
        if scen.cycle in self._passes:
            return self._passes[scen.cycle]
        base: dict[str, int] = {}
        files = self._files("plow_activity")
        if files:
            with duckdb.connect() as con:
                base = dict(con.execute(
                    "SELECT segment_id, max(passes) FROM read_parquet(?) WHERE observed_at < to_timestamp(?) GROUP BY 1",
                    [files, scen.storm_start]).fetchall())
        stop = scen.start + SCENARIO_DAYS * 86400
        extra = int(scen.snowfall // 6)
        out = []
        for segment_id, p in self._segment_list():
            rng = _rng(self.seed, "plow", scen.cycle, segment_id)
            t = scen.storm_start + rng.lognormvariate(math.log(snow_demo.FIRST_PASS_MEDIAN[p]), 0.5) * 3600
            passes = base.get(segment_id) or 0
            for _ in range(max(1, snow_demo.BASE_PASSES[p] + extra + rng.randint(-1, 1))):
                t = float(int(t))
                if t >= stop:
                    break
                passes += 1
                observed = t + rng.randint(30, 600)
                phase = "Plowing" if t <= scen.storm_end else "Cleanup"
                out.append((observed, [segment_id, _iso(observed), scen.storm_id, phase, _iso(t), passes]))
                t += rng.uniform(*snow_demo.PASS_GAP[p]) * 3600
        out.sort(key=lambda r: (r[0], r[1][0]))
        self._passes = {scen.cycle: out}
        return out

    def _snow(self, t0: float, t1: float) -> tuple[list, list]:
        storms, plows = [], []
        for cycle in {self._scenario(t0).cycle, self._scenario(max(t0, t1 - 1)).cycle}:
            scen = _scenario(self.seed, self.state["anchor"], cycle)
            if t0 <= scen.storm_start < t1 or t0 <= scen.storm_end < t1:
                ended = _iso(scen.storm_end) if scen.storm_end < t1 else ""
                storms.append([scen.storm_id, scen.storm_name, _iso(scen.storm_start), ended, scen.snowfall])
            if t1 > scen.storm_start and self._segment_list():
                plows += [row for observed, row in self._pass_rows(scen) if t0 <= observed < t1]
        return storms, plows

    # ---- volunteers ------------------------------------------------------------------------------

    def _volunteers(self, t0: float, t1: float) -> tuple[list, list]:
        opportunities, signups = [], []
        for cycle in {self._scenario(t0).cycle, self._scenario(max(t0, t1 - 1)).cycle}:
            scen = _scenario(self.seed, self.state["anchor"], cycle)
            lat0, lon0, radius, _, _ = city.DISTRICTS[
                [c for c in sorted(city.DISTRICTS) if c // 100 == city.BOROUGHS.index(scen.borough) + 1][0]]
            if t0 <= scen.event_posted < t1:
                opportunities.append([
                    scen.opportunity_id, f"Snow Day of Service: shovel out older neighbours after {scen.storm_name}",
                    "NYC Service", "Seniors", scen.borough, scen.event_day.isoformat(), scen.event_day.isoformat(),
                    "onetime", 300, 3, lat0, lon0, _iso(scen.event_posted),
                    "Clear walks, steps and hydrants for older and disabled neighbours. Shovels and salt provided.",
                    f"https://nycservice.example.org/volunteer/{scen.opportunity_id.lower()}",
                    "volunteer@nycservice.example.org"])
            closes = datetime.combine(scen.event_day, datetime.min.time(), TZ).timestamp() + 12 * 3600
            lo, hi = max(t0, scen.event_posted), min(t1, closes)
            for minute in range(int(lo // 60), int(math.ceil(hi / 60))) if hi > lo else ():
                rng = _rng(self.seed, "signup", minute)
                for k in range(_poisson(rng, SIGNUPS_PER_DAY / 1440)):
                    at = minute * 60 + rng.randrange(60)
                    if lo <= at < hi:
                        volunteer = hashlib.sha1(f"{self.seed}:{minute}:{k}".encode()).hexdigest()[:12]
                        signups.append([f"SU-{minute}{k:02d}", scen.opportunity_id, _iso(at), scen.event_day.isoformat(),
                                        scen.borough, "", "", f"vol-{volunteer}"])
        return opportunities, signups

    # ---- steps -----------------------------------------------------------------------------------

    def batches(self, t0: float, t1: float) -> tuple[dict[str, list], list]:
        """Rows per dataset for simulated [t0, t1), and the open requests left after it."""
        requests, still_open = self._requests(t0, t1)
        storms, plows = self._snow(t0, t1)
        opportunities, signups = self._volunteers(t0, t1)
        out = {"service_requests": requests, "snow_storms": storms, "plow_activity": plows,
               "volunteer_opportunities": opportunities, "volunteer_signups": signups}
        return {k: v for k, v in out.items() if v}, still_open

    def step(self) -> dict:
        """Publish the next simulated `speed * every` seconds (less if that would pass the real clock)."""
        started = time.monotonic()
        t0 = self.state["reached"]
        t1 = min(time.time(), t0 + self.speed * self.every)
        out = {"from": _iso(t0), "to": _iso(max(t0, t1)), "loads": []}
        if t1 <= t0:
            return out
        batches, still_open = self.batches(t0, t1)
        for dataset in ("snow_storms", "volunteer_opportunities", "service_requests", "plow_activity", "volunteer_signups"):
            if dataset in batches:
                out["loads"].append(self._load(dataset, batches[dataset]))
        self.state.update(reached=t1, open=still_open, steps=self.state["steps"] + 1, simulated_to=_iso(t1),
                          last_step_at=writerstate.now_iso())
        out["seconds"] = round(time.monotonic() - started, 3)
        return out

    def _load(self, dataset: str, rows: list[list]) -> dict:
        def write(fh) -> None:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(columns(dataset))
            w.writerows(rows)

        result = self.life.load_written(dataset, f"simulate-{dataset}.csv", "plain", write)
        return {k: result[k] for k in ("dataset", "version", "outcome", "inserted", "updated", "rejected")}

    def _step_logged(self) -> dict:
        """step, with a failure logged and counted: the next step replays it (loads upsert)."""
        try:
            return self.step()
        except Exception as exc:
            log.exception("step failed")
            writerstate.record_error(self.state, f"{type(exc).__name__}: {exc}")
            return {"error": str(exc), "loads": []}

    def run(self, steps: int | None = None, on_step=None) -> dict:
        totals = {"steps": 0, "versions": 0, "inserted": 0, "updated": 0, "rejected": 0}

        def add(result: dict) -> None:
            totals["steps"] += 1
            for load in result["loads"]:
                totals["versions"] += load["outcome"] == "published"
                for k in ("inserted", "updated", "rejected"):
                    totals[k] += load[k]
            if on_step:
                on_step(result)

        def pause(_result: dict, seconds: float) -> Pause:
            return Pause(max(0.0, self.every - seconds), self.every + 120)

        self.life.run(self._step_logged, pause, add, limit=steps)
        totals["simulated_to"] = self.state.get("simulated_to")
        return totals


@lru_cache(maxsize=16)
def _scenario(seed: int, anchor: float, cycle: int) -> Scenario:
    return Scenario(seed, anchor, cycle)


def describe(seed: int, anchor: float, reached: float) -> dict:
    """Where the clock is and the first scenario's timeline, for the CLI's text output."""
    s = _scenario(seed, anchor, 0)
    return {"from": _iso(reached), "storm": s.storm_id, "storm_start": _iso(s.storm_start), "storm_end": _iso(s.storm_end),
            "day_of_service": s.event_day.isoformat(), "opportunity": s.opportunity_id}
