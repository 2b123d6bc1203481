"""Whom a sentence's drafting favours: who may, must, must not, owns, waives or is not liable.

The stance classifiers (server/core/engine.py) read embeddings, which place "Vendor shall not
train on Customer Data" next to "Vendor may train on Customer Data" and "Customer owns Outputs"
next to "Vendor owns Outputs". They are good at telling whether a sentence takes a side at all
(a plain ban against a compromise with an opt-out), less good at which side. The drafting
says which side plainly: a prohibition, an obligation, a warranty, an indemnity, a waiver or
sole responsibility burdens the party it names and favours the other; a permission, ownership,
an assignment or licence to a party, an exemption ("shall not be liable", "has no obligation")
or a disclaimer favours the party it names.

Each term is read once, by the first rule that claims its party (exemptions before the
prohibitions they resemble, limited permissions before permissions). A sentence favours a side
when its terms lean that way on balance; the rules were checked against the clause bank, whose
one-sided exemplars they read the right way round about 95% of the time when they speak.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from server.core.matching import CUSTOMER_ALIASES, VENDOR_ALIASES, canonical_parties
from server.core.topics import Perspective


class Beneficiary(Enum):
    """Whom a term favours: the party it names, or the other one."""

    NAMED = "named"
    OTHER = "other"


_NAMES = "Vendor|Customer"  # the parties as canonical_parties names them
_PARTY = rf"(?P<party>(?-i:{_NAMES}))"
# Between a party and its verb: "and its Affiliates", a parenthesis, an adverb, or one clause
# set off by commas ("Vendor, at its own cost, shall ..."); never another party.
_BETWEEN = (rf"(?:\s*,[^,]{{0,60}},\s+|(?:\s+(?:and\s+its\s+(?!{_NAMES})\w+(?:\s+\w+s)?"
            r"|\([^)]{0,40}\)|\w+ly|hereby|also|further),?){0,3}?\s+)")
# A party after a preposition ("disclosed by Client shall ...") is not the subject. The
# lookahead first: most positions fail it at once, before the five lookbehinds run.
_SUBJECT = (rf"(?=(?-i:{_NAMES}))(?<!\bby\s)(?<!\bto\s)(?<!\bof\s)(?<!\bfrom\s)(?<!\bwith\s)"
            rf"\b{_PARTY}{_BETWEEN}")
_MODAL = r"(?:shall|will|must|should)"
_BE = r"(?:is|are|shall\s+be|will\s+be)"
# "We do not sell your data" restrains; "Vendor does not monitor for drift" only says what is
# not done for the other side. In the present tense only what is done with data or rights reads
# as a restraint.
_HANDLE = (r"(?:use|sell|share|train|retain|store|keep|disclose|transfer|collect|access|log|copy"
           r"|own|claim|acquire|assert|send|rent|licen[cs]e|moneti[sz]e)\w*")
# Within one sentence: no full stop or semicolon, except the dots of "14.1" or "e.g.".
_IN = r"(?:[^.;]|\.(?=\w))"
# "may use ... solely to operate the Services" restricts more than it grants.
_LIMITED = rf"(?={_IN}{{0,120}}\b(?:solely|only|exclusively)\b)"
# "shall use commercially reasonable efforts", "in accordance with its standard policy": a
# promise the promisor controls binds it too loosely to favour the other side.
_FIRM = (rf"(?!{_IN}{{0,100}}\b(?:reasonable\s+efforts|commercially\s+reasonable"
         r"|(?:its|their)\s+(?:own\s+|sole\s+)?(?:standard|discretion|polic(?:y|ies))"
         r"|as\s+it\s+(?:determines|considers|deems)))")

RULES: tuple[tuple[str, str, Beneficiary], ...] = (
    ("exemption", rf"{_SUBJECT}(?:(?:{_MODAL}\s+|does\s+|do\s+|is\s+|are\s+)not\s+(?:be\s+)?"
                  r"(?:have\s+any\s+)?(?:be\s+)?(?:liable|responsible|obliged|obligated|required"
                  r"|subject|bound)\b|(?:does|do)\s+not\s+(?:need\s+to|have\s+to"
                  r"|accept\s+(?:any\s+)?(?:liability|responsibility)))", Beneficiary.NAMED),
    ("no-obligation", rf"{_SUBJECT}(?:{_MODAL}\s+)?(?:has|have|bears?|assumes?)\s+no\s+"
                      r"(?:[\w-]+\s+){0,2}?(?:liability|obligations?|responsibility|duty|duties)",
     Beneficiary.NAMED),
    ("disclaimer", rf"{_SUBJECT}(?:disclaims?|makes?\s+no\s+(?:warrant|represent)"
                   r"|(?:does|do|shall|will)\s+not\s+(?:warrant|represent|guarantee))",
     Beneficiary.NAMED),
    ("cap", rf"\b{_PARTY}'s\s+(?:total\s+|aggregate\s+|entire\s+|cumulative\s+)*liability"
            rf"{_IN}{{0,160}}(?:shall|will)\s+not\s+exceed", Beneficiary.NAMED),
    ("capped", rf"\b{_PARTY}'s\s+(?:total\s+|aggregate\s+)*liability{_IN}{{0,200}}"
               r"(?:shall\s+be|is|are)\s+(?:hereby\s+)?(?:made\s+)?subject\s+to\s+(?:the|a|any)\b",
     Beneficiary.NAMED),
    ("uncapped", rf"\b{_PARTY}'s\s+(?:total\s+|aggregate\s+)*liability{_IN}{{0,200}}"
                 r"(?:unlimited|uncapped|not\s+(?:be\s+)?subject\s+to"
                 r"|(?:shall|will)\s+not\s+(?:be\s+)?(?:limited|capped))", Beneficiary.OTHER),
    ("cap-lifted", rf"\b{_PARTY}'s\s+limitations?\s+of\s+liability{_IN}{{0,40}}"
                   r"(?:does|do|shall|will)\s+not\s+apply", Beneficiary.OTHER),
    ("no-limit", rf"\bno\s+(?:limit|cap|limitation){_IN}{{0,30}}\bappl(?:y|ies)\s+to\s+{_PARTY}'s"
                 r"\s+liability", Beneficiary.OTHER),
    ("indemnity-excludes", rf"\b{_PARTY}'s\s+(?:indemnity|indemnification\s+obligations?)"
                           rf"{_IN}{{0,80}}(?:does|do|shall|will)\s+not\s+(?:extend|apply|cover)",
     Beneficiary.NAMED),
    ("indemnity-covers", rf"\b{_PARTY}'s\s+(?:indemnity|indemnification\s+obligations?)"
                         rf"{_IN}{{0,80}}(?:extends?|applies|covers?|includes?)\b",
     Beneficiary.OTHER),
    ("sole-remedy", rf"\b{_PARTY}'s\s+sole\s+(?:and\s+exclusive\s+)?remed", Beneficiary.OTHER),
    ("no-right", rf"{_SUBJECT}(?:{_MODAL}\s+)?(?:has|have)\s+no\s+right", Beneficiary.OTHER),
    ("waiver", rf"{_SUBJECT}(?:irrevocably\s+)?waives?\b", Beneficiary.OTHER),
    ("responsibility", rf"{_SUBJECT}{_BE}\s+"
                       r"(?:solely\s+|fully\s+|exclusively\s+)?responsible"
                       r"(?:\s*,[^,]{0,40},)?\s+(?:for|to)\b", Beneficiary.OTHER),
    # "Customer will not be charged": a negated passive spares the party it names
    ("spared", rf"{_SUBJECT}(?:{_MODAL}|may)\s+not\s+be\s+"
               r"(?!permitted|allowed|entitled|authori[sz]ed)\w+ed\b", Beneficiary.NAMED),
    ("prohibition", rf"{_SUBJECT}(?:(?:{_MODAL}|may|can)\s+(?:not|never)\b|cannot\b"
                    rf"|(?:(?:does|do)\s+not|never)\s+{_HANDLE})", Beneficiary.OTHER),
    ("warranty", rf"{_SUBJECT}(?:represents\s+and\s+)?(?:warrants?|represents|guarantees)\b",
     Beneficiary.OTHER),
    ("indemnity", rf"{_SUBJECT}(?:shall|will)\s+(?:indemnify|defend|hold)", Beneficiary.OTHER),
    ("ownership", rf"{_SUBJECT}(?:{_MODAL}\s+)?(?:own|owns|holds?\s+all|acquires?\s+(?:all|full)"
                  r"|retains?\s+(?:all\s+|sole\s+)?(?:right|title|ownership|owner|control)"
                  r"|reserves?\s+all)", Beneficiary.NAMED),
    ("vesting", rf"\b(?:vests?|vested)\s+(?:solely\s+|exclusively\s+)?in\s+{_PARTY}",
     Beneficiary.NAMED),
    ("owned-by", rf"\b(?:(?:owned|held)\s+(?:solely\s+|exclusively\s+)?by"
                 r"|belongs?\s+(?:solely\s+|exclusively\s+)?to|property\s+of"
                 rf"|works?\s+made\s+for\s+hire\s+(?:for|of|by))\s+{_PARTY}", Beneficiary.NAMED),
    # a passive with its agent: "shall not be retained by Provider" restricts Provider
    ("passive-prohibition", rf"\b(?:shall|will|must|may)\s+not\s+be\s+\w+\s+"
                            rf"(?:{_IN}{{0,40}}?\s)?by\s+{_PARTY}", Beneficiary.OTHER),
    ("passive-permission", rf"\bmay\s+be\s+\w+ed\s+by\s+{_PARTY}", Beneficiary.NAMED),
    # "Customer Data will not be used to train": what may not be done with a party's data
    ("data-protected", rf"\b{_PARTY}(?:'s)?\s+(?:Data|Content|Materials|Inputs?|Prompts?"
                       rf"|Personal\s+Data|data|content|inputs?|prompts?|conversations)\b{_IN}{{0,60}}?"
                       r"\b(?:shall|will|must|may)\s+not\s+be\s+\w+ed", Beneficiary.NAMED),
    ("nothing-prevents", rf"\bnothing\b{_IN}{{0,80}}\b(?:prevents?|restricts?|limits?"
                         rf"|prohibits?)\s+{_PARTY}\b", Beneficiary.NAMED),
    # "Its recommendations do not bind Vendor", "no usage policy ... shall bind Customer"
    ("not-binding", rf"\b(?:not|never|(?:no|nothing)\b{_IN}{{0,160}}?\b(?:shall|will|may))"
                    rf"\s+bind\s+{_PARTY}\b", Beneficiary.NAMED),
    ("property", rf"\b(?:be|is|are|remain|treated\s+as|deemed(?:\s+to\s+be)?|constitutes?)"
                 rf"\s+{_PARTY}(?:'s)?\s+(?:sole\s+and\s+exclusive\s+|exclusive\s+)?"
                 r"(?:property|Confidential)", Beneficiary.NAMED),
    ("assignment", rf"\bassigns?\s+to\s+{_PARTY}", Beneficiary.NAMED),
    ("licence", rf"\b(?:licen[cs]e|right)\s+to\s+{_PARTY}\b", Beneficiary.NAMED),
    ("no-grant", rf"\bgrants?\s+(?:to\s+)?{_PARTY}\s+no\b", Beneficiary.OTHER),
    ("limited-grant", rf"\bgrants?\s+(?:to\s+)?{_PARTY}\s+(?:a|an)\b{_LIMITED}",
     Beneficiary.OTHER),
    ("grant", rf"\bgrants?\s+(?:to\s+)?{_PARTY}\s+(?:a|an)\b", Beneficiary.NAMED),
    ("limited-permission", rf"{_SUBJECT}(?:may|{_BE}\s+(?:permitted|entitled|authori[sz]ed)\s+to)"
                           rf"{_LIMITED}", Beneficiary.OTHER),
    ("permission", rf"{_SUBJECT}(?:may|can|{_BE}\s+(?:permitted|entitled|free|authori[sz]ed)\s+to"
                   r"|(?:reserves?|retains?)\s+the\s+right|shall\s+be\s+entitled"
                   r"|has\s+the\s+right)\b", Beneficiary.NAMED),
    # "shall be notified", "will be given": a passive says what is done for the party, not by it
    ("obligation", rf"{_SUBJECT}(?:(?:is|shall\s+be|will\s+be)\s+"
                   r"(?:required|obliged|obligated)\s+to|agrees?\s+to|undertakes?\s+to"
                   rf"|commits?\s+to|{_MODAL}(?!\s+be\s+\w+ed\b))\s+(?!not\b|never\b){_FIRM}",
     Beneficiary.OTHER),
)
# A word without which a rule cannot match: most sentences lack it, and a substring test is
# far cheaper than a pass of the rule (tests/unit/test_favour.py checks each word is in its rule).
NEEDS = {"cap": "liability", "capped": "liability", "uncapped": "liability",
         "cap-lifted": "liability", "no-limit": "liability", "indemnity-excludes": "indemn",
         "indemnity-covers": "indemn", "sole-remedy": "remed", "no-right": "right",
         "waiver": "waive", "responsibility": "responsible", "vesting": "vest",
         "nothing-prevents": "nothing", "not-binding": "bind",
         "assignment": "assign", "no-grant": "grant", "limited-grant": "grant", "grant": "grant"}
_COMPILED = tuple(
    (kind, re.compile(pattern, re.IGNORECASE), beneficiary, NEEDS.get(kind, ""))
    for kind, pattern, beneficiary in RULES)
# ALL-CAPS drafting ("COMPANY SHALL NOT BE LIABLE", "YOU ARE SOLELY RESPONSIBLE") names the
# parties in capitals too; online terms' "we" is the vendor, as canonical_parties reads it.
_CAPITALS = ((re.compile(rf"\b(?:{'|'.join(a.upper() for a in VENDOR_ALIASES)}|VENDOR|WE|US)\b"),
              "Vendor"),
             (re.compile(r"\bOUR\b"), "Vendor's"),
             (re.compile(rf"\b(?:{'|'.join(a.upper() for a in CUSTOMER_ALIASES)}|CUSTOMER|YOU)\b"),
              "Customer"),
             (re.compile(r"\bYOUR\b"), "Customer's"))


_CONTRACTIONS = tuple((re.compile(pattern, re.IGNORECASE), spelt) for pattern, spelt in (
    (r"\b(w)on[’']t\b", r"\1ill not"), (r"\b(c)an[’']t\b", r"\1annot"),
    (r"\b(s)han[’']t\b", r"\1hall not"), (r"(\w)n[’']t\b", r"\1 not"),
    (r"\b(\w+)[’']ll\b", r"\1 will"), (r"\b(we|you|they)[’']re\b", r"\1 are")))
# What every contraction above contains, and every capitalised party name (two capitals).
_CONTRACTED = re.compile(r"n[’']t\b|[’'](?:ll|re)\b", re.IGNORECASE)
_SHOUTED = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True, slots=True)
class Term:
    """One term of a sentence and the side it favours."""

    kind: str  # the rule that read it: "prohibition", "ownership", ...
    favours: Perspective
    start: int  # where it starts in the sentence with the parties named canonically


def terms(text: str) -> list[Term]:
    """The terms the drafting states, each read by the first rule that claims its party."""
    named = _named_parties(text)
    if "Vendor" not in named and "Customer" not in named:  # every rule names a party
        return []
    claimed: list[tuple[int, int]] = []
    found: list[Term] = []
    lowered = named.lower()
    for kind, pattern, beneficiary, needed in _COMPILED:
        if needed not in lowered:
            continue
        for match in pattern.finditer(named):
            party = match.start("party")
            if any(start <= party < end for start, end in claimed):
                continue
            claimed.append((match.start(), match.end()))
            side = (Perspective.VENDOR if match.group("party") == "Vendor"
                    else Perspective.CUSTOMER)
            found.append(Term(kind, side if beneficiary is Beneficiary.NAMED else side.other,
                              match.start()))
    return sorted(found, key=lambda term: term.start)


def lean(text: str) -> int:
    """How the drafting leans: terms favouring the vendor less terms favouring the customer."""
    return sum(1 if t.favours is Perspective.VENDOR else -1 for t in terms(text))


def favoured(leaning: int) -> Perspective | None:
    """The side a lean favours; None when the drafting is silent or evenly balanced."""
    if leaning == 0:
        return None
    return Perspective.VENDOR if leaning > 0 else Perspective.CUSTOMER


def _named_parties(text: str) -> str:
    """The text with the parties called Vendor and Customer, capitals included, and
    contractions written out ("we'll", "don't": online terms are written that way)."""
    # Most contract text has neither: one search each skips ten substitutions, about a third of
    # the time the drafting reading took.
    if _CONTRACTED.search(text):
        for pattern, spelt in _CONTRACTIONS:
            text = pattern.sub(spelt, text)
    text = canonical_parties(text)
    if _SHOUTED.search(text):
        for pattern, name in _CAPITALS:
            text = pattern.sub(name, text)
    return text
