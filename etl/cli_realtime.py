"""The real-time commands of `python -m etl`: poll, watch, simulate and compact.

Long-running commands log one line per event on stderr and, with --json, print one JSON object per
poll, file or step on stdout; the last line is always the run's summary (one JSON object), as with
every other command. SIGTERM or Ctrl-C ends them after the micro-batch in hand is published.
Exit status: 0 success; 2 bad input; 3 a --once poll that failed after its retries (nothing published).
"""
from __future__ import annotations

import argparse
import json

import config
import datasets


def _emit(args, obj: dict, text: str) -> None:
    print(json.dumps(obj, default=str) if args.json else text, flush=True)


def cmd_poll(args) -> int:
    from etl.errors import InputError
    from etl.poll import Open311Poller, stop_on_signals

    url = args.url or config.get("open311_url")
    if not url:
        raise InputError("give the Open311 endpoint URL (or set PULSE_OPEN311_URL)")
    poller = Open311Poller(url=url, dataset=args.dataset, every=args.every, timeout=args.timeout,
                           page_size=args.page_size, overlap=args.overlap, retries=args.retries, backoff=args.backoff)
    stop_on_signals(poller.stop)

    def each(r: dict) -> None:
        if r["outcome"] == "failed":
            text = f"poll failed: {r['error']}"
        else:
            text = (f"{r['dataset']}: {r['fetched']:,} fetched in {r['pages']} page(s), {r['new']:,} new or changed "
                    f"({r['inserted']:,} inserted, {r['updated']:,} updated, {r['rejected']:,} rejected)"
                    + (f" -> v{r['versions'][-1]}" if r["versions"] else "") + f"; watermark {r['watermark']}")
        if not (args.once and args.json):  # with --once the summary below is the one line
            _emit(args, r, text)

    totals = poller.run(once=args.once, on_cycle=each)
    _emit(args, totals, f"{totals['polls']} poll(s), {totals['failed']} failed, {len(totals['versions'])} version(s) "
          f"published; {args.dataset} is at v{totals['version']}")
    return 3 if args.once and totals["failed"] else 0


def cmd_watch(args) -> int:
    from etl.poll import stop_on_signals
    from etl.watch import Watcher

    watcher = Watcher(folder=args.dir, dataset=args.dataset, format=args.format, quiet=args.quiet, every=args.every)
    stop_on_signals(watcher.stop)

    def each(r: dict) -> None:
        if not args.json or not args.once:
            _emit(args, r, f"{r['file']}: {r['outcome']}" + (f", {r['dataset']} v{r['version']}" if r.get("version") else "")
                  + (f", {r['rejected']:,} rejected" if r.get("rejected") else "") + f" -> {r['moved_to']}")

    totals = watcher.run(once=args.once, on_file=each)
    _emit(args, totals, f"{totals['processed']} file(s) processed, {totals['failed']} failed")
    return 0


def cmd_simulate(args) -> int:
    from etl.poll import stop_on_signals
    from etl.simulate import Simulator, describe

    sim = Simulator(seed=args.seed, speed=args.speed, every=args.every, start=args.start, per_day=args.per_day)
    stop_on_signals(sim.stop)
    if not args.json:
        plan = describe(args.seed, sim.state["anchor"], sim.state["reached"])
        print(f"simulating from {plan['from']} at {args.speed:g}x; first scenario: {plan['storm']} {plan['storm_start']} "
              f"to {plan['storm_end']}, day of service {plan['day_of_service']}", flush=True)

    def each(r: dict) -> None:
        if not args.json or args.steps != 1:
            loads = ", ".join(f"{x['dataset']} v{x['version']} (+{x['inserted']}/~{x['updated']})" for x in r["loads"])
            _emit(args, r, f"{r.get('from')} .. {r.get('to')}: {loads or r.get('error') or 'nothing new'}")

    totals = sim.run(steps=args.steps, on_step=each)
    _emit(args, totals, f"{totals['steps']} step(s), {totals['versions']} version(s), {totals['inserted']:,} rows inserted, "
          f"{totals['updated']:,} updated; simulated up to {totals['simulated_to']}")
    return 0


