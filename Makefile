# liftlab — `make help` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export LIFTLAB_SHARED ?= $(abspath ../shared)

.DEFAULT_GOAL := help
.PHONY: help run test test-rust test-python develop venv wheel wheel-smoke cli apt browser engines spark lint bench bench-python bench-analysis bench-forecast bench-warehouse bench-spark clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

run: ## Install what is needed and start the service on 127.0.0.1:8080 (SQLite file ./liftlab.db)
	cargo build --release --bin liftlab
	./target/release/liftlab serve --bind 127.0.0.1:8080 --database liftlab.db --spec examples/experiments.toml

test: ## Install what is needed and run every test: Rust, Python, README snippets, notebooks, the wheel
	$(MAKE) test-rust
	$(MAKE) test-python
	$(MAKE) wheel-smoke

test-rust: ## Rust unit, integration, property and doc tests
	cargo test

cli: ## Build the liftlab binary used by the Python-side tests
	cargo build --bin liftlab

$(VENV)/.ready: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "maturin>=1.9.4,<2" polars numpy pandas scipy pytest hypothesis nbclient nbformat ipykernel ruff selenium statsmodels scikit-learn \
	  "growthbook==4.0.0" "scikit-uplift==0.5.1" "schemathesis>=4.3,<5" "mypy>=1.18"
	touch $@

venv: $(VENV)/.ready ## Create .venv with the Python tools

develop: venv ## Build the Python extension into .venv (release mode; editable: python/ is imported in place)
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop --release -q

WHEELS = target/wheels

# `maturin develop` builds with the venv's interpreter as PYO3_PYTHON; `wheel` names the same one
# (-i) and the same features (pyproject.toml), so after `develop` cargo has nothing to build and
# maturin only packages the wheel (another PYO3_PYTHON would rebuild pyo3 and the whole crate).
wheel: venv ## The abi3 wheel for Linux (manylinux) in target/wheels: the extension and the `liftlab` command
	rm -f $(WHEELS)/liftlab-*.whl
	$(VENV)/bin/maturin build --release -q -i $(abspath $(VENV))/bin/python -o $(WHEELS)
	@ls -l $(WHEELS)/liftlab-*.whl

# The wheel as an analyst installs it: a fresh venv, a PATH without cargo or rustc, the README's
# Python tour, `liftlab --help` (the binary's, for every subcommand), `liftlab serve` + /healthz,
# Ctrl-C (tests/python/wheel_smoke.py). Its dependencies (polars, numpy; duckdb and pyarrow
# for the tour's warehouse part) come from pip's cache after .venv's and `engines`' installs.
wheel-smoke: wheel cli engines ## Install the wheel into a fresh venv without a Rust toolchain and run the smoke test
	@set -e; d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	  $(PYTHON) -m venv "$$d/venv"; \
	  whl=$$(ls $(WHEELS)/liftlab-*.whl); "$$d/venv/bin/python" -m pip install -q "$$whl[warehouse]"; \
	  env PATH="$$d/venv/bin:/usr/bin:/bin" sh -c '! command -v cargo && ! command -v rustc' \
	    || { echo "cargo or rustc is on the smoke test's PATH"; exit 1; }; \
	  env PATH="$$d/venv/bin:/usr/bin:/bin" "$$d/venv/bin/python" tests/python/wheel_smoke.py $(abspath $(or $(CARGO_TARGET_DIR),target)/debug/liftlab)

# Debian packages the tests need and this machine lacks, installed by one apt-get run
APT_NEED = $(strip $(if $(wildcard /usr/bin/chromium),,chromium) $(if $(wildcard /usr/bin/chromedriver),,chromium-driver) \
  $(if $(wildcard /usr/lib/postgresql/*/bin/initdb),,postgresql) \
  $(if $(wildcard /usr/lib/jvm/java-17-openjdk-*/bin/java),,openjdk-17-jre-headless))

