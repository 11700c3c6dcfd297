"""Sign-in and roles: who may see, upload and save.

With ``$GISAPP_USERS`` naming a users file (:mod:`gisapp.io.users`), :func:`gate` shows a
sign-in form before any page and stops the run until a user has signed in; a users file that
cannot be read stops the app with a message naming the file and the field (nobody gets in).
Without it the app is open, as the demo: everyone may view and edit, and the sidebar says so.

Roles, least rights first: a **viewer** sees results and downloads reports; a **planner** also
uploads data and edits and saves scenarios; an **admin** is a planner who also sees the user
list (managing users = editing the users file).  Pages ask :func:`can` both before drawing a
control and again in the action itself, so a control a role lacks is neither drawn nor obeyed.

**An OIDC provider** (``st.login``): when ``.streamlit/secrets.toml`` has an ``[auth]`` section
(one provider, or ``[auth.<name>]`` per provider), the sign-in page offers the provider's
sign-in instead of the password form, and the signed-in user's e-mail address is the user
name looked up in the users file (``$GISAPP_USERS``; the name compared without case): its role
and display name apply.  An address that is not in the file, or that the provider says is not
verified, is refused with a message naming it.  With ``[auth]`` but no users file every
signed-in user is a viewer.  Without ``[auth]`` the password sign-in above is unchanged.
An ``[auth]`` that lacks a field ``st.login`` needs (or names a provider with an underscore)
shows a message naming the field instead of the sign-in button: nobody gets in until it is fixed.
tests/ui/test_browser_oidc.py signs in through a real provider (oidc-provider-mock) in chromium.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from gisapp._errors import GisAppError
from gisapp.i18n import t
from gisapp.io import users as _users
from gisapp.io.users import ROLES, User

#: session key of the signed-in user's name
SIGNED_IN = "auth_user"
#: widget keys of the sign-in form
FORM = "auth_form"
USER = "auth_name"
PASSWORD = "auth_password"
SIGN_OUT = "auth_sign_out"

#: the least role each action needs
NEEDS: dict[str, str] = {"view": "viewer", "download": "viewer", "upload": "planner", "edit": "planner",
                         "save": "planner", "users": "admin"}
#: the role of everyone when sign-in is off
OPEN_ROLE = "planner"
#: the role of a user signed in through an OIDC provider when there is no users file
OIDC_ROLE = "viewer"
#: widget keys of the OIDC sign-in (one button per provider: ``OIDC_SIGN_IN + "_" + name``) and its sign-out
OIDC_SIGN_IN = "auth_oidc_sign_in"
OIDC_SIGN_OUT = "auth_oidc_sign_out"

#: a hash checked when the user name is unknown, so a wrong name takes as long as a wrong password
_DUMMY = _users.hash_password("-")

#: failed sign-ins allowed per user name within :data:`LOCK_WINDOW_S` before the name is locked
MAX_FAILURES = 5
#: seconds over which failures are counted, and for which a name stays locked after the last one
LOCK_WINDOW_S = 15 * 60


class Attempts:
    """Failed sign-ins per user name, shared by every session of the server (a new tab does not reset them).

    A name with :data:`MAX_FAILURES` failures within :data:`LOCK_WINDOW_S` seconds is locked
    until the oldest of them is that old: no password is checked for it meanwhile, the right
    one included.  A successful sign-in clears the name's failures.

    Examples
    --------
    >>> a = Attempts(max_failures=2, window_s=60, clock=iter([0, 1, 2, 70]).__next__)
    >>> a.fail("wang"); a.fail("wang"); a.locked_for("wang"), a.locked_for("wang")
    (58, 0)
    """

    def __init__(self, *, max_failures: int = MAX_FAILURES, window_s: float = LOCK_WINDOW_S,
                 clock: object = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._fails: dict[str, deque[float]] = {}

    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]

    def fail(self, name: str) -> None:
        """Record a failed sign-in for ``name``."""
        with self._lock:
            q = self._fails.setdefault(name, deque(maxlen=self.max_failures))
            q.append(self._now())

    def clear(self, name: str) -> None:
        """Forget the failures of ``name`` (after a successful sign-in)."""
        with self._lock:
            self._fails.pop(name, None)

    def locked_for(self, name: str) -> int:
        """Return the whole seconds ``name`` stays locked (0: not locked)."""
        with self._lock:
            q = self._fails.get(name)
            if q is None or len(q) < self.max_failures:
                return 0
            left = q[0] + self.window_s - self._now()
            if left <= 0:
                self._fails.pop(name, None)
                return 0
            return int(left) + (left > int(left))


#: the server's failed sign-ins
ATTEMPTS = Attempts()


@functools.lru_cache(maxsize=4)
def _read(path: str, stamp: float) -> dict[str, User]:
    """Return the users of ``path`` as of modification time ``stamp`` (a changed file is read again)."""
    del stamp
    return _users.read_users(Path(path))


def users() -> dict[str, User] | None:
    """Return the users of the users file (None: sign-in is off).

    Raises
    ------
    gisapp._errors.GisAppError
        When the users file cannot be read or a field is wrong.
    """
    path = _users.users_file()
    if path is None:
        return None
    return _read(str(path), _users.users_file_stamp(path))


def check(name: str, password: str, known: dict[str, User]) -> User | None:
    """Return the user when ``password`` is theirs, else None (the same work for an unknown name)."""
    u = known.get(name.strip())
    ok = _users.verify_password(password, u.password if u else _DUMMY)
    return u if ok and u is not None else None


# --- sign-in through an OIDC provider (st.login) -----------------------------------------------------


def oidc_providers() -> list[str | None] | None:
    """Return the OIDC providers of ``[auth]`` in the secrets (None: no ``[auth]``, OIDC sign-in is off).

    ``[None]`` is the one provider configured in ``[auth]`` itself (it has a ``client_id``, or
    no ``[auth.<name>]`` section); otherwise the names of the ``[auth.<name>]`` sections
    (``client_kwargs`` is not a provider).
    """
    try:
        if "auth" not in st.secrets:
            return None
        section = st.secrets["auth"]
    except FileNotFoundError:  # no secrets file (StreamlitSecretNotFoundError)
        return None
    if not isinstance(section, Mapping):
        return None
    if "client_id" in section:
        return [None]
    named: list[str | None] = [str(k) for k, v in section.items() if isinstance(v, Mapping) and k != "client_kwargs"]
    return named or [None]


#: the keys Streamlit's sign-in needs in ``[auth]`` itself, and in each provider's section
OIDC_SHARED_KEYS = ("redirect_uri", "cookie_secret")
OIDC_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


def oidc_missing(section: Mapping[str, Any], providers: list[str | None]) -> list[str]:
    """Return the fields of ``[auth]`` that ``st.login`` needs and lacks, as ``auth.<key>`` / ``auth.<name>.<key>``.

    Checked before the sign-in buttons are drawn, so a bureau's incomplete secrets file gives a
    message naming the fields rather than Streamlit's English error on the first click.

    Examples
    --------
    >>> oidc_missing({"redirect_uri": "x", "client_id": "a"}, [None])
    ['auth.cookie_secret', 'auth.client_secret', 'auth.server_metadata_url']
    >>> oidc_missing({"redirect_uri": "x", "cookie_secret": "s", "idp": {"client_id": "a", "client_secret": "b"}},
    ...              ["idp"])
    ['auth.idp.server_metadata_url']
    """
    # config paths ("auth.client_id"), not translation keys: joined, not formatted
    missing = [".".join(("auth", k)) for k in OIDC_SHARED_KEYS if not section.get(k)]
    for p in providers:
        sub = section if p is None else section.get(p)
        sub = sub if isinstance(sub, Mapping) else {}
        path = ("auth",) if p is None else ("auth", p)
        missing += [".".join((*path, k)) for k in OIDC_PROVIDER_KEYS if not sub.get(k)]
    return missing


def oidc_user(claims: Mapping[str, Any], known: dict[str, User] | None) -> User | None:
    """Return the user an OIDC identity signs in as (None: refused).

    The identity's ``email`` is the user name in the users file (compared without case and
    spaces around it); the file's role and display name apply.  Without a users file the
    identity is a viewer named by its ``name`` claim (or its address).  Refused: no address, an
    address the provider says is not verified (``email_verified`` false), one not in the file.

    Examples
    --------
    >>> li = User(name="Li@Bureau.example", password="", role="planner", display="李规划")
    >>> oidc_user({"email": "li@bureau.example"}, {li.name: li}).role
    'planner'
    >>> oidc_user({"email": "li@bureau.example", "email_verified": False}, {li.name: li}) is None
    True
    >>> oidc_user({"email": "someone@gmail.example"}, {li.name: li}) is None
    True
    >>> oidc_user({"email": "x@y.example", "name": "小王"}, None)
    User(name='x@y.example', password='', role='viewer', display='小王')
    """
    email = str(claims.get("email") or "").strip()
    if not email or claims.get("email_verified") is False:
        return None
    if known is None:
        return User(name=email, password="", role=OIDC_ROLE, display=str(claims.get("name") or email).strip() or email)
    by_email = {name.strip().casefold(): u for name, u in known.items()}
    return by_email.get(email.casefold())


def _claims() -> dict[str, Any] | None:
    """Return the signed-in OIDC identity's claims (None: nobody signed in)."""
    info = st.user.to_dict()
    return info if info.get("is_logged_in") else None


