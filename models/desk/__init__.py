"""The dispatcher's desk: what a command does (``commands``), the options an escalation offers (``options``),
and the life of an escalation (``escalations``)."""
