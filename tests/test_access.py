"""Roles (sherlock/access.py): who gets which role from the ``auth_roles`` mapping, what each role may do, the claims
an OIDC provider vouches for, and which server addresses are this machine only."""

from __future__ import annotations

import pytest

from sherlock.access import ACTIONS, ROLES, allowed_actions, allows, identity, is_loopback, role_for, validate_mapping
from sherlock.config import load_settings

MAPPING = {"alice@acme.com": "admin", "@acme.com": "editor", "bob@acme.com": "viewer", "group:sre": "admin",
           "group:support": "viewer", "@contractor.example": "viewer", "mallory@acme.com": "none"}


@pytest.mark.parametrize(("email", "groups", "role"), [
    ("alice@acme.com", [], "admin"),  # her address
    ("Alice@ACME.com", [], "admin"),  # addresses compare case-insensitively
    ("carol@acme.com", [], "editor"),  # her domain
    ("bob@acme.com", ["sre"], "viewer"),  # an address beats a group: one person of an editor domain demoted
    ("dave@acme.com", ["sre"], "admin"),  # a group beats the domain
    ("erin@contractor.example", ["support", "sre"], "admin"),  # the strongest of the groups named
    ("frank@contractor.example", ["support"], "viewer"),
    ("mallory@acme.com", ["sre"], "none"),  # refused by name, whatever her groups
    ("zed@elsewhere.org", [], "none"),  # nobody named: the default role
    ("zed@sub.acme.com", [], "none"),  # a subdomain is another domain
    (None, ["sre"], "admin"),  # no (verified) address: groups still count
    (None, [], "none"),
])
def test_role_for_the_most_specific_entry(email, groups, role):
    assert role_for(email, groups, MAPPING, "none") == role


def test_the_default_role_is_for_those_the_mapping_does_not_name():
    assert role_for("zed@elsewhere.org", [], MAPPING, "viewer") == "viewer"
    assert role_for("zed@elsewhere.org", [], {}, "none") == "none"
    with pytest.raises(ValueError, match="unknown role 'guest'; choose one of: admin, editor, none, viewer"):
        role_for("zed@elsewhere.org", [], {}, "guest")


# the role each action needs, as the issue words it: viewer searches, editor adds data and runs, admin changes
EXPECTED = {"read": "viewer", "feedback": "editor", "ingest": "editor", "sync": "editor", "reindex": "editor",
            "tune": "editor", "ab_run": "editor", "apply_weights": "admin", "delete_incidents": "admin",
            "online_experiment": "admin", "api_tokens": "admin", "settings": "admin", "audit_log": "admin"}


def test_every_action_names_the_weakest_role_allowed():
    assert {name: action.role for name, action in ACTIONS.items()} == EXPECTED
    assert all(action.what and action.what[0].islower() for action in ACTIONS.values())  # reads after "to"


@pytest.mark.parametrize("role", ["none", *ROLES])
def test_each_role_may_do_what_the_weaker_ones_may(role):
    expected = set() if role == "none" else {name for name, needed in EXPECTED.items()
                                             if ROLES.index(needed) <= ROLES.index(role)}
    assert set(allowed_actions(role)) == expected
    assert all(allows(role, name) == (name in expected) for name in ACTIONS)


def test_allowed_actions_per_role():
    assert allowed_actions("viewer") == ["read"]
    assert allowed_actions("editor") == ["read", "feedback", "ingest", "sync", "reindex", "tune", "ab_run"]
    assert allowed_actions("admin") == list(ACTIONS)


def test_an_unknown_action_or_role_is_an_error_listing_the_valid_ones():
    with pytest.raises(ValueError, match="unknown action 'drop_tables'; choose one of: ab_run, api_tokens, apply_"):
        allows("admin", "drop_tables")
    with pytest.raises(ValueError, match="unknown role 'root'"):
        allows("root", "read")


def test_the_mapping_is_checked_and_folded_to_lower_case():
    assert validate_mapping({" Alice@Acme.COM ": "admin", "@Acme.com": "viewer", "group:SRE": "editor"}) == {
        "alice@acme.com": "admin", "@acme.com": "viewer", "group:SRE": "editor"}  # group names as the provider sends


