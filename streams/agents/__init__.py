"""Faust agents: thin shells of decode, decide (models/), persist, publish, count."""
