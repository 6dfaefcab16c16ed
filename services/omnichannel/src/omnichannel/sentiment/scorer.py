"""Score a message's sentiment in [-1, 1] with a label, for Spanish and English alike.

A small VADER-style scorer over the lexicon in ``lexicon.py``: each known word adds its valence,
scaled by the intensifier or diminisher just before it and flipped (and damped) by a negator in the
three words before it; after a contrast word (``pero``, ``but``) words weigh 1.5× and before it
0.5×; each ``!`` (up to three) pushes the total 0.3 further from zero; a word in capitals (of a
message not all in capitals) counts 1.25×. The sum is normalised as VADER does: ``s / sqrt(s² + 15)``.

Labels: ``positive`` from 0.05, ``negative`` up to -0.05, ``neutral`` between. A message at
``VERY_NEGATIVE`` or below is one a supervisor should read. Pure and fast; nothing downloaded.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from omnichannel.sentiment.lexicon import CONTRAST, INTENSIFIERS, LEXICON, NEGATORS

Label = Literal["positive", "neutral", "negative"]

THRESHOLD = 0.05
VERY_NEGATIVE = -0.6
NEGATION_FACTOR = -0.74
ALPHA = 15.0
_WORD = re.compile(r"[a-z0-9]+")
_RAW_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Sentiment:
    score: float
    label: Label

    @property
    def very_negative(self) -> bool:
        return self.score <= VERY_NEGATIVE


def _fold(text: str) -> str:
    """Lower case without accents (``Pésimo`` -> ``pesimo``; ``ñ`` becomes ``n``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def label_of(score: float) -> Label:
    if score >= THRESHOLD:
        return "positive"
    if score <= -THRESHOLD:
        return "negative"
    return "neutral"


def score(text: str) -> Sentiment:
    """The sentiment of one message (an empty or unknown text is neutral, 0.0)."""
    raw = _RAW_WORD.findall(text or "")
    shouting_all = bool(raw) and all(w.isupper() for w in raw if any(c.isalpha() for c in w))
    shouted = {_fold(w) for w in raw if len(w) > 1 and w.isupper() and not shouting_all}
    words = _WORD.findall(_fold(text or ""))
    contrast_at = max((i for i, w in enumerate(words) if w in CONTRAST), default=-1)
    total = 0.0
    for i, word in enumerate(words):
        valence = LEXICON.get(word)
        if not valence:
            continue
        if word in shouted:
            valence *= 1.25
        if i > 0 and words[i - 1] in INTENSIFIERS:
            valence *= INTENSIFIERS[words[i - 1]]
        if any(w in NEGATORS for w in words[max(0, i - 3) : i]):
            valence *= NEGATION_FACTOR
        if contrast_at >= 0:
            valence *= 1.5 if i > contrast_at else 0.5
        total += valence
    if total:
        bangs = min((text or "").count("!"), 3) * 0.3
        total += bangs if total > 0 else -bangs
    value = total / math.sqrt(total * total + ALPHA)
    value = max(-1.0, min(1.0, value))
    return Sentiment(score=round(value, 4), label=label_of(value))
