# Waystation — build, test, demo, bench, install.
# `make demo` and `make test` install missing Debian packages when run as root, and otherwise print
# the exact command to run.

SWIFT       ?= swift
PREFIX      ?= /usr/local
DESTDIR     ?=
APT_PACKAGES := libmodbus-dev pkg-config socat mbpoll libsqlite3-dev sqlite3 python3 python3-pip systemd util-linux

.PHONY: all deps pydeps build test demo bench install clean

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

# The Python varlink package: an independent client for the control-socket tests.
pydeps:
	@python3 -c "import varlink" 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then python3 -m pip install -q varlink || exit 1; \
	  else echo "missing Python package varlink; run: python3 -m pip install --user varlink"; exit 1; fi; }

build: deps
	$(SWIFT) build

test: deps pydeps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: build
	@examples/demo.sh

clean:
	rm -rf .build state bench-results.json

bench: deps
	$(SWIFT) build -c release --product waystation-sim
	$(SWIFT) build -c release --product waystationd
	$(SWIFT) build -c release --product waystation-bench
	.build/release/waystation-bench

# Installs binaries, profiles, units, sysusers/tmpfiles, an example config and shell completions
# under $(DESTDIR)$(PREFIX) (units under $(DESTDIR)/usr/lib/systemd when PREFIX is /usr).
BINDIR      = $(DESTDIR)$(PREFIX)/bin
SHAREDIR    = $(DESTDIR)$(PREFIX)/share/waystation
UNITDIR     ?= $(DESTDIR)$(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(DESTDIR)$(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(DESTDIR)$(PREFIX)/lib/tmpfiles.d
ETCDIR      ?= $(DESTDIR)/etc/waystation

install: deps
	$(SWIFT) build -c release
	install -d $(BINDIR) $(SHAREDIR)/devices $(UNITDIR) $(SYSUSERSDIR) $(TMPFILESDIR) $(ETCDIR)/devices \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions \
	  $(DESTDIR)$(PREFIX)/share/doc/waystation
	install -m 0755 .build/release/waystationd .build/release/waystationctl .build/release/waystation-sim $(BINDIR)/
	install -m 0644 devices/*.toml $(SHAREDIR)/devices/
	install -m 0644 Sources/WaystationControl/io.waystation.Station.varlink $(SHAREDIR)/
	sed 's|/usr/bin/|$(PREFIX)/bin/|g' systemd/waystation.service > $(UNITDIR)/waystation.service
	install -m 0644 systemd/waystation.socket $(UNITDIR)/
	install -m 0644 systemd/waystation.sysusers $(SYSUSERSDIR)/waystation.conf
	install -m 0644 systemd/waystation.tmpfiles $(TMPFILESDIR)/waystation.conf
	[ -e $(ETCDIR)/station.toml ] || install -m 0644 examples/station.toml $(ETCDIR)/station.toml
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/waystation/
	.build/release/waystationctl --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/waystationctl
	.build/release/waystationctl --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_waystationctl
