"""AppRec 1.0/1.1 (applikasjonskvittering): the receipt a receiver sends for every message —
status 1 OK, 2 avvist (rejected), 3 OK, feil i delmelding (OK with errors) — with error codes
and the original message's id. Part of :mod:`ipfhir.mappings.legacy.model`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ipfhir.mappings.legacy.codes import Code

__all__ = [
    "APPREC_OK",
    "APPREC_OK_WITH_ERRORS",
    "APPREC_REJECTED",
    "AdditionalId",
    "AppRec",
    "AppRecAddress",
    "AppRecParty",
    "AppRecUnit",
    "Institution",
    "OriginalMessage",
]

APPREC_OK = "1"
APPREC_REJECTED = "2"
APPREC_OK_WITH_ERRORS = "3"


@dataclass(frozen=True)
class AdditionalId:
    id: str  # Id
    type: Code  # Type


@dataclass(frozen=True)
class AppRecUnit:
    """Dept, HCProf or HCPerson (HCPerson has no ``type``)."""

    name: str | None = None  # Name
    id: str | None = None  # Id
    type_id: Code | None = None  # TypeId (HER, ENH, HPR, ...)
    additional_ids: tuple[AdditionalId, ...] = ()  # AdditionalId
    type: Code | None = None  # Type


@dataclass(frozen=True)
class Institution:
    """Inst."""

    name: str | None = None
    id: str | None = None
    type_id: Code | None = None
    departments: tuple[AppRecUnit, ...] = ()  # Dept
    additional_ids: tuple[AdditionalId, ...] = ()  # AdditionalId
    persons: tuple[AppRecUnit, ...] = ()  # HCPerson


@dataclass(frozen=True)
class AppRecAddress:
    type: Code  # Type
    street: str | None = None  # StreetAdr
    postal_code: str | None = None  # PostalCode
    city: str | None = None  # City
    county: Code | None = None  # County
    country: Code | None = None  # Country
    city_district: Code | None = None  # CityDistr
    tele_addresses: tuple[str | None, ...] = ()  # TeleAddress/@V


@dataclass(frozen=True)
class AppRecParty:
    """Sender or Receiver: Role and HCP (an institution or a professional)."""

    institution: Institution | None = None  # HCP/Inst
    professional: AppRecUnit | None = None  # HCP/HCProf
    role: Code | None = None  # Role
    med_speciality: Code | None = None  # HCP/MedSpeciality
    address: AppRecAddress | None = None  # HCP/Address


@dataclass(frozen=True)
class OriginalMessage:
    """OriginalMsgId: the message this receipt answers."""

    msg_type: Code  # MsgType
    issue_date: dt.datetime  # IssueDate
    id: str  # Id


@dataclass(frozen=True)
class AppRec:
    msg_type: Code  # MsgType (APPREC)
    gen_date: dt.datetime  # GenDate
    id: str  # Id
    sender: AppRecParty  # Sender
    receiver: AppRecParty  # Receiver
    status: Code  # Status: 1 OK, 2 avvist (rejected), 3 OK, feil i delmelding (OK with errors)
    original: OriginalMessage  # OriginalMsgId
    errors: tuple[Code, ...] = ()  # Error (V, S, DN, OT = the error's detail)
    software_name: str | None = None  # SoftwareName
    software_version: str | None = None  # SoftwareVersion
    version: str = field(default="1.1", compare=False)  # read from the namespace

    @property
    def outcome(self) -> str:
        """'ok', 'ok-with-errors', 'rejected' or 'unknown' (from Status/@V)."""
        return {
            APPREC_OK: "ok",
            APPREC_OK_WITH_ERRORS: "ok-with-errors",
            APPREC_REJECTED: "rejected",
        }.get(self.status.v or "", "unknown")
