"""The pure domain of claims-dispatch: event schemas and decisions. No I/O here."""
