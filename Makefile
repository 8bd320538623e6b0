# Waystation — build, test, demo, bench, install.
# `make demo` and `make test` install missing Debian packages when run as root, and otherwise print
# the exact command to run.

SWIFT       ?= swift
PREFIX      ?= /usr/local
DESTDIR     ?=
APT_PACKAGES := libmodbus-dev pkg-config socat mbpoll libsqlite3-dev sqlite3 python3

.PHONY: all deps build test demo bench install clean format

all: build

deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "missing Debian packages:$$missing"; \
	    echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: build
	@examples/demo.sh

clean:
	rm -rf .build state bench-results.json

bench: deps
	$(SWIFT) build -c release --product waystation-sim
	$(SWIFT) build -c release --product waystation-bench
	.build/release/waystation-bench
