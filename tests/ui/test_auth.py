"""Sign-in and roles (``$GISAPP_USERS``): the gate, the roles' controls, the author of a save, the users file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from gisapp._errors import GisAppError
from gisapp.i18n import t
from gisapp.io.users import USERS_ENV, hash_password, read_users, verify_password
from gisapp.planning.scenario import ScenarioStore
from gisapp.ui import auth
from gisapp.ui import planning_state as ps
from tests.conftest import ROOT, TINY

from .test_app import _ok

APP = str(ROOT / "streamlit_app.py")
PLANNING = "gisapp/ui/pages/planning.py"
DATA = "gisapp/ui/pages/data.py"
TIMEOUT_S = 300
FAST = 2**10  #: scrypt cost of the test users (the default is 2**14)


def _users_file(tmp_path: Path, users: dict[str, object]) -> Path:
    p = tmp_path / "users.yaml"
    p.write_text(yaml.safe_dump({"users": users}, allow_unicode=True), encoding="utf-8")
    return p


@pytest.fixture
def users_file(tmp_path: Path) -> Path:
    return _users_file(tmp_path, {
        "wang": {"password": hash_password("view-pw", n=FAST), "role": "viewer", "display": "王查看"},
        "li": {"password": hash_password("plan-pw", n=FAST), "role": "planner", "display": "李规划"},
        "zhao": {"password": hash_password("admin-pw", n=FAST), "role": "admin", "display": "赵管理"},
    })


def _new_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, users: Path | None) -> AppTest:
    """The app on the tiny workspace, a private user folder, and ``users`` as the sign-in list (None: none)."""
    monkeypatch.setenv("GISAPP_WORKSPACE", str(TINY))
    monkeypatch.setenv(ps.USER_DIR_ENV, str(tmp_path / "user_dir"))
    if users is None:
        monkeypatch.delenv(USERS_ENV, raising=False)
    else:
        monkeypatch.setenv(USERS_ENV, str(users))
    return AppTest.from_file(APP, default_timeout=TIMEOUT_S)


def _app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, users: Path | None) -> AppTest:
    at = _new_app(monkeypatch, tmp_path, users)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _sign_in(at: AppTest, name: str, password: str) -> None:
    at.text_input(key=auth.USER).set_value(name)
    at.text_input(key=auth.PASSWORD).set_value(password)
    next(b for b in at.button if b.label == t("auth.submit", "zh")).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def _signed_out(at: AppTest) -> bool:
    return any(x.value == t("auth.title", "zh") for x in at.title) and not at.metric


def _button_keys(at: AppTest) -> set[str]:
    return {str(b.key) for b in at.button if b.key}


def _uploaders(at: AppTest) -> int:
    return len(at.get("file_uploader"))


# --- the users file ---------------------------------------------------------------------------


def test_hash_and_verify_round_trip() -> None:
    h = hash_password("正确的密码")
    assert h.startswith("scrypt$16384$8$1$")
    assert verify_password("正确的密码", h)
    assert not verify_password("错误的密码", h)
    assert not verify_password("", h)
    assert hash_password("same") != hash_password("same")  # a fresh salt each time
    assert not verify_password("x", "not a hash") and not verify_password("x", "scrypt$3$8$1$00$00")


def test_a_bad_users_file_names_the_file_and_the_field(tmp_path: Path) -> None:
    good = hash_password("pw", n=FAST)
    p = _users_file(tmp_path, {"bob": {"password": good, "role": "boss"}})
    with pytest.raises(GisAppError) as ei:
        read_users(p)
    assert "users.yaml" in ei.value.text("zh") and "users.bob.role" in ei.value.text("zh")
    p = _users_file(tmp_path, {"bob": {"password": "plain-text", "role": "viewer"}})
    with pytest.raises(GisAppError, match=r"users\.bob\.password"):
        read_users(p)
    p.write_text("users: [unclosed", encoding="utf-8")
    with pytest.raises(GisAppError, match="users.yaml"):
        read_users(p)
    with pytest.raises(GisAppError, match="missing.yaml"):
        read_users(tmp_path / "missing.yaml")
    assert read_users(_users_file(tmp_path, {"bob": {"password": good, "role": "viewer"}}))["bob"].display == "bob"


# --- the app ------------------------------------------------------------------------------------


def test_without_a_users_file_the_app_is_open(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = _app(monkeypatch, tmp_path, None)
    _ok(at)
    assert at.metric, "the overview is shown without sign-in"
    assert any(c.value == t("auth.open", "zh") for c in at.caption)
    at.switch_page(PLANNING).run()
    _ok(at)
    assert ps.SAVE in _button_keys(at)


def test_a_malformed_users_file_stops_the_app_with_a_clear_message(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    p = _users_file(tmp_path, {"bob": {"password": hash_password("pw", n=FAST), "role": "boss"}})
    at = _app(monkeypatch, tmp_path, p)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "users.yaml" in errors[0] and "users.bob.role" in errors[0], errors
    assert not at.metric and not at.text_input  # no page, no sign-in form: nobody gets in


def test_sign_in_gates_every_page_and_refuses_a_wrong_password(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                               users_file: Path) -> None:
    at = _app(monkeypatch, tmp_path, users_file)
    assert _signed_out(at)
    _sign_in(at, "li", "view-pw")  # another user's password
    assert _signed_out(at)
    assert [e.value for e in at.error] == [t("auth.failed", "zh")]
    _sign_in(at, "nobody", "plan-pw")
    assert _signed_out(at)
    assert [e.value for e in at.error] == [t("auth.failed", "zh")]  # the same words: no hint which part was wrong


def test_a_viewer_sees_results_but_no_save_nor_upload(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      users_file: Path) -> None:
    at = _app(monkeypatch, tmp_path, users_file)
    _sign_in(at, "wang", "view-pw")
    _ok(at)
    assert at.metric, "the overview is shown after sign-in"
    assert any(t("auth.signed_in", "zh", name="王查看", role=t("auth.role.viewer", "zh")) == c.value
               for c in at.caption)
    assert auth.SIGN_OUT in _button_keys(at)
    at.switch_page(PLANNING).run()
    _ok(at)
    keys_ = _button_keys(at)
    assert ps.SAVE not in keys_ and ps.ADD not in keys_ and ps.IMPORT not in keys_
    assert _uploaders(at) == 0
    assert any(i.value == t("auth.viewer_only", "zh") for i in at.info)
    at.switch_page(DATA).run()
    _ok(at)
    assert _uploaders(at) == 0
    assert any(i.value == t("auth.viewer_only", "zh") for i in at.info)
    at.button(key=auth.SIGN_OUT).click().run()
    assert _signed_out(at)


def test_a_planner_saves_and_is_recorded_as_the_author(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       users_file: Path) -> None:
    at = _app(monkeypatch, tmp_path, users_file)
    _sign_in(at, "li", "plan-pw")
    _ok(at)
    assert any(t("auth.signed_in", "zh", name="李规划", role=t("auth.role.planner", "zh")) == c.value
               for c in at.caption)
    at.switch_page(DATA).run()
    _ok(at)
    assert _uploaders(at) == 2  # facilities and population
    at.switch_page(PLANNING).run()
    _ok(at)
    assert {ps.SAVE, ps.ADD} <= _button_keys(at)
    at.text_input(key=ps.NAME).set_value("甲方案")
    at.button(key=ps.SAVE).click().run()
    _ok(at)
    folders = list((tmp_path / "user_dir" / "scenarios").iterdir())
    assert len(folders) == 1
    store = ScenarioStore(folders[0])
    assert [v.author for v in store.history("甲方案")] == ["李规划"]


def test_an_admin_sees_the_user_list(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, users_file: Path) -> None:
    at = _app(monkeypatch, tmp_path, users_file)
    _sign_in(at, "zhao", "admin-pw")
    _ok(at)
    shown = [df.value for df in at.dataframe if t("auth.col.role", "zh") in df.value.columns]
    assert len(shown) == 1 and sorted(shown[0][t("auth.col.name", "zh")]) == ["li", "wang", "zhao"]
    assert "password" not in " ".join(map(str, shown[0].columns))


def _roles_script() -> None:
    import streamlit as st

    from gisapp.ui import auth

    for name in ("wang", "li", "zhao", "nobody"):
        st.session_state[auth.SIGNED_IN] = name
        st.text(f"{name}:{','.join(a for a in auth.NEEDS if auth.can(a))}")


def test_the_role_table_is_checked_on_the_server(monkeypatch: pytest.MonkeyPatch, users_file: Path) -> None:
    monkeypatch.setenv(USERS_ENV, str(users_file))
    at = AppTest.from_function(_roles_script, default_timeout=TIMEOUT_S).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [x.value for x in at.text] == ["wang:view,download", "li:view,download,upload,edit,save",
                                          "zhao:view,download,upload,edit,save,users", "nobody:"]


# --- sign-in attempts ---------------------------------------------------------------------------


def test_a_name_is_locked_after_five_failures_in_every_session(monkeypatch, tmp_path, users_file) -> None:
    monkeypatch.setattr(auth, "ATTEMPTS", auth.Attempts())
    at = _app(monkeypatch, tmp_path, users_file)
    for _ in range(auth.MAX_FAILURES):
        _sign_in(at, "li", "wrong")
        assert [e.value for e in at.error] == [t("auth.failed", "zh")]
    _sign_in(at, "li", "plan-pw")  # the right password, but the name is locked
    assert _signed_out(at)
    assert [e.value for e in at.error] == [t("auth.locked", "zh", minutes=15, tries=auth.MAX_FAILURES)]
    other = _app(monkeypatch, tmp_path, users_file)  # a new tab is locked too
    _sign_in(other, "li", "plan-pw")
    assert _signed_out(other)
    _sign_in(other, "zhao", "admin-pw")  # another name is not
    assert not _signed_out(other)


def test_a_success_clears_the_failures() -> None:
    now = [0.0]
    a = auth.Attempts(max_failures=3, window_s=100, clock=lambda: now[0])
    a.fail("li")
    a.fail("li")
    a.clear("li")
    a.fail("li")
    a.fail("li")
    assert a.locked_for("li") == 0
    a.fail("li")
    now[0] = 50.0
    assert a.locked_for("li") == 50  # three failures at 0: locked until 100
    now[0] = 100.0
    assert a.locked_for("li") == 0


# --- sign-in through an OIDC provider (st.login, [auth] in the secrets) --------------------------
# What AppTest cannot do: the provider's redirect and callback (st.login needs Authlib and a real
# provider).  The tests set the identity the provider would return (AppTest.user) and check what
# the app makes of it: the role from the users file, refusals, and the password form replaced.

AUTH_SECRETS = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-cookie-secret",
                "client_id": "gisapp-test", "client_secret": "not-a-secret",
                "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}


@pytest.fixture
def email_users(tmp_path: Path) -> Path:
    return _users_file(tmp_path, {
        "Li@Bureau.example": {"password": hash_password("unused", n=FAST), "role": "planner", "display": "李规划"},
        "zhao@bureau.example": {"password": hash_password("unused", n=FAST), "role": "admin", "display": "赵管理"},
    })


def test_an_oidc_identity_maps_to_the_users_file_by_its_address(email_users: Path) -> None:
    known = read_users(email_users)
    li = auth.oidc_user({"is_logged_in": True, "email": " li@bureau.EXAMPLE "}, known)
    assert li is not None and (li.role, li.display) == ("planner", "李规划")
    assert auth.oidc_user({"email": "zhao@bureau.example", "email_verified": True}, known).role == "admin"  # type: ignore[union-attr]
    assert auth.oidc_user({"email": "zhao@bureau.example", "email_verified": False}, known) is None
    assert auth.oidc_user({"email": "li@other.example"}, known) is None, "the same name at another domain"
    assert auth.oidc_user({"email": "li"}, known) is None
    assert auth.oidc_user({"name": "无邮箱"}, known) is None
    # without a users file every identity is a viewer, shown by its name
    anyone = auth.oidc_user({"email": "x@y.example", "name": "小王"}, None)
    assert anyone is not None and (anyone.role, anyone.display, anyone.name) == ("viewer", "小王", "x@y.example")


def _oidc_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, users: Path | None,
              user: dict[str, object]) -> AppTest:
    at = _new_app(monkeypatch, tmp_path, users)
    at.secrets["auth"] = dict(AUTH_SECRETS)
    at.user = user
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_with_auth_in_the_secrets_the_provider_replaces_the_password_form(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path, email_users: Path) -> None:
    at = _oidc_app(monkeypatch, tmp_path, email_users, {"is_logged_in": False})
    assert _signed_out(at)
    assert not at.text_input, "no password form"
    assert [b.label for b in at.button] == [t("auth.oidc_sign_in", "zh")]
    assert f"{auth.OIDC_SIGN_IN}_default" in _button_keys(at)


def test_named_providers_get_a_button_each(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GISAPP_WORKSPACE", str(TINY))
    monkeypatch.delenv(USERS_ENV, raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    shared = {k: v for k, v in AUTH_SECRETS.items() if k in ("redirect_uri", "cookie_secret")}
    provider = {k: v for k, v in AUTH_SECRETS.items() if k not in shared}
    at.secrets["auth"] = {**shared, "bureau": dict(provider), "backup": dict(provider)}
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [b.label for b in at.button] == [t("auth.oidc_sign_in_with", "zh", provider=p) for p in ("bureau", "backup")]


def test_an_incomplete_auth_section_names_the_missing_fields(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             email_users: Path) -> None:
    monkeypatch.setenv("GISAPP_WORKSPACE", str(TINY))
    monkeypatch.setenv(USERS_ENV, str(email_users))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.secrets["auth"] = {k: v for k, v in AUTH_SECRETS.items() if k not in ("cookie_secret", "server_metadata_url")}
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [t("auth.oidc_config", "zh",
                                             fields="`auth.cookie_secret`, `auth.server_metadata_url`")]
    assert not at.button and not at.text_input and not at.metric, "no sign-in until the secrets are fixed"
    shared = {k: v for k, v in AUTH_SECRETS.items() if k in ("redirect_uri", "cookie_secret")}
    provider = {k: v for k, v in AUTH_SECRETS.items() if k not in shared}
    at.secrets["auth"] = {**shared, "my_idp": dict(provider)}
    at.run()
    assert [e.value for e in at.error] == [t("auth.oidc_bad_name", "zh", provider="my_idp")]
    assert not at.button
    at.secrets["auth"] = {**shared, "idp": {"client_id": "x"}}
    at.run()
    assert [e.value for e in at.error] == [t("auth.oidc_config", "zh",
                                             fields="`auth.idp.client_secret`, `auth.idp.server_metadata_url`")]


def test_a_provider_identity_in_the_users_file_gets_its_role(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                            email_users: Path) -> None:
    at = _oidc_app(monkeypatch, tmp_path, email_users,
                   {"is_logged_in": True, "email": "li@bureau.example", "name": "Li"})
    _ok(at)
    assert at.metric, "the overview is shown"
    assert any(c.value == t("auth.signed_in", "zh", name="李规划", role=t("auth.role.planner", "zh"))
               for c in at.caption)
    assert auth.OIDC_SIGN_OUT in _button_keys(at)
    at.switch_page(DATA).run()
    _ok(at)
    assert _uploaders(at) == 2, "a planner uploads data"
    at.button(key=auth.OIDC_SIGN_OUT).click().run()  # st.logout: the next runs are signed out
    assert _signed_out(at)


def test_a_provider_identity_not_in_the_users_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             email_users: Path) -> None:
    at = _oidc_app(monkeypatch, tmp_path, email_users, {"is_logged_in": True, "email": "someone@gmail.example"})
    assert not at.metric, "no page"
    assert [e.value for e in at.error] == [t("auth.oidc_unknown", "zh", email="someone@gmail.example")]
    assert auth.OIDC_SIGN_OUT in _button_keys(at)
    at = _oidc_app(monkeypatch, tmp_path, email_users,
                   {"is_logged_in": True, "email": "li@bureau.example", "email_verified": False})
    assert not at.metric
    assert [e.value for e in at.error] == [t("auth.oidc_no_email", "zh")]


def test_a_provider_without_a_users_file_makes_everyone_a_viewer(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    at = _oidc_app(monkeypatch, tmp_path, None, {"is_logged_in": True, "email": "x@y.example", "name": "小王"})
    _ok(at)
    assert at.metric
    assert any(c.value == t("auth.signed_in", "zh", name="小王", role=t("auth.role.viewer", "zh")) for c in at.caption)
    at.switch_page(PLANNING).run()
    _ok(at)
    assert ps.SAVE not in _button_keys(at) and _uploaders(at) == 0
