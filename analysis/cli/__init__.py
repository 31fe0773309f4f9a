"""Command-line interface: ``crowd-disagreement fetch | reproduce | review | analyze |
replicate | annotators | multiverse | simulate``.

Every computing command writes tidy CSV files and a ``manifest.json`` into ``--out``,
all or nothing (:func:`analysis.presentation.outputs.atomic_output`: a temporary folder renamed into
place at the end, a lock against a second run into the same ``--out``, ``--overwrite``
to replace an existing result). Every option is validated by its argparse type before
anything runs (:mod:`analysis.presentation.outputs`). The report calls the same functions.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path

from ..base import budgets, interrupts
from ..base.distributed import BACKENDS, compute_backend
from ..base.errors import (
    PARAMETER,
    AnnotationFormatError,
    CrowdDisagreementError,
    DataError,
    DatasetError,
    OutputError,
)
from ..fitting import models
from ..loading import data
from ..presentation.outputs import (
    atomic_output,
    int_at_least,
    jobs_int,
    nonneg_int,
    positive_int,
    run_manifest,
    write_result,
)
from ..studies import reproduce

__all__ = [
    "ERROR_KINDS", "MIN_ANNOTATORS", "MIN_BOOTSTRAP", "MIN_IMAGES", "MIN_PERMUTATIONS",
    "OneLineParser", "PARAMETER", "build_parser", "cmd_analyze", "cmd_annotators", "cmd_fetch",
    "cmd_multiverse", "cmd_replicate", "cmd_reproduce", "cmd_review", "cmd_simulate",
    "error_message", "main",
]


#: Smallest accepted ``--bootstrap``: fewer replicates make BCa limits meaningless.
MIN_BOOTSTRAP = 100
#: Smallest accepted ``--permutations`` (every permutation option):
#: :data:`analysis.base.budgets.MIN_PERMUTATIONS` (with fewer, p = 1/(B+1) cannot fall below
#: 0.05).
MIN_PERMUTATIONS = budgets.MIN_PERMUTATIONS
_PERMUTATIONS = int_at_least(MIN_PERMUTATIONS, budgets.PERMUTATIONS_REASON)
#: Smallest ``simulate --images``: enough melanomas (prevalence 18/96) for 3-fold CV.
MIN_IMAGES = 20
#: Smallest ``simulate --annotators``: the sd across annotators needs two.
MIN_ANNOTATORS = 2


#: What the CLI calls each kind of package error (the first class the error is an instance of).
ERROR_KINDS = ((DataError, "data error"), (AnnotationFormatError, "malformed input"),
               (OutputError, "output error"), (DatasetError, "input error"))


def error_message(err: CrowdDisagreementError) -> str:
    """The one line the CLI prints for a package error: its kind (chosen by the error's
    type, :data:`ERROR_KINDS`) and its message, with every library parameter the message
    names written as this CLI's flag (```min_raters``` -> ``--min-raters``,
    ```raters='persons'``` -> ``--raters persons``)."""
    kind = next((name for cls, name in ERROR_KINDS if isinstance(err, cls)), "error")

    def flag(m: re.Match) -> str:
        value = m.group(2) if m.group(2) is not None else m.group(3)
        name = "--" + m.group(1).replace("_", "-")
        return f"{name} {shlex.quote(value)}" if value else name

    return f"{kind}: {PARAMETER.sub(flag, str(err))}"


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
    estimators = models.ESTIMATORS if args.estimator == "both" else (args.estimator,)
    design = reproduce.load_group()
    exp = reproduce.run_experiments(design, repeats=args.repeats, seed=args.seed,
                                    estimators=estimators, n_jobs=args.jobs, quiet=args.quiet)
    manifest = reproduce.manifest(exp, command="reproduce",
                                  comparison_estimator=exp.comparison_estimator)
    tables = write_result(exp, args.work, manifest)
    comparison = tables["paper_comparison.csv"]
    if not args.quiet:
        print(f"group 7: {design.n_images} images, {design.n_melanoma} melanoma; "
              f"{len(design.excluded)} excluded (see excluded_images.csv)")
        print(comparison.drop(columns="source").to_string(index=False, float_format="%.3f"))
        print(f"wrote fold_auc.csv, summary.csv, paper_comparison.csv, manifest.json to {out} "
              f"in {exp.elapsed:.1f} s")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from ..presentation import claims
    from ..studies import review

    out = Path(args.out)
    design = reproduce.load_group()
    rv = review.review(design, repeats=args.repeats, n_boot=args.bootstrap,
                       n_permutations=args.permutations, perm_repeats=args.perm_repeats,
                       n_seeds=args.seeds, calibration_boot=args.calibration_bootstrap,
                       seed=args.seed, margin=args.margin, n_jobs=args.jobs, quiet=args.quiet)
    tables = write_result(rv, args.work, reproduce.manifest(rv.exp, command="review",
                                                            **rv.settings))
    if not args.quiet:
        print(claims.claims_table(rv)[["claim", "verdict", "parts_supported", "n_parts", "ours"]]
              .to_string(index=False))
        print(f"wrote {', '.join(tables)} and manifest.json to {out} in {rv.elapsed:.1f} s")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    """The review of any data set: a user's files or a built-in data set by name."""
    import time
    import warnings

    from ..design import dataset
    from ..presentation import claims, prose
    from ..studies import analyze

    t0 = time.perf_counter()
    if (args.dataset is None) == (args.annotations is None):
        print("crowd-disagreement analyze: give either --annotations FILE --labels FILE or "
              "--dataset NAME", file=sys.stderr)
        return 2
    if args.annotations is not None and args.labels is None:
        print("crowd-disagreement analyze: --annotations needs --labels FILE", file=sys.stderr)
        return 2
    if args.dataset is not None and args.group_col is not None:
        print("crowd-disagreement analyze: --group-col needs --annotations and --labels (a "
              "built-in data set has no grouping of its units)", file=sys.stderr)
        return 2
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", dataset.DatasetWarning)
            if args.dataset is not None:
                design = dataset.load_builtin(args.dataset, min_raters=args.min_raters,
                                              raters_per_unit=args.raters_per_unit,
                                              seed=args.seed)
                if args.rater_count == "covariate":
                    from ..design.features import add_rater_count

                    note = add_rater_count(design)
                    if note:
                        design.settings.setdefault("input_notes", []).append(note)
            else:
                design = dataset.load(
                    args.annotations, args.labels, unit_col=args.unit_col,
                    rater_col=args.rater_col, feature_col=args.feature_col,
                    score_col=args.score_col, label_col=args.label_col, positive=args.positive,
                    raters=args.raters, min_raters=args.min_raters,
                    raters_per_unit=args.raters_per_unit, seed=args.seed,
                    wide=True if args.wide else "auto", sep=args.sep, decimal=args.decimal,
                    name=args.name, group_col=args.group_col,
                    rater_count=args.rater_count)
    except dataset.DatasetError as err:
        print(f"crowd-disagreement analyze: {error_message(err)}", file=sys.stderr)
        return 2
    for w in caught:
        if not args.quiet:
            print(f"crowd-disagreement analyze: warning: {w.message}", file=sys.stderr)
    out = Path(args.out)
    res = analyze.analyze(design, repeats=args.repeats, n_boot=args.bootstrap,
                          n_permutations=args.permutations, perm_repeats=args.perm_repeats,
                          n_seeds=args.seeds, calibration_boot=args.calibration_bootstrap,
                          seed=args.seed, margin=args.margin, n_jobs=args.jobs,
                          quiet=args.quiet, curve=not args.no_curve, **_sweep_options(args))
    settings = {k: v for k, v in design.settings.items() if k not in ("inputs", "warnings")}
    sentences = {name: prose.sweep_sentences(name, sw) for name, sw in res.sweeps.items()}
    manifest = run_manifest("analyze", data_files=args.dataset is not None, **{
        "inputs": design.settings.get("inputs", {}),
        "dataset": args.dataset,
        "options": {k: v for k, v in vars(args).items() if k not in ("func", "work")},
        "design": {**settings, "n_units": design.n_images, "n_positive": design.n_melanoma,
                   "n_excluded": int(len(design.excluded)), "features": list(design.features),
                   "raters_seen": len(design.annotators),
                   "feature_sets": design.sets["feature_set"].tolist()},
        "review": res.review.settings,
        "warnings": design.settings.get("warnings", []),
        "claims_evaluated": sorted(set(res.claims["claim"])),
        "annotator_curve": res.curve.manifest_extra["annotator_curve"] if res.curve else None,
        **{name: {**sw.settings, "sentences": sentences[name], "seconds": round(sw.elapsed, 3)}
           for name, sw in res.sweeps.items()},
        "stage_seconds": res.stage_seconds,
        "command_seconds": round(time.perf_counter() - t0, 3)})
    tables = write_result(res, args.work, manifest)
    if not args.quiet:
        print(f"{design.settings.get('name', design.group)}: {design.n_images} units kept "
              f"({design.n_melanoma} positive), {len(design.excluded)} excluded "
              "(excluded_units.csv)")
        # the user's question first: does disagreement add to the mean? (incremental.csv)
        for line in prose.incremental_sentences(tables["incremental.csv"]):
            print(line)
        print(claims.claims_table(res.review)[
            ["claim", "verdict", "parts_supported", "n_parts", "ours"]]
              .to_string(index=False))
        for note in [*res.notes, *(x for name in res.sweeps for x in sentences[name])]:
            print("-", note)
        print(f"wrote {', '.join(tables)} and manifest.json to {out} "
              f"in {time.perf_counter() - t0:.1f} s")
    return 0


