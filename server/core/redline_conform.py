"""Conforming playbook language to a paragraph's drafting before it is diffed against it.

A redline must change the position, not the counterparty's drafting. So before the diff, the
target language takes over the paragraph's:
- party names: the playbook says "Vendor"/"Customer"; a paragraph saying "Provider"/"Client"
  keeps them ("Customer Data" becomes "Client Data" too, unless the paragraph itself says
  "Customer Data"; "the Supplier" keeps its article when the paragraph always writes one).
  A party the paragraph calls "we"/"you" becomes a pronoun only where grammar is certain
  (before a modal verb, after a preposition, as a possessive); otherwise the target keeps its
  names, since a wrong pronoun is worse than a visible rename.
- quote style: straight or curly, as the paragraph writes them.
Capitalisation of other words is left alone: whether "Customer Data" is a defined term is a
substantive point the playbook decides.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

VENDOR_NAMES = ("Vendor", "Provider", "Supplier", "Licensor", "Company")
CUSTOMER_NAMES = ("Customer", "Client", "Licensee", "Subscriber")
_VENDOR_PRONOUNS = re.compile(r"\b(?:[Ww]e|us|[Oo]ur|[Oo]urs)\b")
_CUSTOMER_PRONOUNS = re.compile(r"\b[Yy]ou(?:r|rs)?\b")
_MODALS = ("shall", "may", "will", "must", "can", "cannot", "could", "should", "would")
_PREPOSITIONS = ("to", "by", "from", "with", "for", "of", "against", "on", "notify", "inform")
_SENTENCE_START = re.compile(r"(?:^|[.!?][\"'”’)]*\s+)$")


def conform(target: str, paragraph: str) -> str:
    """The target in the paragraph's party names and quote style."""
    target = _rename(target, paragraph, VENDOR_NAMES, _VENDOR_PRONOUNS, ("we", "us", "our"))
    target = _rename(target, paragraph, CUSTOMER_NAMES, _CUSTOMER_PRONOUNS, ("you", "you", "your"))
    return match_quotes(target, paragraph)


def party_name(text: str, names: Sequence[str]) -> str | None:
    """The name the text most uses for a party (earliest on a tie), or None."""
    uses = {n: [m.start() for m in _name(n).finditer(text)] for n in names}
    used = [n for n in names if uses[n]]
    if not used:
        return None
    return max(used, key=lambda n: (len(uses[n]), -uses[n][0]))


def _name(name: str) -> re.Pattern[str]:
    """The name as a whole word, as written or in capitals ("PROVIDER" in a disclaimer)."""
    return re.compile(rf"\b(?:{name}|{name.upper()})\b")


def _rename(target: str, paragraph: str, names: Sequence[str], pronouns: re.Pattern[str],
            forms: tuple[str, str, str]) -> str:
    """The target with its name for one party replaced by the paragraph's."""
    ours = party_name(target, names)
    if ours is None or _name(ours).search(paragraph):
        return target
    theirs = party_name(paragraph, names)
    if theirs is not None:
        if _name(theirs).search(_without_compounds(target, theirs)):
            return target  # the target already uses that name, perhaps for someone else
        return _replace_name(target, paragraph, ours, _noun(theirs, paragraph))
    if pronouns.search(paragraph):
        return _to_pronouns(target, paragraph, ours, forms)
    return target


def _without_compounds(text: str, name: str) -> str:
    """The text without defined terms that end in the name ("Third-Party AI Provider" is not
    the Provider)."""
    return re.sub(rf"\b(?:[A-Z][\w-]*\s+)+(?:{name}|{name.upper()})\b", "", text)


