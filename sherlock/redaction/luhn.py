"""The Luhn check digit (H. P. Luhn, "Computer for verifying numbers", US patent 2,950,048, 1960; ISO/IEC 7812-1
Annex B): the checksum every payment card number carries in its last digit."""

from __future__ import annotations

#: The sum of the digits of ``2 * d`` for each digit ``d``: what a doubled digit contributes.
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_valid(digits: str) -> bool:
    """Whether the string of decimal digits ``digits`` passes the Luhn check: from the rightmost (check) digit
    leftwards, every second digit is doubled (its digits summed), and the total is a multiple of 10.

    ``luhn_valid("4111111111111111")`` is True; changing any single digit makes it False. Raises ``ValueError`` for
    anything but ASCII digits (strip spaces and dashes first)."""
    if not digits or not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"the Luhn check takes decimal digits only, got {len(digits)} characters that are not all "
                         "digits; remove spaces and dashes first")
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        total += _DOUBLED[digit] if position % 2 else digit
    return total % 10 == 0
