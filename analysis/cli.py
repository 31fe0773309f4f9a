"""Command-line interface: ``crowd-disagreement fetch | reproduce | review | analyze |
replicate | annotators | multiverse | simulate``.

Every command writes tidy CSV files and a ``manifest.json`` into ``--out``; the
report calls the same functions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import data, models, reproduce


def _write_csv(frame, path: Path) -> None:
    frame.to_csv(path, index=False, float_format="%.10g")


def cmd_fetch(args: argparse.Namespace) -> int:
    paths = data.fetch_all()
    root = data.local_root()
    where = f"local copy {root}" if root else f"download cache {data.cache_dir()}"
    print(f"{len(paths)} files verified (SHA-256) in the {where}:")
    for rel, path in paths.items():
        print(f"  {rel} -> {path}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    estimators = models.ESTIMATORS if args.estimator == "both" else (args.estimator,)
    design = reproduce.load_group()
    exp = reproduce.run_experiments(design, repeats=args.repeats, seed=args.seed,
                                    estimators=estimators, n_jobs=args.jobs, quiet=args.quiet)
    summary = reproduce.summarise(exp)
    comparison_estimator = "mle" if "mle" in estimators else estimators[0]
    comparison = reproduce.compare_with_paper(summary, comparison_estimator)
    tables = {"fold_auc.csv": exp.folds, "summary.csv": summary,
              "paper_comparison.csv": comparison, "excluded_images.csv": design.excluded}
    manifest = reproduce.manifest(exp, command="reproduce", comparison_estimator=comparison_estimator)
    _write_outputs(out, tables, manifest)
    if not args.quiet:
        print(f"group 7: {design.n_images} images, {design.n_melanoma} melanoma; "
              f"{len(design.excluded)} excluded (see excluded_images.csv)")
        print(comparison.drop(columns="source").to_string(index=False, float_format="%.3f"))
        print(f"wrote fold_auc.csv, summary.csv, paper_comparison.csv, manifest.json to {out} "
              f"in {exp.elapsed:.1f} s")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from . import review

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    design = reproduce.load_group()
    rv = review.review(design, repeats=args.repeats, n_boot=args.bootstrap,
                       n_permutations=args.permutations, seed=args.seed, n_jobs=args.jobs,
                       quiet=args.quiet)
    from .analyze import review_tables

    claims = rv.claims()
    tables = review_tables(rv, claims)
    manifest = reproduce.manifest(rv.exp, command="review", **rv.settings)
    manifest["elapsed_seconds"] = round(rv.elapsed, 3)
    _write_outputs(out, tables, manifest)
    if not args.quiet:
        print(claims[["claim", "verdict", "ours", "p_value"]].to_string(index=False))
        print(f"wrote {', '.join(tables)} and manifest.json to {out} in {rv.elapsed:.1f} s")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    """The review of any data set: a user's files or a built-in data set by name."""
    import time
    import warnings

    from . import analyze, dataset
    from .reproduce import package_versions

    t0 = time.perf_counter()
    if (args.dataset is None) == (args.annotations is None):
        print("crowd-disagreement analyze: give either --annotations FILE --labels FILE or "
              "--dataset NAME", file=sys.stderr)
        return 2
    if args.annotations is not None and args.labels is None:
        print("crowd-disagreement analyze: --annotations needs --labels FILE", file=sys.stderr)
        return 2
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", dataset.DatasetWarning)
            if args.dataset is not None:
                design = dataset.load_builtin(args.dataset, min_raters=args.min_raters,
                                              raters_per_unit=args.raters_per_unit,
                                              seed=args.seed)
            else:
                design = dataset.load(
                    args.annotations, args.labels, unit_col=args.unit_col,
                    rater_col=args.rater_col, feature_col=args.feature_col,
                    score_col=args.score_col, label_col=args.label_col, positive=args.positive,
                    raters=args.raters, min_raters=args.min_raters,
                    raters_per_unit=args.raters_per_unit, seed=args.seed,
                    wide=True if args.wide else "auto")
    except dataset.DatasetError as err:
        print(f"crowd-disagreement analyze: input error: {err}", file=sys.stderr)
        return 2
    for w in caught:
        if not args.quiet:
            print(f"crowd-disagreement analyze: warning: {w.message}", file=sys.stderr)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res = analyze.analyze(design, repeats=args.repeats, n_boot=args.bootstrap,
                          n_permutations=args.permutations, seed=args.seed, n_jobs=args.jobs,
                          quiet=args.quiet)
    tables = res.tables()
    settings = {k: v for k, v in design.settings.items() if k not in ("inputs", "warnings")}
    manifest = {
        "command": "analyze",
        "package_versions": package_versions(),
        "inputs": design.settings.get("inputs", {}),
        "dataset": args.dataset,
        "options": {k: v for k, v in vars(args).items() if k != "func"},
        "design": {**settings, "n_units": design.n_images, "n_positive": design.n_melanoma,
                   "n_excluded": int(len(design.excluded)), "features": list(design.features),
                   "raters_seen": len(design.annotators),
                   "feature_sets": design.sets["feature_set"].tolist()},
        "review": res.review.settings,
        "warnings": design.settings.get("warnings", []),
        "notes": res.notes,
        "claims_evaluated": res.claims is not None,
        "elapsed_seconds": round(time.perf_counter() - t0, 3),
    }
    if args.dataset is not None:
        manifest["data_commit"] = data.ENHANCE_COMMIT
        manifest["data_sha256"] = data.data_hashes()
    _write_outputs(out, tables, manifest)
    if not args.quiet:
        print(f"{design.settings.get('name', design.group)}: {design.n_images} units kept "
              f"({design.n_melanoma} positive), {len(design.excluded)} excluded "
              "(excluded_units.csv)")
        if res.claims is not None:
            print(res.claims[["claim", "verdict", "ours", "p_value"]].to_string(index=False))
        for note in res.notes:
            print("-", note)
        print(f"wrote {', '.join(tables)} and manifest.json to {out} "
              f"in {time.perf_counter() - t0:.1f} s")
    return 0


