"""Render the CRM's own customer-facing messages from ``templates/<lang>/<name>.{subject,}.txt``.

The CRM writes one message itself: the e-mail comparing a new quote's carrier offers, handed to
omnichannel as ``crm.email_requested`` with its subject and text already in the customer's
language. The wording lives in the templates, never in consumers or services.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2

LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"


@dataclass(frozen=True)
class Message:
    language: str
    subject: str
    text: str


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("core_crm.messages", "templates"),
        # plain text only (omnichannel lays it out, escaped, as HTML); .html would be escaped
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def language_of(value: str | None) -> str:
    """A supported language for ``value`` (``en-GB`` -> ``en``); Spanish by default."""
    short = (value or DEFAULT_LANGUAGE)[:2].lower()
    return short if short in LANGUAGES else DEFAULT_LANGUAGE


def render(name: str, *, language: str | None, variables: dict[str, Any]) -> Message:
    """Subject (one line) and text of message ``name`` in ``language``."""
    lang = language_of(language)
    env = _environment()
    subject = env.get_template(f"{lang}/{name}.subject.txt").render(variables)
    text = env.get_template(f"{lang}/{name}.txt").render(variables)
    return Message(language=lang, subject=" ".join(subject.split()), text=text)
