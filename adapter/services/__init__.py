"""Use cases that span more than one repository call: notifying the plan's parties (``notify``)
and, later, transferring a plan between organisations (forskrift § 7 and § 9). They reach plan
data through ``repository_for(actor)`` like any other discloser.

The rules every write keeps are not here: the store enforces them inside the writing
transaction (``adapter/fhir/plan_rules.py``). This package's place in the import contract
(tests/unit/test_layers.py): it may import consent, ports and the FHIR mechanics, never the
HTTP layer or the store's concrete classes.
"""