def _replace_name(target: str, paragraph: str, name: str,
                  replacement: Callable[[re.Match[str], str], str | None]) -> str:
    """Each whole-word use of name replaced, keeping compounds the paragraph itself uses.

    The replacement gets the match (group "poss" holds a possessive "'s") and the capitalised
    word after it, if any; when it returns None the target is left as it was.
    """
    out, pos = [], 0
    for match in re.finditer(rf"\b(?P<word>{name}|{name.upper()})(?P<poss>['’][sS])?\b", target):
        follows = re.match(r"\s+([A-Z]\w*)", target[match.end():])
        compound = follows.group(1) if follows and not match.group("poss") else ""
        if compound and re.search(rf"\b{match.group('word')} {compound}\b", paragraph):
            continue  # "Customer Data" stays when the paragraph says "Customer Data" itself
        new = replacement(match, compound)
        if new is None:
            return target
        shouting = match.group("word").isupper()  # "VENDOR DISCLAIMS" in a capitalised clause
        out.append(target[pos:match.start()] + (new.upper() if shouting else new))
        pos = match.end()
    out.append(target[pos:])
    return "".join(out)


def _noun(theirs: str, paragraph: str) -> Callable[[re.Match[str], str], str]:
    """The paragraph's name, with "the" before it when the paragraph always writes one."""
    uses = [m.start() for m in _name(theirs).finditer(paragraph)
            if not re.match(r"\s+[A-Z]", paragraph[m.end():])]  # not in a compound
    article = bool(uses) and all(re.search(r"\b(?:[Tt]he|THE)\s+$", paragraph[:at])
                                 for at in uses)

    def rename(match: re.Match[str], compound: str) -> str:
        before = match.string[:match.start()]
        name = theirs + (match.group("poss") or "")
        if not article or compound or re.search(r"(?i)\b(?:the|an?|each)\s+$", before):
            return name
        return _cased("the", before) + " " + name

    return rename


def _to_pronouns(target: str, paragraph: str, name: str, forms: tuple[str, str, str]) -> str:
    """The name as we/us/our (or you/your) where grammar is certain, else the target unchanged."""
    subject, obj, possessive = forms

    def pronoun(match: re.Match[str], compound: str) -> str | None:
        before, after = target[:match.start()], target[match.end():]
        if re.search(r"(?i)\b(?:the|an?|each)\s+$", before):
            return None  # "the we"
        if compound:  # "Customer Data" -> "your Data" only when the paragraph says so
            own = re.search(rf"\b({possessive}|{possessive.capitalize()}) {compound}\b",
                            paragraph)
            if own is None:
                return None
            return own.group(1).capitalize() if _SENTENCE_START.search(before) else own.group(1)
        if match.group("poss"):
            return _cased(possessive, before)
        if re.match(rf"\s+(?:{'|'.join(_MODALS)})\b", after):
            return _cased(subject, before)
        if re.search(rf"\b(?:{'|'.join(_PREPOSITIONS)})\s+$", before):
            return obj
        return None

    if re.search(r"\bits?\b", target):
        return target  # "its models" would need to become "our models": not guessed
    return _replace_name(target, paragraph, name, pronoun)


def _cased(word: str, before: str) -> str:
    return word.capitalize() if _SENTENCE_START.search(before) else word


_CURLY = "“”‘’"


def match_quotes(target: str, paragraph: str) -> str:
    """The target's quotes and apostrophes in the paragraph's style, when it has one."""
    curly = any(c in paragraph for c in _CURLY)
    straight = any(c in paragraph for c in "\"'")
    if curly and not straight:
        return _curl(target)
    if straight and not curly:
        return (target.replace("“", '"').replace("”", '"')
                .replace("‘", "'").replace("’", "'"))
    return target


def _curl(text: str) -> str:
    """Straight quotes as curly ones: opening after a space or bracket, closing elsewhere."""
    out = []
    for i, c in enumerate(text):
        opening = i == 0 or text[i - 1].isspace() or text[i - 1] in "([{—–"
        if c == '"':
            out.append("“" if opening else "”")
        elif c == "'":
            out.append("‘" if opening else "’")
        else:
            out.append(c)
    return "".join(out)
