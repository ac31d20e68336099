"""The Luhn check on the issuers' published test card numbers, and its defining property: every single-digit error
and every adjacent transposition but 09 ↔ 90 is caught."""

import pytest

from sherlock.redaction import luhn_valid

#: Test numbers the card networks publish for sandboxes (Visa, Mastercard, Amex, Discover, JCB, Diners), a 13-digit
#: Visa, and Luhn's own worked example (79927398713, from the patent's description; not a card).
VALID = ["4111111111111111", "5500000000000004", "378282246310005", "6011111111111117", "3530111333300000",
         "30569309025904", "4012888888881881", "5105105105105100", "4222222222222", "79927398713"]


@pytest.mark.parametrize("number", VALID)
def test_published_test_numbers_pass(number):
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4111111111111112", "5500000000000005", "378282246310006", "4111111111111121",
                                    "1234567812345678", "79927398710"])
def test_neighbours_fail(number):
    assert not luhn_valid(number)


@pytest.mark.parametrize("number", VALID)
def test_every_single_digit_change_fails(number):
    for position, digit in enumerate(number):
        for other in "0123456789":
            if other != digit:
                changed = number[:position] + other + number[position + 1:]
                assert not luhn_valid(changed), changed


@pytest.mark.parametrize("number", VALID)
def test_adjacent_transpositions_fail_except_09(number):
    for position in range(len(number) - 1):
        a, b = number[position], number[position + 1]
        if a == b or {a, b} == {"0", "9"}:
            continue
        swapped = number[:position] + b + a + number[position + 2:]
        assert not luhn_valid(swapped), swapped


def test_worked_example_by_hand():
    # 7992739871|3: doubling every second digit from the right of 7992739871 gives 7 18 9 4 7 6 9 16 7 2;
    # digit sums 7+9+9+4+7+6+9+7+7+2 = 67, plus the check digit 3 = 70, a multiple of 10.
    assert luhn_valid("79927398713") and not luhn_valid("79927398714")


@pytest.mark.parametrize("text", ["4111 1111 1111 1111", "4111-1111", "", "٤١١١"])
def test_anything_but_ascii_digits_is_refused_without_echoing_it(text):
    with pytest.raises(ValueError, match="digits only") as error:
        luhn_valid(text)
    assert not text or text not in str(error.value)
