"""Use cases that span more than one repository call: notifying the plan's parties and
transferring a plan between organisations (forskrift § 7 and § 9), which the sync engine will
call through ``repository_for(actor)`` like any other discloser.

Empty today, on purpose: the plan lifecycle the server has so far is one repository call per
request (the HTTP layer calls the caller's consent-enforced repository directly), and the rules
every write keeps are enforced by the store (``adapter/fhir/plan_rules.py``). The package holds
the use-case layer's place in the import contract (tests/unit/test_layers.py): it may import
consent, ports and the FHIR mechanics, never the store's concrete classes or the HTTP layer.
"""