def current() -> User | None:
    """Return the signed-in user (None: nobody, or sign-in is off)."""
    try:
        known = users()
    except GisAppError:
        return None
    if oidc_providers() is not None:
        claims = _claims()
        return oidc_user(claims, known) if claims is not None else None
    name = st.session_state.get(SIGNED_IN)
    if known is None or not isinstance(name, str):
        return None
    return known.get(name)  # a user removed from the file is signed out


def role() -> str | None:
    """Return the role in force: the signed-in user's, the open role without sign-in, None before sign-in."""
    try:
        known = users()
    except GisAppError:
        return None
    if known is None and oidc_providers() is None:
        return OPEN_ROLE
    u = current()
    return u.role if u else None


def can(action: str) -> bool:
    """Return whether the role in force may do ``action`` (a key of :data:`NEEDS`)."""
    r = role()
    return r is not None and ROLES.index(r) >= ROLES.index(NEEDS[action])


def display_name() -> str | None:
    """Return the signed-in user's display name (None: nobody signed in)."""
    u = current()
    return u.display if u else None


#: the catalogue key of each role's name
ROLE_KEYS = {"viewer": "auth.role.viewer", "planner": "auth.role.planner", "admin": "auth.role.admin"}


def role_label(role_: str, lang: str) -> str:
    """Return the name of a role in ``lang``."""
    return t(ROLE_KEYS[role_], lang)


