"""The volunteer finder (issue 17, item 5): its search against an independent pandas computation over
the same lake; past and full opportunities dropping out by themselves when sign-ups land; the weekly
count; the iCalendar and JSON feeds read back; bad searches as 400s; the HTTP caching and framing
every other route has."""
from __future__ import annotations

import math
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from html import unescape
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import icalendar
import pandas as pd
import pytest

import config
import datasets
import lake
from etl import demo
from etl.load import load_file, rejects
from portal import volunteer_finder as finder
from portal.reader import reset_reader
from tests.helpers import write_csv
from tests.integration.test_public_routes_fuzz import HOSTILE
from tests.integration.test_queries import midnight, vol_open_opportunities

TZ = "America/New_York"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A demo lake whose data ends now, so there are opportunities ahead whatever day the suite runs."""
    data = tmp_path_factory.mktemp("finder") / "data"
    with config.using(config.active().replace(data_dir=data, city=None, cache_type="filesystem")):
        demo.build(scale=2000, seed=17, data_dir=data, end=datetime.now(ZoneInfo(TZ)))
        reset_reader()
        yield data
    reset_reader()


@pytest.fixture
def client(built, configure):
    configure(data_dir=built, cache_type="filesystem", city=None)
    reset_reader()
    from app import server

    return server.test_client()


def frames() -> dict[str, pd.DataFrame]:
    def read(name):
        return pd.concat([pd.read_parquet(f) for f in lake.file_paths(name, lake.manifest(name))], ignore_index=True)

    return {n: read(n) for n in ("volunteer_opportunities", "volunteer_signups", "service_requests")}


def expected(f, today, start, end, borough=None, category=None, zip_code=None, miles=None) -> list[tuple]:
    """(id, still needed) of the open opportunities with an occurrence in [start, end], soonest first:
    the volunteers page's own oracle for who is open and not full, then the window, the kind of work
    and the distance from the median point of the 311 requests in the ZIP code, in pandas."""
    open_now = pd.DataFrame(vol_open_opportunities(f, as_of=today, borough=borough, limit=10**9),
                            columns=["opportunity_id", "title", "organisation", "category", "borough", "start_date",
                                     "end_date", "recurrence", "next_session", "volunteers_needed", "signed_up",
                                     "still_needed", "open_opportunities", "needed_in_all"])
    o = open_now[(open_now.start_date <= end) & (open_now.end_date >= start)]
    if category:
        o = o[o.category == category]
    o = o.assign(first_day=o.start_date.map(lambda d: max(d, start)))
    if zip_code:
        sr = f["service_requests"]
        located = sr[(sr.incident_zip == zip_code) & sr.latitude.notna() & sr.longitude.notna()]
        lat0, lon0 = located.latitude.median(), located.longitude.median()
        where = f["volunteer_opportunities"].set_index("opportunity_id")[["latitude", "longitude"]]
        o = o.join(where, on="opportunity_id").dropna(subset=["latitude", "longitude"])
        o = o.assign(miles=[haversine(lat0, lon0, a, b) for a, b in zip(o.latitude, o.longitude, strict=True)])
        o = o[o.miles <= miles].sort_values(["first_day", "miles", "opportunity_id"])
    else:
        o = o.sort_values(["first_day", "opportunity_id"])
    return [(r.opportunity_id, int(r.still_needed)) for r in o.itertuples()]


def haversine(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 3958.8 * math.atan2(math.sqrt(a), math.sqrt(1 - a))


def found(args: dict) -> list[tuple]:
    today = finder.city_today()
    return [(o["opportunity_id"], o["still_needed"]) for o in finder.find(finder.parse(args, today), today).opportunities]


def busiest_zip(f) -> str:
    return f["service_requests"].incident_zip.value_counts().index[0]


# ---- the search -----------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    {},
    {"borough": "queens"},
    {"borough": "Brooklyn", "category": "Education", "to": "+200"},
    {"from": "+10", "to": "+40"},
    {"category": "hunger", "to": "+300"},
])
def test_the_search_equals_an_independent_pandas_computation(client, args):
    today = finder.city_today()
    args = {k: (today + timedelta(days=int(v[1:]))).isoformat() if v.startswith("+") else v for k, v in args.items()}
    f = frames()
    start = max(pd.Timestamp(args["from"]).date(), today) if "from" in args else today
    end = pd.Timestamp(args["to"]).date() if "to" in args else start + timedelta(days=finder.DEFAULT_DAYS)
    category = args.get("category", "").title() or None
    want = expected(f, today, start, end, (args.get("borough") or "").upper() or None, category)
    assert found(args) == want
    assert len(want) >= 3, "each case compares rows, not two empty lists"


@pytest.mark.parametrize("miles", [1, 3, 10])
def test_a_distance_search_measures_from_the_zip_code_s_311_point(client, miles):
    f = frames()
    zip_code = busiest_zip(f)
    today = finder.city_today()
    want = expected(f, today, today, today + timedelta(days=finder.DEFAULT_DAYS), zip_code=zip_code, miles=miles)
    assert found({"zip": zip_code, "miles": str(miles)}) == want
    assert want or miles == 1


def test_a_wider_distance_finds_at_least_as_much(client):
    zip_code = busiest_zip(frames())
    near, far = (set(found({"zip": zip_code, "miles": m})) for m in ("1", "20"))
    assert near <= far and len(far) > len(near)


def test_a_window_starting_in_the_past_starts_today(client):
    today = finder.city_today()
    assert found({"from": (today - timedelta(days=400)).isoformat(), "to": (today + timedelta(days=60)).isoformat()}) == \
        found({"to": (today + timedelta(days=60)).isoformat()})
    ended = frames()["volunteer_opportunities"]
    ended = set(ended[ended.end_date < today].opportunity_id)
    assert ended and not ended & {i for i, _ in found({"from": "2020-01-01", "to": (today + timedelta(days=300)).isoformat()})}


def signups(opportunity_id: str, event_day, n: int, at: datetime, tag: str) -> list[dict]:
    return [{"signup_id": f"SU-{tag}-{i}", "opportunity_id": opportunity_id, "signed_up_at": at.isoformat(sep=" "),
             "event_date": event_day.isoformat(), "borough": "", "attended": "", "hours": "", "volunteer_id": f"v-{tag}{i}"}
            for i in range(n)]


def test_a_one_time_event_drops_out_once_full(client, tmp_path):
    today = finder.city_today()
    wide = {"to": (today + timedelta(days=300)).isoformat()}
    opp = next(o for o in finder.find(finder.parse(wide, today), today).opportunities if o["recurrence"] == "onetime")
    now = datetime.now(ZoneInfo(TZ))
    load_file("volunteer_signups", write_csv(tmp_path / "a.csv", signups(opp["opportunity_id"], opp["start_date"],
                                                                          opp["still_needed"] - 1, now, "a")))
    reset_reader()
    assert (opp["opportunity_id"], 1) in found(wide)
    load_file("volunteer_signups", write_csv(tmp_path / "b.csv", signups(opp["opportunity_id"], opp["start_date"], 1, now, "b")))
    reset_reader()
    assert opp["opportunity_id"] not in {i for i, _ in found(wide)}


def test_an_ongoing_opportunity_is_full_per_session_not_over_its_life(client, tmp_path):
    # Counted as the volunteers page counts it (issue 15): filling a later session leaves it open; filling
    # its next session closes it for now.
    today = finder.city_today()
    wide = {"to": (today + timedelta(days=300)).isoformat()}
    opp = next(o for o in finder.find(finder.parse(wide, today), today).opportunities
               if o["recurrence"] == "ongoing" and o["next_session"] is None and o["end_date"] > today + timedelta(days=10))
    now = datetime.now(ZoneInfo(TZ))
    later = today + timedelta(days=9)
    load_file("volunteer_signups", write_csv(tmp_path / "later.csv", signups(opp["opportunity_id"], later,
                                                                              opp["volunteers_needed"], now, "later")))
    reset_reader()
    assert opp["opportunity_id"] not in {i for i, _ in found(wide)}  # its next session is now that full one
    sooner = today + timedelta(days=2)
    load_file("volunteer_signups", write_csv(tmp_path / "sooner.csv", signups(opp["opportunity_id"], sooner, 1, now, "sooner")))
    reset_reader()
    assert (opp["opportunity_id"], opp["volunteers_needed"] - 1) in found(wide)  # the next session is the sooner one


def test_the_weekly_count_is_the_sign_ups_made_since_monday(client, tmp_path):
    today = finder.city_today()
    f = frames()
    made = f["volunteer_signups"].signed_up_at
    monday = finder.week_start(today)
    assert finder.signups_this_week(today) == int(((made >= midnight(monday, TZ)) & (made < midnight(today + timedelta(days=1), TZ))).sum())
    before = finder.signups_this_week(today)
    now = datetime.now(ZoneInfo(TZ))
    sunday = datetime.combine(monday - timedelta(days=1), datetime.min.time().replace(hour=23, minute=59), ZoneInfo(TZ))
    load_file("volunteer_signups", write_csv(tmp_path / "week.csv", signups("OPP-0001", today, 4, now, "wk")
                                             + signups("OPP-0001", today, 2, sunday, "sun")))
    reset_reader()
    assert finder.signups_this_week(today) == before + 4


# ---- the feeds ------------------------------------------------------------------------------------

def test_the_calendar_feed_reads_back_with_one_stable_event_per_opportunity(client, tmp_path):
    resp = client.get("/volunteer/opportunities.ics?borough=Manhattan")
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    cal = icalendar.Calendar.from_ical(resp.get_data())
    events = cal.walk("VEVENT")
    want = found({"borough": "Manhattan"})
    assert [e["UID"].split("@")[0] for e in events] == [i for i, _ in want]
    assert cal["VERSION"] == "2.0" and cal["PRODID"]
    for event, (opp_id, still) in zip(events, want, strict=True):
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert not isinstance(start, datetime) and end > start  # whole days: the data has no hours
        assert event["SUMMARY"] and event["LOCATION"].startswith("Manhattan, ")
        assert event["URL"] == signup_urls().get(opp_id) or event["URL"].endswith(f"/volunteer?borough=Manhattan#opp-{opp_id}")
        assert f"{still} of " in event["DESCRIPTION"]
    # A new version moves counts, not identities or dates.
    load_file("volunteer_signups", write_csv(tmp_path / "one.csv", signups(want[0][0], finder.city_today(), 1,
                                                                            datetime.now(ZoneInfo(TZ)), "ics")))
    reset_reader()
    again = {e["UID"]: (e.decoded("DTSTART"), e.decoded("DTEND")) for e in
             icalendar.Calendar.from_ical(client.get("/volunteer/opportunities.ics?borough=Manhattan").get_data()).walk("VEVENT")}
    assert all(again[e["UID"]] == (e.decoded("DTSTART"), e.decoded("DTEND")) for e in events if e["UID"] in again)


KHAL_CONFIG = """[calendars]
[[finder]]
path = {path}
type = calendar
[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
local_timezone = America/New_York
default_timezone = America/New_York
"""


def test_a_calendar_client_shows_each_event_on_its_days(client, tmp_path):
    """khal (Debian's command-line calendar client) imports the feed and lists, for a day, the
    opportunities open that day, with their place: what a subscriber sees."""
    if shutil.which("khal") is None:
        pytest.fail("khal is not installed: `make system-deps` installs it from Debian's packages")
    (tmp_path / "cal").mkdir()
    (tmp_path / "config").write_text(KHAL_CONFIG.format(path=tmp_path / "cal"))
    (tmp_path / "feed.ics").write_bytes(client.get("/volunteer/opportunities.ics?borough=Bronx").get_data())
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "xdg"), "LANG": "C.UTF-8"}

    def khal(*args: str) -> list[str]:
        proc = subprocess.run(["khal", "-c", str(tmp_path / "config"), *args], env=env, capture_output=True, text=True,
                              timeout=60, check=True)
        return proc.stdout.splitlines()

    khal("import", "--batch", str(tmp_path / "feed.ics"))
    day = finder.city_today() + timedelta(days=7)
    shown = [line.split("|") for line in khal("list", "--format", "{title}|{start}|{end}|{location}", "--day-format", "",
                                                day.isoformat(), "1d") if "|" in line]
    body = client.get("/volunteer/opportunities.json?borough=Bronx").get_json()
    on_day = [i for i in body["items"] if i["_pulse"]["start_date"] <= day.isoformat() <= i["_pulse"]["end_date"]]
    assert on_day, "the Bronx has opportunities open a week from now in the demo city"
    assert sorted(shown) == sorted([i["title"], i["_pulse"]["start_date"], i["_pulse"]["end_date"], "Bronx, New York City"]
                                   for i in on_day)  # whole days, the last one included, as the data says


def test_the_json_feed_is_a_json_feed_1_1_of_the_same_search(client):
    zip_code = busiest_zip(frames())
    body = client.get(f"/volunteer/opportunities.json?zip={zip_code}&miles=5").get_json()
    assert body["version"] == "https://jsonfeed.org/version/1.1"
    assert body["feed_url"].endswith(f"/volunteer/opportunities.json?zip={zip_code}&miles=5")
    assert body["home_page_url"].endswith(f"/volunteer?zip={zip_code}&miles=5")
    assert [(i["id"], i["_pulse"]["still_needed"]) for i in body["items"]] == found({"zip": zip_code, "miles": "5"})
    item = body["items"][0]
    assert set(item) - {"external_url"} == {"id", "url", "title", "content_text", "tags", "_pulse"}
    assert item["_pulse"]["miles"] <= 5 and item["_pulse"]["still_needed"] > 0
    assert body["_pulse"]["search"]["zip"] == zip_code and body["_pulse"]["signed_up_this_week"] >= 0


# ---- sign-up links (decision 0026) ----------------------------------------------------------------

def signup_urls() -> dict[str, str]:
    """The lake's sign-up address of each opportunity that has one, read with pandas."""
    o = frames()["volunteer_opportunities"]
    return {k: v for k, v in zip(o.opportunity_id, o.signup_url, strict=True) if pd.notna(v)}


def test_the_demo_gives_most_opportunities_a_signup_page_and_the_same_ones_every_build(client):
    urls = signup_urls()
    share = len(urls) / len(frames()["volunteer_opportunities"])
    assert 0.6 <= share <= 0.8
    assert all(re.fullmatch(r"https://[a-z0-9]+\.example\.org/volunteer/opp-[0-9]{4}", u) for u in urls.values())
    from etl.demo_volunteers import signup_url
    assert all(signup_url(k, "x") != "" for k in urls) and signup_url("OPP-0001", "Org") == signup_url("OPP-0001", "Org")


def test_each_result_links_to_its_signup_page_named_for_the_opportunity(client):
    urls = signup_urls()
    html = client.get("/embed/volunteer-finder?borough=Brooklyn").get_data(as_text=True)
    items = re.findall(r'<li id="opp-([^"]+)">(.*?)</li>', html, re.S)
    assert items and any(urls.get(oid) for oid, _ in items) and any(not urls.get(oid) for oid, _ in items)
    for oid, body in items:
        title = re.search(r'<h3 id="opp-[^"]+-title">(.*?)</h3>', body).group(1)
        link = re.search(r'<a href="([^"]+)"([^>]*)>Sign up<span class="finder-hidden"> for (.*?)</span></a>', body)
        if not urls.get(oid):
            assert "Sign up" not in body
            continue
        assert link, body
        assert unescape(link.group(1)) == urls[oid]
        assert link.group(2) == ' target="_blank" rel="noopener"'  # from a frame, a tab of its own
        assert link.group(3) == f"{title} (opens in a new tab)"  # the link's name says which opportunity
    # On Pulse's own page the link stays in the tab
    from web import finder_page
    view = finder_page.build_view({"borough": "Brooklyn"})
    page = finder_page.fragment(view, finder_page.PAGE_PATH, "http://pulse.test/")
    assert "Sign up<span" in page and 'target="_blank"' not in page.split('class="finder-list"')[1].split("</ol>")[0]


def test_the_feeds_carry_the_signup_page(client):
    urls = signup_urls()
    items = client.get("/volunteer/opportunities.json?borough=Queens").get_json()["items"]
    assert items
    for i in items:
        assert i.get("external_url") == urls.get(i["id"])  # JSON Feed 1.1's "page elsewhere"; absent when none
        assert i["url"].endswith(f"/volunteer?borough=Queens#opp-{i['id']}")
    events = icalendar.Calendar.from_ical(client.get("/volunteer/opportunities.ics?borough=Queens").get_data()).walk("VEVENT")
    for e in events:
        oid = str(e["UID"]).split("@")[0]
        assert str(e["URL"]) == (urls.get(oid) or f"http://localhost/volunteer?borough=Queens#opp-{oid}")
        assert (f"Sign up: {urls[oid]}" in str(e["DESCRIPTION"])) if urls.get(oid) else "Sign up" not in str(e["DESCRIPTION"])


def test_a_signup_address_that_is_not_http_quarantines_its_row(lake_dir, tmp_path):
    rows = [{"opportunity_id": f"X-{n}", "title": "Park clean-up", "signup_url": url}
            for n, url in enumerate(["https://example.org/a", "", "javascript:alert(1)", "example.org/b", "http://x.org/a b"])]
    r = load_file("volunteer_opportunities", write_csv(tmp_path / "o.csv", rows))
    assert (r.inserted, r.rejected) == (2, 3)
    reasons = sorted(q["reason"] for q in rejects("volunteer_opportunities", r.run_id))
    assert reasons == sorted(f"signup_url: '{u}' does not match " + datasets.get("volunteer_opportunities").column("signup_url").pattern
                             for u in ["javascript:alert(1)", "example.org/b", "http://x.org/a b"])


# ---- bad searches ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "field"), [
    ("zip=1002", "zip"), ("zip=abcde", "zip"), ("zip=00000", "zip"), ("miles=3", "miles"),
    ("zip=10027&miles=0", "miles"), ("zip=10027&miles=51", "miles"), ("borough=Atlantis", "borough"),
    ("from=2026-02-30", "from"), ("to=tomorrow", "to"), ("from=2026-12-01&to=2026-11-01", "to"),
    ("to=9999-12-31", "to"), ("category=%00%ff", "category"), ("category=" + "x" * 5000, "category"),
    ("colour=red", "colour"),
])
def test_a_bad_search_is_a_400_naming_its_field(client, query, field):
    if field == "to" and query.startswith("from=2026-12-01"):
        today = finder.city_today()
        query = f"from={(today + timedelta(days=5)).isoformat()}&to={today.isoformat()}"
    for fmt in ("json", "ics"):
        resp = client.get(f"/volunteer/opportunities.{fmt}?{query}")
        assert resp.status_code == 400 and resp.mimetype == "application/json"
        assert resp.get_json()["parameter"] == field
    # A page shows the form again, each message beside its field (every 4xx of the portal stays JSON), and
    # ignores what is not its own (a partner's tracking tags).
    page = client.get(f"/embed/volunteer-finder?{query}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    if field == "colour":
        assert 'class="finder-list"' in html and "aria-invalid" not in html
        return
    assert f'id="f-{field}-error"' in html and f'aria-describedby="f-{field}-error' in html


@pytest.mark.parametrize("field", finder.FIELDS)
def test_no_hostile_value_is_a_server_error(client, field):
    # The values every public route takes (issue 13), in each field of the search, in every face of it.
    for value in HOSTILE + ["\u00b2\u00b2\u00b2\u00b2\u00b2", "\U0001d7d8" * 5, "2026-\u00b9\u00b2-01"]:
        query = urlencode({field: value, **({"zip": "10027"} if field == "miles" else {})})
        for path in ("/volunteer/opportunities.json", "/volunteer/opportunities.ics", "/embed/volunteer-finder"):
            resp = client.get(f"{path}?{query}")
            assert resp.status_code in (200, 400), (path, field, value[:40], resp.status_code)
            assert resp.status_code == 200 or resp.mimetype == "application/json"


# ---- HTTP -----------------------------------------------------------------------------------------

def test_the_finder_and_its_feeds_are_cached_as_every_read_is(client):
    for path in ("/embed/volunteer-finder?borough=Bronx", "/volunteer/opportunities.json?borough=Bronx",
                 "/volunteer/opportunities.ics?borough=Bronx"):
        first = client.get(path, headers={"Accept-Encoding": "br"})
        assert first.status_code == 200 and first.headers["Content-Encoding"] == "br"
        assert first.headers["ETag"] and "max-age" in first.headers["Cache-Control"]
        again = client.get(path, headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304


def test_only_the_embed_may_be_framed(client):
    embed = client.get("/embed/volunteer-finder")
    assert "frame-ancestors *" in embed.headers["Content-Security-Policy"] and "X-Frame-Options" not in embed.headers
    for path in ("/volunteer/opportunities.json", "/volunteer/static/finder.js"):
        assert client.get(path).headers["X-Frame-Options"] == "DENY"


def test_the_embed_needs_no_plotly_and_is_small(client):
    html = client.get("/embed/volunteer-finder", headers={"Accept-Encoding": "gzip"})
    assert b"plotly" not in client.get("/embed/volunteer-finder").get_data()
    assets = [client.get(f"/volunteer/static/{n}", headers={"Accept-Encoding": "gzip"}) for n in ("finder.js", "finder.css")]
    assert all(a.status_code == 200 for a in assets)
    assert len(html.get_data()) + sum(len(a.get_data()) for a in assets) < 100_000


def test_every_embed_snippet_loads_one_sizing_script_and_the_finder_s_old_address_serves_it(client):
    from layouts import _share
    from portal import embeds

    assert finder_page_snippet().endswith(f'<script async src="http://localhost{embeds.RESIZE_SCRIPT}"></script>')
    assert _share.RESIZE_SCRIPT == embeds.RESIZE_SCRIPT
    one = client.get(embeds.RESIZE_SCRIPT).get_data()
    old = client.get("/volunteer/static/embed.js")  # in snippets partners pasted before
    assert old.status_code == 200 and old.mimetype == "text/javascript" and old.get_data() == one


def finder_page_snippet() -> str:
    from web import finder_page

    return finder_page.snippet("http://localhost/", "borough=Bronx")
