"""Command line: list services, compute coverage, list gaps by place, plan, write reports (``python -m gisapp ...``).

Every text it shows comes from the catalogue of the language chosen by ``--lang`` (default
Chinese; ``GISAPP_LANG`` sets another default): the help, argparse's own words ("usage:",
"options", "the following arguments are required", "invalid choice" ...), the headers of
the tables it prints and of the CSV files it writes, and its messages.  The help is built
before the arguments are parsed, so its language is read from ``argv`` first.  File errors
name the file, never its folder.  The CSV files are UTF-8 with a byte-order mark (Excel shows
Chinese) and hold the same numbers in every language; only their headers follow ``--lang``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from gisapp._errors import GisAppError, WorkspaceError
from gisapp.i18n import LANGS, Term, has_text, t

__all__ = ["build_parser", "main"]

#: the environment variable that sets the default language of the command line
LANG_ENV = "GISAPP_LANG"
#: rows of the gap list printed on screen by default (the CSV holds them all)
TOP_ROWS = 20
#: the sub-commands, in the order of the help
COMMANDS = ("services", "coverage", "gaps", "pipeline", "scenario", "suggest", "report", "indicators", "grid-store")
#: the planning models of ``suggest --model`` (as gisapp.planning.models.MODELS, which the command line does not import
#: before it runs)
_MODELS = ("mclp", "lscp", "p_median", "p_center", "closures", "mixed")


def argv_lang(argv: Sequence[str] | None = None) -> str:
    """Return the language asked for by ``--lang`` in ``argv``, else ``$GISAPP_LANG``, else "zh".

    Examples
    --------
    >>> argv_lang(["--lang", "en", "--help"]), argv_lang(["--lang=en"]), argv_lang(["services"])
    ('en', 'en', 'zh')
    """
    args = list(sys.argv[1:] if argv is None else argv)
    lang = os.environ.get(LANG_ENV, "zh")
    for i, a in enumerate(args):
        if a == "--lang" and i + 1 < len(args):
            lang = args[i + 1]
        elif a.startswith("--lang="):
            lang = a.split("=", 1)[1]
    return lang if lang in LANGS else "zh"


# ---- argparse in the user's language ------------------------------------------------------------
#: argparse's own messages (its gettext message ids, Python 3.11-3.13) -> (catalogue key, its
#: placeholders as argparse's %-fields).  A message not listed stays as argparse writes it.
_ARGPARSE_TEXTS: dict[str, tuple[str, dict[str, str]]] = {
    "usage: ": ("cli.usage", {}),
    "positional arguments": ("cli.positionals", {}),
    "options": ("cli.options", {}),
    "show this help message and exit": ("cli.help.help", {}),
    "argument %(argument_name)s: %(message)s": ("cli.ap.argument", {"name": "%(argument_name)s",
                                                                    "message": "%(message)s"}),
    "%(prog)s: error: %(message)s\n": ("cli.ap.error", {"prog": "%(prog)s", "message": "%(message)s"}),
    "the following arguments are required: %s": ("cli.ap.required", {"names": "%s"}),
    "one of the arguments %s is required": ("cli.ap.one_required", {"names": "%s"}),
    "not allowed with argument %s": ("cli.ap.not_allowed_with", {"other": "%s"}),
    "unrecognized arguments: %s": ("cli.ap.unrecognized", {"args": "%s"}),
    "ignored explicit argument %r": ("cli.ap.ignored_value", {"value": "%r"}),
    "expected one argument": ("cli.ap.expected_one", {}),
    "expected at most one argument": ("cli.ap.expected_at_most_one", {}),
    "expected at least one argument": ("cli.ap.expected_at_least_one", {}),
    "expected %s argument": ("cli.ap.expected_n", {"n": "%s"}),
    "expected %s arguments": ("cli.ap.expected_n", {"n": "%s"}),
    "ambiguous option: %(option)s could match %(matches)s": ("cli.ap.ambiguous", {"option": "%(option)s",
                                                                                 "matches": "%(matches)s"}),
    "unexpected option string: %s": ("cli.ap.unexpected_option", {"option": "%s"}),
    "invalid %(type)s value: %(value)r": ("cli.ap.invalid_value", {"type": "%(type)s", "value": "%(value)r"}),
    "invalid choice: %(value)r (choose from %(choices)s)": ("cli.ap.invalid_choice", {"value": "%(value)r",
                                                                                     "choices": "%(choices)s"}),
    "unknown parser %(parser_name)r (choices: %(choices)s)": ("cli.ap.unknown_parser", {
        "name": "%(parser_name)r", "choices": "%(choices)s"}),
}


def argparse_text(msgid: str, lang: str) -> str:
    """Return argparse's message ``msgid`` in ``lang``, still a %-template for argparse to fill.

    Examples
    --------
    >>> argparse_text("the following arguments are required: %s", "zh") % "--out/-o"
    '缺少必需的参数：--out/-o'
    >>> argparse_text("some message argparse may add one day", "zh")
    'some message argparse may add one day'
    """
    entry = _ARGPARSE_TEXTS.get(msgid)
    if entry is None:
        return msgid
    key, fields = entry
    marks = {name: f"\x00{name}\x00" for name in fields}
    text = t(key, lang, **marks).replace("%", "%%")  # a literal % of the catalogue stays literal
    for name, spec in fields.items():
        text = text.replace(marks[name], spec)
    return text


@contextlib.contextmanager
def _argparse_in(lang: str) -> Iterator[None]:
    """Make argparse write its own messages in ``lang`` while the block runs (English: argparse's own)."""
    if lang == "en":
        yield
        return
    old_gettext, old_ngettext = getattr(argparse, "_"), getattr(argparse, "ngettext")  # noqa: B009

    def gettext(msgid: str) -> str:
        return argparse_text(msgid, lang)

    def ngettext(singular: str, plural: str, n: int) -> str:
        return argparse_text(singular if n == 1 else plural, lang)

    setattr(argparse, "_", gettext)  # noqa: B010 - argparse reads its texts through this module global
    setattr(argparse, "ngettext", ngettext)  # noqa: B010
    try:
        yield
    finally:
        setattr(argparse, "_", old_gettext)  # noqa: B010
        setattr(argparse, "ngettext", old_ngettext)  # noqa: B010


class _Formatter(argparse.HelpFormatter):
    """Argparse's help formatter with the "usage:" prefix from the catalogue of ``lang``."""

    def __init__(self, prog: str, *, lang: str = "zh") -> None:
        super().__init__(prog)
        self.lang = lang

    def add_usage(self, usage: str | None, actions: Any, groups: Any, prefix: str | None = None) -> None:  # noqa: D102
        super().add_usage(usage, actions, groups, t("cli.usage", self.lang) if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """An argument parser that writes its help, usage and errors in ``lang``."""

    def __init__(self, *args: Any, lang: str = "zh", **kwargs: Any) -> None:
        self.lang = lang
        kwargs.setdefault("formatter_class", functools.partial(_Formatter, lang=lang))
        kwargs["add_help"] = False
        with _argparse_in(lang):
            super().__init__(*args, **kwargs)
        self._positionals.title = t("cli.positionals", lang)
        self._optionals.title = t("cli.options", lang)
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=t("cli.help.help", lang))

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:  # noqa: D102
        with _argparse_in(self.lang):
            return super().parse_known_args(args, namespace)

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:  # noqa: D102
        with _argparse_in(self.lang):
            return super().parse_args(args, namespace)

    def format_usage(self) -> str:  # noqa: D102
        with _argparse_in(self.lang):
            return super().format_usage()

    def format_help(self) -> str:  # noqa: D102
        with _argparse_in(self.lang):
            return super().format_help()

    def error(self, message: str) -> Any:  # noqa: D102
        with _argparse_in(self.lang):
            return super().error(message)


def _typed(convert: Callable[[str], Any], key: str, lang: str) -> Callable[[str], Any]:
    """Return ``convert`` under the name argparse shows for a bad value ("不是有效的整数")."""
    def conv(text: str) -> Any:
        return convert(text)

    conv.__name__ = t(key, lang)
    return conv


def _sub(sub: Any, name: str, lang: str) -> argparse.ArgumentParser:
    """Add the sub-command ``name`` (help ``cli.help.<name>``) with localised headings."""
    sp: argparse.ArgumentParser = sub.add_parser(name, help=t(f"cli.help.{name}", lang),
                                                 description=t(f"cli.help.{name}", lang), lang=lang)
    return sp


# ---- tables --------------------------------------------------------------------------------------
def _whole_people(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a coverage table with whole people: covered and uncovered rounded so that rows add up, population their sum."""
    from gisapp.metrics.people import whole

    out = frame.copy()
    cov = whole(out["covered"].to_numpy(float))
    unc = whole(out["uncovered"].to_numpy(float))
    out["covered"], out["uncovered"], out["population"] = cov, unc, cov + unc
    return out


def _header(name: object, lang: str) -> str:
    """Return a column header of the command line's tables: ``cli.col.<name>`` in ``lang`` (the name itself if none)."""
    key = f"cli.col.{name}"
    return t(key, lang) if has_text(key, lang) else str(name)


def _headed(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    return frame.rename(columns=lambda c: _header(c, lang))


def _print_table(frame: pd.DataFrame, lang: str, digits: int) -> None:
    """Print a table whose headers are already in ``lang`` (whole numbers stay whole, others get ``digits``;
    longitudes and latitudes 5)."""
    shown = frame.copy()
    for key in ("col.lon", "col.lat"):
        head = t(key, lang)
        if head in shown.columns:
            shown[head] = [f"{v:.5f}" for v in shown[head].to_numpy(float)]
    with pd.option_context("display.unicode.east_asian_width", lang == "zh"):  # align Chinese headers
        print(shown.to_string(index=False, float_format=lambda v: f"{v:,.{digits}f}"))


def _write_csv(frame: pd.DataFrame, dest: Path) -> None:
    """Write ``frame`` as CSV (UTF-8 with a byte-order mark, so that Excel shows Chinese; no index), atomically."""
    from gisapp.io.atomic import write_csv

    write_csv(frame, dest)


def _item(item: str, text: object, lang: str) -> str:
    """Return ``item: text`` with the colon of ``lang`` (a full-width one in Chinese)."""
    return f"{item}{'：' if lang == 'zh' else ': '}{text}"


def _load(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Load the workspace and print its notices (e.g. empty capacities read as 0) to stderr, in ``--lang``."""
    from gisapp.workspace import load_workspace

    ws = load_workspace(args.workspace)
    for notice in ws.notices:
        print(t("cli.notice_prefix", args.lang) + notice.render(args.lang, full_path=False).removeprefix("- "),
              file=sys.stderr)
    return ws


def _check_out(args: argparse.Namespace) -> None:
    """Make sure ``--out`` can be written before any work starts (a folder; for ``gaps`` a CSV file)."""
    from gisapp.io.workspace_file import check_output_file, check_output_folder

    out = getattr(args, "out", None)
    if not out:
        return
    if args.command in ("gaps", "indicators"):
        check_output_file(out)
    elif args.command == "grid-store":  # a store (a folder) replaced whole when complete
        check_output_folder(Path(out).parent)
    else:
        check_output_folder(out)


def _cmd_services(args: argparse.Namespace) -> int:
    from gisapp.config.spec import default_workspace_path
    from gisapp.io.workspace_file import read_workspace

    spec = read_workspace(args.workspace or default_workspace_path())
    lang = args.lang
    print(f"{spec.title(lang)}  [{spec.path.name}]")
    for name, s in spec.services.items():
        std = s.standard.label(lang)
        if s.rural_standard is not None:
            std += t("cli.rural_standard", lang, standard=s.rural_standard.label(lang))
        norm = (t("cli.norm", lang, capacity=Term(f"cap.{s.capacity}", str(s.capacity)), norm=f"{s.norm_per_1000:g}")
                if s.norm_per_1000 else "")
        print(f"{name:<18} {s.title(lang)}  {std}{norm}")
        for k, v in s.source_items(lang, labels=True):
            print(f"{'':<18}   " + _item(k, v, lang))
    return 0


def _positive_int(text: str) -> int:
    v = int(text)
    if v < 1:
        raise ValueError(text)
    return v


def _task_progress(key: str, lang: str) -> Callable[[int, int], None]:
    """A progress callback that prints ``key`` (with ``done`` and ``total``) to stderr every tenth of the way."""
    step = {"next": 0.0}

    def progress(done: int, total: int) -> None:
        if done / max(total, 1) >= step["next"] or done == total:
            print(t(key, lang, done=done, total=total), file=sys.stderr, flush=True)
            step["next"] = done / max(total, 1) + 0.1

    return progress


def _engine(args: argparse.Namespace, *, keep_cost: bool) -> dict[str, Any]:
    """The engine arguments of run_service from --engine, --scheduler, --workers, --tile, --memory-limit."""
    engine = getattr(args, "engine", "local")
    if engine != "dask":
        return {"engine": "local", "keep_cost": keep_cost}
    from gisapp.metrics.dask_engine import DEFAULT_TILE, DaskRun

    lang = args.lang
    progress = _task_progress("cli.dask_progress", lang)
    return {"engine": "dask", "dask": DaskRun(scheduler=args.scheduler, workers=args.workers,
                                              memory_limit=args.memory_limit, tile=args.tile or DEFAULT_TILE,
                                              keep_cost=keep_cost, progress=progress)}


@contextlib.contextmanager
def _one_cluster(kw: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The engine arguments with one cluster for the whole command (not one per step)."""
    run = kw.get("dask")
    if run is None or run.scheduler is not None:
        yield kw
        return
    from gisapp.metrics.dask_engine import client_for

    with client_for(run) as client:
        yield {**kw, "dask": dataclasses.replace(run, scheduler=client)}


def _write_coverage(ws: Any, by_district: pd.DataFrame, gaps: Any, out: Path, lang: str) -> None:
    """Write the district table and the gap areas of ``coverage`` and print what the user reads."""
    from gisapp.io.atomic import write_layers
    from gisapp.io.layers import role_term

    table = _headed(_whole_people(by_district), lang)
    _write_csv(table, out / "coverage_by_district.csv")
    # an empty layer is written too (as before), with no geometry type
    write_layers(out / "gaps.gpkg", {"gaps": gaps}, options={"gaps": {"geometry_type": "Unknown"}} if gaps.empty else None)
    tot = table.iloc[:, 2:5].sum()
    for row in ws.provenance():
        status = Term(f"cli.status.{row['status']}", row["status"]).text(lang)
        print(f"[{status}] " + _item(role_term(row["layer"]).text(lang), row[lang] or row["source"], lang))
    _print_table(table, lang, 1)
    print(t("cli.coverage_total", lang, population=f"{tot.iloc[0]:,.0f}", covered=f"{tot.iloc[1]:,.0f}",
            uncovered=f"{tot.iloc[2]:,.0f}", gaps=f"{len(gaps):,}", out=out))


def _cmd_coverage(args: argparse.Namespace) -> int:
    from gisapp.metrics import gaps as _gaps
    from gisapp.metrics import tables as _tables
    from gisapp.metrics.service import run_service

    if getattr(args, "grid_store", None):  # the cells stay on disk: chunked tasks read their windows
        return _coverage_chunked(args)
    ws = _load(args)
    # the pairs (which set the limit of one machine) are gathered only when capacity-limited
    # coverage needs them; on one machine that is the whole matrix, with dask the workers hold them
    need_pairs = True
    if args.service in ws.spec.services:
        from gisapp.metrics.served import people_per_unit

        need_pairs = math.isfinite(people_per_unit(ws.spec.services[args.service], ws.spec.demand_groups)[0])
    out = Path(args.out)
    lang = args.lang
    with _one_cluster(_engine(args, keep_cost=need_pairs and getattr(args, "engine", "local") == "local")) as kw:
        if kw["engine"] == "dask" and need_pairs:  # the workers keep the catchments for the capacity pass
            kw = {**kw, "dask": dataclasses.replace(kw["dask"], hold={})}
        res = run_service(ws, args.service, travel=args.travel, **kw)
        if kw["engine"] == "dask":  # district sums and gap areas reduced per tile, on the same cluster
            red = _gaps.reduce_by_tile(ws, res, kw["dask"])
            by_district = _tables.coverage_from_sums(ws, red.district_pop, red.district_covered)
            gaps = _gaps.gap_polygons(ws, res, tiles=red)
        else:
            by_district = _tables.coverage_by_district(ws, res)
            gaps = _gaps.gap_polygons(ws, res)
        served = None
        if res.service.capacity:  # issue 11: people served within capacity (AccessMod style)
            from gisapp.metrics.served import served_within_capacity

            # with dask the workers hold the catchments while the sweep runs here
            served = served_within_capacity(ws, res, tiles=kw.get("dask"))
        if kw.get("dask") is not None:
            from gisapp.metrics.dask_engine import release_held

            release_held(kw["dask"])
    _write_coverage(ws, by_district, gaps, out, lang)
    if served is not None:
        from gisapp.metrics.served import served_total_text, served_whole

        print(t("served.title", lang))
        if served.applicable:
            st_table = _headed(served_whole(served), lang)
            _write_csv(st_table, out / "served_by_district.csv")
            _print_table(st_table, lang, 1)
            print(served_total_text(served, lang))
        for line in served.texts(lang):
            print(line)
    return 0


def _workspace_path(args: argparse.Namespace) -> str:
    from gisapp.config.spec import default_workspace_path

    return str(args.workspace) if args.workspace else str(default_workspace_path())


def _cmd_grid_store(args: argparse.Namespace) -> int:
    from gisapp.metrics.chunked import build_grid_store

    lang = args.lang
    store, notices = build_grid_store(_workspace_path(args), args.out, chunk=args.chunk,
                                      progress=_task_progress("cli.grid_store_progress", lang))
    for pr in notices:
        print(f"{Path(pr.file).name}: {pr.text(lang)} {pr.fix_text(lang)}")
    print(t("cli.grid_store_done", lang, path=store.path, rows=f"{store.shape[0]:,}", cols=f"{store.shape[1]:,}",
            chunk=store.chunk, people=f"{store.source_population - store.outside_pop:,.0f}"))
    return 0


def _coverage_chunked(args: argparse.Namespace) -> int:
    """``coverage --grid-store``: the tables and gap areas from a grid store (:mod:`gisapp.metrics.chunked`)."""
    from gisapp.io.grid_store import open_grid_store
    from gisapp.metrics import gaps as _gaps
    from gisapp.metrics.chunked import run_chunked
    from gisapp.metrics.dask_engine import DaskRun

    lang = args.lang
    run = _engine(args, keep_cost=False).get("dask") or DaskRun(inline=True, keep_cost=False)
    # the tile: --tile, else the store's chunk (each task then reads whole chunks)
    run = dataclasses.replace(run, tile=args.tile or open_grid_store(args.grid_store).chunk)
    out = Path(args.out)
    with _one_cluster({"dask": run} if not run.inline else {}) as k2:
        run = k2.get("dask", run)
        res = run_chunked(_workspace_path(args), args.grid_store, args.service, run=run, travel=args.travel,
                          out_store=out / "cells.zarr")
    _write_coverage(res.workspace, res.by_district, _gaps.tile_gap_polygons(res.workspace, res.tiles), out, lang)
    print(t("cli.chunked_cells", lang, cells=f"{res.cells:,}", tasks=f"{sum(res.tasks.values()):,}",
            path=out / "cells.zarr"))
    if res.service.capacity:
        print(t("served.title", lang))
        print(t("cli.chunked_no_served", lang))
    return 0


def _cmd_gaps(args: argparse.Namespace) -> int:
    from gisapp.metrics.gaps import gap_place_export
    from gisapp.metrics.places import gap_places, has_places
    from gisapp.metrics.service import run_service

    ws = _load(args)
    lang = args.lang
    if not has_places(ws):
        raise GisAppError(code="gaps_need_places")
    res = run_service(ws, args.service, travel=args.travel, **_engine(args, keep_cost=False))
    places = gap_places(ws, res)
    table = gap_place_export(places, lang)
    if args.out:
        _write_csv(table, Path(args.out))
    print(t("cli.gaps_header", lang, service=res.service.title(lang), places=f"{len(places):,}",
            people=f"{int(places['people'].sum()) if len(places) else 0:,}"))
    top = max(int(args.top), 0)
    _print_table(table.head(top), lang, 1)
    rest = len(table) - min(top, len(table))
    if rest > 0:
        print(t("cli.gaps_more", lang, n=f"{rest:,}") if not args.out else t("cli.gaps_more_in_file", lang, n=f"{rest:,}"))
    if args.out:
        print(t("cli.written", lang, out=Path(args.out).name))
    return 0


def _cmd_pipeline(args: argparse.Namespace) -> int:
    from gisapp.metrics import gaps as _gaps
    from gisapp.metrics import tables as _tables
    from gisapp.metrics.service import run_service
    from gisapp.workspace import load_workspace

    t0 = time.perf_counter()
    ws = load_workspace(args.workspace)
    t1 = time.perf_counter()
    names = args.services or list(ws.spec.services)
    with _one_cluster(_engine(args, keep_cost=False)) as kw:
        for name in names:
            s0 = time.perf_counter()
            res = run_service(ws, name, travel=args.travel, **kw)
            s1 = time.perf_counter()
            tiles = kw.get("dask")
            if tiles is not None:  # district sums and gap areas reduced per tile, on the same cluster
                red = _gaps.reduce_by_tile(ws, res, tiles, trace=False)
                _tables.coverage_from_sums(ws, red.district_pop, red.district_covered)
            else:
                _tables.coverage_by_district(ws, res)
            _tables.capacity_by_district(ws, res)
            _tables.coverage_by_class(ws, res)
            s2 = time.perf_counter()
            gaps = _gaps.gap_areas(ws, res, tiles=red if tiles is not None else None)
            s3 = time.perf_counter()
            print(json.dumps({"service": name, "cells": ws.grid.n, "facilities": int(res.facility_idx.size),
                              "engine": res.engine, "pairs": int(res.timings_s.get("pairs", res.cost.nnz)),
                              **{k: round(v, 4) for k, v in res.timings_s.items()},
                              "service_total_s": round(s1 - s0, 4), "districts_s": round(s2 - s1, 4),
                              "gaps_s": round(s3 - s2, 4), "gap_areas": len(gaps)}))
    print(json.dumps({"load_workspace_s": round(t1 - t0, 3), "total_s": round(time.perf_counter() - t0, 3)}))
    return 0


def _cmd_scenario(args: argparse.Namespace) -> int:
    from gisapp.planning.scenario import compare_scenarios, comparison_export, load_scenario

    ws = _load(args)
    scen = load_scenario(args.file)
    lang = args.lang
    table = comparison_export(compare_scenarios(ws, args.service, {scen.name: scen.edits}), lang)
    out = Path(args.out)
    _write_csv(table, out / "scenario_by_district.csv")
    print(t("cli.scenario_header", lang, name=scen.name, n=len(scen.edits),
            service=ws.spec.services[args.service].title(lang)))
    _print_table(table, lang, 1)
    return 0


def _cmd_suggest(args: argparse.Namespace) -> int:
    from gisapp.planning.suggest import (
        closed_export,
        curve_export,
        method_text,
        sites_export,
        suggest,
        summary_lines,
    )

    ws = _load(args)
    lang = args.lang
    model = getattr(args, "model", "mclp")
    sug = suggest(ws, args.service, k=args.k, target_share=args.target_share, candidates=args.candidates,
                  spacing_m=args.spacing_m, method=args.method, lang=lang, model=model,
                  k_close=getattr(args, "close", None), travel=getattr(args, "travel", None),
                  time_limit_s=getattr(args, "time_limit", None), progress=_progress_printer(lang))
    out = Path(args.out)
    sites = sites_export(sug, lang)
    _write_csv(sites, out / "suggested_sites.csv")
    _write_csv(curve_export(sug, lang), out / "coverage_curve.csv")
    if model in ("closures", "mixed"):
        closed = closed_export(sug, lang)
        _write_csv(closed, out / "closed_facilities.csv")
    if len(sites) or model not in ("closures",):
        _print_table(sites, lang, 2)
    if model in ("closures", "mixed"):
        _print_table(closed, lang, 2)
    note = sug.naming_note(lang)
    if note:
        print(note)
    if model == "mclp":
        print(t("cli.suggest_summary", lang, method=method_text(sug.method, lang),
                optimal=t("cli.optimal", lang) if sug.optimal else "", seconds=f"{sug.solve_time_s:.2f}",
                before=f"{sug.curve['share_pct'].iloc[0]:.1f}", after=f"{sug.curve['share_pct'].iloc[-1]:.1f}",
                out=out))
    for line in summary_lines(sug, lang):
        print(line)
    if model != "mclp":
        print(t("cli.written", lang, out=out))
    return 0


def _progress_printer(lang: str) -> Callable[[float, str], None]:
    """Return a progress callback that writes "进度：构建模型 10%" lines to stderr (each stage, then every 10 points)."""
    last: dict[str, Any] = {"stage": None, "pct": -100}

    def report(fraction: float, stage: str) -> None:
        pct = int(round(100.0 * min(max(float(fraction), 0.0), 1.0)))
        if stage == last["stage"] and pct - int(last["pct"]) < 10:
            return
        last["stage"], last["pct"] = stage, pct
        key = f"sug.stage.{stage}"
        print(t("cli.progress", lang, stage=t(key, lang) if has_text(key, lang) else stage, pct=pct),
              file=sys.stderr, flush=True)

    return report


def _check_suggest(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse (exit 2, in ``--lang``) a ``suggest`` run missing what its model needs: sites or a target, closures."""
    model, lang = args.model, getattr(parser, "lang", "en")
    if model in ("mclp", "p_median", "p_center", "mixed") and args.k is None \
            and (model != "mclp" or args.target_share is None):
        names = "--k/--p --target-share/--target" if model == "mclp" else "--k/--p"
        parser.error(argparse_text("one of the arguments %s is required", lang) % names)
    if model in ("closures", "mixed") and args.close is None:
        parser.error(argparse_text("the following arguments are required: %s", lang) % "--close")


# --- issue 14: services and years (C) ---
def _year_list(text: str) -> list[int]:
    """Read ``--years 2020,2025`` (whole years, separated by commas)."""
    years = [int(v) for v in text.replace("，", ",").split(",") if v.strip()]
    if not years:
        raise ValueError(text)
    return years


def _indicator_header(column: str, spec: Any, lang: str, index_columns: set[str]) -> str:
    """Return the header of a column of the indicators CSV in ``lang``."""
    service, _, ind = column.partition(":")
    if not ind or service not in spec.services:
        return _header(column, lang)
    if column in index_columns:  # a component of the equalisation index
        from gisapp.metrics.index import indicator_label

        return t("cli.ind.index_part", lang, label=indicator_label(spec, column, lang))
    return f"{spec.services[service].title(lang)} · {t(f'cli.ind.{ind}', lang)}"


def _cmd_indicators(args: argparse.Namespace) -> int:
    from gisapp.metrics.index import index_by_year
    from gisapp.metrics.years import indicators_by_year

    ws = _load(args)
    lang = args.lang
    years = sorted(set(args.years)) if args.years else list(ws.years)
    if not years:
        raise GisAppError(code="indicators_no_years")
    names = args.services or list(ws.spec.services)
    unknown = [n for n in names if n not in ws.spec.services]
    if unknown:
        raise GisAppError(code="unknown_service", params={"name": unknown[0], "known": ", ".join(ws.spec.services)})
    table = indicators_by_year(ws, years, services=names, travel=args.travel)
    idx = index_by_year(ws, years, lang=lang, travel=args.travel)
    index_columns = {c for c in idx.columns if c not in ("year", "district_id", "district_name")}
    table = table.merge(idx.drop(columns=["district_name"]), on=["year", "district_id"], how="left")
    out = Path(args.out)
    _write_csv(table.rename(columns=lambda c: _indicator_header(str(c), ws.spec, lang, index_columns)), out)
    print(t("cli.indicators_done", lang, rows=f"{len(table):,}", districts=f"{table['district_id'].nunique():,}",
            years=", ".join(str(y) for y in years), services=f"{len(names):,}", out=out.name))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    try:
        from gisapp.reports.write import write_report
    except ImportError as exc:  # pragma: no cover - reports module is optional during development
        raise GisAppError(code="reports_unavailable", params={"error": str(exc)}) from exc
    ws = _load(args)
    paths = write_report(ws, Path(args.out), services=args.services, lang=args.lang, progress=not args.quiet,
                         travel=args.travel)
    for p in paths:
        print(p)
    return 0


def build_parser(lang: str | None = None) -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m gisapp``, its help in ``lang`` (default: see :func:`argv_lang`)."""
    lang = lang if lang in LANGS else argv_lang()
    p = _Parser(prog="python -m gisapp", description=t("cli.description", lang), lang=lang)
    p.add_argument("--workspace", "-w", default=None, metavar=t("cli.metavar.workspace", lang),
                   help=t("cli.help.workspace", lang))
    p.add_argument("--lang", choices=list(LANGS), default=lang, help=t("cli.help.lang", lang))
    sub = p.add_subparsers(dest="command", required=True, title=t("cli.commands", lang),
                           metavar="{" + ",".join(COMMANDS) + "}")
    int_, float_ = _typed(int, "cli.type.int", lang), _typed(float, "cli.type.float", lang)
    sv = _sub(sub, "services", lang)
    c = _sub(sub, "coverage", lang)
    c.add_argument("--service", "-s", required=True, metavar=t("cli.metavar.service", lang),
                   help=t("cli.help.service", lang))
    c.add_argument("--out", "-o", required=True, metavar=t("cli.metavar.out", lang), help=t("cli.help.out", lang))
    g = _sub(sub, "gaps", lang)
    g.add_argument("--service", "-s", required=True, metavar=t("cli.metavar.service", lang),
                   help=t("cli.help.service", lang))
    g.add_argument("--out", "-o", default=None, metavar=t("cli.metavar.csv", lang), help=t("cli.help.gaps_out", lang))
    g.add_argument("--top", type=int_, default=TOP_ROWS, metavar=t("cli.metavar.rows", lang),
                   help=t("cli.help.top", lang, n=TOP_ROWS))
    pl = _sub(sub, "pipeline", lang)
    pl.add_argument("--services", nargs="*", default=None, metavar=t("cli.metavar.service", lang),
                    help=t("cli.help.service_list", lang))
    sc = _sub(sub, "scenario", lang)
    sc.add_argument("--file", "-f", required=True, metavar=t("cli.metavar.file", lang),
                    help=t("cli.help.scenario_file", lang))
    sc.add_argument("--service", "-s", required=True, metavar=t("cli.metavar.service", lang),
                    help=t("cli.help.service", lang))
    sc.add_argument("--out", "-o", required=True, metavar=t("cli.metavar.out", lang), help=t("cli.help.out", lang))
    sg = _sub(sub, "suggest", lang)
    sg.add_argument("--service", "-s", required=True, metavar=t("cli.metavar.service", lang),
                    help=t("cli.help.service", lang))
    sg.add_argument("--model", choices=list(_MODELS), default="mclp", help=t("cli.help.model", lang))
    grp = sg.add_mutually_exclusive_group()  # which one a model needs: _check_suggest
    grp.add_argument("--k", type=int_, metavar=t("cli.metavar.k", lang), help=t("cli.help.k", lang))
    grp.add_argument("--p", dest="k", type=int_, metavar=t("cli.metavar.k", lang), help=t("cli.help.p", lang))
    grp.add_argument("--target-share", type=float_, metavar=t("cli.metavar.percent", lang),
                     help=t("cli.help.target_share", lang))
    grp.add_argument("--target", dest="target_share", type=float_, metavar=t("cli.metavar.percent", lang),
                     help=t("cli.help.target", lang))
    sg.add_argument("--close", type=int_, default=None, metavar=t("cli.metavar.k", lang), help=t("cli.help.close", lang))
    sg.add_argument("--travel", choices=["straight_line", "terrain"], default=None,
                    help=t("cli.help.suggest_travel", lang))
    sg.add_argument("--time-limit", type=float_, default=None, metavar=t("cli.metavar.seconds", lang),
                    help=t("cli.help.time_limit", lang))
    sg.set_defaults(check=functools.partial(_check_suggest, sg))
    sg.add_argument("--candidates", choices=["grid", "settlements"], default="grid", help=t("cli.help.candidates", lang))
    sg.add_argument("--spacing-m", type=float_, default=None, metavar=t("cli.metavar.metres", lang),
                    help=t("cli.help.spacing_m", lang))
    sg.add_argument("--method", choices=["auto", "exact", "greedy", "heuristic"], default="auto",
                    help=t("cli.help.method", lang))
    sg.add_argument("--out", "-o", required=True, metavar=t("cli.metavar.out", lang), help=t("cli.help.out", lang))
    r = _sub(sub, "report", lang)
    r.add_argument("--out", "-o", required=True, metavar=t("cli.metavar.out", lang), help=t("cli.help.out", lang))
    r.add_argument("--services", nargs="*", default=None, metavar=t("cli.metavar.service", lang),
                   help=t("cli.help.service_list", lang))
    r.add_argument("--quiet", action="store_true", help=t("cli.help.quiet", lang))
    ind = _sub(sub, "indicators", lang)  # issue 14: indicators by district and year
    ind.add_argument("--years", type=_typed(_year_list, "cli.type.years", lang), default=None,
                     metavar=t("cli.metavar.years", lang), help=t("cli.help.years", lang))
    ind.add_argument("--services", nargs="*", default=None, metavar=t("cli.metavar.service", lang),
                     help=t("cli.help.service_list", lang))
    ind.add_argument("--out", "-o", required=True, metavar=t("cli.metavar.csv", lang),
                     help=t("cli.help.indicators_out", lang))
    gs = _sub(sub, "grid-store", lang)  # issue 12: the grid on disk, for inputs larger than memory
    gs.add_argument("--out", "-o", required=True, metavar=t("cli.metavar.zarr", lang), help=t("cli.help.grid_store_out", lang))
    gs.add_argument("--chunk", type=_typed(_positive_int, "cli.type.positive_int", lang), default=512, metavar="N",
                    help=t("cli.help.chunk", lang))
    c.add_argument("--grid-store", default=None, metavar=t("cli.metavar.zarr", lang), help=t("cli.help.grid_store", lang))
    for sp in (c, g, pl, r, ind):
        sp.add_argument("--travel", choices=["straight_line", "terrain"], default=None, help=t("cli.help.travel", lang))
    for sp in (c, g, pl):  # issue 12: the same command on a dask cluster
        sp.add_argument("--engine", choices=["local", "dask"], default="local", help=t("cli.help.engine", lang))
        sp.add_argument("--scheduler", default=None, metavar="tcp://HOST:8786", help=t("cli.help.scheduler", lang))
        sp.add_argument("--workers", type=_typed(_positive_int, "cli.type.positive_int", lang), default=None,
                        metavar="N", help=t("cli.help.workers", lang))
        sp.add_argument("--tile", type=_typed(_positive_int, "cli.type.positive_int", lang), default=None,
                        metavar="N", help=t("cli.help.tile", lang))
        sp.add_argument("--memory-limit", default=None, metavar="4GiB", help=t("cli.help.memory_limit", lang))
    for sp in (sv, c, g, pl, sc, sg, r, ind, gs):
        sp.add_argument("--workspace", "-w", default=argparse.SUPPRESS, metavar=t("cli.metavar.workspace", lang),
                        help=t("cli.help.workspace", lang))
        sp.add_argument("--lang", choices=list(LANGS), default=argparse.SUPPRESS, help=t("cli.help.lang", lang))
    return p


def _fail(text: str, lang: str) -> int:
    print(t("cli.error_prefix", lang) + text, file=sys.stderr)
    return 1


def _file_error(exc: OSError, lang: str) -> str:
    """Return what went wrong with a file, naming the file (not its folder) and the fix, in ``lang``."""
    name = Path(str(exc.filename)).name if exc.filename else "?"
    if isinstance(exc, FileNotFoundError):
        return t("cli.file_not_found", lang, name=name)
    if isinstance(exc, IsADirectoryError):
        return t("cli.is_a_directory", lang, name=name)
    if isinstance(exc, NotADirectoryError):
        return t("cli.not_a_directory", lang, name=name)
    if isinstance(exc, PermissionError):
        return t("cli.permission_denied", lang, name=name)
    return t("cli.os_error", lang, name=name, errno=exc.errno if exc.errno is not None else "?")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (1 with a clear message on bad input, 2 on bad arguments)."""
    args = build_parser(argv_lang(argv)).parse_args(argv)
    handlers = {"services": _cmd_services, "coverage": _cmd_coverage, "gaps": _cmd_gaps, "pipeline": _cmd_pipeline,
                "scenario": _cmd_scenario, "suggest": _cmd_suggest, "report": _cmd_report,
                "indicators": _cmd_indicators, "grid-store": _cmd_grid_store}
    lang = args.lang
    check = getattr(args, "check", None)
    if check is not None:  # what a sub-command's options need of each other (exit 2 like argparse)
        check(args)
    try:
        _check_out(args)
        return handlers[args.command](args)
    except WorkspaceError as exc:  # lists its problems, each with its file (name only), field and fix
        return _fail(exc.text(lang, full_path=False), lang)
    except GisAppError as exc:
        return _fail(exc.text(lang), lang)
    except BrokenPipeError:  # the reader of the output left (e.g. ``| head``): nothing is wrong
        sys.stdout = None  # no flush into the closed pipe at exit
        return 0
    except OSError as exc:
        return _fail(_file_error(exc, lang), lang)
