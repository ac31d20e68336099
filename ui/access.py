"""Who is using the app and what they may do: sign-in with Streamlit's OIDC (``st.login``, configured in the ``[auth]``
table of ``.streamlit/secrets.toml``), the role from :mod:`sherlock.access` (the ``auth_roles`` setting), the
navigation a role may use, and the guards of each action.

Without an ``[auth]`` table the app is single-user: whoever opens it is ``admin`` (the sidebar says so, and a page
served on a non-loopback address warns that anyone who reaches it may do everything).

Guard an action twice — hide its widget, and refuse it where it happens (a widget event can be forged)::

    if access.allowed("apply_weights") and st.button("Apply"):
        access.require("apply_weights")   # st.error and st.stop for a role that may not
        ...
        access.audit("apply_weights", "0.5/0.4/0.1")

Tests set the signed-in user the way Streamlit's AppTest does: ``app.secrets["auth"] = {...}`` (sign-in
configured) and ``app.user = {"is_logged_in": True, "email": ...}`` (who signed in); nothing else is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from sherlock import access as roles
from sherlock.audit import LOCAL_ACTOR, record
from ui import resources
from ui.widgets import escape_markdown

#: The action each page is for, by its URL path (a view's file name; the default page is served at ``/``, so its URL
#: path is empty). A page missing here is for admins only, so a new page is never open by mistake.
PAGE_ACTIONS = {"": "read", "home": "read", "chat": "read", "incident": "read", "patterns": "read",
                "monitoring": "read", "data": "ingest", "tuning": "tune", "experiments": "ab_run"}


@dataclass(frozen=True)
class User:
    """The person using this session: ``actor`` (their e-mail address — or the provider's subject when it vouches
    for none —, ``local`` without sign-in) is what the audit log records; ``role`` one of
    :data:`sherlock.access.ROLE_CHOICES`; ``signed_in`` whether through OIDC."""

    actor: str
    role: str
    signed_in: bool = False


#: Everyone, when sign-in is not configured.
LOCAL_USER = User(LOCAL_ACTOR, "admin")


def sign_in_configured() -> bool:
    """Whether the secrets hold an ``[auth]`` table (Streamlit's OIDC sign-in)."""
    return bool(st.secrets.load_if_toml_exists() and st.secrets.get("auth"))  # False without a secrets file


def providers() -> list[str | None]:
    """The providers to offer: ``[None]`` for one configured directly in ``[auth]``, else the names of its
    ``[auth.NAME]`` tables (``st.login(NAME)``)."""
    section = st.secrets.get("auth") or {}
    if "client_id" in section:
        return [None]
    return [name for name, value in section.items() if hasattr(value, "get") and "client_id" in value] or [None]


def current_user() -> User:
    """The session's user: :data:`LOCAL_USER` without sign-in; with it, the signed-in account and its role from
    ``auth_roles`` (role ``none`` before signing in)."""
    if not sign_in_configured():
        return LOCAL_USER
    claims = st.user.to_dict()
    if not claims.get("is_logged_in"):
        return User("", roles.NO_ROLE)
    email, groups = roles.identity(claims)
    settings = resources.settings()
    role = roles.role_for(email, groups, settings.auth_roles, settings.auth_default_role)
    return User(email or str(claims.get("sub") or "unknown"), role, signed_in=True)


def allowed(action: str) -> bool:
    """Whether this session's user may do ``action`` (a key of :data:`sherlock.access.ACTIONS`)."""
    return roles.allows(current_user().role, action)


def _role_gap(action: str) -> str:
    user = current_user()
    return (f"you need the **{roles.ACTIONS[action].role}** role; `{user.actor.replace('`', '')}` is "
            f"**{user.role}**. An admin can change that in `auth_roles`.")


def needs(action: str) -> str:
    """Markdown saying which role ``action`` needs and which the user has, e.g. for a caption where a button was."""
    return f"To {roles.ACTIONS[action].what} {_role_gap(action)}"


def require(action: str) -> User:
    """The user, when they may do ``action``; otherwise the page says who they are, what ``action`` needs and how
    to get it, and stops. Call it where the action happens, not only where its button is drawn."""
    user = current_user()
    if not roles.allows(user.role, action):
        st.error(f"Refused. {needs(action)}")
        st.stop()
    return user


def audit(action: str, target: str = "") -> None:
    """Record ``action`` on ``target`` by this session's user in the workspace's audit log (:mod:`sherlock.audit`),
    with the client's address; a log that cannot be written is a warning, not a lost action."""
    address = st.context.ip_address
    source = f"app {address}" if isinstance(address, str) and address else "app"  # not a str under AppTest
    try:
        record(resources.settings(), current_user().actor, action, target, source)
    except (OSError, RuntimeError) as error:
        st.warning(f"The audit log could not be written: {escape_markdown(str(error))}")


# -- the app around the pages ---------------------------------------------------------------------------------------

def page_action(url_path: str) -> str:
    """The action a page is for (:data:`PAGE_ACTIONS`; a page not listed there is for admins only)."""
    return PAGE_ACTIONS.get(url_path, "settings")


def _refusal(heading: str, action: str) -> Callable[[], None]:
    def refused() -> None:
        st.title(heading)
        st.error(f"Refused: this page is for those who may {roles.ACTIONS[action].what}: {_role_gap(action)}")
    return refused


def navigation(pages: Iterable[st.Page]) -> list[st.Page]:
    """``pages`` as this session's user may see them: a page their role may not use is left out of the menu, and its
    address shows a refusal instead of running the page."""
    user, shown = current_user(), []
    for page in pages:
        action = page_action(page.url_path)
        if roles.allows(user.role, action):
            shown.append(page)
        else:
            refusal = _refusal(f"{page.icon} {page.title}".strip(), action)
            shown.append(st.Page(refusal, title=page.title, icon=page.icon, url_path=page.url_path or "home",
                                 visibility="hidden"))
    return shown


def page_link(script: str, label: str, icon: str) -> None:
    """``st.page_link`` to a view, when this session's user may use it (nothing otherwise)."""
    if roles.allows(current_user().role, page_action(Path(script).stem)):
        st.page_link(script, label=label, icon=icon)


def sign_in_ui() -> None:
    """The sign-in screen: what Sherlock is and a button per configured provider (``st.login``)."""
    st.title("🔎 Sherlock")
    st.markdown("Past incidents as searchable memory. **Sign in** to search them; what you may do depends on the role "
                "your administrator gave your account.")
    for provider in providers():
        label = "Sign in" if provider is None else f"Sign in with {provider}"
        st.button(label, type="primary", key=f"sign-in-{provider}", on_click=st.login,
                  args=() if provider is None else (provider,))


def refused_ui(user: User) -> None:
    """A signed-in account without a role: who it is and what to ask for."""
    st.title("🔎 Sherlock")
    st.error(f"`{user.actor.replace('`', '')}` is signed in but has no role in this Sherlock. Ask an admin to add "
             "your e-mail address, domain or group to `auth_roles` (or to set `auth_default_role`), then sign in "
             "again.")
    st.button("Sign out", key="sign-out", on_click=st.logout)


def exposure_warning() -> None:
    """A warning on every page when the server listens beyond this machine and anyone reaching it is admin."""
    address = st.get_option("server.address")
    if sign_in_configured() or roles.is_loopback(address):
        return
    where = f"address {address}" if address else "every network interface (no server.address set)"
    st.warning(f"Sherlock is served on {escape_markdown(where)} without sign-in: anyone who reaches it can read every "
               "incident, add or delete incidents and change the settings. Configure sign-in (an `[auth]` table in "
               "`.streamlit/secrets.toml`, see the README) or serve it on this machine only with "
               "`--server.address localhost`.")


def sidebar_ui(user: User) -> None:
    """The sidebar's account line: who is signed in, their role and a sign-out button; or that this app is
    single-user."""
    what = "; ".join(roles.ACTIONS[action].what for action in roles.allowed_actions(user.role))
    with st.sidebar:
        if user.signed_in:
            st.caption(f"Signed in as **`{user.actor.replace('`', '')}`** · role **{user.role}**",
                       help=f"You may {escape_markdown(what)}.")
            st.button("Sign out", key="sign-out", on_click=st.logout)
        else:
            st.caption("Single-user: sign-in is not configured, so whoever opens this app is admin. For a team, "
                       "configure sign-in (`[auth]` in `.streamlit/secrets.toml`).")


def gate() -> User:
    """What app.py runs before the navigation: the sign-in screen (and stop) when sign-in is configured and nobody
    is signed in, a refusal (and stop) for an account without a role, else the sidebar line and the exposure
    warning. Returns the user."""
    user = current_user()
    if sign_in_configured() and not user.signed_in:
        sign_in_ui()
        st.stop()
    if user.role == roles.NO_ROLE:
        refused_ui(user)
        st.stop()
    sidebar_ui(user)
    exposure_warning()
    return user
