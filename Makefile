# Stevedore: the README's two commands are `make demo` and `make test`. Each installs what it
# needs inside the repo (pinned): .venv (moto, cargo-lambda, linters, pytest), .venv-sam
# (aws-sam-cli, which pins its own boto3) and node_modules (asl-validator).

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Offline, credential-free settings for the linters that insist on a region.
LINT_ENV := AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=lint AWS_SECRET_ACCESS_KEY=lint SAM_CLI_TELEMETRY=0

.PHONY: demo test build package lint lint-rust lint-template unit unit-rust unit-emulator unit-tools e2e tools clean
.PHONY: fuzz fuzz-smoke fuzz-build bench bench-smoke

demo: tools build
	$(PY) tools/demo.py

# The same targets as `lint unit fuzz-smoke package e2e bench-smoke` run one by one, but the
# builds the foreground does not need yet (build, package, fuzz-build) run beside the
# emulator-bound tests at the lowest CPU priority; see tools/make_test.py.
test:
	$(MAKE) --no-print-directory -j3 tools
	$(PY) tools/make_test.py

# The three installs are independent: `make -j3 tools` runs them at once.
tools: $(VENV)/.installed .venv-sam/.installed node_modules/.installed

$(VENV)/.installed: tools/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r tools/requirements.txt
	touch $@

.venv-sam/.installed: tools/requirements-sam.txt
	test -x .venv-sam/bin/python || $(PYTHON) -m venv .venv-sam
	.venv-sam/bin/python -m pip install --quiet --disable-pip-version-check -r tools/requirements-sam.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

build:
	cargo build --workspace --bins

# The release build `sam build` runs (cargo lambda build --release --arm64, one bootstrap per
# function of template.yaml), zipped as SAM ships it; fails on a missing zip or one over
# 10 MB. Without the aarch64 standard library it asks rustup for it; where rustup cannot
# get it, it says so and checks the x86_64 release build instead. See tools/package.py.
package: tools
	$(PY) tools/package.py

lint: lint-rust lint-template

lint-rust:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	@# The domain stays free of the AWS SDK.
	@if cargo tree -p stevedore-core -e normal,build | grep -E 'aws-(sdk|config|smithy)'; then \
		echo "crates/core must not depend on the AWS SDK"; exit 1; fi

lint-template: tools
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/cfn-lint template-target.yaml
	mkdir -p target
	$(LINT_ENV) $(PY) tools/lint/sam_translate.py template.yaml target/template.cfn.json
	$(PY) tools/lint/cfn_lint.py target/template.cfn.json
	$(LINT_ENV) .venv-sam/bin/sam validate --lint -t template.yaml
	node tools/lint/asl.js statemachines

unit: unit-rust unit-emulator unit-tools

unit-rust:
	cargo test --workspace

unit-emulator: tools
	$(PY) -m pytest tools/local-aws/tests -q

# The tests of the repository's own tools: `make test`'s lanes, the benchmark's analysis.
unit-tools: tools
	$(PY) -m pytest tools/tests tools/bench/tests -q

# --durations: the slowest tests of each run, to see where the suite's time goes.
e2e: tools build
	$(PY) -m pytest tests/e2e -q --durations=15

# Benchmarks (tools/bench/run.py, docs/benchmarks.md): the local stack with release-profile
# binaries, every figure over BENCH_ROUNDS rounds, written to docs/benchmarks.{md,json}.
# `make bench-smoke` (part of `make test`) runs one round of everything with the dev build
# `e2e` made, a reduced burst, into a temp dir, asserting nothing about time.
BENCH_ROUNDS ?= 5

bench: tools
	$(PY) tools/bench/run.py --rounds $(BENCH_ROUNDS) --out docs

bench-smoke: tools build
	$(PY) tools/bench/run.py --smoke --skip-build

# Fuzzing (fuzz/, its own workspace, built into target/fuzz): cargo-fuzz + libFuzzer with
# AddressSanitizer and debug assertions. cargo-fuzz passes nightly-only rustc flags
# (-Zsanitizer=address); RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
# `make fuzz` runs each target FUZZ_SECONDS; `make fuzz-smoke` (part of `make test`) briefly.
# New inputs go to target/fuzz/corpus/<target>; crashes to fuzz/artifacts/<target>.
CARGO_FUZZ_VERSION := 0.13.2
CARGO_FUZZ := .tools/bin/cargo-fuzz
FUZZ_TARGETS := ecr_event ecs_event config render
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 12
FUZZ_OUT := $(CURDIR)/target/fuzz
FUZZ_CARGO = cd fuzz && RUSTC_BOOTSTRAP=1 ../$(CARGO_FUZZ) fuzz

.tools/.cargo-fuzz-$(CARGO_FUZZ_VERSION):
	cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked --root .tools
	touch $@

fuzz-build: .tools/.cargo-fuzz-$(CARGO_FUZZ_VERSION)
	$(FUZZ_CARGO) build --debug-assertions --target-dir $(FUZZ_OUT)

# $(call fuzz-run,SECONDS): every target for SECONDS each; on a crash, the end of its log.
define fuzz-run
@set -e; mkdir -p $(FUZZ_OUT)/logs; for target in $(FUZZ_TARGETS); do \
	mkdir -p $(FUZZ_OUT)/corpus/$$target; log=$(FUZZ_OUT)/logs/$$target.log; \
	if ($(FUZZ_CARGO) run --debug-assertions --target-dir $(FUZZ_OUT) $$target \
		$(FUZZ_OUT)/corpus/$$target corpus/$$target -- -max_total_time=$(1) -timeout=30) >$$log 2>&1; then \
		echo "fuzz $$target: $$(grep -E '^Done [0-9]+ runs' $$log)"; \
	else tail -n 60 $$log; echo "fuzz $$target FAILED: input saved under fuzz/artifacts/$$target/"; exit 1; fi; \
done
endef

fuzz: fuzz-build
	$(call fuzz-run,$(FUZZ_SECONDS))

fuzz-smoke: fuzz-build
	$(call fuzz-run,$(FUZZ_SMOKE_SECONDS))

clean:
	cargo clean
	rm -rf $(VENV) .venv-sam node_modules
