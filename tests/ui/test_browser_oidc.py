"""Browser test: sign in through a real OIDC provider (``st.login``), end to end.

A real OpenID Connect provider (``oidc-provider-mock``, Authlib underneath) runs on a free
loopback port; the app runs with ``streamlit run streamlit_app.py`` and the secrets file a
bureau writes (``[auth]`` with ``server_metadata_url`` naming the provider), given to Streamlit
through its ``secrets.files`` option; ``$GISAPP_USERS`` maps an address to the planner role.
Debian's chromium (Playwright) opens the app, clicks the provider's sign-in, fills the
provider's form with the address, comes back through ``/oauth2callback`` and sees what a person
sees: signed in as the address, a planner (the data page's uploaders), then signs out through the
provider's end-session page.  A second address, verified by the provider but not in the users
file, is refused with the message naming it.
"""

from __future__ import annotations

import json
import os
import secrets as secrets_
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
import yaml

from gisapp.i18n import t
from gisapp.io.users import USERS_ENV, hash_password
from gisapp.ui import planning_state as ps
from tests.conftest import TINY
from tests.ui.app_server import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    UI_TIMEOUT_MS,
    free_port,
    streamlit_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


PLANNER = "li.planner@bureau.example"
STRANGER = "someone@elsewhere.example"
CLIENT_ID = "gisapp-e2e"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """Run oidc-provider-mock on a free loopback port; return its base URL."""
    oidc_provider_mock = pytest.importorskip("oidc_provider_mock", reason="pip install oidc-provider-mock")
    import werkzeug.serving

    server = werkzeug.serving.make_server("127.0.0.1", 0, oidc_provider_mock.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with urllib.request.urlopen(f"{base}/.well-known/openid-configuration", timeout=10) as r:
            meta = json.load(r)
        assert meta["issuer"] == base and meta["end_session_endpoint"].startswith(base)
        yield base
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def _set_identity(base: str, sub: str, claims: dict[str, object]) -> None:
    """Give the provider's subject ``sub`` these claims (the mock's user API)."""
    req = urllib.request.Request(f"{base}/users/{urllib.parse.quote(sub, safe='')}", method="PUT",
                                 data=json.dumps(claims).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 204


def _secrets_toml(port: int, provider_url: str) -> str:
    """The secrets file a bureau writes for its own provider (as in the README's Sign-in section)."""
    return (
        "[auth]\n"
        f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
        'cookie_secret = "e2e-cookie-secret-0123456789abcdef"\n'
        f'client_id = "{CLIENT_ID}"\n'
        'client_secret = "e2e-client-secret"\n'
        f'server_metadata_url = "{provider_url}/.well-known/openid-configuration"\n'
    )


@pytest.fixture(scope="module")
def app_url(provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``streamlit run streamlit_app.py`` with ``[auth]`` naming the provider; stop it afterwards."""
    pytest.importorskip("authlib", reason="pip install 'streamlit[auth]'")
    port = free_port()
    tmp = tmp_path_factory.mktemp("oidc_app")
    secrets = tmp / "secrets.toml"
    secrets.write_text(_secrets_toml(port, provider), encoding="utf-8")
    users = tmp / "users.yaml"  # no display name: the app shows the address itself
    unused = hash_password(secrets_.token_hex(16), n=2**10)  # the file wants a hash; the provider signs in
    users.write_text(yaml.safe_dump({"users": {PLANNER: {"password": unused, "role": "planner"}}}), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "streamlit_server_oidc.log"
    env = dict(os.environ, GISAPP_WORKSPACE=str(TINY), MPLBACKEND="Agg", **{USERS_ENV: str(users)},
               **{ps.USER_DIR_ENV: str(tmp / "user_dir")})
    with streamlit_server(port, env, log_path, extra=("--secrets.files", str(secrets))):
        yield f"http://localhost:{port}"  # the host of redirect_uri: the sign-in cookies belong to it


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium through Playwright (a skip, hence a failure under ``CI=true``, without it)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium (run scripts/setup.sh --system)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, app_url: str) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh chromium context (no cookies: nobody signed in) with base-map tiles blocked."""
    ctx = browser.new_context(viewport={"width": 1500, "height": 1000}, locale="zh-CN")
    ctx.route("**/tile.openstreetmap.org/**", lambda route: route.abort())
    pg = ctx.new_page()
    pg.set_default_timeout(UI_TIMEOUT_MS)
    try:
        yield pg
    finally:
        ctx.close()


def _wait_idle(pg) -> None:  # type: ignore[no-untyped-def]
    """Wait until the app has finished its script run (no running indicator, no spinner)."""
    pg.wait_for_timeout(700)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"] [data-testid=\"stStatusWidgetRunningIcon\"]')"
        " && !document.querySelector('[data-testid=\"stSpinner\"]')", timeout=UI_TIMEOUT_MS)


def _sign_in_at_provider(pg, app_url: str, provider: str, email: str) -> None:  # type: ignore[no-untyped-def]
    """Open the app, click the provider's sign-in, fill the provider's form with ``email``, come back."""
    pg.goto(app_url, wait_until="domcontentloaded")
    button = pg.get_by_role("button", name=t("auth.oidc_sign_in", "zh"))
    button.wait_for(state="visible")
    assert pg.get_by_text(t("auth.oidc_note", "zh")).is_visible()
    assert pg.locator("input[type='password']").count() == 0, "no password form with a provider"
    button.click()
    pg.wait_for_url(f"{provider}/oauth2/authorize?**")  # the provider's own page, in the browser
    assert CLIENT_ID in pg.locator("body").inner_text()
    pg.locator("input[name='sub']").fill(email)
    pg.get_by_role("button", name="Authorize").click()
    pg.wait_for_url(f"{app_url}/**")  # back through /oauth2callback to the app
    _wait_idle(pg)


def test_a_planner_signs_in_with_the_provider_and_signs_out(page, app_url: str, provider: str) -> None:  # type: ignore[no-untyped-def]
    pg = page
    _set_identity(provider, PLANNER, {"email": PLANNER, "email_verified": True, "name": "Li Planner"})
    _sign_in_at_provider(pg, app_url, provider, PLANNER)
    signed_in = t("auth.signed_in", "zh", name=PLANNER, role=t("auth.role.planner", "zh"))
    caption = pg.get_by_text(signed_in)
    caption.wait_for(state="visible")
    pg.locator("[data-testid='stMetric']").first.wait_for(state="visible")  # the overview is shown
    caption.scroll_into_view_if_needed()  # the sidebar's foot, for the screenshot
    pg.screenshot(path=str(ARTIFACTS / "oidc_signed_in_zh.png"))
    # a planner has the data page's uploaders (a viewer sees a note instead)
    pg.get_by_role("link", name=t("page.data", "zh")).first.click()
    _wait_idle(pg)
    uploaders = pg.locator("[data-testid='stFileUploader']")
    uploaders.first.wait_for(state="visible")
    assert uploaders.count() == 2
    assert pg.get_by_text(t("auth.viewer_only", "zh")).count() == 0
    # sign out: the app's button, then the provider's end-session page, then the app's sign-in again
    pg.get_by_role("button", name=t("auth.sign_out", "zh")).click()
    pg.wait_for_url(f"{provider}/oauth2/end_session?**")
    pg.get_by_role("button", name="End session").click()
    pg.wait_for_url(f"{app_url}/**")
    pg.get_by_role("button", name=t("auth.oidc_sign_in", "zh")).wait_for(state="visible")
    _wait_idle(pg)
    assert pg.get_by_text(signed_in).count() == 0
    assert pg.locator("[data-testid='stMetric']").count() == 0, "no page after sign-out"
    pg.reload(wait_until="domcontentloaded")  # the identity cookie is gone, not just this tab's state
    pg.get_by_role("button", name=t("auth.oidc_sign_in", "zh")).wait_for(state="visible")


def test_an_address_not_in_the_users_file_is_refused_by_name(page, app_url: str, provider: str) -> None:  # type: ignore[no-untyped-def]
    pg = page
    _set_identity(provider, STRANGER, {"email": STRANGER, "email_verified": True, "name": "Someone"})
    _sign_in_at_provider(pg, app_url, provider, STRANGER)
    refused = t("auth.oidc_unknown", "zh", email=STRANGER)
    error = pg.locator("[data-testid='stAlertContentError']")
    error.first.wait_for(state="visible")
    assert error.first.inner_text().strip() == refused
    pg.screenshot(path=str(ARTIFACTS / "oidc_refused_zh.png"))
    assert pg.get_by_role("heading", name=t("auth.title", "zh")).is_visible()
    assert pg.locator("[data-testid='stMetric']").count() == 0, "no page for a stranger"
    assert pg.get_by_role("link", name=t("page.data", "zh")).count() == 0, "no pages to go to"
    assert pg.get_by_role("button", name=t("auth.sign_out", "zh")).is_visible()
