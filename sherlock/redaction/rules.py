"""The redaction rules: one named detector per kind of secret, in :data:`RULES` (applied in that order).

Each rule is a regular expression; the named group ``secret`` (the whole match when there is none) is what gets
replaced, so a rule can keep its context: ``password=[redacted:password]``, ``https://deploy:[redacted:url_password]
@db.internal``. A value already redacted (``[redacted:...``) is never matched again, so redacting twice changes
nothing and counts nothing the second time. The patterns follow the token formats their issuers document (AWS key
ids, GitHub's ``ghp_``/``github_pat_`` prefixes, Slack's ``xox?-``, RFC 7519 JWTs, RFC 7468 PEM blocks, RFC 3986
userinfo) and the detectors of detect-secrets and gitleaks; card numbers are confirmed by the Luhn check
(:mod:`sherlock.redaction.card`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sherlock.redaction.card import CARD_RUN, mask_cards
from sherlock.registry import lookup

#: What a rule's placeholder starts with; a ``secret`` that starts with it was redacted before and is left alone.
PLACEHOLDER_PREFIX = "[redacted:"
_NOT_REDACTED = r"(?!\[redacted:)"

#: The key of a ``key=value`` pair, or of a JSON object member, whose value is a credential: ``password``,
#: ``db_password``, ``passwd``, ``pwd``, ``secret``, ``client_secret``, ``api_key``, ``apikey``, ``access_token``...
CREDENTIAL_KEY = re.compile(
    r"(?:[A-Za-z0-9]+[_.-])*(?:password|passwd|pwd|secret|api[_-]?key|apikey|token|private[_-]?key)"
    r"(?:[_.-][A-Za-z0-9]+)*", re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    """One detector. ``pattern`` finds candidates; its group ``secret`` (else the whole match) is replaced by
    ``[redacted:<name>]``, or by what ``replace`` returns for it: ``(replacement, how many secrets it held)``, which
    lets a rule check a candidate (the Luhn check) and keep look-alikes (count 0). ``triggers``: lower-case
    strings of which every match holds one (``"akia"``, ``"bearer"``); a text holding none is skipped without running
    the expression, which is what keeps redaction fast (empty: always run). ``opt_in``: off unless asked for
    (e-mail addresses)."""

    name: str
    pattern: re.Pattern[str]
    description: str
    replace: Callable[[str], tuple[str, int]] | None = None
    triggers: tuple[str, ...] = ()
    opt_in: bool = False
    placeholder: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "placeholder", f"{PLACEHOLDER_PREFIX}{self.name}]")

    def may_match(self, lowered: str) -> bool:
        """Whether a text (given in lower case) holds one of the triggers, so the expression needs to run."""
        return not self.triggers or any(trigger in lowered for trigger in self.triggers)

    def apply(self, text: str) -> tuple[str, int]:
        """``text`` with every secret this rule finds replaced, and how many it replaced."""
        found = 0
        has_group = "secret" in self.pattern.groupindex

        def substitute(match: re.Match[str]) -> str:
            nonlocal found
            start, end = match.span("secret") if has_group else match.span()
            if start < 0:  # an optional group that did not take part: nothing to replace
                return match.group(0)
            secret = match.string[start:end]
            if secret.startswith(PLACEHOLDER_PREFIX):
                return match.group(0)
            if self.replace is None:
                replacement, count = self.placeholder, 1
            else:
                replacement, count = self.replace(secret)
            found += count
            whole = match.group(0)
            return whole[:start - match.start()] + replacement + whole[end - match.start():]

        return self.pattern.sub(substitute, text), found


def _pattern(regex: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(regex, flags)


#: ``=``, ``:=``, ``=>`` (spaces around allowed) or ``:`` right after the key (``volume "x-secret" : ...`` is a log)
_PAIR_SEPARATOR = r"""["']?(?:[ \t]*(?:=>|:=|=)|:)[ \t]*"""
_TOKEN_CHARS = r"[A-Za-z0-9._~+/-]"

#: Every built-in rule by name, in the order they run: the ones that keep context (a PEM block, a URL's password,
#: the token after ``Bearer``) run before the bare token shapes, so each secret is counted once, by its most
#: specific rule; ``password`` pairs and card numbers last.
RULES: dict[str, Rule] = {rule.name: rule for rule in (
    Rule("private_key", _pattern(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"  # the whole block, or (cut off) its base64 lines
        r"|(?:(?:\r?\n|\\n)(?:[A-Za-z0-9+/=]+|(?:Proc-Type|DEK-Info|Comment): [^\n\\]*)(?=\r?\n|\\n|\Z)"
        r"|[ \t]+[A-Za-z0-9+/=]{16,})*)", re.DOTALL),
        "PEM private key blocks (RFC 7468): RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP", triggers=("private key",)),
    Rule("url_password", _pattern(
        r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@\[\]]+:" + _NOT_REDACTED + r"(?P<secret>[^\s/@]+(?:@[^\s/@]+)*)@"
        r"(?=[A-Za-z0-9\[])"),
        "the password of a URL's user:password@ (the user and host are kept)", triggers=("://",)),
    Rule("bearer_token", _pattern(
        r"(?i)(?P<auth>\bauthorization[\"']?[ \t]*[:=][ \t]*[\"']?)?\bbearer[ \t]+" + _NOT_REDACTED
        + r"(?P<secret>(?(auth)|(?=" + _TOKEN_CHARS + r"*\d))" + _TOKEN_CHARS + r"{8,}=*)"),
        "the token of 'Authorization: Bearer ...' (or 'Bearer' followed by a token with digits)",
        triggers=("bearer",)),
    Rule("basic_auth", _pattern(
        r"(?i)\bauthorization[\"']?[ \t]*[:=][ \t]*[\"']?basic[ \t]+(?P<secret>[A-Za-z0-9+/]{6,}={0,2})"),
        "the credentials of 'Authorization: Basic ...'", triggers=("basic",)),
    Rule("jwt", _pattern(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
         "JSON Web Tokens (RFC 7519): three base64url segments, the first starting eyJ", triggers=("eyj",)),
    Rule("aws_access_key", _pattern(r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b"),
         "AWS access key ids (AKIA..., ASIA... and the other key-id prefixes)",
         triggers=("akia", "asia", "abia", "acca", "a3t")),
    Rule("aws_secret_key", _pattern(
        r"(?i)\b(?:aws[_.-]?secret[_.-]?(?:access[_.-]?)?key|secret[_.-]?access[_.-]?key)" + _PAIR_SEPARATOR
        + r"[\"']?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"),
        "AWS secret access keys (40 characters) where labelled: aws_secret_access_key=, SecretAccessKey: ...",
        triggers=("secret",)),
    Rule("github_token", _pattern(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
         "GitHub tokens: ghp_, gho_, ghu_, ghs_, ghr_ and fine-grained github_pat_",
         triggers=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    Rule("slack_token", _pattern(r"\bxox[abprs]-[A-Za-z0-9-]{10,250}"),
         "Slack tokens: xoxb-, xoxp-, xoxa-, ...", triggers=("xox",)),
    Rule("slack_webhook", _pattern(
        r"\bhooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9/_+-]{20,})"),
        "the secret path of a Slack incoming-webhook URL", triggers=("hooks.slack.com",)),
    Rule("stripe_key", _pattern(r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,247}\b"),
         "Stripe secret and restricted keys: sk_live_, rk_live_, sk_test_", triggers=("k_live_", "k_test_")),
    Rule("google_api_key", _pattern(r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),
         "Google API keys (Gemini, Maps, ...): AIza followed by 35 characters", triggers=("aiza",)),
    Rule("password", _pattern(
        r"\b" + CREDENTIAL_KEY.pattern + _PAIR_SEPARATOR + _NOT_REDACTED
        + r"""(?P<secret>"(?!\[redacted:)[^"\n]+"|'(?!\[redacted:)[^'\n]+'|[^\s'",;&]+)""", re.IGNORECASE),
        "values of password=, passwd:, pwd=, secret=, api_key=, token= pairs (any key ending so, e.g. db_password)",
        triggers=("pass", "pwd", "secret", "key", "token")),
    Rule("card_number", CARD_RUN, "payment card numbers (13-19 digits, spaces or dashes between groups) that pass "
         "the Luhn check, masked to their last four digits", replace=mask_cards),
    Rule("email", _pattern(r"(?<![\w.+-])(?<!//)[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
         "e-mail addresses (opt-in: settings.redaction_emails)", triggers=("@",), opt_in=True),
)}

#: How a name of an added rule must look (it becomes the placeholder's label and a key of the counts).
RULE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def custom_rule(name: str, regex: str) -> Rule:
    """A rule from settings: ``name`` (lower case, digits, ``_``; not a built-in's) and a regular expression whose
    group ``secret``, if it has one, is what gets replaced. Raises ``ValueError`` saying what to fix."""
    if not RULE_NAME.fullmatch(name):
        raise ValueError(f"redaction rule name {name!r}: use lower-case letters, digits and _ (at most 40), "
                         "starting with a letter, e.g. employee_id")
    if name in RULES:
        raise ValueError(f"redaction rule name {name!r} is a built-in rule's; name yours differently (turn the "
                         "built-in off with redaction_disabled if you mean to replace it)")
    try:
        pattern = re.compile(regex)
    except re.error as exc:
        raise ValueError(f"redaction rule {name!r}: invalid regular expression ({exc}); fix it, e.g. "
                         r"'EMP-\d{6}'") from None
    if pattern.fullmatch(""):
        raise ValueError(f"redaction rule {name!r}: the expression matches the empty string, so it would "
                         "redact nothing useful; make it match at least one character")
    return Rule(name, pattern, f"added in settings: {regex}")


def select_rules(disabled: list[str] | tuple[str, ...] = (), extra: Mapping[str, str] | None = None,
                 emails: bool = False) -> list[Rule]:
    """The rules to run: the built-ins less ``disabled`` (names of :data:`RULES`; unknown names raise
    ``ValueError`` listing the valid ones), e-mail addresses only when ``emails``, then the ``extra`` rules (name →
    regex, :func:`custom_rule`) — after the built-ins, so a built-in's placeholder is never re-matched by them."""
    for name in disabled:
        lookup(RULES, name, "redaction rule")
    chosen = [rule for name, rule in RULES.items()
              if name not in disabled and (not rule.opt_in or (name == "email" and emails))]
    return chosen + [custom_rule(name, regex) for name, regex in (extra or {}).items()]
