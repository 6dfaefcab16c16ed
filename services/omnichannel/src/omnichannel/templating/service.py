"""Render a named template in a language for a channel; HTML is autoescaped.

Three kinds of text live in ``templates/<lang>/``: messages (``<name>.subject.txt``, ``.txt``,
``.html``, ``.short.txt``), in-app notifications (``inapp/<kind>.title.txt`` and ``.body.txt``),
and the text of every status value (``statuses.txt``, keyed by the vocabularies of
``aintech_contracts.statuses``), which the templates themselves import.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jinja2

from aintech_contracts.statuses import ClaimStatus, vocabulary_of
from aintech_shared.errors import UnprocessableEntity

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"

# Each template and the variables it needs (a missing one is refused before anything is sent).
TEMPLATES: dict[str, tuple[str, ...]] = {
    "welcome": ("first_name",),
    "quote": ("first_name", "quote_number", "total_premium", "best_carrier"),
    "policy_renewal_reminder": ("first_name", "policy_number", "carrier", "coverage_end_date", "days_left"),
    # ``status``: a ClaimStatus; ``approved_amount``, ``paid_amount`` or ``denial_reason`` when known
    "claim_update": ("first_name", "claim_number", "status"),
    "password_reset": ("first_name", "reset_url", "expires_at"),
    "email_verification": ("first_name", "verification_url", "expires_at"),
    "new_login_alert": ("first_name", "reason", "ip", "occurred_at"),
    "password_changed": ("first_name", "changed_at"),
    "account_exists": ("first_name", "sign_in_url", "reset_password_url"),
    "email_change": ("first_name", "new_email", "verification_url", "expires_at"),
    "email_changed": ("first_name", "old_email", "new_email", "changed_at"),
    "contact_change_code": ("first_name", "code", "expires_at"),
    "crm_message": ("subject", "body"),  # an e-mail the CRM wrote, in the platform's layout
    "announcement": ("first_name", "title", "message"),
    "notification": ("first_name", "title", "body"),
}

# Variables that take a value of a status vocabulary (the template shows its text, never the value).
STATUS_VARIABLES: dict[str, dict[str, type[StrEnum]]] = {
    "claim_update": {"status": ClaimStatus},
}


# Variables that carry a secret: a link that signs someone in, verifies or resets an account, or a
# one-time code. Messages keep them redacted wherever they can be listed (inbox, console log, the
# CRM timeline); only the provider gets the real value (``messaging.outbound.Outbound.sealed``).
SECRET_VARIABLES = frozenset({"reset_url", "verification_url", "code"})
REDACTED = "REDACTED"
# The platform's account mails: they never join a customer's conversation.
ACCOUNT_TEMPLATES = frozenset(
    {
        "password_reset",
        "email_verification",
        "new_login_alert",
        "password_changed",
        "account_exists",
        "email_change",
        "email_changed",
        "contact_change_code",
    }
)


def has_secrets(name: str) -> bool:
    return bool(SECRET_VARIABLES.intersection(TEMPLATES.get(name, ())))


def redact(name: str, value: Any) -> str:
    """A secret variable as it may be shown: a link keeps where it goes but not its token; a code is
    hidden whole."""
    text = str(value)
    if name.endswith("_url"):
        parts = urlsplit(text)
        query = urlencode([(key, REDACTED) for key, _ in parse_qsl(parts.query, keep_blank_values=True)])
        path = parts.path if query else parts.path.rsplit("/", 1)[0] + "/" + REDACTED
        return urlunsplit((parts.scheme, parts.netloc, path, query, ""))
    return REDACTED


def redacted_variables(name: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {k: redact(k, v) if k in SECRET_VARIABLES else v for k, v in variables.items()}


@dataclass(frozen=True)
class Rendered:
    template: str
    language: str
    subject: str
    text: str
    html: str
    short: str  # for WhatsApp and SMS


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("omnichannel.templating", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def language_of(value: str | None) -> str:
    """A supported language for ``value`` (``es-ES`` -> ``es``); Spanish by default."""
    short = (value or DEFAULT_LANGUAGE)[:2].lower()
    return short if short in LANGUAGES else DEFAULT_LANGUAGE


def render(name: str, *, language: str | None, variables: dict[str, Any]) -> Rendered:
    """Every form of template ``name``; 422 for an unknown template or a missing variable."""
    if name not in TEMPLATES:
        raise UnprocessableEntity(
            f"Unknown template {name!r}.", errors=[_error("template", "unknown template")]
        )
    missing = [v for v in TEMPLATES[name] if v not in variables]
    if missing:
        raise UnprocessableEntity(
            f"Template {name!r} needs: {', '.join(missing)}.",
            errors=[_error(f"variables.{v}", "required by the template") for v in missing],
        )
    for variable, vocabulary in STATUS_VARIABLES.get(name, {}).items():
        allowed = [v.value for v in vocabulary]
        if str(variables[variable]) not in allowed:
            raise UnprocessableEntity(
                f"Template {name!r}: {variable} must be one of {', '.join(allowed)}.",
                errors=[_error(f"variables.{variable}", f"one of {', '.join(allowed)}")],
            )
    lang = language_of(language)
    env = _environment()
    try:
        subject = env.get_template(f"{lang}/{name}.subject.txt").render(variables)
        text = env.get_template(f"{lang}/{name}.txt").render(variables)
        html = env.get_template(f"{lang}/{name}.html").render(variables)
        short = env.get_template(f"{lang}/{name}.short.txt").render(variables)
    except jinja2.UndefinedError as exc:
        raise UnprocessableEntity(f"Template {name!r}: {exc.message}.") from exc
    # A subject is one header line, whatever a variable contained.
    subject = " ".join(subject.split())[:500]
    return Rendered(
        template=name, language=lang, subject=subject, text=text.strip(), html=html, short=short.strip()
    )


# In-app notifications by kind, and the variables each needs.
INAPP: dict[str, tuple[str, ...]] = {
    "claim_status_changed": ("claim_number", "status"),
    "quote_accepted": ("quote_number", "policy_number", "carrier"),
    "policy_expiring": ("policy_number", "carrier", "coverage_end_date", "days_left"),
    "task_assigned": ("title", "priority"),
    "fraud_alert": ("claim_number", "score", "summary"),
}


@dataclass(frozen=True)
class Notice:
    kind: str
    language: str
    title: str
    body: str


def render_inapp(kind: str, *, language: str | None, variables: dict[str, Any]) -> Notice:
    """The title and body of an in-app notification of ``kind`` in the reader's language."""
    missing = [v for v in INAPP[kind] if v not in variables]
    if missing:
        raise ValueError(f"in-app notification {kind!r} needs: {', '.join(missing)}")
    lang = language_of(language)
    env = _environment()
    title = env.get_template(f"{lang}/inapp/{kind}.title.txt").render(variables)
    body = env.get_template(f"{lang}/inapp/{kind}.body.txt").render(variables)
    return Notice(kind=kind, language=lang, title=" ".join(title.split()), body=body.strip())


def status_text(value: StrEnum, *, language: str | None) -> str:
    """How a status value reads to people (``ClaimStatus.reported`` -> "recibido" / "received").

    Raises ``LookupError`` for a value that has no text in that language.
    """
    lang = language_of(language)
    labels: dict[str, dict[str, str]] = _environment().get_template(f"{lang}/statuses.txt").module.labels  # type: ignore[attr-defined]
    text = labels.get(vocabulary_of(type(value)), {}).get(value.value)
    if not text:
        raise LookupError(f"{type(value).__name__}.{value.name} has no text in {lang}/statuses.txt")
    return text


def _error(field: str, message: str) -> dict[str, str]:
    return {"location": "body", "field": field, "message": message, "type": "value_error"}
