# Entry points, each doing all set-up on a fresh clone:
#   make report   -> report.html
#   make review ANNOTATIONS=FILE LABELS=FILE [POSITIVE=NAME] [REVIEW_OPTS='-P raters:positions']
#                 -> review.html, the review of any multi-rater data set (default: the example)
#   make test     -> the test suite
# report and review render with the Quarto on PATH, else .venv/bin/quarto, else they
# first install Quarto into .venv (pip install quarto-cli, which downloads the binary
# from GitHub); where that fails they stop with a message (install Quarto >= 1.4 from
# quarto.org and put it on PATH). See analysis/render.py.
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
# changed: see analysis/render.py
report: $(STAMP)
	$(BIN)/python -m analysis.render

# the parameterised review of any data set; without ANNOTATIONS/LABELS, of the example
ANNOTATIONS ?=
LABELS      ?=
POSITIVE    ?=
REVIEW_OPTS ?=
review: $(STAMP)
	$(BIN)/python -m analysis.render review.qmd \
	  $(if $(ANNOTATIONS),-P annotations:$(abspath $(ANNOTATIONS))) \
	  $(if $(LABELS),-P labels:$(abspath $(LABELS))) \
	  $(if $(POSITIVE),-P positive:$(POSITIVE)) $(REVIEW_OPTS)

clean:
	rm -rf report.html report_files _freeze .quarto .render-key review.html review_files
