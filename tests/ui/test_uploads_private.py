"""Uploads are private to their session and go when it ends; the server keeps XSRF protection and a size limit."""

from __future__ import annotations

import os
import time
from pathlib import Path

import tomllib
from streamlit.testing.v1 import AppTest

from gisapp.io import uploads as stored
from gisapp.ui import uploads
from tests.conftest import ROOT, TINY


def test_each_session_has_its_own_folder(tmp_path: Path) -> None:
    a = stored.session_folder("session-a", root=tmp_path)
    b = stored.session_folder("session-b", root=tmp_path)
    pa = stored.save_upload("clinics.csv", b"id\n1\n", folder=a)
    pb = stored.save_upload("clinics.csv", b"id\n1\n", folder=b)
    assert pa != pb and pa.parent.parent == a and pb.parent.parent == b
    assert pa.read_bytes() == pb.read_bytes() == b"id\n1\n"


def test_ended_sessions_lose_their_uploads_after_the_grace_period(tmp_path: Path) -> None:
    live = stored.session_folder("live", root=tmp_path)
    ended = stored.session_folder("ended", root=tmp_path)
    recent = stored.session_folder("recent", root=tmp_path)
    for f in (live, ended, recent):
        stored.save_upload("x.csv", b"a\n", folder=f)
    old = time.time() - 3600
    for f in (live, ended):
        os.utime(f / stored.ALIVE, (old, old))
    gone = stored.sweep_session_folders(lambda sid: sid == "live", grace_s=600, root=tmp_path)
    assert gone == ["ended"]
    assert live.is_dir() and recent.is_dir() and not ended.exists()


def test_the_data_page_saves_uploads_in_the_session_folder(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GISAPP_WORKSPACE", str(TINY))
    monkeypatch.setattr(stored, "UPLOAD_DIR", tmp_path / "uploads")
    at = AppTest.from_string(
        "from gisapp.ui import uploads\n"
        "from gisapp.io import uploads as stored\n"
        "import streamlit as st\n"
        "p = stored.save_upload('a.csv', b'id\\n1\\n', folder=uploads.session_folder())\n"
        "st.write(str(p))\n", default_timeout=60)
    at.run()
    assert not at.exception
    path = Path(at.markdown[0].value)
    assert path.is_file() and path.is_relative_to(tmp_path / "uploads" / stored.SESSIONS)
    assert uploads.maybe_sweep(force=True) == []  # no server runtime under AppTest: nothing swept


def test_the_server_keeps_xsrf_protection_and_an_upload_limit() -> None:
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["server"]["enableXsrfProtection"] is True
    assert 0 < cfg["server"]["maxUploadSize"] <= 200
