"""deploy/nginx.conf with its site-specific lines set: the one place that knows which lines those are.

The shipped file is meant for Debian's nginx as root with the standard paths. Its lines marked
`# PULSE: <name>` are what a deployment changes; `render` sets the first argument of each and
refuses a name it does not know or a value for a line that is no longer marked, so the file and its
users (the proxy tests, the storm benchmark, an operator's script) cannot drift apart.

    python -m deploy.nginx DIR UPSTREAM[,UPSTREAM...] LISTEN   # an unprivileged copy under DIR, e.g. for a trial run
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

CONF = Path(__file__).resolve().parent / "nginx.conf"
_MARK = re.compile(r"^(\s*)(\S+)\s+(\S+?)(;?)(\s.*)?#\s*PULSE:\s*(\S+)\s*$")
TEMP_DIRS = ("body", "proxy", "fastcgi", "uwsgi", "scgi", "cache")


def marks(text: str | None = None) -> set[str]:
    """The names of the lines a deployment sets."""
    text = CONF.read_text() if text is None else text
    return {m.group(6) for m in map(_MARK.match, text.splitlines()) if m}


def render(values: dict[str, str | list[str]], text: str | None = None) -> str:
    """The config with the first argument of each `# PULSE: <name>` line set to values[name]; a
    list gives the line once per item (`upstream`: one `server` line per web node)."""
    text = CONF.read_text() if text is None else text
    out, seen = [], set()
    for line in text.splitlines():
        m = _MARK.match(line)
        if m:
            indent, directive, _, semi, rest, name = m.groups()
            if name not in values:
                raise KeyError(f"deploy/nginx.conf marks {name!r}, which no value is given for")
            given = values[name]
            for value in ([given] if isinstance(given, str) else given):  # a list: one line each (upstream nodes)
                out.append(f"{indent}{directive} {value}{semi}{(rest or '').rstrip()}")
            seen.add(name)
            continue
        out.append(line)
    missing = set(values) - seen
    if missing:
        raise KeyError(f"deploy/nginx.conf no longer marks {sorted(missing)}")
    return "\n".join(out) + "\n"


def unprivileged(workdir: Path, upstream: str | list[str], listen: str) -> Path:
    """Write workdir/nginx.conf: pid, logs, temp files and the cache inside workdir, so nginx runs
    as the current user with `nginx -p workdir -c workdir/nginx.conf -g 'daemon off;'`."""
    workdir = Path(workdir)
    for sub in TEMP_DIRS:
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(render({
        "user": "root", "pid": str(workdir / "nginx.pid"), "error_log": str(workdir / "error.log"),
        "access_log": str(workdir / "access.log"), "client_body_temp_path": str(workdir / "body"),
        "proxy_temp_path": str(workdir / "proxy"), "fastcgi_temp_path": str(workdir / "fastcgi"),
        "uwsgi_temp_path": str(workdir / "uwsgi"), "scgi_temp_path": str(workdir / "scgi"),
        "proxy_cache_path": str(workdir / "cache"), "upstream": upstream, "listen": listen,
    }))
    return conf


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    print(unprivileged(Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]))
