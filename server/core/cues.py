"""Lexical cues for what embeddings blur: who may or must (not) do what, and exceptions.

Sentence embeddings put "Vendor shall not train on Customer Data" next to "Vendor may train
on Customer Data". These cues record the party, the modality and the negation of each
obligation, so assessment can tell the two apart.
"""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import NDArray

_VENDOR = r"(?:vendor|provider|supplier|licensor|company|contractor|consultant|service provider|we|us)"
_CUSTOMER = r"(?:customer|client|licensee|subscriber|buyer|user|you)"
_NEG_MODAL = r"(?:shall|will|may|must|can|could|would|should)\s+(?:not|never)\b|(?:shall|will|may|must|can)n[o']t\b|cannot\b"
_PERM_MODAL = r"(?:may|can|is\s+(?:permitted|entitled|free|authori[sz]ed)\s+to|reserves\s+the\s+right\s+to|retains?\s+the\s+right\s+to)\b"
_OBLIG_MODAL = r"(?:shall|will|must|agrees?\s+to|is\s+(?:required|obligated)\s+to|undertakes?\s+to|commits?\s+to)\b"
_GAP = r"(?:\s+(?:and\s+its\s+\w+|\(?[\w-]+\)?,?)){0,3}?\s+"

CUE_PATTERNS: dict[str, str] = {
    "vendor_forbidden": rf"\b{_VENDOR}{_GAP}{_NEG_MODAL}",
    "vendor_permitted": rf"\b{_VENDOR}{_GAP}(?!.{{0,12}}\bnot\b){_PERM_MODAL}",
    "vendor_bound": rf"\b{_VENDOR}{_GAP}(?!(?:shall|will|must)\s+not){_OBLIG_MODAL}",
    "customer_forbidden": rf"\b{_CUSTOMER}{_GAP}{_NEG_MODAL}",
    "customer_permitted": rf"\b{_CUSTOMER}{_GAP}(?!.{{0,12}}\bnot\b){_PERM_MODAL}",
    "customer_bound": rf"\b{_CUSTOMER}{_GAP}(?!(?:shall|will|must)\s+not){_OBLIG_MODAL}",
    "negation": r"\b(?:not|no|never|neither|nor|none|without)\b|n't\b",
    "prohibition": r"\b(?:prohibit\w*|forbid\w*|in no event|under no circumstances|refrain)\b",
    "grant": r"\b(?:hereby\s+grants?|grants?\s+to|licen[cs]e\s+to|right\s+to\s+use|perpetual|irrevocable|royalty[- ]free|worldwide)\b",
    "consent": r"\b(?:prior\s+(?:written\s+)?(?:consent|approval)|express\s+(?:written\s+)?(?:consent|permission)|opt[- ]?in|written\s+consent|approv\w+)\b",
    "opt_out": r"\bopt[- ]?out\b",
    "exception": r"\b(?:except|excluding|notwithstanding|unless|provided\s+(?:that|however)|save\s+(?:as|for)|other\s+than)\b",
    "unlimited": r"\b(?:unlimited|uncapped|without\s+limit\w*|shall\s+not\s+apply|excluded\s+from|not\s+subject\s+to)\b",
    "disclaimer": r"\b(?:as\s+is|as\s+available|disclaim\w*|no\s+(?:warranty|warranties|representation)|sole\s+risk|without\s+warrant\w*)\b",
    "sole_discretion": r"\b(?:sole\s+(?:and\s+absolute\s+)?discretion|at\s+any\s+time|without\s+(?:prior\s+)?notice|from\s+time\s+to\s+time)\b",
    "ownership_vendor": rf"\b{_VENDOR}{_GAP}(?:shall\s+|will\s+)?(?:own|owns|(?:retains?|reserves?)\s+(?:all\s+)?(?:rights?|title|ownership))",
    "ownership_customer": rf"\b{_CUSTOMER}{_GAP}(?:shall\s+|will\s+)?(?:own|owns|(?:retains?|reserves?)\s+(?:all\s+)?(?:rights?|title|ownership))",
    "aggregate_deidentified": r"\b(?:aggregated|aggregate\s+(?:data|statistics|information)|de-?identified|anonymi[sz]ed|pseudonymi[sz]ed)\b",
    "notice": r"\b(?:notice|notify|notif\w+|inform)\b",
}
CUE_NAMES: tuple[str, ...] = tuple(CUE_PATTERNS)
# The patterns are lower case and read lower-cased text: the same matches as IGNORECASE, in
# half the time (0.53 -> 0.26 ms for 60 words; identical on every dev and bank text).
_COMPILED = [re.compile(p) for p in CUE_PATTERNS.values()]


def cues(text: str) -> NDArray[np.float32]:
    """Which cues the text shows, as a 0/1 vector in CUE_NAMES order."""
    lowered = text.lower()
    return np.array([1.0 if p.search(lowered) else 0.0 for p in _COMPILED], dtype=np.float32)


def cue_matrix(texts: list[str]) -> NDArray[np.float32]:
    """Cue vectors of many texts, one row each."""
    if not texts:
        return np.zeros((0, len(CUE_NAMES)), dtype=np.float32)
    return np.stack([cues(t) for t in texts])