def _sweep_options(args: argparse.Namespace) -> dict:
    """``multiverse=`` and ``power=`` of :func:`analysis.studies.analyze.analyze` from the options
    of ``analyze`` (False when not requested)."""
    mv = {"n_permutations": args.multiverse_permutations} if args.multiverse else False
    pw = ({"n_datasets": args.power_datasets,
           "calibration_datasets": args.power_calibration_datasets,
           "n_permutations": args.power_permutations, "n_images": args.power_images,
           "n_annotators": args.power_annotators} if args.power else False)
    return {"multiverse": mv, "power": pw}


def cmd_replicate(args: argparse.Namespace) -> int:
    from ..presentation import prose
    from ..studies import replication

    out = Path(args.out)
    ann = reproduce.load_annotations()
    res = replication.replicate(ann, repeats=args.repeats, seed=args.seed,
                                estimator=args.estimator, n_permutations=args.permutations,
                                n_jobs=args.jobs, quiet=args.quiet)
    tables = write_result(res, args.work,
                          run_manifest("replicate", seed=args.seed, **res.manifest_extra))
    if not args.quiet:
        for line in prose.verdict_sentences(res):
            print("-", line)
        for line in (prose.correlation_sentences(res.correlations)
                     + prose.band_sentences(res.sensitivity)):
            print("-", line)
        print(f"wrote {', '.join(tables)} and manifest.json to {out}")
    return 0


