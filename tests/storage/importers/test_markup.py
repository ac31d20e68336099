"""Markup converters: HTML, ADF, Jira wiki markup and Markdown to plain text, each expected string worked by hand.
Code blocks and error strings come through verbatim; identifiers and bracketed log levels are not mistaken for
markup."""

import pytest

from sherlock.storage.importers.markup import (
    adf_to_text,
    html_to_text,
    jira_wiki_to_text,
    looks_like_html,
    markdown_to_text,
)


def test_html_blocks_lists_tables_and_pre():
    html = ("<p>Disk <b>full</b> on db-1</p><ul><li><p>cleaned /var/log</p></li><li>restarted</li></ul>"
            "<ol><li>one</li><li>two</li></ol>"
            "<pre>Traceback:\n  File \"x.py\", line 1\nOSError: [Errno 28]</pre>"
            "<table><tr><th>host</th><th>state</th></tr><tr><td>db-1</td><td>down &amp; out</td></tr></table>"
            "Line<br>break &lt;List&gt;<script>alert(1)</script><style>p {}</style>")
    assert html_to_text(html) == ("Disk full on db-1\n- cleaned /var/log\n- restarted\n1. one\n2. two\n"
                                  "Traceback:\n  File \"x.py\", line 1\nOSError: [Errno 28]\n"
                                  "host | state\ndb-1 | down & out\nLine\nbreak <List>")


def test_html_whitespace_collapses_outside_pre():
    assert html_to_text("<div>\n  a\n   b\t c  </div><div>&nbsp;</div><p>d</p>") == "a b c\nd"


@pytest.mark.parametrize("text, is_html", [
    ("<p>hi</p>", True), ("a<br/>b", True), ("<bountysource-plugin>x", True),
    ("List<String> failed", False), ("expected <class 'int'>", False), ("a < b > c", False),
])
def test_looks_like_html_only_for_real_tags(text, is_html):
    assert looks_like_html(text) is is_html


ADF = {"type": "doc", "version": 1, "content": [
    {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Impact"}]},
    {"type": "paragraph", "content": [
        {"type": "text", "text": "Checkout ", "marks": [{"type": "strong"}]}, {"type": "text", "text": "down for "},
        {"type": "mention", "attrs": {"id": "x", "text": "@Jane"}}, {"type": "hardBreak"},
        {"type": "text", "text": "since 10:00"}]},
    {"type": "bulletList", "content": [
        {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "a"}]}]},
        {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "b"}]}]}]},
    {"type": "orderedList", "attrs": {"order": 3}, "content": [
        {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "c"}]}]}]},
    {"type": "codeBlock", "attrs": {"language": "java"}, "content": [
        {"type": "text", "text": "java.lang.NullPointerException\n  at Foo.bar(Foo.java:10)"}]},
    {"type": "table", "content": [{"type": "tableRow", "content": [
        {"type": "tableHeader", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "host"}]}]},
        {"type": "tableCell", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "db-1"}]}]}]}]},
    {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "m", "type": "file"}}]},
    {"type": "rule"},
    {"type": "paragraph", "content": [
        {"type": "inlineCard", "attrs": {"url": "https://status.example/1"}}, {"type": "text", "text": " on "},
        {"type": "date", "attrs": {"timestamp": "1582152559000"}}, {"type": "text", "text": " "},
        {"type": "status", "attrs": {"text": "DONE"}}]},
]}


def test_adf_tree_to_text():
    assert adf_to_text(ADF) == ("Impact\nCheckout down for @Jane\nsince 10:00\n- a\n- b\n3. c\n"
                                "java.lang.NullPointerException\n  at Foo.bar(Foo.java:10)\n"
                                "host | db-1\nhttps://status.example/1 on 2020-02-19 DONE")


def test_adf_nothing_gives_empty_text():
    assert adf_to_text(None) == "" and adf_to_text({"type": "doc", "content": []}) == ""


def test_jira_wiki_markup():
    wiki = ("h1. Summary\r\n"
            "The *payment* gateway returned _timeouts_ for +all+ users.\n"
            "* first [runbook|https://wiki.example/rb]\n"
            "** nested {{my_var_name *x*}}\n"
            "# numbered\n"
            "{code:java}\nString s = \"*not bold*\";\n  at com.x.Y(Y.java:1)\n{code}\n"
            "{noformat}ERR_5003 [ERROR] a_b_c{noformat}\n"
            "||host||state||\n|db-1|down|\n"
            "bq. quoted\n----\n"
            "[~jsmith] said !screen.png|thumbnail! see [https://status.example]\n"
            "{color:red}red text{color} and {quote}a quote{quote}\n"
            "[ERROR] snake_case_name and \\*not bold\\* stay\\\\next line")
    assert jira_wiki_to_text(wiki) == (
        "Summary\nThe payment gateway returned timeouts for all users.\n- first runbook\n"
        "- nested my_var_name *x*\n- numbered\n"
        "String s = \"*not bold*\";\n  at com.x.Y(Y.java:1)\nERR_5003 [ERROR] a_b_c\n"
        "host | state\ndb-1 | down\nquoted\njsmith said see https://status.example\nred text and a quote\n"
        "[ERROR] snake_case_name and *not bold* stay\nnext line")


def test_jira_plain_text_passes_through():
    assert jira_wiki_to_text("Some Issue Description ") == "Some Issue Description"


def test_markdown():
    markdown = ("# Title #\n"
                "Some **bold** and *it* and _under_ and `code *x*` and __init__() and snake_case_var\n\n"
                "> quoted\n\n- [x] done\n* item\n1. first\n\n"
                "```python\ndef f():\n\n    return '**raw**'\n```\n\n"
                "    indented code\n    more\n\n"
                "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
                "<!-- hidden\ncomment -->\n"
                "![alt text](img.png) [link](http://x \"t\") <https://auto.example>\n"
                "setext\n======\n***\n"
                "[ERROR]: disk full\n[ref]: http://x\n"
                "x &amp; y \\*literal\\* ~~gone~~ <br> end")
    assert markdown_to_text(markdown) == (
        "Title\nSome bold and it and under and code *x* and __init__() and snake_case_var\n"
        "quoted\n- done\n- item\n1. first\n"
        "def f():\n\n    return '**raw**'\n"
        "    indented code\n    more\n"
        "a | b\n1 | 2\nalt text link https://auto.example\nsetext\n[ERROR]: disk full\n"
        "x & y *literal* gone\nend")


def test_markdown_of_a_real_github_issue_body(load):
    body = next(issue["body"] for issue in load("github/betamax_issues_open_asc.json") if issue["number"] == 6)
    assert markdown_to_text(body) == (
        "https://www.relishapp.com/vcr/vcr/v/2-5-0/docs/hooks\n"
        "https://www.relishapp.com/vcr/vcr/v/2-8-0/docs/hooks\n"
        "Planned to implement for 0.7.0\n- Before record\n- Before playback\n"
        "Postponing implementation until later\n- Before http request\n- After http request\n"
        "- Around http request\n"
        "Want to back this issue? Post a bounty on it! We accept bounties via Bountysource.")


def test_an_unclosed_fence_keeps_its_code():
    assert markdown_to_text("see:\n```\nKeyError: 'x'") == "see:\nKeyError: 'x'"
