# Two commands on a fresh machine: `make review` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: review test check lock validate dictionary reference bench fixture clean

# The stamp depends on the dependency files, so a second run installs nothing.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	touch $(STAMP)

review: $(STAMP)
	$(BIN)/review render

# `review check` first: it names every number that no longer follows from the sheets.
test: $(STAMP)
	$(BIN)/review check
	$(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/review check

validate: $(STAMP)
	$(BIN)/review validate
	$(BIN)/python -m analysis.data.schema --check

# Regenerates extraction/README.md from extraction/datapackage.json.
dictionary: $(STAMP)
	$(BIN)/python -m analysis.data.schema

# Rewrites numbers.lock; `make test` fails until this is rerun after a change that moves
# a number, so each such change shows in the commit that made it.
lock: $(STAMP)
	$(BIN)/review lock

# Re-copies the review's data into tests/fixtures/bundled (the tests' frozen copy) and
# re-locks it; run only to move the fixture on on purpose (tests/fixtures/bundled/README.md).
fixture: $(STAMP)
	$(BIN)/python tests/fixtures/refresh_bundled.py

# Regenerates the metafor reference values (needs R with metafor and metadat).
reference:
	for f in tests/reference/*.R; do Rscript "$$f" || exit 1; done

# Runs every benchmark, then copies their tables into README's performance section.
bench: $(STAMP)
	$(BIN)/python benchmarks/pooling.py
	$(BIN)/python benchmarks/render.py
	$(BIN)/python benchmarks/living.py
	$(BIN)/python benchmarks/update_readme.py

clean:
	rm -rf _output .review-cache _figures
