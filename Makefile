# Thin entry points; the work is in scripts/ and CMake.
#   make test   - install packages, build, run every test (unit, integration, e2e) in the dev
#                 build and again under AddressSanitizer + UndefinedBehaviorSanitizer
#   make demo   - install packages, build, run the whole system on simulated patients
#   make soak   - the seeded chaos run of `make test` for SOAK_S seconds (default an hour);
#                 SEED=N replays a seed
PRESET ?= dev
TEST_PRESETS ?= dev asan
BUILD_DIR := build/$(PRESET)

.PHONY: bootstrap build test demo soak bench clean
SOAK_S ?= 3600
SEED ?=

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET)

test: bootstrap
	@set -e; for p in $(TEST_PRESETS); do \
	  echo "== $$p: configure, build, test"; \
	  cmake --preset $$p >/dev/null; \
	  cmake --build --preset $$p; \
	  ctest --preset $$p; \
	done

demo: build
	@bash scripts/demo.sh --build-dir $(BUILD_DIR)

soak: build
	@$(BUILD_DIR)/tests/chaos/healthtwin-chaos --duration-s $(SOAK_S) --min-faults $$(( $(SOAK_S) / 10 )) \
	  $(if $(SEED),--seed $(SEED))

# Benchmarks, optimised build; figures go in the issue notes. Not part of `make test`.
bench: bootstrap
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target healthtwin-ingest-bench healthtwin-ingest healthtwin-model-bench \
	  healthtwin-treatment-bench healthtwin-twin-bench healthtwin-alarm-burden healthtwin-alert-latency-bench \
	  healthtwin-alerts healthtwin-clinician-api healthtwin-feeds-bench dashboard_browser_test
	@build/release/models/healthtwin-model-bench
	@build/release/models/calibration/healthtwin-twin-bench
	@build/release/services/alerts/bench/healthtwin-alarm-burden --patients 100 --days 7
	@build/release/models/treatment/healthtwin-treatment-bench --patients 10000 --arms 5 --days 30 --threads 2 \
	  --members 50 --options 5 --surrogate-check 8
	@build/release/services/ingest/healthtwin-ingest-bench --ingest-bin build/release/services/ingest/healthtwin-ingest \
	  --pki-script deploy/pki/make-dev-pki.sh
	@build/release/tests/bench/healthtwin-alert-latency-bench --ingest-bin build/release/services/ingest/healthtwin-ingest \
	  --alerts-bin build/release/services/alerts/healthtwin-alerts \
	  --clinician-api-bin build/release/clinician_api/healthtwin-clinician-api --pki-script deploy/pki/make-dev-pki.sh
	@build/release/services/feeds/healthtwin-feeds-bench --seconds 30
	@build/release/tests/browser/dashboard_browser_test --gtest_also_run_disabled_tests \
	  --gtest_filter='DashboardBrowserTest.DISABLED_RenderBenchmark'

clean:
	rm -rf build
