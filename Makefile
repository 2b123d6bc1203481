# Two commands for a new machine: `make run` and `make test`. Everything else installs itself.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test lint typecheck pytest bench eval acord acord-train acord-cv acord-rerank-train loadtest system-deps clean screenshot

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first: the local CPU wheel, so nothing pulls a multi-GB CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

system-deps:
	@tools/system-deps.sh

.dev/localhost.pem:
	@mkdir -p .dev
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=localhost" \
	  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	  -keyout .dev/localhost-key.pem -out .dev/localhost.pem 2>/dev/null

# The task pane's browser tests: playwright-core from the lock file (the browser is Debian's).
E2E_MODULES := tests/e2e/node_modules/.package-lock.json
$(E2E_MODULES): tests/e2e/package-lock.json
	cd tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

run: $(STAMP) .dev/localhost.pem
	$(PY) -m server manifest --url https://localhost:8443 > .dev/manifest.xml
	@echo "Word add-in manifest: https://localhost:8443/manifest.xml (also .dev/manifest.xml); see README"
	$(PY) -m server serve --host 127.0.0.1 --port 8443 \
	  --cert .dev/localhost.pem --key .dev/localhost-key.pem

lint: $(STAMP)
	$(VENV)/bin/ruff check server tests bench eval

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP) system-deps $(E2E_MODULES)
	$(VENV)/bin/pytest

test: lint typecheck pytest

bench: $(STAMP)
	$(PY) -m bench.suggest_latency
	$(PY) -m bench.review_speed
	$(PY) -m bench.encode_backends

screenshot: $(STAMP) system-deps $(E2E_MODULES)
	CLAUSEWISE_SCREENSHOT=$(CURDIR)/docs/taskpane.png $(VENV)/bin/pytest tests/e2e/test_taskpane_e2e.py

eval: $(STAMP)
	$(PY) -m eval.run

# Clause search on ACORD (train and valid splits, read in place from the shared data folder).
# The fine-tuned model in $(SEARCH_MODEL) is trained first when missing (`acord-train`, about
# 15 minutes on 2 cores); its rows print beside the base model's. It trains on train and valid,
# so its valid rows are in-sample: `make acord-cv` gives the held-out estimate.
ACORD ?= ../shared/data/acord
ACORD_DATA = --corpus $(ACORD)/corpus.jsonl --queries $(ACORD)/queries.jsonl
SEARCH_MODEL ?= .cache/search-model
SEARCH_RERANKER ?= .cache/search-reranker
# The recipe chosen by cross-validation (BENCHMARKS.md, "Clause search, cross-validated")
SEARCH_RECIPE ?= --seed 0
acord: $(STAMP) $(SEARCH_MODEL)/training.json
	$(PY) -m server search-bench $(ACORD_DATA) \
	  --qrels $(ACORD)/qrels/train.tsv $(ACORD)/qrels/valid.tsv --model $(SEARCH_MODEL) \
	  $(if $(wildcard $(SEARCH_RERANKER)/training.json),--reranker $(SEARCH_RERANKER))

$(SEARCH_MODEL)/training.json: | $(STAMP)
	$(PY) -m server search-train $(ACORD_DATA) \
	  --qrels $(ACORD)/qrels/train.tsv $(ACORD)/qrels/valid.tsv --out $(SEARCH_MODEL) $(SEARCH_RECIPE)

# Fine-tune the search embedder on ACORD train and valid (again); weights stay in .cache/
acord-train: $(STAMP)
	rm -f $(SEARCH_MODEL)/training.json
	$(MAKE) $(SEARCH_MODEL)/training.json

# Cross-validate the recipe over the 57 train and valid queries (5 folds, siblings together):
# five trainings, a fold model each under .cache/search-cv (kept: a second run only prints)
acord-cv: $(STAMP)
	$(PY) -m server search-cv $(ACORD_DATA) \
	  --qrels $(ACORD)/qrels/train.tsv $(ACORD)/qrels/valid.tsv $(SEARCH_RECIPE)

# Train the search re-ranker (a cross-encoder) on ACORD train, valid's queries refused; one
# torch thread, about 10 minutes on this 2-core machine; weights stay in .cache/
acord-rerank-train: $(STAMP)
	$(PY) -m server search-train-reranker --corpus $(ACORD)/corpus.jsonl \
	  --queries $(ACORD)/queries.jsonl --qrels $(ACORD)/qrels/train.tsv \
	  --exclude $(ACORD)/qrels/valid.tsv --out $(SEARCH_RERANKER) --seed 0 --threads 1

# 32 clients against gunicorn on loopback: load, 20,000-request soak, a killed worker (bounded)
loadtest: $(STAMP)
	$(PY) -m bench.loadtest --out bench/loadtest.json

clean:
	rm -rf $(VENV) .dev .pytest_cache .mypy_cache .ruff_cache
