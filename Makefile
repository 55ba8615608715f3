# talentd — the two commands a fresh Debian machine needs: `make run` and `make test`.
# Everything else here is a step those two take.

# Debian packages the build, the tests and the fuzzers need.
PACKAGES := cmake make gcc clang pkg-config python3 libclang-rt-14-dev \
            libuv1-dev node-llhttp libsqlite3-dev sqlite3 liblua5.4-dev \
            libcurl4-openssl-dev libjansson-dev libsodium-dev libcmocka-dev \
            json-schema-test-suite wrk tzdata \
            libxlsxwriter-dev librsvg2-bin python3-aiosmtpd dovecot-imapd

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
DATA       ?= data
LISTEN     ?= 127.0.0.1:8080
JOBS       ?= 2
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build run test test-normal test-asan fuzz bench install clean openapi

all: build

# Installs only what is missing, so a machine that has everything pays nothing.
deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) >/dev/null

run: deps build
	@if [ ! -f $(DATA)/talentd.db ]; then $(BUILD)/talentd demo --data $(DATA) 2>/dev/null >/dev/null \
	  || { rm -rf $(DATA); echo "demo data failed: run '$(BUILD)/talentd demo --data $(DATA)' to see why"; exit 1; }; fi
	@echo; cat $(DATA)/demo-logins.txt; echo
	@echo "Serving on http://$(LISTEN)  (API: http://$(LISTEN)/api/v1/openapi.json; Ctrl-C stops)"
	@echo "Sign in:  curl -i -X POST http://$(LISTEN)/api/v1/sessions -H 'Content-Type: application/json' \\"
	@echo "            -d '{\"email\":\"recruiter@demo.talentd.local\",\"password\":\"<from above>\"}'"
	@echo "or make a token:  $(BUILD)/talentd token create --data $(DATA) --email recruiter@demo.talentd.local"
	@echo
	@$(BUILD)/talentd serve --data $(DATA) --listen $(LISTEN)

test: deps test-normal test-asan fuzz
	@echo "make test: all suites passed"

test-normal: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTD_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) -LE slow

fuzz:
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTD_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_targets
	@cd $(FUZZ_BUILD) && ctest --output-on-failure -L fuzz

# The sequences benchmark's SMTP server is Postfix's smtp-sink: the package is installed for the
# benchmark only, preseeded "No configuration": no main.cf is written, so no mail system runs.
bench: deps build
	@dpkg-query -W -f='$${Status}' postfix 2>/dev/null | grep -q 'install ok installed' || { \
	  echo "postfix postfix/main_mailer_type select No configuration" | $(SUDO) debconf-set-selections && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends postfix; }
	@tests/bench/run.sh $(BUILD)

# schemas/openapi.json is generated from the fragments in schemas/openapi/; a test checks it is current.
openapi: build
	@$(BUILD)/talentd openapi > schemas/openapi.json.tmp && mv schemas/openapi.json.tmp schemas/openapi.json

install: build
	@cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
