"""/volunteers: sign-ups and hours over time (days of service stand out), by borough and category,
and the opportunities still looking for volunteers (?start=&end=&borough=)."""
from __future__ import annotations

import dash

from layouts import _shell as shell
from portal import filter_messages, filters

PAGE = "volunteers"
START, END, BOROUGH = "vol-start", "vol-end", "vol-borough"
ASOF, URL_SYNC, NOTE = "vol-asof", "vol-url-sync", "vol-filter-note"
CONTROLS = {"start": (START, "value"), "end": (END, "value"), "borough": (BOROUGH, "value")}

dash.register_page(__name__, path="/volunteers", name="Volunteers", title="Volunteer activity \u00b7 Pulse",
                   description="Volunteer sign-ups and hours by day, borough and category, and who still needs help.")


def layout(**query):
    p = filters.volunteer_params(query)
    return shell.chart_page(PAGE, "Volunteer activity", "Residents signing up for service opportunities, the hours they "
                          "give, and the opportunities that still need people.", ASOF, URL_SYNC, "Filter the volunteer charts", [
            shell.date_input(START, "From", p["start"]),
            shell.date_input(END, "To", p["end"]),
            shell.choice(BOROUGH, "Borough", filters.volunteer_boroughs(), p["borough"]),
            shell.filter_note(NOTE, filter_messages.note(PAGE, p)),
    ], p)
