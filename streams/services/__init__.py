"""The service layer: one handler per command or event.

A handler loads state through the stores (``streams.store``: rows in, rows out, no rules), decides in
``models`` (pure), and saves its effects with the records they produce through one unit of work
(``unit_of_work``: the transaction, the inbox row of the event handled, the outbox). Agents decode a
record and call a handler; they publish what the handler returns and count it.
"""
