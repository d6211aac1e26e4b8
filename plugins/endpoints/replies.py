"""Separating a reply's new text from the quoted conversation below it (``strip_replies``).

Postal's ``ReplySeparator``, rule for rule and in its order: each rule removes everything it
matches from the text, the removed pieces are collected (later rules' pieces first, as Postal
prepends them), and both halves are trimmed.  Receivers that were written against Postal see
the same split.  Ruby's ``/m`` (dot matches newline) is Python's DOTALL; ``^`` and ``$`` are
line anchors in Ruby, hence MULTILINE throughout; ASCII keeps ``\\s`` to Ruby's meaning.

Most of Postal's rules start ``^>*\\s*``: at a line start, any ``>`` and then any whitespace,
newlines included.  Run as one regular expression that is quadratic in a run of blank lines
(every line start of the run rescans the rest of it), which a hostile message could use to
stall a worker.  Since no rule's own text starts with whitespace or ``>``, the match from a
line start succeeds exactly when the rule's text follows the whole ``>``-and-whitespace run,
and every line start inside the run ends at the same place; :class:`Rule` therefore scans
each run once and tries the rule's text at its end, which gives the same matches in linear
time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


_FLAGS = re.MULTILINE | re.ASCII
_ALL = _FLAGS | re.DOTALL  # Ruby's /m
_RUBY_WHITESPACE = " \t\n\v\f\r\0"  # what Ruby's String#strip removes
_QUOTE_PREFIX = re.compile(r"^>*\s*+", _FLAGS)  # Postal's ^>*\s*, scanned once per run


@dataclass(frozen=True)
class Rule:
    """``pattern``, at a line start after ``^>*\\s*`` when ``quote_prefix``."""

    name: str
    pattern: re.Pattern[str]
    quote_prefix: bool = True

    def matches(self, text: str):
        """``(start, end)`` of each non-overlapping match, left to right."""
        if not self.quote_prefix:
            for match in self.pattern.finditer(text):
                yield match.span()
            return
        position = 0
        while position <= len(text):
            for prefix in _QUOTE_PREFIX.finditer(text, position):
                found = self.pattern.match(text, prefix.end())
                if found:
                    yield prefix.start(), found.end()
                    position = max(found.end(), prefix.start() + 1)
                    break
            else:
                return


RULES: tuple[Rule, ...] = (
    Rule("signature", re.compile(r"^-{2,10} $.*", _ALL), quote_prefix=False),
    Rule("original message", re.compile(r"----- ?Original Message ?-----.*", _ALL)),
    Rule("outlook from/sent", re.compile(r"From:[^\r\n]*[\r\n]+Sent:.*", _ALL)),
    Rule("outlook from/date", re.compile(r"From:[^\r\n]*[\r\n]+Date:.*", _ALL)),
    Rule("german original", re.compile(r"-----Urspr.ngliche Nachricht----- .*", _ALL)),
    Rule("french wrote", re.compile(r"Le[^\r\n]{10,200}a .crit ?:\s*$.*", _FLAGS)),
    Rule("underscores", re.compile(r"__________________.*", _ALL)),
    Rule("on ... wrote", re.compile(r"On.{10,200}wrote:\s*$.*", _ALL)),
    Rule("sent from my", re.compile(r"Sent from my.*", _ALL)),
    Rule("reply above", re.compile(r"=== Please reply above this line ===.*", _ALL)),
    Rule("quoted lines", re.compile(r"(?:^>.*\n?){10,}", _FLAGS), quote_prefix=False),
)


def separate(text: str | None) -> tuple[str, str | None]:
    """``(reply, removed)``: the text with quoted replies and signatures cut out, and what
    was cut (``None`` when nothing was).  A missing body gives ``("", None)``, as in Postal."""
    if not isinstance(text, str):
        return "", None
    text = text.replace("\r", "")
    removed: list[str] = []
    for rule in RULES:
        kept, position = [], 0
        for start, end in rule.matches(text):
            kept.append(text[position:start])
            removed.insert(0, text[start:end])
            position = end
        text = "".join(kept) + text[position:]
    stripped = "".join(piece + "\n" for piece in removed).strip(_RUBY_WHITESPACE)
    return text.strip(_RUBY_WHITESPACE), stripped or None
