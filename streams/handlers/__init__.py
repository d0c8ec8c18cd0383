"""One handler per input topic and timer: decode the record, run the service in one unit of work, publish
what it queued, count and log what it decided. The record loop calls them; they call services."""
