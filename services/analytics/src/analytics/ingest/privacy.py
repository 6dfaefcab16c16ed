"""Personal data stays out of the raw store: an event's payload is scrubbed before it is stored raw.

The facts are computed from the whole event first (``ingest.facts``; none of them needs a personal
field); what lands in ``raw_events.data`` is the payload without the fields below, at any depth
(nested objects and lists of objects included). A field is dropped when its name is in
:data:`PERSONAL_FIELDS` or contains one of :data:`PERSONAL_PARTS` (so a digest of a DNI or an
IBAN, ``dni_digest``, goes too, as does a future ``billing_address``); free-form objects
(:data:`FREE_FORM`) are dropped whole, since their keys are not known in advance.

Sentiment needs no message text here: omnichannel scores the text when it stores the message and
the event carries the score and label (kept); the preview is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# names, contact details, identity documents, bank details, address lines, free text
PERSONAL_FIELDS = frozenset(
    {
        # who the person is
        "first_name",
        "last_name",
        "name",
        "full_name",
        "company_name",
        "to_name",
        "from_name",
        "driver_birth_date",
        "birth_date",
        "date_of_birth",
        "plate",
        "ip",
        "user_agent",
        # identity documents (DNI/NIE/CIF, passport)
        "nie",
        "nif",
        "cif",
        "passport",
        "document_number",
        # message bodies, transcripts, summaries, free text
        "preview",
        "body",
        "body_text",
        "body_html",
        "text",
        "transcript",
        "summary",
        "summary_es",
        "summary_en",
        "notes",
        "note",
        "description",
        "comment",
        "subject",
        "title",
        "location",
        "reason",  # a denial's or a cancellation's words (the facts keep the cancellation's)
        # where the person lives
        "postal_code",
        "city",
        "street",
        # links that reach a person's recording or account
        "recording_url",
        "verification_url",
        "reset_url",
        "reset_password_url",
        "sign_in_url",
    }
)

# any field whose name contains one of these: e-mail, phone and mobile numbers (also
# ``customer_phone``, ``new_email``), DNI and IBAN (also their digests), address lines
PERSONAL_PARTS = ("email", "phone", "mobile", "dni", "iban", "address", "to_number", "from_number")

# free-form objects (a claim's details, a notification's template values, a scraped document's
# fields): dropped whole
FREE_FORM = frozenset({"attributes", "variables", "fields"})

_VERDICTS: dict[str, bool] = {}


def personal(name: str) -> bool:
    """Whether a payload field of this name is personal (dropped from the raw store)."""
    verdict = _VERDICTS.get(name)
    if verdict is None:
        lowered = name.lower()
        verdict = (
            lowered in PERSONAL_FIELDS
            or lowered in FREE_FORM
            or any(part in lowered for part in PERSONAL_PARTS)
        )
        if len(_VERDICTS) < 10_000:  # payload keys are a small fixed set; bounded all the same
            _VERDICTS[name] = verdict
    return verdict


def scrub(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` without its personal fields, at any depth (a new object; ``data`` is unchanged)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if personal(key):
            continue
        if isinstance(value, Mapping):
            value = scrub(value)
        elif isinstance(value, list):
            value = [scrub(item) if isinstance(item, Mapping) else item for item in value]
        out[key] = value
    return out
