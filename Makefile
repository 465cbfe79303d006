# Two commands do all set-up on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

DEMO := .jira-sync/demo

.PHONY: demo test lint bench clean dashboard

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/jira-sync demo --dir $(DEMO)

# The dashboard on the demo's warehouse (filled first if there is none), at http://127.0.0.1:8501; Ctrl-C stops it.
dashboard: $(STAMP)
	test -f $(DEMO)/JIRA_SYNC.db || $(BIN)/jira-sync demo --dir $(DEMO)
	$(BIN)/jira-sync dashboard --warehouse local:$(DEMO)

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest -n 2

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .jira-sync
