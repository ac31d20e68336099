"""Incident text is data: the UI's markdown escaping leaves no link, image, HTML or emphasis to render."""

import re

import pytest

from ui.widgets import escape_markdown, highlight

HOSTILE = [
    "[click me](http://evil.example/steal)",
    "![pixel](http://evil.example/track.png)",
    "<img src=x onerror=alert(1)> <b>bold</b>",
    "see http://evil.example and www.evil.example",
    "**shout** _lean_ `code` # Heading",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_no_markdown_construct_survives(text):
    escaped = escape_markdown(text)
    unescaped_specials = re.findall(r"(?<!\\)[\[\]()!<>*_`#:]", escaped)
    assert unescaped_specials == []
    assert escaped.replace("\\", "") == text  # nothing is lost: every character is still shown


def test_highlight_bolds_whole_matched_terms_only():
    text = "UPI timeout on PSP; upis are fine [x](http://e)"
    out = highlight(text, ["UPI", "timeout"])
    assert "**UPI**" in out and "**timeout**" in out and "**upi**s" not in out
    assert "\\[x\\]\\(http\\://e\\)" in out


def test_highlight_with_identifiers():
    assert highlight("merchant snapdeal_test failed", ["snapdeal_test"]) == "merchant **snapdeal\\_test** failed"
