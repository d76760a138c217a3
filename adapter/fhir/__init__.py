"""FHIR mechanics of this server, below the store and the consent layer that both use them.

- ``search_params``: the search parameters served per resource type and how to index them;
- ``search_parsing``: query strings → :class:`adapter.ports.SearchQuery`, with request limits;
- ``dates``: FHIR date/dateTime/instant values as sortable UTC ranges;
- ``validation``: the validator port's default wiring and its outcome as errors;
- ``plan_rules``: the invariants every write keeps (what an individual plan is, which types may
  be deleted, which only the server writes). They sit here, not among the use cases, because
  the store enforces them inside the writing transaction.

Nothing here imports the store, consent, the API or the use cases (tests/unit/test_layers.py).
"""
