"""/service-requests: 311 volume by channel, time to close, on-time share, backlog and maps.

The layout is a function of the URL query (STYLE habit 9): ?start=&end=&borough=&agency=
&complaint_type=&period= restore a view exactly; callbacks/service_requests.py redraws on change.
"""
from __future__ import annotations

import dash

from layouts import _shell as shell
from portal import filter_messages, filters

PAGE = "service_requests"
START, END, BOROUGH, AGENCY, TYPE, PERIOD = "sr-start", "sr-end", "sr-borough", "sr-agency", "sr-type", "sr-period"
ASOF, URL_SYNC, NOTE = "sr-asof", "sr-url-sync", "sr-filter-note"
# URL query name -> (component id, property): the callback's inputs and the URL sync both read this.
CONTROLS = {"start": (START, "value"), "end": (END, "value"), "borough": (BOROUGH, "value"), "agency": (AGENCY, "value"),
            "complaint_type": (TYPE, "value"), "period": (PERIOD, "data")}

dash.register_page(__name__, path="/service-requests", name="311 requests", title="311 service requests \u00b7 Pulse",
                   description="How fast the city answers 311 requests: volume, time to close, on-time share, backlog.")


def layout(**query):
    p = filters.sr_params(query)
    choices = filters.sr_choices()
    return shell.chart_page(PAGE, "311 service requests", "Requests residents make through 311, how they arrive, and how "
                          "quickly the responsible agencies close them.", ASOF, URL_SYNC, "Filter the 311 charts", [
            shell.date_input(START, "From", p["start"]),
            shell.date_input(END, "To", p["end"]),
            shell.choice(BOROUGH, "Borough", choices["borough"], p["borough"]),
            shell.choice(AGENCY, "Agency", choices["agency"], p["agency"]),
            shell.choice(TYPE, "Complaint type", choices["complaint_type"], p["complaint_type"]),
            shell.toggle_group(PERIOD, "Group volume by", [(x, x.title()) for x in filters.PERIODS], p["period"]),
            shell.filter_note(NOTE, filter_messages.note(PAGE, p)),
    ], p)
