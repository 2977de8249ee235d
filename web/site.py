"""The site's navigation, shared by the Dash pages (layouts/_shell.py) and the page Flask serves by
itself (api/apidocs.py, GET /api), so the API docs sit inside the same site with the same links
(issue 16: /api had no way back to the dashboards)."""
from __future__ import annotations

NAV = (("/", "Scorecard"), ("/service-requests", "311 requests"), ("/snow", "Snow"),
       ("/volunteers", "Volunteers"), ("/volunteer", "Volunteer finder"), ("/data", "Open data"), ("/api", "API"))
STYLESHEET = "/assets/pulse.css"  # the one stylesheet (assets/), which Dash also serves under this path
