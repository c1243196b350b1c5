# Two commands on a fresh machine: `make review` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: review test validate dictionary numbers reference bench clean

# The stamp depends on the dependency files, so a second run installs nothing.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	touch $(STAMP)

review: $(STAMP)
	$(BIN)/review render

test: $(STAMP)
	$(BIN)/python -m pytest -q

validate: $(STAMP)
	$(BIN)/review validate
	$(BIN)/python -m analysis.schema --check

# Regenerates extraction/README.md from extraction/datapackage.json.
dictionary: $(STAMP)
	$(BIN)/python -m analysis.schema

# Records every number the review reports; `make test` fails until this is rerun after a
# change that moves a number, so each such change shows in the commit that made it.
numbers: $(STAMP)
	$(BIN)/review numbers --json > results/numbers.json

# Regenerates the metafor reference values (needs R with metafor and metadat).
reference:
	cd tests/reference && for f in *.R; do Rscript "$$f" || exit 1; done

# Runs every benchmark, then copies their tables into README's performance section.
bench: $(STAMP)
	$(BIN)/python benchmarks/pooling.py
	$(BIN)/python benchmarks/render.py
	$(BIN)/python benchmarks/update_readme.py

clean:
	rm -rf _output .review-cache