def _manifest_extra(args, extra: dict, command: str) -> dict:
    from .reproduce import package_versions

    return {"package_versions": package_versions(), "data_commit": data.ENHANCE_COMMIT,
            "data_sha256": data.data_hashes(), "command": command, "seed": args.seed, **extra}


def cmd_replicate(args: argparse.Namespace) -> int:
    from . import replication

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ann = reproduce.load_annotations()
    res = replication.replicate(ann, repeats=args.repeats, seed=args.seed,
                                estimator=args.estimator, n_permutations=args.permutations,
                                n_jobs=args.jobs, quiet=args.quiet)
    tables = {"groups.csv": res.groups, "differences.csv": res.differences, "meta.csv": res.meta,
              "excluded_groups.csv": res.excluded_groups,
              "excluded_images.csv": res.excluded_images, "fold_auc.csv": res.folds}
    man = _manifest_extra(args, res.manifest_extra, "replicate")
    _write_outputs(out, tables, man)
    if not args.quiet:
        for line in replication.verdict_sentences(res):
            print("-", line)
        print(f"wrote {', '.join(tables)} and manifest.json to {out}")
    return 0


def cmd_annotators(args: argparse.Namespace) -> int:
    from . import replication

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ann = reproduce.load_annotations()
    res = replication.annotator_curve(ann, seed=args.seed, max_subsets=args.max_subsets,
                                      repeats=args.repeats, n_jobs=args.jobs, quiet=args.quiet)
    tables = {"subsets.csv": res.rows, "summary.csv": res.summary, "skipped.csv": res.skipped}
    man = _manifest_extra(args, res.manifest_extra, "annotators")
    _write_outputs(out, tables, man)
    if not args.quiet:
        print(f"wrote {', '.join(tables)} and manifest.json to {out}")
    return 0