def _sign_out() -> None:
    st.session_state.clear()  # the next user of this browser starts afresh


def _oidc_sign_out() -> None:
    st.session_state.clear()
    st.logout()  # removes the identity cookie; the provider's own sign-out when it offers one


def _oidc_gate(lang: str, providers: list[str | None]) -> None:
    """Stop the run until an OIDC identity the users file knows has signed in."""
    claims = _claims()
    if claims is None:
        st.title(t("auth.title", lang))
        bad = next((p for p in providers if p is not None and "_" in p), None)
        missing = oidc_missing(st.secrets["auth"], providers)
        if bad is not None or missing:  # st.login would raise on the click: say which field, and stop
            st.error(t("auth.oidc_bad_name", lang, provider=bad) if bad is not None else
                     t("auth.oidc_config", lang, fields=", ".join(f"`{m}`" for m in missing)))
            st.stop()
            return
        st.caption(t("auth.oidc_note", lang))
        for p in providers:
            label = t("auth.oidc_sign_in", lang) if p is None else t("auth.oidc_sign_in_with", lang, provider=p)
            if st.button(label, key=f"{OIDC_SIGN_IN}_{p or 'default'}", type="primary", icon=":material/login:"):
                st.login(p)
        st.stop()
        return
    if current() is None:  # signed in with the provider, but not a user of this app
        st.title(t("auth.title", lang))
        email = str(claims.get("email") or "").strip()
        verified = claims.get("email_verified") is not False
        st.error(t("auth.oidc_unknown", lang, email=email) if email and verified else t("auth.oidc_no_email", lang))
        st.button(t("auth.sign_out", lang), key=OIDC_SIGN_OUT, on_click=_oidc_sign_out, icon=":material/logout:")
        st.stop()


def gate(lang: str) -> None:
    """Stop the run until a user has signed in (sign-in on); a bad users file stops it for good."""
    try:
        known = users()
    except GisAppError as exc:
        st.error(exc.text(lang))
        st.info(t("auth.stopped", lang))
        st.stop()
        return
    providers = oidc_providers()
    if providers is not None:
        _oidc_gate(lang, providers)
        return
    if known is None or current() is not None:
        return
    st.title(t("auth.title", lang))
    with st.form(FORM, clear_on_submit=True):  # the password does not stay in the session
        name = st.text_input(t("auth.user", lang), key=USER)
        password = st.text_input(t("auth.password", lang), type="password", key=PASSWORD)
        submitted = st.form_submit_button(t("auth.submit", lang), type="primary", icon=":material/login:")
    if submitted:
        key = str(name or "").strip()
        wait = ATTEMPTS.locked_for(key)
        if wait:
            st.error(t("auth.locked", lang, minutes=max(1, -(-wait // 60)), tries=ATTEMPTS.max_failures))
            st.stop()
            return
        u = check(key, str(password or ""), known)
        if u is not None:
            ATTEMPTS.clear(key)
            st.session_state[SIGNED_IN] = u.name
            st.rerun()
        ATTEMPTS.fail(key)
        st.error(t("auth.failed", lang))
    st.stop()


def users_rows(known: dict[str, User], lang: str) -> pd.DataFrame:
    """Return the user list an administrator sees: name, display name, role (never the hash)."""
    return pd.DataFrame([{t("auth.col.name", lang): u.name, t("auth.col.display", lang): u.display,
                          t("auth.col.role", lang): role_label(u.role, lang)} for u in known.values()],
                        columns=[t(k, lang) for k in ("auth.col.name", "auth.col.display", "auth.col.role")])


def sidebar(lang: str) -> None:
    """Show who is signed in, their role and the sign-out button (or that sign-in is off)."""
    with st.sidebar:
        st.divider()
        known = users()
        u = current()
        if u is None:
            st.caption(t("auth.open", lang))
            return
        st.caption(t("auth.signed_in", lang, name=u.display, role=role_label(u.role, lang)))
        oidc = oidc_providers() is not None
        st.button(t("auth.sign_out", lang), key=OIDC_SIGN_OUT if oidc else SIGN_OUT,
                  on_click=_oidc_sign_out if oidc else _sign_out, icon=":material/logout:")
        if can("users") and known is not None:
            with st.expander(t("auth.users", lang)):
                st.dataframe(users_rows(known, lang), hide_index=True)
                path = _users.users_file()
                st.caption(t("auth.users_note", lang, file=path.name if path else ""))
