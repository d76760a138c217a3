"""One active plan per *person*: ``active_plans.patient_id`` holds the person's key
(``system|value`` of the fødselsnummer, else the D-nummer, else ``Patient/id``), because Patient
ids are now scoped to a plan and two plans for one person name two Patients
(``adapter/store/indexer.py`` ``person_key``). Existing rows are re-keyed from the search index.

Revision ID: 0011
Revises: 0010"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
_DNR = "urn:oid:2.16.578.1.12.4.1.4.2"


def _rekey(system: str) -> str:
    match = (
        "FROM idx_token t WHERE t.res_type = 'Patient' AND t.res_id = active_plans.patient_id "
        f"AND t.param = 'identifier' AND t.system = '{system}'"
    )
    return (
        f"UPDATE active_plans SET patient_id = (SELECT MIN(t.system || '|' || t.code) {match}) "
        f"WHERE active_plans.patient_id NOT LIKE '%|%' AND EXISTS (SELECT 1 {match})"
    )


def upgrade() -> None:
    op.execute(_rekey(_FNR))
    op.execute(_rekey(_DNR))
    op.execute(
        "UPDATE active_plans SET patient_id = 'Patient/' || patient_id "
        "WHERE patient_id NOT LIKE '%|%' AND patient_id NOT LIKE 'Patient/%'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE active_plans SET patient_id = (SELECT MIN(c.target_id) FROM idx_reference c "
        "WHERE c.res_type = 'CarePlan' AND c.res_id = active_plans.careplan_id "
        "AND c.param = 'subject' AND c.target_type = 'Patient')"
    )
