"""Command line: list services, compute coverage, write reports (``python -m gisapp ...``).

Every text it shows (help, headers, messages, problems) comes from the catalogue of the
language chosen by ``--lang`` (default Chinese; ``GISAPP_LANG`` sets another default).  The
help is built before the arguments are parsed, so its language is read from ``argv`` first.
Output files (names and contents) do not depend on the language.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from gisapp._errors import GisAppError
from gisapp.i18n import LANGS, Term, has_text, t

__all__ = ["build_parser", "main"]

#: the environment variable that sets the default language of the command line
LANG_ENV = "GISAPP_LANG"


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


class _Formatter(argparse.HelpFormatter):
    """Argparse's help formatter with the "usage:" prefix from the catalogue of ``lang``."""

    def __init__(self, prog: str, *, lang: str = "zh") -> None:
        super().__init__(prog)
        self.lang = lang

    def add_usage(self, usage: str | None, actions: Any, groups: Any, prefix: str | None = None) -> None:  # noqa: D102
        super().add_usage(usage, actions, groups, t("cli.usage", self.lang) if prefix is None else prefix)


def _parser(lang: str, **kwargs: Any) -> argparse.ArgumentParser:
    """Return an argument parser whose headings and ``-h`` help are in ``lang``."""
    p = argparse.ArgumentParser(formatter_class=functools.partial(_Formatter, lang=lang), add_help=False, **kwargs)
    _localise(p, lang)
    return p


def _localise(p: argparse.ArgumentParser, lang: str) -> None:
    p._positionals.title = t("cli.positionals", lang)  # noqa: SLF001 - argparse has no public setter
    p._optionals.title = t("cli.options", lang)  # noqa: SLF001
    p.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=t("cli.help.help", lang))


def _sub(sub: Any, name: str, lang: str) -> argparse.ArgumentParser:
    """Add the sub-command ``name`` (help ``cli.help.<name>``) with localised headings."""
    sp: argparse.ArgumentParser = sub.add_parser(name, help=t(f"cli.help.{name}", lang),
                                                 description=t(f"cli.help.{name}", lang),
                                                 formatter_class=functools.partial(_Formatter, lang=lang),
                                                 add_help=False)
    _localise(sp, lang)
    return sp


def _header(name: object, lang: str) -> str:
    """Return a printed column header: ``cli.col.<name>``, and ``scenario:measure`` part by part."""
    s = str(name)
    if has_text(f"cli.col.{s}", lang):
        return t(f"cli.col.{s}", lang)
    scen, sep, measure = s.rpartition(":")
    if sep and has_text(f"cli.col.{measure}", lang):
        return _header(scen, lang) + sep + t(f"cli.col.{measure}", lang)
    return s


def _print_table(frame: pd.DataFrame, lang: str, digits: int) -> None:
    shown = frame.rename(columns=lambda c: _header(c, lang))
    with pd.option_context("display.unicode.east_asian_width", lang == "zh"):  # align Chinese headers
        print(shown.to_string(index=False, float_format=lambda v: f"{v:,.{digits}f}"))


def _write_csv(frame: pd.DataFrame, dest: Path) -> None:
    """Write ``frame`` as plain UTF-8 CSV (no BOM, no index: the bytes the command always wrote), atomically."""
    from gisapp.io.atomic import write_bytes

    write_bytes(dest, frame.to_csv(index=False).encode("utf-8"))


