# Thin entry points; the work is in scripts/ and CMake.
#   make test   - install packages, build, run every test (unit, integration, e2e)
#   make demo   - install packages, build, run the whole system on simulated patients
PRESET ?= dev
BUILD_DIR := build/$(PRESET)

.PHONY: bootstrap build test demo asan clean

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET)

test: build
	@ctest --preset $(PRESET)

demo: build
	@bash scripts/demo.sh --build-dir $(BUILD_DIR)

asan:
	@$(MAKE) test PRESET=asan

clean:
	rm -rf build
