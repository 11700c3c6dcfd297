"""Write coverage reports: report.html, coverage.xlsx, layers.gpkg and report.pdf.

:func:`write_report` computes every chosen service once (:func:`gisapp.reports.data.collect`),
draws the charts once for the HTML and PDF pages (:mod:`gisapp.reports.charts`), and hands the
report data to one writer per format: :mod:`~gisapp.reports.html`, :mod:`~gisapp.reports.xlsx`,
:mod:`~gisapp.reports.gpkg` and :mod:`~gisapp.reports.pdf`.  Each writer builds its file in
memory; the files are written as one set by :func:`gisapp.io.atomic.atomic_files`: the new
files replace the old ones only when every one of them is complete, so a failed or interrupted
export leaves the previous set in place.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from gisapp._errors import GisAppError
from gisapp.config.spec import Standard
from gisapp.i18n import t
from gisapp.io.atomic import atomic_files
from gisapp.io.workspace_file import check_output_folder
from gisapp.reports.charts import all_charts, find_cjk_font
from gisapp.reports.data import check_lang, check_services, collect
from gisapp.reports.gpkg import gpkg_layers, gpkg_options
from gisapp.reports.html import render_html
from gisapp.reports.pdf import pdf_bytes
from gisapp.reports.xlsx import xlsx_bytes
from gisapp.workspace import Workspace

__all__ = ["FILE_NAMES", "FORMATS", "ProgressCallback", "write_report"]

#: The outputs and their file names, in the order they are written and returned.
FILE_NAMES: Final = {"html": "report.html", "xlsx": "coverage.xlsx", "gpkg": "layers.gpkg",
                     "pdf": "report.pdf"}
FORMATS: Final = tuple(FILE_NAMES)

ProgressCallback = Callable[[float, str], None]


class _Progress:
    """Drive a tqdm bar and an optional ``on_progress(fraction, message)`` callback."""

    def __init__(self, total: int, *, enabled: bool, callback: ProgressCallback | None, desc: str) -> None:
        from tqdm.auto import tqdm

        self.total, self.done, self.callback = total, 0, callback
        self.bar = tqdm(total=total, disable=not enabled, desc=desc, unit="step", leave=True)

    def message(self, msg: str) -> None:
        self.bar.set_postfix_str(msg, refresh=True)
        if self.callback:
            self.callback(self.done / self.total, msg)

    def step(self, msg: str) -> None:
        self.done += 1
        self.bar.update(1)
        self.bar.set_postfix_str(msg, refresh=False)
        if self.callback:
            self.callback(min(1.0, self.done / self.total), msg)

    def close(self) -> None:
        self.bar.close()


def _check_formats(formats: Sequence[str]) -> list[str]:
    fmts = [f for f in FORMATS if f in set(formats)]
    bad = sorted(set(formats) - set(FORMATS))
    if bad or not fmts:
        raise GisAppError(code="report_formats",
                          params={"known": ", ".join(FORMATS), "got": ", ".join(map(str, formats))})
    return fmts


def _output_folder(out_dir: str | Path) -> Path:
    """Create ``out_dir`` if needed and make sure files can be written into it (before any computation).

    Raises :class:`GisAppError` with a code of :func:`gisapp.io.workspace_file.check_output_folder`
    (``output_is_file``, ``output_no_permission`` ...), naming the folder without its parents.
    """
    return check_output_folder(out_dir)


def write_report(ws: Workspace, out_dir: str | Path, *, services: Sequence[str] | None = None,
                 lang: str = "zh", progress: bool = True, on_progress: ProgressCallback | None = None,
                 formats: Sequence[str] = FORMATS, generated: str | _dt.datetime | None = None,
                 base_tiles: bool = True, travel: str | None = None,
                 standards: Mapping[str, Standard] | None = None,
                 scenarios: Mapping[str, Sequence[Any]] | None = None) -> list[Path]:
    """Compute the chosen services and write the report files into ``out_dir``.

    Parameters
    ----------
    ws
        The loaded workspace.
    out_dir
        Output folder (created if needed).
    services
        Service names (default: all services of the workspace).
    lang
        "zh" or "en": language of the text, headers and sheet names.
    progress
        Show a tqdm progress bar on stderr.
    on_progress
        Called as ``on_progress(fraction, message)`` after each step (fraction 0-1), e.g. to
        drive a Streamlit progress bar.
    formats
        Which files to write, a subset of ``("html", "xlsx", "gpkg", "pdf")``.
    generated
        The time stamp printed on the reports (default: now); fix it for reproducible files.
    base_tiles
        Offer OpenStreetMap base tiles (switched off by default, need a network) on the
        interactive map.
    travel, standards, scenarios
        As in :func:`gisapp.reports.data.collect`.

    Returns
    -------
    list of Path
        The files written, in the order html, xlsx, gpkg, pdf (those requested).

    Raises
    ------
    GisAppError
        For an unknown service, language or format, an output folder that cannot be created,
        or when no CJK font is installed for the PDF and the charts (all before any computation).

    Notes
    -----
    Every file is first written to a temporary file in ``out_dir``; the temporary files
    replace the targets only after all of them are complete.  If any step fails, the files
    already in ``out_dir`` are left exactly as they were and no temporary file remains.
    """
    fmts = _check_formats(formats)
    check_lang(lang)
    names = check_services(ws, services)
    if {"html", "pdf"} & set(fmts):
        find_cjk_font()  # fail early, before any computation
    out = _output_folder(out_dir)
    prog = _Progress(1 + len(names) + 1 + len(fmts), enabled=progress, callback=on_progress,
                     desc=t("rep.title", lang))
    try:
        prog.step(t("rep.step.load", lang))
        data = collect(ws, names, lang=lang, generated=generated, step=prog.step, travel=travel,
                       standards=standards, scenarios=scenarios)
        charts: dict[str, dict[str, bytes]] | None = None
        paths: list[Path] = []
        with atomic_files(out) as files:
            for fmt in fmts:
                name = FILE_NAMES[fmt]
                prog.message(t(f"rep.step.{fmt}", lang))
                if fmt == "xlsx":
                    paths.append(files.add_bytes(name, xlsx_bytes(data)))
                elif fmt == "gpkg":
                    layers = gpkg_layers(data)
                    paths.append(files.add_layers(name, layers, options=gpkg_options(layers, lang)))
                else:
                    charts = charts if charts is not None else all_charts(data)
                    if fmt == "html":
                        paths.append(files.add_text(name, render_html(data, charts=charts,
                                                                        base_tiles=base_tiles)))
                    else:
                        paths.append(files.add_bytes(name, pdf_bytes(data, charts=charts)))
                prog.step(t(f"rep.step.{fmt}", lang))
        prog.message(t("rep.step.done", lang))
        return paths
    finally:
        prog.close()