def _load(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from gisapp.workspace import load_workspace

    return load_workspace(args.workspace)


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
        for k, v in s.source.items():
            print(f"{'':<18}   {k}: {v}")
    return 0


def _cmd_coverage(args: argparse.Namespace) -> int:
    from gisapp.io.atomic import write_layers
    from gisapp.io.layers import role_term
    from gisapp.metrics import gaps as _gaps
    from gisapp.metrics import tables as _tables
    from gisapp.metrics.service import run_service

    ws = _load(args)
    res = run_service(ws, args.service, travel=args.travel)
    out = Path(args.out)
    table = _tables.coverage_by_district(ws, res)
    _write_csv(table, out / "coverage_by_district.csv")
    gaps = _gaps.gap_polygons(ws, res)
    # an empty layer is written too (as before), with no geometry type
    write_layers(out / "gaps.gpkg", {"gaps": gaps}, options={"gaps": {"geometry_type": "Unknown"}} if gaps.empty else None)
    tot = table[["population", "covered", "uncovered"]].sum()
    lang = args.lang
    for row in ws.provenance():
        status = Term(f"cli.status.{row['status']}", row["status"]).text(lang)
        print(f"[{status}] {role_term(row['layer']).text(lang)}: {row[lang] or row['source']}")
    _print_table(table, lang, 1)
    print(t("cli.coverage_total", lang, population=f"{tot['population']:,.0f}", covered=f"{tot['covered']:,.0f}",
            uncovered=f"{tot['uncovered']:,.0f}", gaps=len(gaps), out=out))
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
    for name in names:
        s0 = time.perf_counter()
        res = run_service(ws, name, travel=args.travel)
        s1 = time.perf_counter()
        _tables.coverage_by_district(ws, res)
        _tables.capacity_by_district(ws, res)
        _tables.coverage_by_class(ws, res)
        s2 = time.perf_counter()
        gaps = _gaps.gap_areas(ws, res)
        s3 = time.perf_counter()
        print(json.dumps({"service": name, "cells": ws.grid.n, "facilities": int(res.facility_idx.size),
                          "pairs": res.cost.nnz, **{k: round(v, 4) for k, v in res.timings_s.items()},
                          "service_total_s": round(s1 - s0, 4), "districts_s": round(s2 - s1, 4),
                          "gaps_s": round(s3 - s2, 4), "gap_areas": len(gaps)}))
    print(json.dumps({"load_workspace_s": round(t1 - t0, 3), "total_s": round(time.perf_counter() - t0, 3)}))
    return 0


def _cmd_scenario(args: argparse.Namespace) -> int:
    from gisapp.planning.scenario import compare_scenarios, load_scenario

    ws = _load(args)
    scen = load_scenario(args.file)
    table = compare_scenarios(ws, args.service, {scen.name: scen.edits})
    flat = table.copy()
    flat.columns = [f"{c[0]}:{c[1]}" if c[0] else str(c[1]) for c in table.columns]
    flat = flat.reset_index()
    out = Path(args.out)
    _write_csv(flat, out / "scenario_by_district.csv")
    print(t("cli.scenario_header", args.lang, name=scen.name, n=len(scen.edits), service=args.service))
    _print_table(flat, args.lang, 1)
    return 0


def _cmd_suggest(args: argparse.Namespace) -> int:
    from gisapp.planning.suggest import method_text, suggest

    ws = _load(args)
    sug = suggest(ws, args.service, k=args.k, target_share=args.target_share,
                           candidates=args.candidates, spacing_m=args.spacing_m, method=args.method)
    out = Path(args.out)
    cols = ["rank", "candidate_id", "name", "lon", "lat", "district_id", "district_name", "people_added",
            "people_covered", "share_covered"]
    _write_csv(sug.sites[cols], out / "suggested_sites.csv")
    _write_csv(sug.curve, out / "coverage_curve.csv")
    lang = args.lang
    _print_table(sug.sites[cols], lang, 2)
    print(t("cli.suggest_summary", lang, method=method_text(sug.method, lang), optimal=t("cli.optimal", lang) if sug.optimal else "",
            seconds=f"{sug.solve_time_s:.2f}", before=f"{sug.curve['share_pct'].iloc[0]:.1f}",
            after=f"{sug.curve['share_pct'].iloc[-1]:.1f}", out=out))
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
    p = _parser(lang, prog="python -m gisapp", description=t("cli.description", lang))
    p.add_argument("--workspace", "-w", default=None, metavar=t("cli.metavar.workspace", lang),
                   help=t("cli.help.workspace", lang))
    p.add_argument("--lang", choices=list(LANGS), default=lang, help=t("cli.help.lang", lang))
    sub = p.add_subparsers(dest="command", required=True, title=t("cli.commands", lang),
                           metavar="{services,coverage,pipeline,scenario,suggest,report}")
    sv = _sub(sub, "services", lang)
    c = _sub(sub, "coverage", lang)
    c.add_argument("--service", "-s", required=True, metavar=t("cli.metavar.service", lang),
                   help=t("cli.help.service", lang))
    c.add_argument("--out", "-o", required=True, metavar=t("cli.metavar.out", lang), help=t("cli.help.out", lang))
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
    grp = sg.add_mutually_exclusive_group(required=True)
    grp.add_argument("--k", type=int, metavar=t("cli.metavar.k", lang), help=t("cli.help.k", lang))
    grp.add_argument("--target-share", type=float, metavar=t("cli.metavar.percent", lang),
                     help=t("cli.help.target_share", lang))
    sg.add_argument("--candidates", choices=["grid", "settlements"], default="grid", help=t("cli.help.candidates", lang))
    sg.add_argument("--spacing-m", type=float, default=None, metavar=t("cli.metavar.metres", lang),
                    help=t("cli.help.spacing_m", lang))
    sg.add_argument("--method", choices=["auto", "exact", "greedy"], default="auto", help=t("cli.help.method", lang))
    sg.add_argument("--out", "-o", required=True, metavar=t("cli.metavar.out", lang), help=t("cli.help.out", lang))
    r = _sub(sub, "report", lang)
    r.add_argument("--out", "-o", required=True, metavar=t("cli.metavar.out", lang), help=t("cli.help.out", lang))
    r.add_argument("--services", nargs="*", default=None, metavar=t("cli.metavar.service", lang),
                   help=t("cli.help.service_list", lang))
    r.add_argument("--quiet", action="store_true", help=t("cli.help.quiet", lang))
    for sp in (c, pl, r):
        sp.add_argument("--travel", choices=["straight_line", "terrain"], default=None, help=t("cli.help.travel", lang))
    for sp in (sv, c, pl, sc, sg, r):
        sp.add_argument("--workspace", "-w", default=argparse.SUPPRESS, metavar=t("cli.metavar.workspace", lang),
                        help=t("cli.help.workspace", lang))
        sp.add_argument("--lang", choices=list(LANGS), default=argparse.SUPPRESS, help=t("cli.help.lang", lang))
    return p


def _fail(text: str, lang: str) -> int:
    print(t("cli.error_prefix", lang) + text, file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (1 with a clear message on bad input)."""
    args = build_parser(argv_lang(argv)).parse_args(argv)
    handlers = {"services": _cmd_services, "coverage": _cmd_coverage, "pipeline": _cmd_pipeline,
                "scenario": _cmd_scenario, "suggest": _cmd_suggest, "report": _cmd_report}
    lang = args.lang
    try:
        return handlers[args.command](args)
    except GisAppError as exc:  # a WorkspaceError lists its problems, each with its fix
        return _fail(exc.text(lang), lang)
    except FileNotFoundError as exc:
        return _fail(t("cli.file_not_found", lang, path=exc.filename or exc), lang)
    except PermissionError as exc:
        return _fail(t("cli.permission_denied", lang, path=exc.filename or exc), lang)
