"""Payment card numbers in text: found as runs of digit groups, confirmed by issuer prefix, length and the Luhn
check, masked to their last four digits (PCI DSS 3.4 allows showing at most the last four).

A card is printed whole (``4111111111111111``) or in groups separated by one space or dash (``4111 1111 1111 1111``,
``3782-822463-10005``). A run of groups can hold more than a card (``4111 1111 1111 1111 12/25``, two cards side by
side), so the cards inside it are looked for group by group: the longest span of whole groups, from the left, that
starts with an issuer's prefix and has a length that issuer's cards have (:data:`ISSUERS`), starts with a group of
four when grouped, and passes the Luhn check. Everything else is kept: order ids, phone numbers (``+``), timestamps
(a year 19xx-21xx is no issuer's prefix, so ``yyyymmddhhmmss…`` stamps stay), amounts, version numbers, ids glued to
a word (``ORD-…``, hex), and any Luhn-invalid look-alike of a card.
"""

from __future__ import annotations

import re

from sherlock.redaction.luhn import luhn_valid

#: A whole run of digit groups separated by one space or dash (never its tail: not right after a digit and a
#: separator), not glued to a word, a ``+`` (a phone number), a ``.`` (a decimal, an address, a version) or a ``-``
#: (``ORD-…``, a negative number) before it, nor to a word or a decimal part after it.
#: (The lookbehinds come after the first digit, so the search skips to digits fast.)
CARD_RUN = re.compile(r"\d(?<![\w+.-]\d)(?<!\d[ -]\d)(?>\d*(?:[ -]\d+)*+)(?!\w|\.\d)")
_GROUP = re.compile(r"\d+")

#: Card numbers are 13 to 19 digits long here (ISO/IEC 7812-1 allows 8-19; no network issues fewer than 13 now).
CARD_DIGITS = range(13, 20)
_ANY = frozenset(range(13, 20))
#: The networks' issuer identification number ranges (first and last prefix, inclusive) and the lengths of their
#: cards, as the networks publish them: a number outside every range is no card, whatever its checksum.
ISSUERS: tuple[tuple[str, str, frozenset[int]], ...] = (
    ("2221", "2720", frozenset({16})),  # Mastercard 2-series
    ("30", "30", frozenset(range(14, 20))), ("36", "36", frozenset(range(14, 20))),  # Diners Club
    ("38", "39", frozenset(range(14, 20))),  # Diners Club
    ("34", "34", frozenset({15})), ("37", "37", frozenset({15})),  # American Express
    ("35", "35", frozenset(range(16, 20))),  # JCB
    ("4", "4", frozenset({13, 16, 19})),  # Visa
    ("51", "55", frozenset({16})),  # Mastercard
    ("50", "50", _ANY), ("56", "59", _ANY),  # Maestro
    ("6", "6", frozenset(range(16, 20))),  # Discover, UnionPay, RuPay, Maestro
    ("81", "82", frozenset({16})),  # RuPay
)


def card_placeholder(digits: str) -> str:
    """What a card number becomes: ``[card ••••1111]``."""
    return f"[card ••••{digits[-4:]}]"


def issued(digits: str) -> bool:
    """Whether a network issues cards with this prefix and length (:data:`ISSUERS`)."""
    return any(low <= digits[:len(low)] <= high and len(digits) in lengths for low, high, lengths in ISSUERS)


def is_card(groups: list[str]) -> bool:
    """Whether these digit groups, read together, are a card number: 13-19 digits with an issuer's prefix and
    length; in groups of 3-6 digits, the first of four, when grouped; passing the Luhn check."""
    digits = "".join(groups)
    if len(digits) not in CARD_DIGITS or not issued(digits):
        return False
    if len(groups) > 1 and (len(groups[0]) != 4 or any(not 3 <= len(group) <= 6 for group in groups)):
        return False
    return luhn_valid(digits)


def mask_cards(run: str) -> tuple[str, int]:
    """A run of digit groups (a match of :data:`CARD_RUN`) with each card number in it masked, and how many there
    were. Groups that are not part of a card are kept as they are, with their separators."""
    spans = [match.span() for match in _GROUP.finditer(run)]
    groups = [run[start:end] for start, end in spans]
    pieces: list[str] = []
    kept_from, found, index = 0, 0, 0
    while index < len(groups):
        last = next((stop for stop in reversed(_within_card_length(groups, index)) if is_card(groups[index:stop + 1])),
                    None)
        if last is None:
            index += 1
            continue
        start, end = spans[index][0], spans[last][1]
        pieces += [run[kept_from:start], card_placeholder("".join(groups[index:last + 1]))]
        kept_from, found, index = end, found + 1, last + 1
    if not found:
        return run, 0
    return "".join(pieces) + run[kept_from:], found


def _within_card_length(groups: list[str], index: int) -> list[int]:
    """The last-group indexes of the spans from ``groups[index]`` that are at most 19 digits long (so a long run of
    numbers costs linear time, not quadratic)."""
    stops, digits = [], 0
    for stop in range(index, len(groups)):
        digits += len(groups[stop])
        if digits > CARD_DIGITS[-1]:
            break
        stops.append(stop)
    return stops
