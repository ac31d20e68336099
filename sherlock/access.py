"""Roles and what each may do: who gets which role (from the mapping of e-mail addresses, domains and groups kept in
the ``auth_roles`` setting), and which role each guarded action needs. Pure functions, no I/O: the app asks them
(``ui/access.py``), and so can the CLI or the API.

Three roles, each allowed what the one before it is, and more:

- ``viewer``: search, chat, read incidents, patterns and monitoring
- ``editor``: + add incidents (ingest, sync, reindex), feedback and "same root cause?" votes, tuning and A/B runs
- ``admin``: + apply tuned weights, delete incidents, start and stop online experiments, API tokens, settings

``none`` is no role at all: a signed-in user it is given is refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from sherlock.registry import lookup

#: The roles, weakest first; each may do what the ones before it may.
ROLES = ("viewer", "editor", "admin")
#: The role that may do nothing (a signed-in user the mapping refuses).
NO_ROLE = "none"
#: What a role may be set to in ``auth_roles`` and ``auth_default_role``.
ROLE_CHOICES = (NO_ROLE, *ROLES)
#: Each role's strength: a role may do what any weaker one may.
RANKS = {role: rank for rank, role in enumerate(ROLE_CHOICES, start=-1)}
#: How an ``auth_roles`` key names a group of the provider's ``groups`` claim.
GROUP_PREFIX = "group:"


class Action(NamedTuple):
    """A guarded action: the weakest role that may do it, and what it is, worded to follow "needs … to"."""

    role: str
    what: str


#: Every guarded action, by name: the weakest role allowed, and what it does (for refusals and the docs).
ACTIONS: dict[str, Action] = {
    "read": Action("viewer", "search, ask and read incidents, patterns and monitoring"),
    "feedback": Action("editor", "send feedback on answers and vote on similar incidents"),
    "ingest": Action("editor", "add incidents from files or the demo corpus"),
    "sync": Action("editor", "sync incidents from incident tools"),
    "reindex": Action("editor", "rebuild the search indexes"),
    "tune": Action("editor", "run fusion tunings"),
    "ab_run": Action("editor", "run offline A/B tests and log analyses to MLflow"),
    "apply_weights": Action("admin", "apply tuned weights to the workspace"),
    "delete_incidents": Action("admin", "delete incidents"),
    "online_experiment": Action("admin", "start and stop online experiments"),
    "api_tokens": Action("admin", "create and revoke API tokens"),
    "settings": Action("admin", "change the workspace's settings"),
    "audit_log": Action("admin", "read the audit log"),
}


def role_rank(role: str) -> int:
    """0 for ``viewer``, 1 for ``editor``, 2 for ``admin``, -1 for ``none``; ``ValueError`` for anything else."""
    return lookup(RANKS, role, "role")


def allows(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action`` (a key of :data:`ACTIONS`; an unknown one is a ``ValueError``)."""
    needed = lookup(ACTIONS, action, "action").role
    return role_rank(role) >= role_rank(needed)


def allowed_actions(role: str) -> list[str]:
    """The actions ``role`` may do, in the order of :data:`ACTIONS`."""
    return [name for name in ACTIONS if allows(role, name)]


def validate_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    """``auth_roles`` checked: each key an e-mail address (``alice@acme.com``), a domain (``@acme.com``) or a group
    (``group:sre``), each value a role or ``none``. Keys are folded to lower case (e-mail addresses and domains are
    compared that way); ``ValueError`` names the first bad entry and what would be valid."""
    checked: dict[str, str] = {}
    for key, role in mapping.items():
        name = str(key).strip()
        if role not in ROLE_CHOICES:
            raise ValueError(f"auth_roles entry {key!r}: unknown role {role!r}; choose one of: "
                             f"{', '.join(ROLE_CHOICES)}")
        if name.startswith(GROUP_PREFIX):
            if not name[len(GROUP_PREFIX):].strip():
                raise ValueError(f"auth_roles entry {key!r}: name the group after 'group:', e.g. 'group:sre'")
            checked[name] = role  # group names are compared as the provider sends them
            continue
        local, at, domain = name.rpartition("@")
        if not at or (local and "@" in local) or "." not in domain or " " in name:
            raise ValueError(f"auth_roles entry {key!r}: not an e-mail address, '@domain' or 'group:NAME'; write e.g. "
                             "'alice@acme.com', '@acme.com' or 'group:sre'")
        checked[name.lower()] = role
    return checked


def role_for(email: str | None, groups: Iterable[str], mapping: Mapping[str, str], default_role: str) -> str:
    """The role of a signed-in user: their e-mail address if ``mapping`` names it; else the strongest role among the
    groups it names (``group:NAME``); else their domain's (``@acme.com``); else ``default_role``. The most specific
    entry wins, so an address can demote one person of an editor domain (``"bob@acme.com": "viewer"``)."""
    checked = validate_mapping(mapping)
    role_rank(default_role)
    address = (email or "").strip().lower()
    if address and address in checked:
        return checked[address]
    group_roles = [checked[f"{GROUP_PREFIX}{group}"] for group in groups if f"{GROUP_PREFIX}{group}" in checked]
    if group_roles:
        return max(group_roles, key=role_rank)
    domain = address.rpartition("@")[2]
    if "@" in address and f"@{domain}" in checked:
        return checked[f"@{domain}"]
    return default_role


def identity(claims: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    """The e-mail address and groups an OIDC provider's claims vouch for. An address the provider says is not
    verified (``email_verified`` false) is not used to pick a role — anyone can type one into an account — and the
    ``groups`` claim may be a list or a single name (Okta, Microsoft Entra and Keycloak send it; Google does not)."""
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip() or claims.get("email_verified") in (False, "false"):
        email = None
    raw = claims.get("groups") or []
    groups = [raw] if isinstance(raw, str) else [str(group) for group in raw if group]
    return email, groups


def is_loopback(address: str | None) -> bool:
    """Whether a server bound to ``address`` is reachable from this machine only: ``localhost`` or a loopback IP.
    Empty or ``None`` means every interface (Streamlit's default), ``0.0.0.0`` and ``::`` too: not loopback."""
    host = (address or "").strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
