"""The typed, frozen model of legacy messages: MsgHead 1.2 (Hodemelding) carrying Dialogmelding
1.0/1.1, and AppRec 1.0/1.1 (applikasjonskvittering).

Names are English; the KITH element each field comes from is in the comment next to it. Codes (CS,
CV) keep V, S, DN and OT as sent. ``version`` fields record what was read and take no part in
equality: a 1.0 message's content is a subset of 1.1, and writing always produces the newest
version (Dialogmelding 1.1, AppRec 1.1).

Seam for the sync engine (not built yet): a hospital's notice of need for an individual plan to
the municipality's koordinerende enhet arrives as a Dialogmelding ``Note`` (tema, text, roles)
about ``Message.patient`` from ``Message.sender`` (HER-id, organisasjonsnummer, the person who
sent it) to ``Message.receiver``; the message and conversation ids are what an AppRec answers.
Everything that mapping to a FHIR notification Bundle needs is on :class:`Message`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ipfhir.mappings.identifiers import is_valid_orgnr
from ipfhir.mappings.legacy.codes import Code
from ipfhir.mappings.legacy.model_apprec import (
    AdditionalId,
    AppRec,
    AppRecAddress,
    AppRecParty,
    AppRecUnit,
    Institution,
    OriginalMessage,
)
from ipfhir.mappings.legacy.xmlnode import Node

__all__ = [
    "Address",
    "AppRec",
    "AppRecAddress",
    "AppRecParty",
    "AppRecUnit",
    "AdditionalId",
    "Base64Content",
    "Code",
    "ConversationRef",
    "Dialogmelding",
    "Document",
    "Ident",
    "Institution",
    "LinkedUnit",
    "Message",
    "Node",
    "Note",
    "OriginalMessage",
    "Organisation",
    "Party",
    "Person",
    "Request",
    "RichText",
    "Role",
    "TeleCom",
]

PERSON_NUMBER_TYPES = ("FNR", "DNR")


@dataclass(frozen=True)
class Ident:
    """Ident: Id and TypeId (HER, ENH = organisasjonsnummer, FNR, DNR, HPR, ...)."""

    id: str
    type: Code


@dataclass(frozen=True)
class Address:
    type: Code | None = None  # Type
    street: str | None = None  # StreetAdr
    postal_code: str | None = None  # PostalCode
    city: str | None = None  # City
    postbox: str | None = None  # Postbox
    county: Code | None = None  # County
    country: Code | None = None  # Country


@dataclass(frozen=True)
class TeleCom:
    address: str | None = None  # TeleAddress/@V, a URL: tel:, fax:, mailto:
    type: Code | None = None  # TypeTelecom


def _ident(idents: tuple[Ident, ...], *types: str) -> str | None:
    return next((i.id for i in idents if i.type.v in types), None)


@dataclass(frozen=True)
class Person:
    """Patient, Person or HealthcareProfessional (helsepersonell) — one shape for all three."""

    family_name: str | None = None  # FamilyName
    middle_name: str | None = None  # MiddleName
    given_name: str | None = None  # GivenName
    date_of_birth: dt.date | None = None  # DateOfBirth
    sex: Code | None = None  # Sex
    nationality: Code | None = None  # Nationality
    idents: tuple[Ident, ...] = ()  # Ident
    address: Address | None = None  # Address
    telecoms: tuple[TeleCom, ...] = ()  # TeleCom
    profession: Code | None = None  # TypeHealthcareProfessional (LE = lege, SP = sykepleier, ...)
    role_to_patient: Code | None = None  # RoleToPatient

    @property
    def person_number(self) -> str | None:
        """Fødselsnummer or D-nummer (a Patient's is checked when the message is read)."""
        return _ident(self.idents, *PERSON_NUMBER_TYPES)

    @property
    def hpr(self) -> str | None:
        return _ident(self.idents, "HPR")

    @property
    def her_id(self) -> str | None:
        return _ident(self.idents, "HER")


@dataclass(frozen=True)
class Organisation:
    """Organisation, possibly with one sub-unit (Organisation in Organisation) and one person."""

    name: str | None = None  # OrganisationName
    type: Code | None = None  # TypeOrganisation
    idents: tuple[Ident, ...] = ()  # Ident
    address: Address | None = None  # Address
    telecoms: tuple[TeleCom, ...] = ()  # TeleCom
    unit: Organisation | None = None  # Organisation (avdeling, koordinerende enhet, ...)
    professional: Person | None = None  # HealthcareProfessional (MsgHead only)

    @property
    def her_id(self) -> str | None:
        return _ident(self.idents, "HER")

    @property
    def orgnr(self) -> str | None:
        """Organisasjonsnummer (TypeId ENH) as sent; see :attr:`orgnr_valid`."""
        return _ident(self.idents, "ENH")

    @property
    def orgnr_valid(self) -> bool | None:
        """Whether the organisasjonsnummer has a valid checksum (None when there is none)."""
        number = self.orgnr
        return None if number is None else is_valid_orgnr(number.strip())


@dataclass(frozen=True)
class Party:
    """Sender or Receiver of a MsgHead."""

    organisation: Organisation
    com_method: Code | None = None  # ComMethod


@dataclass(frozen=True)
class ConversationRef:
    parent: str  # RefToParent
    conversation: str  # RefToConversation


@dataclass(frozen=True)
class RichText:
    """Content of an ``anyType`` element (TekstNotatInnhold, Sporsmal): text and any markup."""

    text: str | None = None
    children: tuple[Node, ...] = ()

    @property
    def plain(self) -> str:
        return (self.text or "") + "".join(c.plain for c in self.children)


@dataclass(frozen=True)
class LinkedUnit:
    """TilknyttetEnhet (Dialogmelding 1.1): the contact unit a role belongs to."""

    contact_unit: Organisation  # Kontaktenhet
    remark: str | None = None  # Merknad
    professional: Person | None = None  # HealthcareProfessional
    person: Person | None = None  # Person


@dataclass(frozen=True)
class Role:
    """RollerRelatertNotat: a person's role in relation to the note or request."""

    role_in_note: Code | None = None  # RolleNotat
    role_to_patient: Code | None = None  # RoleToPatient
    unit: LinkedUnit | None = None  # TilknyttetEnhet
    professional: Person | None = None  # HealthcareProfessional
    person: Person | None = None  # Person


@dataclass(frozen=True)
class Request:
    """Foresporsel (forespørsel)."""

    type: Code  # TypeForesp
    subject: str | None = None  # EmneSporsmal (1.1)
    question: RichText | None = None  # Sporsmal
    purpose: Code | None = None  # Formål
    reason: str | None = None  # Begrunnelse
    urgency: Code | None = None  # Hastegrad
    from_date: dt.date | None = None  # FraDato
    to_date: dt.date | None = None  # TilDato
    journal_info_types: tuple[Code, ...] = ()  # TypeJournalinfo
    coded_information: Code | None = None  # KodetOpplysning (1.1)
    doc_id: str | None = None  # DokIdForesp
    roles: tuple[Role, ...] = ()  # RollerRelatertNotat


@dataclass(frozen=True)
class Note:
    """Notat: a note, an answer to a request, or a report of a fault (avvik)."""

    topic_code: Code  # TemaKodet
    topic: str | None = None  # Tema
    text: RichText | None = None  # TekstNotatInnhold
    remark: str | None = None  # Merknad
    doc_id: str | None = None  # DokIdNotat
    date: dt.date | None = None  # DatoNotat
    request: Request | None = None  # Foresporsel (the request this note answers)
    roles: tuple[Role, ...] = ()  # RollerRelatertNotat


@dataclass(frozen=True)
class Dialogmelding:
    case_type_code: Code | None = None  # SakstypeKodet
    case_type: str | None = None  # Sakstype
    requests: tuple[Request, ...] = ()  # Foresporsel
    notes: tuple[Note, ...] = ()  # Notat
    version: str = field(default="1.1", compare=False)  # read from the namespace


@dataclass(frozen=True)
class Base64Content:
    """Base64Container: an attachment (PDF, image, ...), kept base64-encoded as sent."""

    data: str


@dataclass(frozen=True)
class Document:
    """Document with its RefDoc (flattened)."""

    msg_type: Code  # RefDoc/MsgType (XML = XML-instans, A = vedlegg)
    content: Dialogmelding | AppRec | Base64Content | None = None  # RefDoc/Content
    issue_date: str | None = None  # RefDoc/IssueDate/@V (date, dateTime, gYear, ... as sent)
    id: str | None = None  # RefDoc/Id
    mime_type: str | None = None  # RefDoc/MimeType
    description: str | None = None  # RefDoc/Description
    compression: Code | None = None  # RefDoc/Compression
    file_reference: str | None = None  # RefDoc/FileReference
    connection: Code | None = None  # DocumentConnection (H = hoveddokument, V = vedlegg)
    content_type: Code | None = None  # ContentType
    content_description: str | None = None  # ContentDescription
    content_category: Code | None = None  # ContentCategory
    consent: Code | None = None  # Consent
    annotation: str | None = None  # Annotation
    from_date: str | None = None  # FromDate/@V
    to_date: str | None = None  # ToDate/@V
    oid_ref: str | None = None  # OidRef
    enquiry_ref_id: str | None = None  # EnquiryRefId


@dataclass(frozen=True)
class Message:
    """MsgHead 1.2 (Hodemelding)."""

    msg_type: Code  # MsgInfo/Type (DIALOG_NOTAT, DIALOG_FORESPORSEL, DIALOG_SVAR, ...)
    gen_date: dt.datetime  # MsgInfo/GenDate
    msg_id: str  # MsgInfo/MsgId
    sender: Party  # MsgInfo/Sender
    receiver: Party  # MsgInfo/Receiver
    documents: tuple[Document, ...]  # Document (one or more)
    patient: Person | None = None  # MsgInfo/Patient
    conversation: ConversationRef | None = None  # MsgInfo/ConversationRef
    processing_status: Code | None = None  # MsgInfo/ProcessingStatus
    requested_priority: Code | None = None  # MsgInfo/RequestedPriority
    ack: Code | None = None  # MsgInfo/Ack
    other_receivers: tuple[Node, ...] = ()  # MsgInfo/OtherReceiver, kept as XML
    signature: Node | None = None  # ds:Signature, kept as XML (void once the message changes)
