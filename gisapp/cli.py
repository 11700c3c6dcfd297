"""Command line: list services, compute coverage, write reports (``python -m gisapp ...``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from gisapp._errors import GisAppError, WorkspaceError
from gisapp.i18n import problem_text

__all__ = ["main"]


def _load(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from gisapp.workspace import load_workspace

    return load_workspace(args.workspace)


def _cmd_services(args: argparse.Namespace) -> int:
    from gisapp.config.spec import default_workspace_path, read_workspace

    spec = read_workspace(args.workspace or default_workspace_path())
    lang = args.lang
    print(f"{spec.title(lang)}  [{spec.path.name}]")
    for name, s in spec.services.items():
        std = s.standard.label(lang)
        if s.rural_standard is not None:
            std += (" / 农村 " if lang == "zh" else " / rural ") + s.rural_standard.label(lang)
        norm = f"; {s.capacity} {s.norm_per_1000:g}/1000" if s.norm_per_1000 else ""
        print(f"{name:<18} {s.title(lang)}  {std}{norm}")
        for k, v in s.source.items():
            print(f"{'':<18}   {k}: {v}")
    return 0


def _cmd_coverage(args: argparse.Namespace) -> int:
    from gisapp.io.atomic import atomic_path
    from gisapp.metrics import service as analysis

    ws = _load(args)
    res = analysis.run_service(ws, args.service, travel=args.travel)
    out = Path(args.out)
    table = analysis.coverage_by_district(ws, res)
    with atomic_path(out / "coverage_by_district.csv") as tmp:
        table.to_csv(tmp, index=False, encoding="utf-8")
    gaps = analysis.gap_polygons(ws, res)
    with atomic_path(out / "gaps.gpkg") as tmp:
        gaps.to_file(tmp, layer="gaps", driver="GPKG", engine="pyogrio")
    tot = table[["population", "covered", "uncovered"]].sum()
    lang = args.lang
    for row in ws.provenance():
        status = {"real": "真实" if lang == "zh" else "real",
                  "synthetic": "合成" if lang == "zh" else "SYNTHETIC"}.get(row["status"], row["status"])
        print(f"[{status}] {row['layer']}: {row[lang] or row['source']}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    print(f"total: {tot['population']:,.0f} people, {tot['covered']:,.0f} covered, "
          f"{tot['uncovered']:,.0f} uncovered; {len(gaps)} gap areas -> {out}")
    return 0


def _cmd_pipeline(args: argparse.Namespace) -> int:
    from gisapp.metrics import service as analysis
    from gisapp.workspace import load_workspace

    t0 = time.perf_counter()
    ws = load_workspace(args.workspace)
    t1 = time.perf_counter()
    names = args.services or list(ws.spec.services)
    for name in names:
        s0 = time.perf_counter()
        res = analysis.run_service(ws, name, travel=args.travel)
        s1 = time.perf_counter()
        analysis.coverage_by_district(ws, res)
        analysis.capacity_by_district(ws, res)
        analysis.coverage_by_class(ws, res)
        s2 = time.perf_counter()
        gaps = analysis.gap_areas(ws, res)
        s3 = time.perf_counter()
        print(json.dumps({"service": name, "cells": ws.grid.n, "facilities": int(res.facility_idx.size),
                          "pairs": res.cost.nnz, **{k: round(v, 4) for k, v in res.timings_s.items()},
                          "service_total_s": round(s1 - s0, 4), "districts_s": round(s2 - s1, 4),
                          "gaps_s": round(s3 - s2, 4), "gap_areas": len(gaps)}))
    print(json.dumps({"load_workspace_s": round(t1 - t0, 3), "total_s": round(time.perf_counter() - t0, 3)}))
    return 0


def _cmd_scenario(args: argparse.Namespace) -> int:
    from gisapp.io.atomic import atomic_path
    from gisapp.planning import scenario as sc

    ws = _load(args)
    scen = sc.load_scenario(args.file)
    table = sc.compare_scenarios(ws, args.service, {scen.name: scen.edits})
    flat = table.copy()
    flat.columns = [f"{c[0]}:{c[1]}" if c[0] else str(c[1]) for c in table.columns]
    flat = flat.reset_index()
    out = Path(args.out)
    with atomic_path(out / "scenario_by_district.csv") as tmp:
        flat.to_csv(tmp, index=False, encoding="utf-8")
    print(f"{scen.name}: {len(scen.edits)} edit(s) on {args.service}")
    print(flat.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    return 0


def _cmd_suggest(args: argparse.Namespace) -> int:
    from gisapp.io.atomic import atomic_path
    from gisapp.planning import suggest as planning

    ws = _load(args)
    sug = planning.suggest(ws, args.service, k=args.k, target_share=args.target_share,
                           candidates=args.candidates, spacing_m=args.spacing_m, method=args.method)
    out = Path(args.out)
    cols = ["rank", "candidate_id", "name", "lon", "lat", "district_id", "district_name", "people_added",
            "people_covered", "share_covered"]
    with atomic_path(out / "suggested_sites.csv") as tmp:
        sug.sites[cols].to_csv(tmp, index=False, encoding="utf-8")
    with atomic_path(out / "coverage_curve.csv") as tmp:
        sug.curve.to_csv(tmp, index=False, encoding="utf-8")
    print(sug.sites[cols].to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    print(f"{sug.method}{' (optimal)' if sug.optimal else ''}, {sug.solve_time_s:.2f} s; covered "
          f"{sug.curve['share_pct'].iloc[0]:.1f}% -> {sug.curve['share_pct'].iloc[-1]:.1f}% -> {out}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    try:
        from gisapp.reports.write import write_report
    except ImportError as exc:  # pragma: no cover - reports module is optional during development
        msg = f"reports are not available: {exc}"
        raise GisAppError(msg) from exc
    ws = _load(args)
    paths = write_report(ws, Path(args.out), services=args.services, lang=args.lang, progress=not args.quiet,
                         travel=args.travel)
    for p in paths:
        print(p)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m gisapp``."""
    p = argparse.ArgumentParser(prog="python -m gisapp",
                                description="公共服务人口地图 · Public-Service Population Map")
    p.add_argument("--workspace", "-w", default=None,
                   help="workspace YAML file (default: the embedded Panzhihua demo, layers/panzhihua.yaml)")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of the output (default zh)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("services", help="list the services of the workspace with their standards and sources")
    c = sub.add_parser("coverage", help="coverage by district and gap areas of one service")
    c.add_argument("--service", "-s", required=True)
    c.add_argument("--out", "-o", required=True, help="output folder")
    pl = sub.add_parser("pipeline", help="time load -> cost -> coverage -> 2SFCA -> districts for services")
    pl.add_argument("--services", nargs="*", default=None)
    sc = sub.add_parser("scenario", help="coverage by district of a saved scenario against the baseline")
    sc.add_argument("--file", "-f", required=True, help="scenario GeoPackage saved by the app or gisapp.scenario")
    sc.add_argument("--service", "-s", required=True)
    sc.add_argument("--out", "-o", required=True)
    sg = sub.add_parser("suggest", help="suggest new sites that cover the most uncovered people")
    sg.add_argument("--service", "-s", required=True)
    grp = sg.add_mutually_exclusive_group(required=True)
    grp.add_argument("--k", type=int, help="number of new sites")
    grp.add_argument("--target-share", type=float, help="covered share to reach, percent")
    sg.add_argument("--candidates", choices=["grid", "settlements"], default="grid")
    sg.add_argument("--spacing-m", type=float, default=None, help="grid spacing of candidates, metres")
    sg.add_argument("--method", choices=["auto", "exact", "greedy"], default="auto")
    sg.add_argument("--out", "-o", required=True)
    r = sub.add_parser("report", help="write report.html, coverage.xlsx, layers.gpkg and report.pdf")
    r.add_argument("--out", "-o", required=True)
    r.add_argument("--services", nargs="*", default=None)
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    for sp in (c, pl, r):
        sp.add_argument("--travel", choices=["straight_line", "terrain"], default=None,
                        help="straight-line distance (default) or travel time over the friction surface")
    for sp in (c, pl, sc, sg, r):
        sp.add_argument("--workspace", "-w", default=argparse.SUPPRESS)
        sp.add_argument("--lang", choices=["zh", "en"], default=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (1 with a clear message on bad input)."""
    args = build_parser().parse_args(argv)
    handlers = {"services": _cmd_services, "coverage": _cmd_coverage, "pipeline": _cmd_pipeline,
                "scenario": _cmd_scenario, "suggest": _cmd_suggest, "report": _cmd_report}
    try:
        return handlers[args.command](args)
    except WorkspaceError as exc:
        if args.lang == "zh":
            lines = [f"error: 工作区中发现 {len(exc.problems)} 个问题："]
            for p in exc.problems:
                where = p.file + (f" [{p.field}]" if p.field else "")
                lines.append(f"- {where}：{problem_text(p.message, 'zh')} 修改：{problem_text(p.fix, 'zh')}")
            print("\n".join(lines), file=sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 1
    except GisAppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, PermissionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
