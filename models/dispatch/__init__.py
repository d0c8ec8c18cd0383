"""Dispatch: intake of a loss report, zones and limits, travel, the roster, surveyors' and vehicles' states,
the region planner, task states and the watchdog's deadlines."""
