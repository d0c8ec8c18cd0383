"""The commands of `claims-dispatch`, grouped by what they need (``streams.cli`` parses the arguments):
``system`` runs it, ``data`` needs only the database, ``admin`` is the operator's; ``bootstrap`` finds the
addresses and the database every one of them starts from."""
