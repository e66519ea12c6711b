"""Uses python-dateutil, which is not in the function's code: it comes from the layer at /opt/python."""

import dateutil
from dateutil import parser


def handler(event, context):
    moment = parser.parse(event.get("date", "2026-11-27T14:30:00"))
    return {"iso": moment.isoformat(), "weekday": moment.strftime("%A"), "dateutil_from": dateutil.__file__}
