"""Code systems and fixed codes the plan uses — the single source for profiles/ip CodeSystems.

National codes are used where they exist (code list 9034 for coordinator functions, 9602 for the
document type «Individuell plan», 9033 for relationships); project codes fill the gaps where no
national code exists (barnekoordinator, information topics a person may refuse, ...), under the
project's canonical base.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ASSIGNMENT_ID_SYSTEM",
    "BASE",
    "CARETEAM_CATEGORY",
    "CONSENT_CATEGORY",
    "CONSENT_DOMAIN",
    "COORDINATOR_ROLE",
    "EXCHANGE",
    "GOAL_LEVEL",
    "INFORMATION_TOPIC",
    "LEGAL_BASIS",
    "ORGANISATION_TYPE",
    "PARTICIPANT_ROLE",
    "PROJECT_CODE_SYSTEMS",
    "REVOKED_LABEL",
    "SYSTEM_9033",
    "SYSTEM_9034",
    "SYSTEM_9151",
    "SYSTEM_9602",
    "IP_PLAN_CODE",
    "cs_url",
    "ext_url",
    "profile_url",
]

# The canonical base of every definition, code system and profile this project publishes: the
# one statement of it (adapter, mappings and the profile generator read it from here).
BASE: Final = "https://ip-fhir-adapter.no/fhir"

SYSTEM_9033: Final = "urn:oid:2.16.578.1.12.4.1.1.9033"  # Slektskap mv. til pasient
SYSTEM_9034: Final = "urn:oid:2.16.578.1.12.4.1.1.9034"  # Helsepersonells funksjoner mv.
SYSTEM_9151: Final = "urn:oid:2.16.578.1.12.4.1.1.9151"  # Tjenestetype (IPLOS/KPR)
SYSTEM_9602: Final = "urn:oid:2.16.578.1.12.4.1.1.9602"  # Dokumenttype (A02-2 Individuell plan)
# The category (SYSTEM_9602) that makes a CarePlan an individual plan: the one statement of it.
IP_PLAN_CODE: Final = "A02-2"


def cs_url(name: str) -> str:
    return f"{BASE}/CodeSystem/{name}"


def ext_url(name: str) -> str:
    return f"{BASE}/StructureDefinition/{name}"


def profile_url(name: str) -> str:
    return f"{BASE}/StructureDefinition/{name}"


# Information topics a person may refuse to share (seed 002_f60a41b6bd550ea2.txt, «Eksempel 2:
# Nyttige stikkord ved kartlegging av behov»), used as security labels on goals, needs,
# resources and measures.
# The last three are the project's additions for sensitive areas the seeds name elsewhere
# (psykisk helse, barnevern, somatisk helse).
INFORMATION_TOPIC: Final[dict[str, str]] = {
    "sosialt-nettverk": "Sosialt nettverk / personlige relasjoner, tro- og livssyn",
    "behandling": "Behandling / trening / medisiner",
    "opplaering": "Opplæring / veiledning / tilrettelegging",
    "hjelpemidler": "Behov for hjelpemidler",
    "okonomi": "Økonomi / stønader",
    "mobilitet": "Mobilitet / transport",
    "personlig-assistanse": "Personlig assistanse / hygiene / på- og avkledning",
    "rus": "Mestring av rusproblemer",
    "husarbeid": "Husarbeid",
    "mat": "Mat / kosthold / måltider",
    "arbeid": "Arbeid / sysselsetting / dagtilbud / tilrettelegging",
    "bolig": "Bolig / ombygging / uteområder",
    "fritid": "Fritid / ferie / høytider",
    "familie": "Behov hos foreldre, ektefelle, partner, barn",
    "psykisk-helse": "Psykisk helse",
    "somatisk-helse": "Somatisk helse",
    "barnevern": "Barnevern",
}

# Coordinator roles: national 9034 where a code exists, project code for barnekoordinator.
COORDINATOR_ROLE: Final[dict[tuple[str, str], tuple[str, str, str]]] = {
    # (kind, service level) -> (system, code, display)
    ("koordinator", "kommune"): (SYSTEM_9034, "8", "Koordinator Individuell plan"),
    ("koordinator", "spesialisthelsetjeneste"): (
        SYSTEM_9034,
        "18",
        "Koordinator (spesialisthelsetjenesteloven)",
    ),
    ("midlertidig-koordinator", "spesialisthelsetjeneste"): (
        cs_url("ip-coordinator-role"),
        "midlertidig-koordinator",
        "Midlertidig koordinator i spesialisthelsetjenesten",
    ),
    ("barnekoordinator", "kommune"): (
        cs_url("ip-coordinator-role"),
        "barnekoordinator",
        "Barnekoordinator (helse- og omsorgstjenesteloven § 7-2 a)",
    ),
}

PARTICIPANT_ROLE: Final[dict[str, str]] = {
    "tjenestemottaker": "Tjenestemottaker (planen tilhører)",
    "parorende": "Pårørende",
    "stotteperson": "Støtteperson (likemann, rådgiver, venn: deltar sammen med personen)",
    "verge": "Verge / hjelpeverge",
    "tjenesteyter": "Tjenesteyter",
    "samarbeidspart": "Samarbeidende virksomhet",
}

GOAL_LEVEL: Final[dict[str, str]] = {"hovedmal": "Hovedmål", "delmal": "Delmål"}

ORGANISATION_TYPE: Final[dict[str, str]] = {
    "kommune": "Kommune",
    "koordinerende-enhet": "Koordinerende enhet for habilitering og rehabilitering",
    "helseforetak": "Helseforetak (spesialisthelsetjenesten)",
    "fastlegekontor": "Fastlegekontor",
    "nav": "NAV",
    "skole": "Skole",
    "barnehage": "Barnehage",
    "barnevern": "Barneverntjeneste",
    "ppt": "Pedagogisk-psykologisk tjeneste (PPT)",
    "hjelpemiddelsentral": "Hjelpemiddelsentral",
    "annen": "Annen virksomhet",
}

CONSENT_CATEGORY: Final[dict[str, str]] = {
    "plan-consent": "Samtykke til at individuell plan utarbeides",
    "sharing-consent": "Samtykke til utveksling av taushetsbelagte opplysninger",
}

CONSENT_DOMAIN: Final[dict[str, str]] = {
    "health-and-care": "Helse- og omsorgstjenester (pasient- og brukerrettighetsloven kap. 4)",
    "child-welfare": "Barnevern (barnevernsloven)",
}

CONSENT_CAPACITY: Final[dict[str, str]] = {
    "self": "Personen selv",
    "parent": "Foreldre / andre med foreldreansvar",
    "guardian": "Verge / hjelpeverge innenfor mandatet",
    "nearest-relative": "Nærmeste pårørende når personen mangler samtykkekompetanse",
}

# The law the plan is made under (forskrift om individuell plan ved ytelse av velferdstjenester
# is common to all of them since 1 August 2022).
LEGAL_BASIS: Final[dict[str, str]] = {
    "helse-og-omsorg": "Kommunale helse- og omsorgstjenester (helse- og omsorgstjl. § 7-1)",
    "spesialisthelse": "Spesialisthelsetjenesten (spesialisthelsetjenesteloven § 2-5)",
    "psykisk-helsevern": "Psykisk helsevern (psykisk helsevernloven § 4-1)",
    "nav": "Arbeids- og velferdsforvaltningen (NAV-loven § 15)",
    "sosiale-tjenester": "Sosiale tjenester i NAV (sosialtjenesteloven § 28)",
    "barnevern": "Barnevern (barnevernsloven: plikt til individuell plan)",
}

# Messages between organisations (FHIR messaging: MessageHeader.eventCoding) and the codes of the
# Task a notification carries (Task.code, Task.input.type, Task.output.type).
EXCHANGE: Final[dict[str, str]] = {
    "ip-notification": "Melding om behov for individuell plan og koordinator",
    "ip-notification-response": "Svar på melding om behov for individuell plan og koordinator",
    "service-involved": "Tjeneste som er involvert",
    "temporary-coordinator": "Midlertidig koordinator (kontaktperson)",
    "coordinator": "Koordinator oppnevnt",
    "decline-reason": "Begrunnelse for avslag",
    "ip-transfer": "Overføring av individuell plan ved flytting",
    "ip-transfer-response": "Svar på overføring av individuell plan",
    "ip-transfer-plan": "Individuell plan overført til ny kommune",
    "ip-transfer-query": "Spørsmål om overført individuell plan er mottatt",
    "handover-overlap-days": "Overlapp mellom koordinatorene (dager)",
    "successor-plan": "Planen hos kommunen som overtok",
    "handover-pending": "Overføring pågår: planen er skrivebeskyttet",
    "handed-over": "Overført til ny kommune: planen er avsluttet og skrivebeskyttet",
    # revocation notices (adapter/services/revoke.py, adapter/sync/revocation.py)
    "ip-revocation": "Melding om samtykke trukket tilbake eller innskrenket",
    "revoked-notification": "Melding sendt under samtykket (Task.identifier)",
    "consent-revoked": "Mottatt under et samtykke avsenderen har trukket tilbake eller innskrenket",
}
# The security label (meta.security) a receiver puts on what it received under a consent the
# sender has since withdrawn or narrowed: the resource is then answered as missing to everyone.
REVOKED_LABEL: Final[dict[str, str]] = {"system": cs_url("ip-exchange"), "code": "consent-revoked"}

# The identifier every CareTeam of one coordinator assignment on its own carries (value: the
# assignment's id): one CareTeam per person covered, the family known by this shared identifier.
ASSIGNMENT_ID_SYSTEM: Final = f"{BASE}/NamingSystem/ip-coordinator-assignment"

# What a CareTeam is: the plan's responsibility group has no category (it is found from its
# CarePlan); a coordinator assignment on its own carries this one (seed 004_feb800c0c7d43aa8.txt).
CARETEAM_CATEGORY: Final[dict[str, str]] = {
    "koordinator-tildeling": "Tildelt koordinator eller barnekoordinator, med eller uten "
    "individuell plan",
}

# name -> (title, concepts) for every project CodeSystem; profiles/ip is generated from this.
PROJECT_CODE_SYSTEMS: Final[dict[str, tuple[str, dict[str, str]]]] = {
    "ip-information-topic": ("Informasjonstema i individuell plan", INFORMATION_TOPIC),
    "ip-coordinator-role": (
        "Koordinatorroller uten nasjonal kode",
        {code: display for (_s, code, display) in COORDINATOR_ROLE.values() if _s != SYSTEM_9034},
    ),
    "ip-participant-role": ("Roller i arbeidet med individuell plan", PARTICIPANT_ROLE),
    "ip-goal-level": ("Målnivå", GOAL_LEVEL),
    "ip-organisation-type": ("Virksomhetstype i planarbeidet", ORGANISATION_TYPE),
    "ip-consent-category": ("Samtykketype i individuell plan", CONSENT_CATEGORY),
    "ip-consent-domain": ("Rettsområde for samtykket", CONSENT_DOMAIN),
    "ip-consent-capacity": ("Grunnlag for samtykkekompetanse", CONSENT_CAPACITY),
    "ip-legal-basis": ("Rettsgrunnlag for individuell plan", LEGAL_BASIS),
    "ip-exchange": ("Meldinger og oppgaver mellom virksomheter", EXCHANGE),
    "ip-careteam-category": ("Slag av team", CARETEAM_CATEGORY),
}
