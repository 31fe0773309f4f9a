# Entry points, each doing all set-up on a fresh clone:
#   make report   -> report.html
#   make review ANNOTATIONS=FILE LABELS=FILE [POSITIVE=NAME] [GROUP_COL=COLUMN]
#               [RATER_COUNT=covariate] [REVIEW_OPTS='-P raters:positions']
#                 -> review.html, the review of any multi-rater data set (default: the example)
#   make test     -> the test suite
# report and review render with the Quarto on PATH, else .venv/bin/quarto, else they
# first install Quarto into .venv (pip install quarto-cli, which downloads the binary
# from GitHub); where that fails they stop with a message (install Quarto >= 1.4 from
# quarto.org and put it on PATH). See analysis/presentation/render.py.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test report review install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[report,test]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

# a project render (freeze applies), re-executed whenever code, data or settings
# changed: see analysis/presentation/render.py
report: $(STAMP)
	$(BIN)/python -m analysis.presentation.render

# the parameterised review of any data set; without ANNOTATIONS/LABELS, of the example.
# Paths are passed as given (relative to this folder), so that the document and its
# messages show them as the user wrote them. Bad input stops before Quarto runs, in one
# line naming these variables; a failed render renames the old review.html to
# review.html.stale.
ANNOTATIONS ?=
LABELS      ?=
POSITIVE    ?=
GROUP_COL   ?=
RATER_COUNT ?=
REVIEW_OPTS ?=
review: $(STAMP)
	$(BIN)/python -m analysis.presentation.render review.qmd \
	  $(if $(ANNOTATIONS),-P annotations:$(ANNOTATIONS)) \
	  $(if $(LABELS),-P labels:$(LABELS)) \
	  $(if $(POSITIVE),-P positive:$(POSITIVE)) \
	  $(if $(GROUP_COL),-P group_col:$(GROUP_COL)) \
	  $(if $(RATER_COUNT),-P rater_count:$(RATER_COUNT)) $(REVIEW_OPTS)

clean:
	rm -rf report.html report_files _freeze .quarto .render-key review.html review.html.stale \
	  review_files