def cmd_multiverse(args: argparse.Namespace) -> int:
    from . import multiverse as mv

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ann = reproduce.load_annotations()
    res = mv.multiverse(ann.tidy, ann.labels, n_permutations=args.permutations, seed=args.seed,
                        n_jobs=args.jobs, quiet=args.quiet)
    survival = mv.survival_summary(res.frame)
    tables = {"multiverse.csv": res.frame, "multiverse_verdicts.csv": mv.verdict_table(res.frame),
              "multiverse_choices.csv": mv.choice_effects(res.frame)}
    man = _manifest_extra(args, {"multiverse": res.settings, "survival": survival,
                                 "elapsed_seconds": round(res.elapsed, 3)}, "multiverse")
    _write_outputs(out, tables, man)
    if not args.quiet:
        print("\n".join(survival))
        print(f"wrote {', '.join(tables)} and manifest.json to {out} in {res.elapsed:.1f} s")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    import time

    from . import simulate as sim

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    params = sim.fit_to_group(reproduce.load_group())
    cal = sim.calibration(params, n_datasets=args.calibration_datasets,
                          n_permutations=args.permutations, seed=args.seed, n_jobs=args.jobs,
                          quiet=args.quiet)
    pw = sim.power(params, n_images=tuple(args.images), n_annotators=tuple(args.annotators),
                   n_datasets=args.datasets, n_permutations=args.permutations, seed=args.seed,
                   n_jobs=args.jobs, quiet=args.quiet)
    tables = {"parameters.csv": params.tidy(), "calibration.csv": cal.summary,
              "calibration_studies.csv": cal.studies, "power.csv": pw.summary,
              "power_studies.csv": pw.studies}
    elapsed = time.perf_counter() - t0
    man = _manifest_extra(args, {
        "n_permutations": args.permutations, "calibration_datasets": args.calibration_datasets,
        "power_datasets": args.datasets, "power_images": list(args.images),
        "power_annotators": list(args.annotators), "calibration_seconds": round(cal.elapsed, 3),
        "power_seconds": round(pw.elapsed, 3), "elapsed_seconds": round(elapsed, 3),
        "power_sentence": sim.power_sentence(pw.summary)}, "simulate")
    _write_outputs(out, tables, man)
    if not args.quiet:
        print(cal.summary.T.to_string())
        print(sim.power_sentence(pw.summary))
        print(f"wrote {', '.join(tables)} and manifest.json to {out} in {elapsed:.1f} s")
    return 0