def cmd_annotators(args: argparse.Namespace) -> int:
    from ..studies import replication

    out = Path(args.out)
    ann = reproduce.load_annotations()
    res = replication.annotator_curve(ann, seed=args.seed, max_subsets=args.max_subsets,
                                      repeats=args.repeats, n_jobs=args.jobs, quiet=args.quiet)
    tables = write_result(res, args.work,
                          run_manifest("annotators", seed=args.seed, **res.manifest_extra))
    if not args.quiet:
        print(f"wrote {', '.join(tables)} and manifest.json to {out}")
    return 0


def cmd_multiverse(args: argparse.Namespace) -> int:
    from ..presentation import prose
    from ..studies import multiverse as mv

    out = Path(args.out)
    ann = reproduce.load_annotations()
    res = mv.multiverse(ann.tidy, ann.labels, n_permutations=args.permutations, seed=args.seed,
                        n_jobs=args.jobs, quiet=args.quiet)
    survival = prose.survival_sentences(res.frame)
    tables = write_result(res, args.work, run_manifest(
        "multiverse", seed=args.seed, multiverse=res.settings, survival=survival))
    if not args.quiet:
        print("\n".join(survival))
        print(f"wrote {', '.join(tables)} and manifest.json to {out} in {res.elapsed:.1f} s")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:

    from ..presentation import prose
    from ..studies import review
    from ..studies import simulate as sim

    out = Path(args.out)
    design = reproduce.load_group()
    res = sim.simulate_group(design, n_datasets=args.datasets,
                             calibration_datasets=args.calibration_datasets,
                             n_permutations=args.permutations, n_images=tuple(args.images),
                             n_annotators=tuple(args.annotators), margin=review.MARGIN,
                             seed=args.seed, n_jobs=args.jobs, quiet=args.quiet)
    cal, pw, params, c4 = res.calibration, res.power, res.params, res.c4
    tables = write_result(res, args.work, run_manifest("simulate", seed=args.seed, **{
        "n_permutations": args.permutations, "calibration_datasets": args.calibration_datasets,
        "power_datasets": args.datasets, "power_images": list(args.images),
        "power_annotators": list(args.annotators), "calibration_seconds": round(cal.elapsed, 3),
        "power_seconds": round(pw.elapsed, 3),
        "shrinkage": params.shrinkage, "target_cv_auc": params.target_cv_auc,
        "model_cv_auc": params.model_cv_auc, "coverage_sentence": prose.coverage_sentence(cal),
        "power_sentence": prose.power_sentence(pw.summary), "strong": res.strong_info,
        "strong_sentence": prose.strong_regime_sentence(cal.coverage, cal.settings),
        "c4_power_sentence": prose.c4_power_sentence(c4)}))
    if not args.quiet:
        print(prose.coverage_sentence(cal))
        print(prose.power_sentence(pw.summary))
        print(f"wrote {', '.join(tables)} and manifest.json to {out} in {res.elapsed:.1f} s")
    return 0


