"""The event contract: every event on every topic (the envelope, the loss report, dispatch, surveyor,
business, callback and monthly-report events, dead letters) and the topic catalogue."""
