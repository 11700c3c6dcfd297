"""report.html from the jinja2 templates: user text is escaped, in the page and in its embedded maps."""

from __future__ import annotations

import html
import json
import re
import shutil

import pytest

from gisapp.reports import html as report_html
from gisapp.workspace import load_workspace
from tests.conftest import TINY

GENERATED = "2024-06-01 12:00"
FACILITY = "<script>alert(1)</script>"
DISTRICT = "<img src=x onerror=alert(2)>"
TITLE = "</title><script>alert(3)</script>"
SOURCE = "<b onmouseover=alert(4)>guide</b>"
SCENARIO = "<i>close</i> & 'C2'"


@pytest.fixture(scope="module")
def hostile_page(tmp_path_factory):
    """The HTML report of a copy of the tiny workspace whose names and sources hold markup."""
    from gisapp.planning.scenario import Edit
    from gisapp.reports.write import write_report

    d = tmp_path_factory.mktemp("hostile") / "ws"
    shutil.copytree(TINY.parent, d)
    gj = json.loads((d / "districts.geojson").read_text(encoding="utf-8"))
    gj["features"][0]["properties"]["name"] = DISTRICT
    (d / "districts.geojson").write_text(json.dumps(gj, ensure_ascii=False), encoding="utf-8")
    csv = (d / "facilities.csv").read_text(encoding="utf-8").replace("甲卫生院", FACILITY)
    (d / "facilities.csv").write_text(csv, encoding="utf-8")
    spec = (d / "workspace.yaml").read_text(encoding="utf-8")
    spec = spec.replace("title: {zh: 测试区, en: Test area}", f"title: {{zh: {json.dumps(TITLE)}, en: x}}")
    spec = spec.replace("source: {standard: test", f"source: {{standard: {json.dumps(SOURCE)}")
    assert SOURCE in spec
    (d / "workspace.yaml").write_text(spec, encoding="utf-8")
    ws = load_workspace(d / "workspace.yaml")
    assert FACILITY in set(ws.facilities["name"]) and DISTRICT in set(ws.districts["district_name"])
    out = d.parent / "out"
    (path,) = write_report(ws, out, formats=("html",), services=["clinic"], progress=False,
                           generated=GENERATED, scenarios={SCENARIO: [Edit("close", "C2")]})
    return path.read_text(encoding="utf-8")


def _split(page: str) -> tuple[str, list[str]]:
    """Return the page without its map documents, and the map documents (unescaped)."""
    docs = [html.unescape(d) for d in re.findall(r'srcdoc="([^"]*)"', page)]
    return re.sub(r'srcdoc="[^"]*"', 'srcdoc=""', page), docs


@pytest.mark.parametrize("text", [FACILITY, DISTRICT, TITLE, SOURCE, SCENARIO])
def test_hostile_text_never_reaches_the_page_as_markup(hostile_page, text):
    outer, _ = _split(hostile_page)
    assert text not in outer


@pytest.mark.parametrize("text", [DISTRICT, TITLE, SOURCE, SCENARIO])
def test_hostile_text_is_shown_escaped(hostile_page, text):
    outer, _ = _split(hostile_page)
    assert html.escape(text, quote=False) in outer.replace("&#39;", "'").replace("&#34;", '"')


def test_only_our_own_scripts_run_in_the_page(hostile_page):
    outer, docs = _split(hostile_page)
    assert "<script" not in outer, "the page itself has no script; the maps live in their iframes"
    assert len(docs) == 1
    for text in (FACILITY, DISTRICT, TITLE, SOURCE):
        assert text not in docs[0]


def test_names_in_the_map_are_escaped_before_the_tooltips_show_them(hostile_page):
    _, (doc,) = _split(hostile_page)
    # folium's tooltips and Leaflet's layer control insert text as HTML: the GeoJSON must
    # carry the names HTML-escaped (then JSON-escaped), never as markup
    for text in (FACILITY, DISTRICT):
        assert json.dumps(text)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e") not in doc
        assert json.dumps(text)[1:-1] not in doc
        escaped = json.dumps(html.escape(text))[1:-1]
        assert escaped.replace("&", "\\u0026") in doc or escaped in doc


def test_the_templates_escape_by_default():
    env = report_html.ENV
    assert env.autoescape is not False
    for name in env.list_templates():
        tpl = env.get_template(name)
        assert tpl.environment.autoescape is not False
    out = env.from_string("<p>{{ x }}</p>").render(x="<b>&</b>")
    assert out == "<p>&lt;b&gt;&amp;&lt;/b&gt;</p>"


def test_the_html_writer_escapes_nothing_by_hand():
    src = report_html.__file__
    with open(src, encoding="utf-8") as fh:
        text = fh.read()
    assert "html.escape" not in text and "import html" not in text
    assert not re.search(r"""f["'][^"'\n]*<(?:/?[a-z]+)[^"'\n]*\{""", text), "no HTML built from f-strings"
