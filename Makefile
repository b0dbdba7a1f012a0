# Makefile - a thin wrapper over meson (the build) and scripts/install-deps.sh (the Debian
# packages). Every target is one or two meson commands; meson stays the build.
#
#   make test            install what is missing, configure build/, build, run every test
#   make demo            same build, then scripts/demo.sh on the bundled examples
#   make check-valgrind  the tests under valgrind (meson test --setup=valgrind)
#   make asan            ASan+UBSan build in build-asan/ and its tests
#   make fuzz            libFuzzer targets (clang) in build-fuzz/, FUZZ_SECONDS per target
#   make clean           remove every build directory
#
# MESON_SETUP_ARGS is passed to `meson setup build` (.ci/run sets -Dwerror=true). When build/
# exists and MESON_SETUP_ARGS is set and differs from the last one given, build/ is
# reconfigured with it; options set once stay until changed again or `make clean`.

MESON ?= meson
BUILD ?= build
ASAN_BUILD ?= build-asan
MESON_SETUP_ARGS ?=
FUZZ_SECONDS ?= 60

ASAN_SETUP_ARGS = -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true
SAN_ENV = ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: all deps build test demo check-valgrind asan fuzz clean

all: build

deps:
	@sh scripts/install-deps.sh

# $(BUILD)/.setup-args records the last MESON_SETUP_ARGS given, so a CI run in a developer's
# tree reconfigures instead of silently building without -Dwerror=true.
build: deps
	@set -e; \
	if [ ! -f '$(BUILD)/build.ninja' ]; then \
		echo '$(MESON) setup $(BUILD) $(MESON_SETUP_ARGS)'; \
		$(MESON) setup '$(BUILD)' $(MESON_SETUP_ARGS); \
	elif [ -n '$(MESON_SETUP_ARGS)' ] && \
	     [ "$$(cat '$(BUILD)/.setup-args' 2>/dev/null)" != '$(MESON_SETUP_ARGS)' ]; then \
		echo '$(MESON) setup --reconfigure $(BUILD) $(MESON_SETUP_ARGS)'; \
		$(MESON) setup --reconfigure '$(BUILD)' $(MESON_SETUP_ARGS); \
	fi; \
	if [ -n '$(MESON_SETUP_ARGS)' ]; then \
		printf '%s\n' '$(MESON_SETUP_ARGS)' > '$(BUILD)/.setup-args'; \
	fi
	$(MESON) compile -C '$(BUILD)'

test: build
	$(MESON) test -C '$(BUILD)' --print-errorlogs

demo: build
	AUTOSCALERD='$(BUILD)/autoscalerd/autoscalerd' bash scripts/demo.sh

check-valgrind: build
	$(MESON) test -C '$(BUILD)' --setup=valgrind --print-errorlogs

asan: deps
	@set -e; \
	if [ ! -f '$(ASAN_BUILD)/build.ninja' ]; then \
		echo '$(MESON) setup $(ASAN_BUILD) $(ASAN_SETUP_ARGS)'; \
		$(MESON) setup '$(ASAN_BUILD)' $(ASAN_SETUP_ARGS); \
	fi
	$(MESON) compile -C '$(ASAN_BUILD)'
	$(SAN_ENV) $(MESON) test -C '$(ASAN_BUILD)' --print-errorlogs

fuzz: deps
	FUZZ_SECONDS='$(FUZZ_SECONDS)' bash scripts/fuzz.sh

clean:
	rm -rf '$(BUILD)' '$(ASAN_BUILD)' build-fuzz
