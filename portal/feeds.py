"""Change feeds (issue 18, item 5): what changed, as Atom 1.0 (RFC 4287) and JSON Feed 1.1, so a
reporter's feed reader hears of a new version of a dataset (or a KPI's new value or definition)
without polling the API.

Why one Feed value and two writers: the dataset feed and the KPI feed differ in what an entry says,
not in how a feed is written; both formats are written here from the same entries, so they cannot
disagree. Plain functions, no Flask (api/feeds.py serves them); built from the lake's manifests and
the declarations only.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import lake
from datasets import Dataset

ATOM = "http://www.w3.org/2005/Atom"
ENTRIES = 50  # newest versions in a feed: a real-time dataset publishes every few seconds
LOAD_COUNTS = ("inserted", "updated", "unchanged", "rejected")


@dataclass(frozen=True)
class Link:
    href: str
    rel: str = "alternate"
    type: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    updated: str  # RFC 3339
    summary: str
    links: tuple[Link, ...] = ()
    data: dict = field(default_factory=dict)  # the figures behind the summary (JSON Feed's extension)


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    updated: str
    author: str
    home: str  # the page the feed is about
    self_atom: str
    self_json: str
    entries: tuple[Entry, ...]


def atom(feed: Feed) -> bytes:
    """The feed as an Atom 1.0 document."""
    ET.register_namespace("", ATOM)

    def el(parent, tag: str, text: str | None = None, **attrs):
        node = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: v for k, v in attrs.items() if v is not None})
        if text is not None:
            node.text = text
        return node

    root = ET.Element(f"{{{ATOM}}}feed")
    el(root, "id", feed.id)
    el(root, "title", feed.title)
    el(root, "updated", feed.updated)
    el(el(root, "author"), "name", feed.author)
    el(root, "link", href=feed.self_atom, rel="self", type="application/atom+xml")
    el(root, "link", href=feed.home, rel="alternate", type="text/html")
    for e in feed.entries:
        entry = el(root, "entry")
        el(entry, "id", e.id)
        el(entry, "title", e.title)
        el(entry, "updated", e.updated)
        el(entry, "summary", e.summary)
        for link in e.links:
            el(entry, "link", href=link.href, rel=link.rel, type=link.type, title=link.title)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def json_feed(feed: Feed) -> dict:
    """The feed as JSON Feed 1.1 (https://jsonfeed.org/version/1.1); each item's figures under `_pulse`."""
    return {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "home_page_url": feed.home,
        "feed_url": feed.self_json,
        "authors": [{"name": feed.author}],
        "items": [{"id": e.id, "title": e.title, "content_text": e.summary, "date_modified": e.updated,
                   "url": e.links[0].href if e.links else feed.home,
                   "_pulse": {**e.data, "links": {link.title or link.rel: link.href for link in e.links}}}
                  for e in feed.entries],
    }


def rfc3339(iso: str) -> str:
    """A stored ISO time with its offset, as Atom wants it (seconds, `Z` for UTC)."""
    from datetime import UTC, datetime

    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dataset_feed(ds: Dataset, base_url: str) -> Feed:
    """The newest versions of `ds`, newest first: what each load did and links pinned to that version."""
    base = base_url.rstrip("/")
    api = f"{base}/api/v1/datasets/{ds.name}"
    entries = []
    for m in reversed(lake.versions(ds.name, limit=ENTRIES)):
        counts = {k: int(m.load.get(k) or 0) for k in LOAD_COUNTS}
        summary = (f"{ds.title} version {m.version}: {m.rows:,} rows; this load inserted {counts['inserted']:,}, "
                   f"updated {counts['updated']:,}, left {counts['unchanged']:,} unchanged and rejected "
                   f"{counts['rejected']:,}.")
        entries.append(Entry(
            id=f"{api}?version={m.version}", title=f"{ds.name} v{m.version}", updated=rfc3339(m.published_at),
            summary=summary, data={"version": m.version, "rows": m.rows, **counts},
            links=(Link(f"{api}/rows?version={m.version}", type="application/json", title="rows"),
                   Link(f"{api}/export.csv?version={m.version}", rel="enclosure", type="text/csv", title="csv"))))
    updated = entries[0].updated if entries else "1970-01-01T00:00:00Z"
    return Feed(id=f"{base}/data/{ds.name}/changes.atom", title=f"{ds.title}: new versions", updated=updated,
                author=ds.publisher, home=f"{base}/data/{ds.name}", self_atom=f"{base}/data/{ds.name}/changes.atom",
                self_json=f"{base}/data/{ds.name}/changes.json", entries=tuple(entries))
