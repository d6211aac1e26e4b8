"""Reply stripping (``strip_replies`` on HTTP endpoints): one test per rule of Postal's
ReplySeparator, and the order and trimming of what is cut."""

from __future__ import annotations

import random
import re

import pytest

from plugins.endpoints.replies import RULES, separate


def test_signature_delimiter_cuts_the_signature():
    assert separate("Thanks!\n-- \nJane Doe\nACME Ltd\n") == (
        "Thanks!", "-- \nJane Doe\nACME Ltd",
    )  # fmt: skip


def test_signature_needs_the_trailing_space():
    # "--" alone or "---" with text after it is ordinary text, not a delimiter.
    assert separate("a\n--\nb\n--- x\n") == ("a\n--\nb\n--- x", None)


def test_original_message_block():
    text = "Yes.\n\n----- Original Message -----\nFrom: Bob\nHi\n"
    assert separate(text) == ("Yes.", "----- Original Message -----\nFrom: Bob\nHi")


def test_original_message_block_without_spaces_and_quoted():
    assert separate("Yes.\n> -----Original Message-----\n> old\n") == (
        "Yes.", "> -----Original Message-----\n> old",
    )  # fmt: skip


def test_outlook_from_sent_block():
    text = (
        "Fine by me.\r\n\r\nFrom: Bob Smith\r\nSent: Monday, 1 December 2026 10:00\r\nTo: Jane\r\n"
    )
    assert separate(text) == (
        "Fine by me.", "From: Bob Smith\nSent: Monday, 1 December 2026 10:00\nTo: Jane",
    )  # fmt: skip


def test_outlook_from_date_block():
    text = "Fine.\nFrom: bob@example.org\nDate: Mon, 1 Dec 2026\nSubject: x\n"
    assert separate(text) == ("Fine.", "From: bob@example.org\nDate: Mon, 1 Dec 2026\nSubject: x")


def test_a_from_line_alone_is_kept():
    assert separate("From: the team\nwith love\n") == ("From: the team\nwith love", None)


def test_german_original_message():
    text = "Danke.\n-----Ursprüngliche Nachricht----- \nVon: Bob\n"
    assert separate(text) == ("Danke.", "-----Ursprüngliche Nachricht----- \nVon: Bob")


def test_french_wrote_line_cuts_that_line_only():
    text = "Merci.\nLe 1 déc. 2026 à 10:00, Bob a écrit :\n> ancien\n"
    # Postal's French rule has no /m, so only the line goes; the quote stays.
    assert separate(text) == ("Merci.\n\n> ancien", "Le 1 déc. 2026 à 10:00, Bob a écrit :")


def test_long_underscore_line():
    text = "Ok.\n________________________________\nFrom: Bob\n"
    assert separate(text) == ("Ok.", "________________________________\nFrom: Bob")


def test_short_underscore_line_is_kept():
    assert separate("fill in: ____\n") == ("fill in: ____", None)


def test_on_date_wrote_even_across_lines():
    text = "Sure.\n\nOn Mon, 1 Dec 2026 at 10:00, Bob Smith\n<bob@example.org> wrote:\n> hi\n"
    assert separate(text) == (
        "Sure.", "On Mon, 1 Dec 2026 at 10:00, Bob Smith\n<bob@example.org> wrote:\n> hi",
    )  # fmt: skip


def test_sent_from_my_phone():
    assert separate("On my way\n\nSent from my iPhone\n") == ("On my way", "Sent from my iPhone")


def test_please_reply_above_this_line():
    text = "Answer\n=== Please reply above this line ===\nTicket #12 history\n"
    assert separate(text) == ("Answer", "=== Please reply above this line ===\nTicket #12 history")


def test_ten_or_more_quoted_lines():
    quote = "".join(f"> line {i}\n" for i in range(10))
    assert separate(f"Top\n{quote}Bottom\n") == ("Top\nBottom", quote.strip())


def test_nine_quoted_lines_are_kept():
    quote = "".join(f"> line {i}\n" for i in range(9))
    assert separate(f"Top\n{quote}") == (f"Top\n{quote}".strip(), None)


def test_pieces_cut_by_later_rules_come_first():
    quote = "".join(f"> q{i}\n" for i in range(10))
    text = f"New\n{quote}Sent from my phone\n"
    # "Sent from my" (rule 9) cuts first, then the quote run (rule 11) is prepended.
    assert separate(text) == ("New", quote + "\nSent from my phone")


@pytest.mark.parametrize("text", [None, 42])
def test_a_missing_body_gives_an_empty_string(text):
    assert separate(text) == ("", None)


def test_nothing_to_strip():
    assert separate("  just a message \r\n\r\n") == ("just a message", None)


def test_every_rule_listed_in_postals_order():
    assert [rule.name for rule in RULES] == [
        "signature", "original message", "outlook from/sent", "outlook from/date",
        "german original", "french wrote", "underscores", "on ... wrote", "sent from my",
        "reply above", "quoted lines",
    ]  # fmt: skip


def _naive_separate(text: str) -> tuple[str, str | None]:
    """Postal's algorithm with each rule as one regular expression (quadratic on blank-line
    runs, fine for short texts): what :func:`separate` must agree with."""
    text = text.replace("\r", "")
    removed: list[str] = []
    for rule in RULES:
        prefix = r"^>*\s*" if rule.quote_prefix else ""
        pattern = re.compile(prefix + rule.pattern.pattern, rule.pattern.flags)

        def cut(match):
            removed.insert(0, match.group(0))
            return ""

        text = pattern.sub(cut, text)
    stripped = "".join(piece + "\n" for piece in removed).strip(" \t\n\v\f\r\0")
    return text.strip(" \t\n\v\f\r\0"), stripped or None


PIECES = [
    "\n", "\n\n", " ", "\t", ">", "> ", "-- ", "--", "----- Original Message -----",
    "-----Original Message-----", "From: Bob", "Sent: now", "Date: x",
    "-----Ursprüngliche Nachricht----- ", "Le 1 déc. 2026 à 10:00, Bob a écrit :",
    "__________________", "On Mon 1 Dec 2026, Bob wrote:", "Sent from my iPhone",
    "=== Please reply above this line ===", "hello", "\r\n", "Le", "On", "From:", "> q\n",
]  # fmt: skip


def test_the_linear_scan_cuts_exactly_what_postals_expressions_cut():
    generator = random.Random(20261202)
    for _ in range(3000):
        text = "".join(generator.choice(PIECES) for _ in range(generator.randint(0, 40)))
        assert separate(text) == _naive_separate(text), text
