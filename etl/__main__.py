"""The ETL command line: `python -m etl demo|load|status|versions|rejects|formats`, and the real-time
`poll|watch|simulate|compact` (etl/cli_realtime.py).

Exit status: 0 success, 2 bad input (one clear line on stderr, nothing published), 1 a bug,
3 a `poll --once` that failed after its retries.
With --json a command prints exactly one JSON object as its last line of output.
"""
from __future__ import annotations

import argparse
import json
import sys

import config
import datasets
import lake
from etl import cli_realtime, compact
from etl.errors import InputError
from lake import runlog
from lake.errors import LakeBusy, StorageFull


def _print(obj, as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps(obj, default=str))
    else:
        print(text)


def cmd_demo(args) -> int:
    from etl import demo

    scale = args.scale
    results = demo.build(scale=int(scale) if scale.isascii() and scale.isdigit() else scale, seed=args.seed)
    _print({"loads": results}, args.json, "\n".join(
        f"{r['dataset']:<26} v{r['version']}  {r['rows_in']:>10,} rows in, {r['rejected']:,} rejected" for r in results))
    return 0


def cmd_load(args) -> int:
    from etl.load import load_file

    result = load_file(args.dataset, args.file, args.format, args.city).to_dict()
    compact.after_publish(args.dataset)  # many small files or versions past retention: tidy up (etl/compact.py)
    keys = ("dataset", "version", "outcome", "format", "rows_in", "inserted", "updated", "unchanged", "rejected", "seconds", "run_id", "notes", "masked")
    text = (f"{result['dataset']} v{result['version']} ({result['outcome']}, format {result['format']}): "
            f"{result['rows_in']:,} rows in = {result['inserted']:,} inserted + {result['updated']:,} updated + "
            f"{result['unchanged']:,} unchanged + {result['rejected']:,} rejected, in {result['seconds']:.2f}s")
    if any(result["masked"].values()):
        text += "\n  phone numbers or e-mail addresses masked in " + ", ".join(
            f"{n:,} {name} values" for name, n in result["masked"].items() if n)
    if result["rejected"]:
        text += f"\n  see the rejects: python -m etl rejects {result['dataset']} --run {result['run_id']}"
    _print({k: result[k] for k in keys}, args.json, text)
    return 0


def status_rows() -> list[dict]:
    rows = []
    for name in datasets.datasets():
        m = lake.manifest(name)
        last = runlog.last(name)
        rows.append({
            "name": name,
            "version": m.version if m else None,
            "rows": m.rows if m else 0,
            "published_at": m.published_at if m else None,
            "last_load": last["started"] if last else None,
            "outcome": last["outcome"] if last else None,
            "error": last.get("error") if last else None,
        })
    return rows


def cmd_status(args) -> int:
    rows = status_rows()
    lines = [f"{'dataset':<26}{'version':>8}{'rows':>14}  {'last load':<26}outcome"]
    for r in rows:
        lines.append(f"{r['name']:<26}{r['version'] or '-':>8}{r['rows']:>14,}  {r['last_load'] or '-':<26}{r['outcome'] or '-'}")
    _print({"datasets": rows}, args.json, "\n".join(lines))
    return 0


def cmd_versions(args) -> int:
    datasets.get(args.dataset)
    rows = [{"version": m.version, "published_at": m.published_at, "rows": m.rows, "files": len(m.files), **{
        k: m.load.get(k) for k in ("source", "format", "rows_in", "inserted", "updated", "unchanged", "rejected", "run_id")}}
        for m in lake.versions(args.dataset)]
    lines = [f"{'version':>7}  {'published':<30}{'rows':>12}{'inserted':>10}{'updated':>10}{'rejected':>10}  source"]
    lines += [f"{r['version']:>7}  {r['published_at']:<30}{r['rows']:>12,}{r['inserted'] or 0:>10,}{r['updated'] or 0:>10,}"
              f"{r['rejected'] or 0:>10,}  {r['source']}" for r in rows]
    _print({"dataset": args.dataset, "versions": rows}, args.json, "\n".join(lines))
    return 0


def cmd_rejects(args) -> int:
    from etl.load import rejects

    datasets.get(args.dataset)
    runs = runlog.records(args.dataset)
    if args.run:
        run = next((r for r in runs if r["run_id"] == args.run), None)
    elif args.version is not None:
        run = next((r for r in runs if r.get("version") == args.version and r["outcome"] == "published"), None)
    else:
        run = runs[-1] if runs else None
    if run is None:
        raise InputError(f"{args.dataset}: no such load" + (f" (version {args.version})" if args.version is not None else ""))
    rows = rejects(args.dataset, run["run_id"])
    lines = [f"{len(rows):,} rejected rows from {run['source']} (run {run['run_id']}, version {run.get('version')})"]
    lines += [f"  line {r['line']}: {r['reason']}" for r in rows[: args.limit]]
    if len(rows) > args.limit:
        lines.append(f"  ... and {len(rows) - args.limit:,} more (use --json for all)")
    _print({"dataset": args.dataset, "run_id": run["run_id"], "version": run.get("version"), "source": run["source"],
            "rejected": len(rows), "rows": rows}, args.json, "\n".join(lines))
    return 0


def cmd_formats(args) -> int:
    from etl import formats

    rows = formats.describe()
    _print({"formats": rows}, args.json, "\n".join(f"{r['name']:<36}{r['dataset']:<26}{r['title']}" for r in rows))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m etl", description="Load city data into the Pulse lake.")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="build the deterministic demo lake for every dataset")
    d.add_argument("--scale", default=config.get("demo_scale"), help="small, medium, large or a 311 row count (default: PULSE_DEMO_SCALE)")
    d.add_argument("--seed", type=int, default=config.get_int("demo_seed"), help="generator seed (default: PULSE_DEMO_SEED)")
    d.set_defaults(func=cmd_demo)

    ld = sub.add_parser("load", help="load a file into a dataset, publishing a new version if anything changed")
    ld.add_argument("dataset")
    ld.add_argument("file")
    ld.add_argument("--format", help="source format (default: recognised from the file); see `formats`")
    ld.add_argument("--city", help="city profile for time zone and bounds (default: the format's, else PULSE_CITY)")
    ld.set_defaults(func=cmd_load)

    st = sub.add_parser("status", help="every dataset's current version, rows, last load and outcome")
    st.set_defaults(func=cmd_status)

    v = sub.add_parser("versions", help="the version history of a dataset")
    v.add_argument("dataset")
    v.set_defaults(func=cmd_versions)

    r = sub.add_parser("rejects", help="rejected rows of a load, with line and reason")
    r.add_argument("dataset")
    r.add_argument("--version", type=int, help="the load that published this version (default: the latest load)")
    r.add_argument("--run", help="a run id from the run log")
    r.add_argument("--limit", type=int, default=50, help="rows to print without --json")
    r.set_defaults(func=cmd_rejects)

    f = sub.add_parser("formats", help="the source formats Pulse reads")
    f.set_defaults(func=cmd_formats)

    for s in (d, ld, st, v, r, f, *cli_realtime.add_parsers(sub)):
        s.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (InputError, LakeBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:  # unknown dataset or version
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    except StorageFull as exc:  # the lake's disk is full: nothing published, the previous version serves on
        print(f"error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
