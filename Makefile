# ringv8's front door. Every target installs missing Debian packages first (scripts/install-deps.sh).
#
#   make run     build and run the main job
#   make test    build and run every test (ctest)
#   make bench   build and run the benchmarks
#   make asan    build with ASan+UBSan and run every test
#   make fuzz    build the libFuzzer targets (clang, ASan+UBSan) and run each FUZZ_SECONDS
#   make deb     build the Debian packages (ringv8, ringv8-dev) into the tree's root
#   make package-test  cmake --install, the packages, lintian, dpkg -i / --purge, a consumer
#   make format  apply .clang-format to the sources

BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
FUZZ_DIR  ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS      ?= $(shell nproc)
RINGV8    := $(BUILD_DIR)/tools/ringv8
SOURCES    = $(shell git ls-files '*.cpp' '*.h' 2>/dev/null)

.PHONY: all deps build run test bench asan fuzz deb package-test format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The main job: a bootstrap node and 200 real nodes on loopback in 20 communities, until every
# community has converged (exit 1 if not within 60 s). `ringv8 swarm --help` for the knobs.
run: build
	@$(RINGV8) swarm

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

bench: build
	cmake --build $(BUILD_DIR) -j $(JOBS) --target benchmarks
	@for b in $(BUILD_DIR)/bench/*/*_bench; do echo "== $$b"; $$b || exit 1; done

deb: deps
	scripts/make-deb.sh build-deb .

package-test: build
	scripts/package-test.sh $(BUILD_DIR)

asan: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGV8_SANITIZE=ON \
	      -DRINGV8_BUILD_BENCH=OFF
	cmake --build $(ASAN_DIR) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_DIR) --output-on-failure -j $(JOBS)

fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGV8_FUZZ=ON
	cmake --build $(FUZZ_DIR) -j $(JOBS)
	scripts/run-fuzzers.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

format: deps
	clang-format -i $(SOURCES)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR) build-deb
