"""Sign-in and roles: who may see, upload and save.

With ``$GISAPP_USERS`` naming a users file (:mod:`gisapp.io.users`), :func:`gate` shows a
sign-in form before any page and stops the run until a user has signed in; a users file that
cannot be read stops the app with a message naming the file and the field (nobody gets in).
Without it the app is open, as the demo: everyone may view and edit, and the sidebar says so.

Roles, least rights first: a **viewer** sees results and downloads reports; a **planner** also
uploads data and edits and saves scenarios; an **admin** is a planner who also sees the user
list (managing users = editing the users file).  Pages ask :func:`can` both before drawing a
control and again in the action itself, so a control a role lacks is neither drawn nor obeyed.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from pathlib import Path

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


def current() -> User | None:
    """Return the signed-in user (None: nobody, or sign-in is off)."""
    try:
        known = users()
    except GisAppError:
        return None
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
    if known is None:
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


def gate(lang: str) -> None:
    """Stop the run until a user has signed in (sign-in on); a bad users file stops it for good."""
    try:
        known = users()
    except GisAppError as exc:
        st.error(exc.text(lang))
        st.info(t("auth.stopped", lang))
        st.stop()
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
        if known is None or u is None:
            st.caption(t("auth.open", lang))
            return
        st.caption(t("auth.signed_in", lang, name=u.display, role=role_label(u.role, lang)))
        st.button(t("auth.sign_out", lang), key=SIGN_OUT, on_click=_sign_out, icon=":material/logout:")
        if can("users"):
            with st.expander(t("auth.users", lang)):
                st.dataframe(users_rows(known, lang), hide_index=True)
                path = _users.users_file()
                st.caption(t("auth.users_note", lang, file=path.name if path else ""))
