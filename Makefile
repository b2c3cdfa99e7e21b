# ringv8's front door. Every target installs missing Debian packages first (scripts/install-deps.sh).
#
#   make run     build and run the main job
#   make test    build and run every test (ctest)
#   make bench   build and run the benchmarks
#   make asan    build with ASan+UBSan and run every test
#   make format  apply .clang-format to the sources

BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
JOBS      ?= $(shell nproc)
RINGV8    := $(BUILD_DIR)/tools/ringv8
RUN_KEY   ?= $(BUILD_DIR)/ringv8.key
SOURCES    = $(shell git ls-files '*.cpp' '*.h' 2>/dev/null)

.PHONY: all deps build run test bench asan format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Until `ringv8 swarm` exists (the node issue), the main job shows the node's identity: it creates
# the key a node would use (once) and prints it, decodes and verifies an introduction-request made
# by py-ipv8 (spec section 11.4, P1), and measures the loopback receive rate of both endpoints.
SAMPLE_PACKET = 00027e313685c1912a141279f8248fc8db5899c5df5af6004a4c69624e61434c504b3aa4e09292b651c278b9772c569f5fa9bb13d906b46ab68c9df9dc2b4409f8a2098a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0000000000000001020202021b58c0a8010a1f9a010101011f9a010001b63b2a3146fad48ff8d6b0b4d83f813d8707f826a69fd30531dd4bd5e55cc7fce464ce1993f3c67c1c3c0e056b1ebe057885ae3fc77d74b37dc914c173e72106
run: build
	@$(RINGV8) version
	@test -f $(RUN_KEY) || $(RINGV8) keygen --out $(RUN_KEY) >/dev/null
	@$(RINGV8) keygen --show $(RUN_KEY)
	@$(RINGV8) decode $(SAMPLE_PACKET)
	@$(RINGV8) bench endpoint --seconds 0.5 --rounds 1 --payload 64

test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

bench: build
	cmake --build $(BUILD_DIR) -j $(JOBS) --target benchmarks
	@for b in $(BUILD_DIR)/bench/*/*_bench; do echo "== $$b"; $$b || exit 1; done

asan: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGV8_SANITIZE=ON \
	      -DRINGV8_BUILD_BENCH=OFF
	cmake --build $(ASAN_DIR) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_DIR) --output-on-failure -j $(JOBS)

format: deps
	clang-format -i $(SOURCES)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
