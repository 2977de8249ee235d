"""The OpenAPI description as a small, self-contained HTML page (GET /api): no CDN, no script.

Why plain HTML: it works without JavaScript, reads well in a screen reader (real headings, tables
with captions and scoped headers) and can never disagree with /openapi.json, being built from it.
"""
from __future__ import annotations

from html import escape

from web import site

# What the site's stylesheet (assets/pulse.css, linked) does not cover: the reference's own tables and
# code. Wide tables and code scroll inside their box, so the page never scrolls sideways on a phone.
STYLE = """
.apidocs code,.apidocs pre{font-family:ui-monospace,monospace;font-size:.9em}
.apidocs pre{background:#f3f3f3;padding:.5rem;white-space:pre-wrap;overflow-wrap:anywhere;border:1px solid #ccc}
.apidocs table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}
.apidocs th,.apidocs td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}
.apidocs caption{text-align:left;font-weight:600}
.apidocs{max-width:60rem;overflow-wrap:anywhere}
"""


def _site_header() -> str:
    """The site's header and navigation, as every Dash page has it (layouts/_shell.py), in plain HTML:
    this page works without JavaScript."""
    current = ' aria-current="page"'
    links = "".join(f'<li><a href="{escape(href)}"{current if href == "/api" else ""}>{escape(text)}</a></li>'
                    for href, text in site.NAV)
    return (f'<header class="site-header"><a href="/" class="brand" aria-label="Pulse home: the city scorecard">'
            f'Pulse</a><nav aria-label="Main"><ul>{links}</ul></nav></header>')


def _table(html: str) -> str:
    """A table in a box that scrolls sideways by itself on a narrow screen (labelled, focusable)."""
    caption = html.split("<caption>", 1)[1].split("</caption>", 1)[0]
    return f'<div class="table-scroll" role="region" tabindex="0" aria-label="{caption}">{html}</div>'


def _anchor(path: str) -> str:
    return "op-" + "".join(c if c.isalnum() else "-" for c in path).strip("-")


def _type(schema: dict) -> str:
    if schema.get("type") == "array":
        return f"comma-separated list of {_type(schema.get('items', {}))}"
    text = schema.get("type", "any")
    if "format" in schema:
        text += f" ({schema['format']})"
    if "enum" in schema and len(schema["enum"]) <= 12:
        text += ": " + ", ".join(map(str, schema["enum"]))
    elif "enum" in schema:
        text += f": one of {len(schema['enum'])} values"
    if "minimum" in schema or "maximum" in schema:
        text += f", {schema.get('minimum', '')} to {schema.get('maximum', '')}"
    return text


def _params_table(path: str, params: list[dict]) -> str:
    plain = [p for p in params if "x-pulse-column" not in p]
    if not plain:
        return ""
    rows = "".join(
        f"<tr><th scope=\"row\"><code>{escape(p['name'])}</code></th><td>{escape(p['in'])}</td>"
        f"<td>{escape(_type(p['schema']))}</td><td>{'yes' if p.get('required') else 'no'}</td>"
        f"<td>{escape(p.get('description', ''))}</td></tr>" for p in plain)
    return _table(f"<table><caption>Parameters of {escape(path)}</caption><thead><tr><th scope=\"col\">Name</th>"
                  f"<th scope=\"col\">In</th><th scope=\"col\">Type</th><th scope=\"col\">Required</th>"
                  f"<th scope=\"col\">Description</th></tr></thead><tbody>{rows}</tbody></table>")


def _filters_table(path: str, params: list[dict]) -> str:
    """The generated column filters, one row per column rather than six."""
    columns: dict[str, dict] = {}
    for p in params:
        if "x-pulse-column" in p:
            entry = columns.setdefault(p["x-pulse-column"], {"ops": [], "param": p})
            entry["ops"].append(p["name"])
            if p["x-pulse-operator"] == "eq":
                entry["param"] = p
    if not columns:
        return ""
    rows = "".join(
        f"<tr><th scope=\"row\"><code>{escape(name)}</code></th><td>{escape(_type(c['param']['schema']))}</td>"
        f"<td>{' '.join(f'<code>{escape(o)}</code>' for o in c['ops'])}</td>"
        f"<td>{escape(c['param']['description'].split('Column of: ')[-1])}</td></tr>"
        for name, c in columns.items())
    return _table(f"<table><caption>Column filters of {escape(path)}</caption><thead><tr><th scope=\"col\">Column"
                  f"</th><th scope=\"col\">Type</th><th scope=\"col\">Parameters</th><th scope=\"col\">In datasets"
                  f"</th></tr></thead><tbody>{rows}</tbody></table>")


def _responses(responses: dict) -> str:
    items = "".join(
        f"<li><strong>{escape(code)}</strong>: {escape(r.get('description', ''))}"
        f"{' (' + ', '.join(escape(t) for t in r['content']) + ')' if r.get('content') else ''}</li>"
        for code, r in responses.items())
    return f"<h4>Responses</h4><ul>{items}</ul>"


def render(spec: dict) -> str:
    base = spec["servers"][0]["url"].rstrip("/")
    toc, sections = [], []
    for path, item in spec["paths"].items():
        op = item["get"]
        anchor = _anchor(path)
        toc.append(f"<li><a href=\"#{anchor}\"><code>GET {escape(path)}</code></a>: {escape(op['summary'])}</li>")
        example = op.get("x-pulse-example") or path
        sections.append(
            f"<section aria-labelledby=\"{anchor}\"><h3 id=\"{anchor}\"><code>GET {escape(path)}</code></h3>"
            f"<p><strong>{escape(op['summary'])}.</strong> {escape(op['description'])}</p>"
            f"{_params_table(path, op.get('parameters', []))}{_filters_table(path, op.get('parameters', []))}"
            f"{_responses(op['responses'])}<h4>Example</h4><pre><code>curl '{escape(base + example)}'</code></pre>"
            f"</section>")
    info = spec["info"]
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(info['title'])} \u00b7 Pulse</title><link rel="stylesheet" href="{site.STYLESHEET}"><style>{STYLE}</style></head>
<body><div class="site"><a class="skip-link" href="#main">Skip to main content</a>
{_site_header()}
<main id="main" tabindex="-1" class="apidocs"><h1>{escape(info['title'])}</h1><p>{escape(info['description'])}</p>
<p>Machine-readable: <a href="{escape(base)}/openapi.json">openapi.json</a> (OpenAPI {escape(spec['openapi'])}).</p>
<nav aria-label="Endpoints"><h2>Endpoints</h2><ul>{''.join(toc)}</ul></nav>
<h2>Reference</h2>{''.join(sections)}</main>
<footer class="site-footer"><p>Open data from the city's operational systems: see <a href="/data">the open data
catalog</a> and <a href="/data.json">data.json</a>.</p></footer></div>
</body></html>
"""
