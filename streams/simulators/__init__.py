"""The outside world for demos and tests: hotline telephony and the surveyors' app."""