apt: ## The Debian packages of `browser`, `engines` and `spark` that are missing, in one apt-get run
	@if [ -n "$(APT_NEED)" ]; then \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO sh -c 'mkdir -p /etc/postgresql-common && { [ -f /etc/postgresql-common/createcluster.conf ] || echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf; }'; \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends $(APT_NEED); \
	fi

browser: apt ## Debian's chromium and chromium-driver for the page's end-to-end test (if missing)

# The warehouse tests' engines: DuckDB (embedded), chdb (ClickHouse in-process), psycopg and the
# ADBC PostgreSQL driver for the throwaway PostgreSQL cluster the tests start
# (tests/python/pg_cluster.py), sqlglot to parse the SQL snapshots of every dialect, pyarrow for Parquet
$(VENV)/.engines: $(VENV)/.ready
	$(PY) -m pip install -q duckdb sqlglot chdb "psycopg[binary]" adbc-driver-manager adbc-driver-postgresql pyarrow \
	  "tomli; python_version < '3.11'"
	touch $@

engines: apt $(VENV)/.engines ## The warehouse engines: DuckDB, chdb, psycopg, ADBC's PostgreSQL driver, sqlglot (pip) and Debian's postgresql server (apt, no cluster of its own)

# Spark: Debian's Java 17 runtime (by `apt`, with the other packages) and pyspark, which bundles
# Spark's jars, so nothing is fetched at run time; the marker keeps the pip step from running twice.
$(VENV)/.spark: $(VENV)/.ready
	$(PY) -m pip install -q "pyspark>=4.0,<5" "pyarrow>=15"
	touch $@

spark: apt $(VENV)/.spark ## Debian's openjdk-17-jre-headless (if missing) and pyspark + pyarrow into .venv, for the Spark tests

test-python: develop cli browser engines spark ## pytest: the Python face, README snippets, notebooks, doctests
	LIFTLAB_BIN=$(abspath target/debug/liftlab) $(PY) -m pytest -q python tests/python; \
	  rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; exit $$rc

lint: develop ## cargo fmt --check, clippy -D warnings, ruff, the Python stubs against the built module
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --no-default-features --features python,cli -- -D warnings
	$(VENV)/bin/ruff check python tests/python tests/fixtures bench
	$(PY) -m mypy.stubtest liftlab._core --allowlist tests/python/stubtest-allowlist.txt

bench: ## Criterion benches (Rust)
	cargo bench --bench assign
	cargo bench --bench analysis
	cargo bench --bench forecast

bench-analysis: develop ## liftlab analyze vs pandas + scipy on 10,000,000 units from Parquet
	cargo build --release --bin liftlab
	$(PY) -m pip install -q pyarrow
	$(PY) bench/analysis_vs_pandas.py

bench-forecast: develop ## a 100,000-draw forecast: liftlab vs the same Monte Carlo in numpy; POST /v1/forecast under wrk
	$(PY) bench/forecast_vs_numpy.py
	bench/http_forecast.sh 200 15
	FUNNELS=1 bench/http_forecast.sh 200 15
	SAME=1 bench/http_forecast.sh 200 15

bench-warehouse: develop engines ## 100M fact rows, 5M persons in Parquet: liftlab's compiled DuckDB query vs a hand-written one
	$(PY) bench/warehouse_vs_handwritten.py

bench-spark: develop engines spark ## Spark local[1]/local[2]: 50M ids assigned (vs a GrowthBook UDF and one process), 100M fact rows analysed; data in /tmp, deleted after
	$(PY) bench/spark_scale.py assign-all --ids 50000000 --sample 500000
	$(PY) bench/spark_scale.py analysis-all --orders 100000000 --persons 5000000 --analysis-cores 2

bench-python: develop ## liftlab vs the GrowthBook Python SDK on the same 1,000,000 ids
	$(PY) -m pip install -q growthbook
	$(PY) bench/assign_vs_growthbook.py

clean: ## Remove build outputs and the venv
	cargo clean
	rm -rf $(VENV)
