# Two entry points, each doing all set-up on a fresh clone:
#   make report   -> report.html (needs Quarto >= 1.4 on PATH)
#   make test     -> the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test report install clean

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

clean:
	rm -rf report.html report_files _freeze .quarto .render-key
