"""A light client that speaks Streamlit's websocket protocol, for load benchmarks on loopback.

A browser per session takes most of a 2-core machine's CPU (measured with 8 chromium sessions:
the server used about 0.4 of a core, the browsers the rest), so a load test driven by browsers
measures the browsers.  This client does what the browser does on the wire and nothing else:
it opens ``/_stcore/stream``, sends ``BackMsg.rerun_script`` (the page, the widget states) and
reads ``ForwardMsg``s until ``script_finished``; it keeps the texts the page drew (titles,
headings, markdown, metrics, captions, widget labels) so a test can compare them with what a
real browser shows.  It draws nothing and runs no JavaScript: a map's HTML arrives as bytes and
is not rendered.

Only loopback addresses are accepted.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: TID251 - the wire protocol, not the engine
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: TID251 - the wire protocol, not the engine

__all__ = ["LightSession", "PageRun"]

#: ForwardMsg element kinds whose text is kept, with the field holding it
_TEXT_FIELDS = {"markdown": "body", "heading": "body", "alert": "body", "metric": "label",
                "text": "body", "caption": "body"}
_WIDGETS = ("selectbox", "radio", "button", "checkbox", "slider", "text_input", "number_input",
            "multiselect", "segmented_control", "toggle")


@dataclass
class PageRun:
    """What one script run sent: its time, its texts and the widgets it drew."""

    seconds: float
    texts: list[str] = field(default_factory=list)
    widgets: dict[str, Any] = field(default_factory=dict)  # user key -> the widget's proto
    exceptions: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # the kind of every element drawn, in order
    n_messages: int = 0
    n_bytes: int = 0


class LightSession:
    """One app session over a websocket: open, navigate, set a widget, close.

    Examples
    --------
    ``async with LightSession("http://127.0.0.1:8501") as s: run = await s.open()``
    """

    def __init__(self, url: str, *, timeout_s: float = 600.0) -> None:
        u = urlparse(url)
        if u.hostname not in ("127.0.0.1", "localhost", "::1"):
            msg = f"the light client only talks to loopback, not {u.hostname}"
            raise ValueError(msg)
        self.ws_url = f"ws://{u.hostname}:{u.port}/_stcore/stream"
        self.timeout_s = timeout_s
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.page_hash = ""
        self.widget_ids: dict[str, str] = {}  # user key -> widget id
        self._states: dict[str, Any] = {}  # widget id -> (field, value)
        self._ws: Any = None

    async def __aenter__(self) -> LightSession:
        self._ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                            open_timeout=self.timeout_s)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the websocket (the server then ends the session)."""
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def _rerun(self) -> PageRun:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = ""
        cs.page_script_hash = self.page_hash
        for wid, (fld, value) in self._states.items():
            w = cs.widget_states.widgets.add()
            w.id = wid
            setattr(w, fld, value)
        t0 = time.perf_counter()
        await self._ws.send(msg.SerializeToString())
        run = PageRun(0.0)
        while True:
            raw = await asyncio.wait_for(self._ws.recv(), timeout=self.timeout_s)
            run.n_messages += 1
            run.n_bytes += len(raw)
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in fm.navigation.app_pages}
                self.page_hash = fm.navigation.page_script_hash or self.page_hash
            elif kind == "delta":
                self._keep(fm, run)
            elif kind == "script_finished":
                run.seconds = time.perf_counter() - t0
                return run

    def _keep(self, fm: ForwardMsg, run: PageRun) -> None:
        d = fm.delta
        if d.WhichOneof("type") != "new_element":
            return
        el = d.new_element
        kind = el.WhichOneof("type")
        run.kinds.append(str(kind))
        if kind in _TEXT_FIELDS:
            text = getattr(getattr(el, kind), _TEXT_FIELDS[kind], "")
            if text:
                run.texts.append(str(text))
        elif kind == "exception":
            run.exceptions.append(f"{el.exception.type}: {el.exception.message}")
        elif kind in _WIDGETS:
            w = getattr(el, kind)
            wid = str(getattr(w, "id", ""))
            key = wid.rsplit("-", 1)[-1] if wid.startswith("$$ID") else wid
            self.widget_ids[key] = wid
            run.widgets[key] = w
            if getattr(w, "label", ""):
                run.texts.append(str(w.label))

    async def open(self) -> PageRun:
        """Load the default page (as a browser opening the app's address)."""
        return await self._rerun()

    async def goto(self, url_pathname: str) -> PageRun:
        """Go to a page by its address (``"map"``, ``"overview"``...)."""
        self.page_hash = self.pages[url_pathname]
        return await self._rerun()

    async def choose(self, key: str, option: str) -> PageRun:
        """Choose ``option`` (its label as shown) in the selectbox with user key ``key``; rerun."""
        self._states[self.widget_ids[key]] = ("string_value", option)
        return await self._rerun()
