"""crowd-disagreement: is annotators' disagreement informative about the label?

The package is flat; its modules form layers, and a module imports only from its own
layer or the layers above it in this list (``tests/test_layers.py`` checks it, and
that no two modules import each other):

==============  =========================================================================
layer           modules
==============  =========================================================================
base            ``errors``, ``progress``, ``paper`` (the paper's published numbers),
                ``fitconfig`` (tolerances, the master seed), ``metrics`` (the AUC and
                its ties), ``distributed`` (the Dask backend), ``seeds`` (the named
                random streams), ``budgets`` (resampling counts and their presets),
                ``interrupts`` (SIGINT/SIGTERM end a command cleanly), ``columns``
                (the column vocabulary of every result table), ``results`` (the one
                protocol of a study's result)
loading         ``data`` (pinned, hash-checked ENHANCE files), ``tidy`` (their tidy form)
design          ``features`` (the analysis design of one data set: rater columns,
                moments, feature sets), ``dataset`` (a user's files, validated, into
                that design)
fitting         ``engine`` (batched logistic fits), ``models`` (cross-validation, the
                reference statsmodels/firthmodels path)
statistics      ``inference`` (DeLong, bootstrap, permutation, meta-analysis),
                ``cvstats`` (the cvAUC estimand, its intervals and tests),
                ``cvinference`` (the one cvAUC inference routine: fold rule,
                bootstrap-CV, permutation tests, verdict rules),
                ``metacov`` (the sampling correlation of studies that share images),
                ``agreement`` (ICC, Krippendorff's alpha), ``coefficients``,
                ``calibration``
studies         ``reproduce`` (the paper's experiments), ``review`` (claims and
                verdicts), ``replication``, ``multiverse``, ``simulate``, ``sweeps``,
                ``analyze`` (the review of any data set)
presentation    ``present`` (table and figure helpers), ``prose`` (the studies'
                results in sentences), ``figures``, ``report`` and
                ``review_doc`` (the two Quarto documents' data), ``cache``, ``render``,
                ``outputs`` (atomic CSV folders), ``cli``
==============  =========================================================================
"""

#: Layers from the bottom (imported by everything) to the top; see the module docstring.
LAYERS = {
    "base": ("errors", "progress", "paper", "fitconfig", "metrics", "distributed", "seeds",
             "budgets", "interrupts", "columns", "results"),
    "loading": ("data", "tidy"),
    "design": ("features", "dataset"),
    "fitting": ("engine", "models"),
    "statistics": ("inference", "cvstats", "cvinference", "metacov", "agreement", "coefficients",
                   "calibration"),
    "studies": ("reproduce", "review", "replication", "multiverse", "simulate", "sweeps",
                "analyze"),
    "presentation": ("present", "prose", "figures", "report", "review_doc", "cache", "render",
                     "outputs", "cli"),
}