def _common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options every computing subcommand takes: --out, --seed, --jobs, --quiet."""
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=models.DEFAULT_SEED, help="seed (default %(default)s)")
    p.add_argument("--jobs", type=int, default=-1, help="worker processes (-1: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    return p


def _write_outputs(out: Path, tables: dict, manifest: dict) -> None:
    """Write each table as CSV and the manifest as JSON into ``out``."""
    for name, frame in tables.items():
        _write_csv(frame, out / name)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crowd-disagreement",
        description="Reproduce and review Cheplygina & Pluim (2018), "
                    "'Crowd disagreement of medical images is informative'.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fetch", help="download (or find locally) and verify the data files")
    p.set_defaults(func=cmd_fetch)

    p = _common(sub.add_parser("reproduce", help="experiments 1 and 2 on group 7 (fold AUCs, summary, "
                                         "comparison with the paper)"))
    p.add_argument("--repeats", type=int, default=reproduce.DEFAULT_REPEATS,
                   help="repeats of 10-fold CV (repeat 0 is the canonical split; default %(default)s)")
    p.add_argument("--estimator", choices=["mle", "firth", "both"], default="both",
                   help="logistic estimator (default %(default)s)")
    p.set_defaults(func=cmd_reproduce)

    from .review import DEFAULT_BOOT, DEFAULT_PERMUTATIONS

    p = _common(sub.add_parser("review", help="statistical review of the paper's claims on group 7 "
                                      "(CIs, permutation tests, ICC, moment tests, verdicts)"))
    p.add_argument("--bootstrap", type=int, default=DEFAULT_BOOT,
                   help="bootstrap replicates (default %(default)s)")
    p.add_argument("--permutations", type=int, default=DEFAULT_PERMUTATIONS,
                   help="label permutations (default %(default)s)")
    p.add_argument("--repeats", type=int, default=reproduce.DEFAULT_REPEATS,
                   help="repeats of 10-fold CV (default %(default)s)")
    p.set_defaults(func=cmd_review)

    p = _common(sub.add_parser(
        "analyze", help="the review of any multi-rater data set (your annotations and labels, "
                        "or a built-in data set by name)"))
    g = p.add_argument_group("input")
    g.add_argument("--annotations", help="annotations, CSV or Parquet: long (unit, rater, "
                                         "feature, score) or wide (unit, rater, one column "
                                         "per feature)")
    g.add_argument("--labels", help="labels, CSV or Parquet (unit, label)")
    g.add_argument("--dataset", help="a built-in data set instead: enhance/2017-2018/group07, "
                                     "enhance/mturk, enhance/<cohort>/<group>")
    for name, default in (("unit", "unit"), ("rater", "rater"), ("feature", "feature"),
                          ("score", "score"), ("label", "label")):
        g.add_argument(f"--{name}-col", default=default,
                       help=f"column of the {name} (default %(default)s)")
    g.add_argument("--wide", action="store_true",
                   help="annotations are wide (detected when there is no feature/score column)")
    g.add_argument("--positive", help="the positive class when labels are class names")
    g.add_argument("--raters", choices=["persons", "positions"], default="persons",
                   help="persons: the same id is the same person on every unit; positions: ids "
                        "are slots (default %(default)s)")
    g.add_argument("--min-raters", type=int, default=None,
                   help="keep units with at least K raters on every feature (default 4: every "
                        "moment defined)")
    g.add_argument("--raters-per-unit", type=int, default=None,
                   help="draw exactly K raters per unit (seeded)")
    p.add_argument("--bootstrap", type=int, default=DEFAULT_BOOT,
                   help="bootstrap replicates (default %(default)s)")
    p.add_argument("--permutations", type=int, default=DEFAULT_PERMUTATIONS,
                   help="label permutations (default %(default)s)")
    p.add_argument("--repeats", type=int, default=reproduce.DEFAULT_REPEATS,
                   help="repeats of 10-fold CV (default %(default)s)")
    p.set_defaults(func=cmd_analyze)

    from . import replication

    p = _common(sub.add_parser("replicate", help="mean vs sd of the ABC features on every eligible "
                                         "student group and MTurk, with meta-analysis"))
    p.add_argument("--repeats", type=int, default=replication.DEFAULT_REPEATS,
                   help="repeats of CV per group (default %(default)s)")
    p.add_argument("--permutations", type=int, default=replication.DEFAULT_PERMUTATIONS,
                   help="label permutations per group for the sd test (default %(default)s)")
    p.add_argument("--estimator", choices=["mle", "firth"], default="mle")
    p.set_defaults(func=cmd_replicate)

    p = _common(sub.add_parser("annotators", help="AUC of mean and sd features against the number "
                                          "of annotators"))
    p.add_argument("--repeats", type=int, default=replication.CURVE_REPEATS,
                   help="repeats of CV per subset (default %(default)s)")
    p.add_argument("--max-subsets", type=int, default=30,
                   help="at most this many annotator subsets per k (default %(default)s)")
    p.set_defaults(func=cmd_annotators)

    from . import multiverse as mv
    from . import simulate as sim

    p = _common(sub.add_parser("multiverse", help="claims C4 and C5 over every path of analysis choices "
                                          "(scaling, estimator, missing, CV, disagreement)"))
    p.add_argument("--permutations", type=int, default=mv.DEFAULT_PERMUTATIONS,
                   help="label permutations per path (default %(default)s)")
    p.set_defaults(func=cmd_multiverse)

    p = _common(sub.add_parser("simulate", help="generative model fitted to group 7: calibration of the "
                                        "permutation test and CIs, power of the sd model"))
    p.add_argument("--permutations", type=int, default=sim.DEFAULT_PERMUTATIONS,
                   help="permutations per simulated study (default %(default)s)")
    p.add_argument("--datasets", type=int, default=sim.DEFAULT_DATASETS,
                   help="studies per power condition (default %(default)s)")
    p.add_argument("--calibration-datasets", type=int, default=200,
                   help="studies per model in the calibration (default %(default)s)")
    p.add_argument("--images", type=int, nargs="+", default=list(sim.POWER_IMAGES),
                   help="numbers of images of the power grid")
    p.add_argument("--annotators", type=int, nargs="+", default=list(sim.POWER_ANNOTATORS),
                   help="numbers of annotators of the power grid")
    p.set_defaults(func=cmd_simulate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, low in (("repeats", 1), ("bootstrap", 100), ("permutations", 19),
                      ("datasets", 1), ("calibration_datasets", 1)):
        if getattr(args, name, low) < low:
            parser.error(f"--{name} must be at least {low}")
    try:
        return args.func(args)
    except data.DataError as err:
        print(f"crowd-disagreement: data error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