def _common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options every computing subcommand takes: --out, --overwrite, --seed, --jobs,
    --quiet, --backend, --scheduler."""
    p.add_argument("--out", required=True,
                   help="output folder (written all or nothing; must not exist or be empty, "
                        "unless --overwrite)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing result in --out whole")
    p.add_argument("--seed", type=nonneg_int, default=models.DEFAULT_SEED,
                   help="seed, an integer >= 0 (default %(default)s)")
    p.add_argument("--jobs", type=jobs_int, default=-1,
                   help="worker processes: -1 (all cores, the default) or >= 1; results do "
                        "not depend on it")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--backend", choices=BACKENDS, default="local",
                   help="where the task lists run: this machine (joblib/loky) or a Dask "
                        "cluster (needs --scheduler; results are identical; default %(default)s)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address for --backend dask, e.g. tcp://10.0.0.5:8786")
    return p


def _margin(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1), got {v}")
    return v


def _review_options(p: argparse.ArgumentParser) -> None:
    """Resampling options of ``review`` and ``analyze``."""
    b = budgets.REVIEW
    p.add_argument("--bootstrap", type=int_at_least(MIN_BOOTSTRAP), default=b.n_boot,
                   help=f"bootstrap-CV replicates (each refits the cross-validation), "
                        f">= {MIN_BOOTSTRAP} (default %(default)s)")
    p.add_argument("--permutations", type=_PERMUTATIONS,
                   default=b.n_permutations,
                   help=f"label permutations, >= {MIN_PERMUTATIONS} (default %(default)s)")
    p.add_argument("--repeats", type=positive_int, default=b.repeats,
                   help="repeats of 10-fold CV, >= 1 (default %(default)s)")
    p.add_argument("--perm-repeats", type=positive_int, default=b.perm_repeats,
                   help="fold assignments of the permutation statistic (observed and each "
                        "permutation), >= 1 (default %(default)s)")
    p.add_argument("--calibration-bootstrap", type=int_at_least(MIN_BOOTSTRAP),
                   default=b.calibration_boot,
                   help=f"bootstrap replicates of the calibration statistics, >= {MIN_BOOTSTRAP} "
                        "(default %(default)s)")
    p.add_argument("--margin", type=_margin, default=budgets.NONINFERIORITY_MARGIN,
                   help="non-inferiority margin of C4 in AUC, in (0, 1) (default %(default)s: "
                        "see analysis.studies.review.MARGIN for why)")
    p.add_argument("--seeds", type=nonneg_int, default=b.n_seeds,
                   help="other master seeds over which the permutation p-values are "
                        "recomputed, >= 0 (default %(default)s)")


def _sweep_arguments(p: argparse.ArgumentParser) -> None:
    """The on-request parts of ``analyze`` (:mod:`analysis.studies.sweeps`)."""

    g = p.add_argument_group("on request")
    g.add_argument("--multiverse", action="store_true",
                   help="also run the multiverse of the C4/C5 analysis choices (multiverse*.csv)")
    g.add_argument("--multiverse-permutations", type=_PERMUTATIONS,
                   default=budgets.MULTIVERSE_SWEEP.n_permutations,
                   help="largest number of permutations per path (default %(default)s)")
    g.add_argument("--power", action="store_true",
                   help="also fit the generative model to the data: calibration and power "
                        "(power*.csv)")
    g.add_argument("--power-datasets", type=positive_int,
                   default=budgets.SIMULATION_SWEEP.n_datasets,
                   help="studies per power condition (default %(default)s)")
    g.add_argument("--power-calibration-datasets", type=positive_int,
                   default=budgets.SIMULATION_SWEEP.calibration_datasets,
                   help="studies per model in the calibration (default %(default)s)")
    g.add_argument("--power-permutations", type=_PERMUTATIONS,
                   default=budgets.SIMULATION_SWEEP.n_permutations,
                   help="permutations per simulated study (default %(default)s)")
    g.add_argument("--power-images", type=int_at_least(MIN_IMAGES), nargs="+", default=None,
                   help="units of the power grid (default: half, the same and twice the data "
                        "set's)")
    g.add_argument("--power-annotators", type=int_at_least(MIN_ANNOTATORS), nargs="+",
                   default=None, help="raters per unit of the power grid (default: half, the "
                                      "same and twice the data set's)")


def _separator(text: str) -> str:
    """argparse type of ``--sep`` (:func:`analysis.design.dataset.parse_sep`)."""
    from ..design.dataset import parse_sep

    try:
        return parse_sep(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _backend(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The context in which the command computes: local, or on the Dask cluster of
    ``--scheduler`` (:func:`analysis.base.distributed.compute_backend`)."""
    backend, scheduler = getattr(args, "backend", "local"), getattr(args, "scheduler", None)
    if backend == "dask" and not scheduler:
        parser.error("--backend dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    if backend == "local" and scheduler:
        parser.error("--scheduler is only used with --backend dask")
    return compute_backend(backend, scheduler)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: what is wrong, and where the
    usage is (``see crowd-disagreement analyze --help``), without printing the whole
    usage first (27 lines for ``analyze``). Its subcommands' parsers are of this class
    too (``add_subparsers`` uses the parent's class)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="crowd-disagreement",
        description="Reproduce and review Cheplygina & Pluim (2018), "
                    "'Crowd disagreement of medical images is informative'.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fetch", help="download (or find locally) and verify the data files")
    p.set_defaults(func=cmd_fetch)

    p = _common(sub.add_parser("reproduce", help="experiments 1 and 2 on group 7 (fold AUCs, "
                                                 "summary, comparison with the paper)"))
    p.add_argument("--repeats", type=positive_int, default=reproduce.DEFAULT_REPEATS,
                   help="repeats of 10-fold CV, >= 1 (repeat 0 is the canonical split; "
                        "default %(default)s)")
    p.add_argument("--estimator", choices=["mle", "firth", "both"], default="both",
                   help="logistic estimator (default %(default)s)")
    p.set_defaults(func=cmd_reproduce)


    p = _common(sub.add_parser("review", help="statistical review of the paper's claims on "
                                              "group 7 (CIs, permutation tests, ICC, moment "
                                              "tests, verdicts)"))
    _review_options(p)
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
    g.add_argument("--sep", type=_separator, default=None, metavar="SEP",
                   help="delimiter of the CSV files (default: detected; a tab is 'tab' or "
                        "'\\t')")
    g.add_argument("--decimal", choices=[".", ","], default=None,
                   help="decimal mark of the scores (default: ',' when a semicolon- or "
                        "tab-separated file writes decimal commas only, else '.')")
    g.add_argument("--wide", action="store_true",
                   help="annotations are wide (detected when there is no feature/score column)")
    g.add_argument("--positive", help="the positive class when labels are class names")
    g.add_argument("--name", default=None,
                   help="the data set's name in the outputs (default: the annotation file's "
                        "name without its extension)")
    g.add_argument("--raters", choices=["persons", "positions"], default=None,
                   help="persons: the same id is the same person on every unit; positions: ids "
                        "are slots (default: persons, unless the ids are the first k of one "
                        "list on every unit, as slots are: then say which)")
    g.add_argument("--min-raters", type=int_at_least(2), default=None,
                   help="keep units with at least K >= 2 raters on every feature (default 4: "
                        "every moment defined)")
    g.add_argument("--raters-per-unit", type=int_at_least(2), default=None,
                   help="draw exactly K >= 2 raters per unit (seeded)")
    g.add_argument("--group-col", default=None, metavar="COLUMN",
                   help="column (of the labels, else the annotations) holding the group of "
                        "each unit, e.g. the patient of a nodule: folds, bootstrap and "
                        "permutations then keep a group's units together (default: none, "
                        "units taken as independent)")
    g.add_argument("--rater-count", choices=["none", "covariate"], default="none",
                   help="covariate: add the number of raters of each unit to every feature "
                        "set, so that disagreement is not a proxy for how many raters "
                        "looked (default none)")
    p.add_argument("--no-curve", action="store_true",
                   help="skip the annotator-count curve (annotator_curve.csv, "
                        "annotator_trend.csv: cvAUC of mean and sd from k = 2..K raters)")
    _review_options(p)
    _sweep_arguments(p)
    p.set_defaults(func=cmd_analyze)


    p = _common(sub.add_parser("replicate", help="mean vs sd of the ABC features on every "
                                                 "eligible student group and MTurk, with "
                                                 "meta-analysis"))
    p.add_argument("--repeats", type=positive_int, default=budgets.REPLICATION.repeats,
                   help="repeats of CV per group, >= 1 (default %(default)s)")
    p.add_argument("--permutations", type=_PERMUTATIONS,
                   default=budgets.REPLICATION.n_permutations,
                   help=f"label permutations per group for the sd test, >= {MIN_PERMUTATIONS} "
                        "(default %(default)s)")
    p.add_argument("--estimator", choices=["mle", "firth"], default="mle")
    p.set_defaults(func=cmd_replicate)

    p = _common(sub.add_parser("annotators", help="AUC of mean and sd features against the "
                                                  "number of annotators"))
    p.add_argument("--repeats", type=positive_int, default=budgets.CURVE.repeats,
                   help="repeats of CV per subset, >= 1 (default %(default)s)")
    p.add_argument("--max-subsets", type=positive_int, default=budgets.CURVE.max_subsets,
                   help="at most this many annotator subsets per k, >= 1 (default %(default)s)")
    p.set_defaults(func=cmd_annotators)

    from ..studies import simulate as sim

    p = _common(sub.add_parser("multiverse", help="claims C4 and C5 over every path of analysis "
                                                  "choices (scaling, estimator, missing, CV, "
                                                  "disagreement)"))
    p.add_argument("--permutations", type=_PERMUTATIONS,
                   default=budgets.MULTIVERSE.n_permutations,
                   help=f"largest number of label permutations per path (the test stops "
                        f"at its {budgets.MULTIVERSE.exceedances}th exceedance), "
                        f">= {MIN_PERMUTATIONS} (default %(default)s)")
    p.set_defaults(func=cmd_multiverse)

    p = _common(sub.add_parser("simulate", help="generative model fitted to group 7: calibration "
                                                "of the permutation test and CIs, power of the "
                                                "sd model"))
    p.add_argument("--permutations", type=_PERMUTATIONS,
                   default=budgets.SIMULATION.n_permutations,
                   help=f"permutations per simulated study, >= {MIN_PERMUTATIONS} "
                        "(default %(default)s)")
    p.add_argument("--datasets", type=positive_int, default=budgets.SIMULATION.n_datasets,
                   help="studies per power condition, >= 1 (default %(default)s)")
    p.add_argument("--calibration-datasets", type=positive_int,
                   default=budgets.SIMULATION.calibration_datasets,
                   help="studies per model in the calibration, >= 1 (default %(default)s)")
    p.add_argument("--images", type=int_at_least(MIN_IMAGES), nargs="+",
                   default=list(sim.POWER_IMAGES),
                   help=f"numbers of images of the power grid, each >= {MIN_IMAGES}")
    p.add_argument("--annotators", type=int_at_least(MIN_ANNOTATORS), nargs="+",
                   default=list(sim.POWER_ANNOTATORS),
                   help=f"numbers of annotators of the power grid, each >= {MIN_ANNOTATORS}")
    p.set_defaults(func=cmd_simulate)
    return parser


class _CommandFailed(Exception):
    """A command returned a non-zero status: its output folder is discarded."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; return its exit status.

    Options are validated by argparse (exit status 2 and a one-line usage error).
    A command with ``--out`` runs inside :func:`analysis.presentation.outputs.atomic_output`: its
    folder is checked (and locked) before anything is computed, the command writes into
    a temporary folder (``args.work``), and that folder replaces ``--out`` only when the
    command succeeds. Errors of the package (:class:`analysis.base.errors.CrowdDisagreementError`:
    data, malformed input, output folder) are one line on stderr and exit status 2.
    SIGINT (Ctrl-C) and SIGTERM, to this process or its whole process group, stop the
    workers, remove the temporary folder and the lock, and end the process with one
    line ("interrupted; nothing was written to OUT") and status 130 or 143
    (:mod:`analysis.base.interrupts`).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    backend = _backend(parser, args)  # refuses bad --backend/--scheduler before any work
    try:
        if getattr(args, "out", None) is None:
            with interrupts.guard():
                return args.func(args)
        with (interrupts.guard(args.out),
              atomic_output(args.out, overwrite=args.overwrite) as work, backend):
            args.work = work
            status = args.func(args)
            if status != 0:
                raise _CommandFailed(status)
        return 0
    except _CommandFailed as failed:
        return failed.status
    except CrowdDisagreementError as err:
        print(f"crowd-disagreement: {error_message(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