@pytest.mark.parametrize(("mapping", "message"), [
    ({"alice@acme.com": "owner"}, "auth_roles entry 'alice@acme.com': unknown role 'owner'; choose one of: none, "
                                  "viewer, editor, admin"),
    ({"alice": "admin"}, "auth_roles entry 'alice': not an e-mail address, '@domain' or 'group:NAME'"),
    ({"@localhost": "admin"}, "auth_roles entry '@localhost': not an e-mail address"),
    ({"a b@acme.com": "admin"}, "not an e-mail address"),
    ({"group:": "admin"}, "auth_roles entry 'group:': name the group after 'group:'"),
])
def test_a_bad_mapping_entry_is_named_with_what_to_write(mapping, message):
    with pytest.raises(ValueError) as error:
        validate_mapping(mapping)
    assert message in str(error.value)


def test_the_settings_check_the_mapping_where_it_was_set(tmp_path, monkeypatch):
    monkeypatch.setenv("SHERLOCK_AUTH_ROLES", '{"@acme.com": "editor", "Alice@acme.com": "admin"}')
    settings = load_settings(home=tmp_path)
    assert settings.auth_roles == {"@acme.com": "editor", "alice@acme.com": "admin"}
    assert settings.auth_default_role == "none"  # unknown accounts are refused unless someone decides otherwise
    monkeypatch.setenv("SHERLOCK_AUTH_ROLES", '{"alice": "admin"}')
    with pytest.raises(ValueError, match=r"^SHERLOCK_AUTH_ROLES: auth_roles entry 'alice': not an e-mail address"):
        load_settings(home=tmp_path)
    monkeypatch.delenv("SHERLOCK_AUTH_ROLES")
    (tmp_path / "sherlock.toml").write_text('auth_default_role = "guest"\n')
    with pytest.raises(ValueError, match=r"sherlock\.toml: auth_default_role: .*'none', 'viewer', 'editor' or 'admin'"):
        load_settings(home=tmp_path)


def test_the_settings_file_holds_the_mapping_as_a_table(tmp_path):
    (tmp_path / "sherlock.toml").write_text('auth_default_role = "viewer"\n[auth_roles]\n"alice@acme.com" = "admin"\n'
                                            '"group:sre" = "editor"\n')
    settings = load_settings(home=tmp_path)
    assert settings.auth_roles == {"alice@acme.com": "admin", "group:sre": "editor"}
    assert settings.auth_default_role == "viewer"


@pytest.mark.parametrize(("claims", "expected"), [
    ({"email": "alice@acme.com", "email_verified": True, "groups": ["sre", "oncall"]}, ("alice@acme.com",
                                                                                        ["sre", "oncall"])),
    ({"email": "alice@acme.com"}, ("alice@acme.com", [])),  # providers that send no email_verified
    ({"email": "alice@acme.com", "email_verified": False, "groups": "sre"}, (None, ["sre"])),  # unverified: unused
    ({"email": "alice@acme.com", "email_verified": "false"}, (None, [])),
    ({"sub": "1234", "email": " "}, (None, [])),
    ({"email": "alice@acme.com", "groups": ["sre", "", None]}, ("alice@acme.com", ["sre"])),
])
def test_identity_uses_what_the_provider_vouches_for(claims, expected):
    assert identity(claims) == expected


@pytest.mark.parametrize(("address", "loopback"), [
    ("localhost", True), ("LOCALHOST", True), ("127.0.0.1", True), ("127.0.1.1", True), ("::1", True),
    ("[::1]", True), ("", False), (None, False), ("0.0.0.0", False), ("::", False), ("10.0.0.7", False),
    ("sherlock.acme.com", False),
])
def test_is_loopback(address, loopback):
    assert is_loopback(address) is loopback


def test_the_mapping_can_live_beside_the_auth_table_in_the_streamlit_secrets(tmp_path, monkeypatch):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        '[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n\n[sherlock]\nauth_default_role = "viewer"\n\n'
        '[sherlock.auth_roles]\n"alice@acme.com" = "admin"\n"group:sre" = "editor"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = load_settings(home=tmp_path / "home")
    assert settings.auth_roles == {"alice@acme.com": "admin", "group:sre": "editor"}
    assert settings.auth_default_role == "viewer"