def cmd_compact(args) -> int:
    from etl import compact

    names = args.datasets or list(datasets.datasets())
    for name in names:
        datasets.get(name)
    results = [compact.compact(name, full=args.full, merge=not args.retention_only) for name in names]
    lines = [f"{'dataset':<26}{'version':>9}{'files':>14}{'pruned':>8}{'deleted':>9}{'MB freed':>10}"]
    lines += [f"{r['dataset']:<26}{str(r.get('version')):>9}{r.get('files_before', 0):>7}->{r.get('files_after', 0):<5}"
              f"{r['versions_pruned']:>8}{r['files_deleted']:>9}{r['bytes_freed'] / 2**20:>10.1f}" for r in results]
    _emit(args, {"datasets": results}, "\n".join(lines))
    return 0


def add_parsers(sub) -> list[argparse.ArgumentParser]:
    p = sub.add_parser("poll", help="pull an Open311 GeoReport v2 feed into service_requests, incrementally")
    p.add_argument("source", choices=["open311"], help="the kind of feed")
    p.add_argument("url", nargs="?", help="endpoint base, e.g. https://city.example/open311/v2 (default: PULSE_OPEN311_URL)")
    p.add_argument("--every", type=float, default=float(config.get("poll_seconds")), help="seconds between polls (default: PULSE_POLL_SECONDS)")
    p.add_argument("--dataset", default="service_requests", help="dataset to load into (default: service_requests)")
    p.add_argument("--once", action="store_true", help="poll once and exit (status 3 if it failed)")
    p.add_argument("--timeout", type=float, default=float(config.get("poll_timeout")), help="seconds one request may take (default: PULSE_POLL_TIMEOUT)")
    p.add_argument("--page-size", type=int, default=1000, help="page_size asked of servers that page (default 1000)")
    p.add_argument("--overlap", type=float, default=300, help="seconds each poll reaches back before the watermark (default 300)")
    p.add_argument("--retries", type=int, default=3, help="attempts per request within one poll (default 3)")
    p.add_argument("--backoff", type=float, default=1.0, help="first retry delay in seconds, doubled each time (default 1)")
    p.set_defaults(func=cmd_poll)

    w = sub.add_parser("watch", help="load each file dropped into a folder exactly once")
    w.add_argument("dir")
    w.add_argument("--once", action="store_true", help="load what is ready now (two scans a quiet period apart) and exit")
    w.add_argument("--dataset", help="dataset of every file (default: DIR/<dataset>/ subfolders, else guessed from the header)")
    w.add_argument("--format", help="source format of every file (default: recognised from the file)")
    w.add_argument("--quiet", type=float, default=float(config.get("watch_quiet_seconds")),
                   help="seconds a file must stay unchanged before it is loaded (default: PULSE_WATCH_QUIET_SECONDS)")
    w.add_argument("--every", type=float, default=1.0, help="seconds between scans (default 1)")
    w.set_defaults(func=cmd_watch)

    s = sub.add_parser("simulate", help="play a storm and a day of service forward, writing micro-batches")
    s.add_argument("--speed", type=float, default=float(config.get("simulate_speed")), help="simulated seconds per real second (default: PULSE_SIMULATE_SPEED)")
    s.add_argument("--every", type=float, default=5.0, help="real seconds between micro-batches (default 5, as often as open dashboards look)")
    s.add_argument("--steps", type=int, help="stop after this many micro-batches (default: run until stopped)")
    s.add_argument("--once", dest="steps", action="store_const", const=1, help="one micro-batch, then exit")
    s.add_argument("--start", help="simulated start: an ISO time or 'now' (default: where the lake's 311 data ends; "
                   "a saved simulation resumes)")
    s.add_argument("--per-day", type=float, help="311 requests a simulated day (default: the lake's last four weeks)")
    s.add_argument("--seed", type=int, default=config.get_int("demo_seed"), help="seed (default: PULSE_DEMO_SEED)")
    s.set_defaults(func=cmd_simulate)

    c = sub.add_parser("compact", help="merge small data files and delete what retention no longer keeps")
    c.add_argument("datasets", nargs="*", help="datasets (default: all)")
    c.add_argument("--full", action="store_true", help="rewrite every file, not only the small ones")
    c.add_argument("--retention-only", action="store_true", help="only apply retention and delete unreferenced files")
    c.set_defaults(func=cmd_compact)
    return [p, w, s, c]
