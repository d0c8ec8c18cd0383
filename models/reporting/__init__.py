"""The monthly callback analysis report: its figures, observations and due date."""
