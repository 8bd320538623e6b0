# Waystation — build, test, demo, bench, install.
# `make demo` and `make test` install missing Debian packages when run as root, and otherwise print
# the exact command to run.

SWIFT       ?= swift
PREFIX      ?= /usr/local
DESTDIR     ?=
# Release builds are what ships: the Swift runtime linked statically (Debian ships none), bound at load,
# linked by lld (the toolchain's) so that what the daemon runs sits together and little else is mapped:
#   -function-sections + --symbol-ordering-file: each Swift function in its own section, the ones
#     waystationd runs first, hottest first (build-aux/waystationd.order, made by `make order-file`);
#   -z pack-relative-relocs: relative relocations as RELR (11 KiB instead of 1.3 MiB read at start);
#   --no-export-dynamic: no dynamic symbol table of every Swift function (1.5 MiB; nothing looks them up);
#   -T build-aux/release.ld: Swift's unnamed helpers (and the daemon's copies of helpers the order file
#     leaves out) in one block before .text, beside the ordered code.
# Measured by make bench: the daemon's PSS 18.8 -> 13.6 MiB, RSS 22.9 -> 17.8 MiB (README, Benchmark).
ORDER_FILE    := $(CURDIR)/build-aux/waystationd.order
RELEASE_FLAGS := -c release --static-swift-stdlib -Xlinker -z -Xlinker now \
                 -Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs \
                 -Xlinker --no-export-dynamic -Xlinker --symbol-ordering-file=$(ORDER_FILE) \
                 -Xlinker --no-warn-symbol-ordering -Xlinker -T -Xlinker $(CURDIR)/build-aux/release.ld
APT_PACKAGES := libmodbus-dev libtomlplusplus-dev pkg-config socat mbpoll libsqlite3-dev sqlite3 python3 python3-pip systemd util-linux faketime \
                prometheus prometheus-alertmanager prometheus-node-exporter chromium chromium-driver fonts-noto-cjk \
                postgresql openssl curl iproute2 libjs-chart.js

.PHONY: all deps pydeps build test kiosk-test demo bench install clean fleet test-district test-linkfault \
        test-link district-demo

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

# Python packages: varlink (an independent client for the control-socket tests), selenium (drives
# Chromium for the kiosk page's tests) and georeport (an Open311 client for the district hub's tests).
pydeps:
	@for m in varlink selenium georeport; do \
	  python3 -c "import $$m" 2>/dev/null || { \
	    if [ "$$(id -u)" = 0 ]; then python3 -m pip install -q $$m || exit 1; \
	    else echo "missing Python package $$m; run: python3 -m pip install --user $$m"; exit 1; fi; }; \
	done

build: deps
	$(SWIFT) build

# The Swift suites (which include the kiosk page in headless Chromium against the real simulator,
# daemon and waystation-web: Tests/WaystationTests/KioskBrowserTests.swift runs Tests/kiosk/test_kiosk.py).
# SYSTEMTEST=0 leaves out the Debian package and its system test under a real systemd (a release
# build and a container; needs root, and the Debian mirror the first time, for debootstrap).
SYSTEMTEST ?= 1

test: deps pydeps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	python3 Tests/toml/run-toml-test.py --decoder .build/debug/toml-test-decoder
	Tests/fuzz/run.sh $(FUZZ_SHORT_SECONDS)
	DISTRICT_OUTAGE_SECONDS=$(DISTRICT_OUTAGE_SECONDS) python3 examples/district/test-district.py --bin .build/debug
	$(MAKE) test-linkfault
	$(MAKE) test-link
	$(MAKE) desk-test
ifneq ($(SYSTEMTEST),0)
	$(MAKE) systemtest
endif

# The config and profile loaders under libFuzzer and AddressSanitizer (Tests/fuzz/run.sh): `make test`
# runs FUZZ_SHORT_SECONDS, `make fuzz` FUZZ_SECONDS (README: Fuzzing).
FUZZ_SHORT_SECONDS ?= 45
FUZZ_SECONDS       ?= 600

.PHONY: fuzz
fuzz: deps
	Tests/fuzz/run.sh $(FUZZ_SECONDS)

# The district side alone (Prometheus agent, remote write, rules, Alertmanager routing):
# DISTRICT_OUTAGE_SECONDS shortens the uplink outage it rides out (`make test` rides out 30 s, to keep CI
# under its time; `make test-district` the full two minutes).
DISTRICT_OUTAGE_SECONDS ?= 30
test-district: deps
	$(SWIFT) build
	python3 examples/district/test-district.py --bin .build/debug

# The district link end to end (examples/district/test-link.py): PostgreSQL, the hub, two stations with
# their uplinks in network namespaces, a lossy link and an outage. Needs root; skipped otherwise.
test-link: deps pydeps
	$(SWIFT) build
	python3 -B examples/district/test-link.py --bin .build/debug

# The district desk in headless Chromium (Tests/desk/run.py: PostgreSQL, the hub with [desk], the district
# Prometheus and Alertmanager, two stations with their agents; Tests/desk/test_desk.py). ~2 minutes.
# DESK_SCREENSHOTS=docs writes docs/desk-*.png.
.PHONY: desk-test
desk-test: deps pydeps
	$(SWIFT) build
	python3 -B Tests/desk/run.py --bin .build/debug

# The district hub with three simulated stations and their uplinks (examples/district/district-demo.py):
# PostgreSQL, the hub, the district Prometheus and Alertmanager, each station's kiosk and agent; the desk's
# address and a first admin's password printed. DEMO_SECONDS=0 runs until Ctrl-C.
district-demo: deps
	$(SWIFT) build
	python3 -B examples/district/district-demo.py --bin .build/debug

# Network namespaces with faulty links for the hub/station tests (examples/district/linkfault.py): its
# self-test. Needs root (namespaces); skipped otherwise.
test-linkfault:
	@if [ "$$(id -u)" = 0 ]; then python3 -B examples/district/linkfault.py --self-test; \
	else echo "test-linkfault: skipped (needs root for network namespaces)"; fi

# N simulated stations (default 20) with their agents and uplinks, the district Prometheus and
# Alertmanager, the hub and its PostgreSQL; FLEET_MODE=hub-scale: 1,400 light uplinks against one hub.
fleet: deps
	$(SWIFT) build $(RELEASE_FLAGS)
	examples/district/fleet.sh --bin .build/release

# The kiosk browser tests alone, against a fresh simulated station (screenshots into docs/).
kiosk-test: build pydeps
	Tests/kiosk/run.sh

demo: build
	@examples/demo.sh

# The daemon's function order for the release link (build-aux/order-file.py): the demo station under
# callgrind for ORDER_SECONDS, its functions by instructions run. Re-run after large code changes; a
# stale file only loses part of the saving.
ORDER_SECONDS ?= 120
.PHONY: order-file
order-file: deps bench-deps
	$(SWIFT) build
	$(SWIFT) build $(RELEASE_FLAGS) -Xlinker -Map=$(CURDIR)/.build/release/waystationd.map --product waystationd
	python3 build-aux/order-file.py --bin .build/release --tools .build/debug --seconds $(ORDER_SECONDS) \
	  --map .build/release/waystationd.map

clean:
	rm -rf .build state bench-results.json

# collectd's modbus plugin is what the daemon is measured against; valgrind (callgrind) counts its
# instructions per request; objcopy (binutils) strips the copy valgrind 3.19 runs.
BENCH_APT_PACKAGES := collectd-core valgrind binutils

.PHONY: bench-deps
bench-deps:
	$(call apt_ensure,$(BENCH_APT_PACKAGES))

# BENCH_QUICK=1: every phase short (a smoke check); BENCH_DAEMON_SECONDS, BENCH_PHASES, … : README.
bench: deps bench-deps
	$(SWIFT) build $(RELEASE_FLAGS) --product waystation-sim
	$(SWIFT) build $(RELEASE_FLAGS) --product waystationd
	$(SWIFT) build $(RELEASE_FLAGS) --product waystation-web
	$(SWIFT) build $(RELEASE_FLAGS) --product waystation-uplink
	$(SWIFT) build $(RELEASE_FLAGS) --product waystation-bench
	.build/release/waystation-bench

# Installs binaries, profiles, units, sysusers/tmpfiles, an example config and shell completions
# under $(DESTDIR)$(PREFIX) (units under $(DESTDIR)/usr/lib/systemd when PREFIX is /usr).
BINDIR      = $(DESTDIR)$(PREFIX)/bin
SBINDIR     = $(DESTDIR)$(PREFIX)/sbin
SHAREDIR    = $(DESTDIR)$(PREFIX)/share/waystation
UNITDIR     ?= $(DESTDIR)$(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(DESTDIR)$(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(DESTDIR)$(PREFIX)/lib/tmpfiles.d
ETCDIR      ?= $(DESTDIR)/etc/waystation

install: deps
	$(SWIFT) build $(RELEASE_FLAGS)
	install -d $(BINDIR) $(SBINDIR) $(SHAREDIR)/devices $(UNITDIR) $(SYSUSERSDIR) $(TMPFILESDIR) $(ETCDIR)/devices \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions \
	  $(DESTDIR)$(PREFIX)/share/doc/waystation
	install -m 0755 .build/release/waystationd $(SBINDIR)/
	install -m 0755 .build/release/waystationctl .build/release/waystation-sim .build/release/waystation-web \
	  .build/release/waystation-uplink $(BINDIR)/
	install -m 0644 devices/*.toml $(SHAREDIR)/devices/
	install -m 0644 Sources/WaystationProtocol/io.waystation.Station.varlink $(SHAREDIR)/
	sed 's|/usr/sbin/|$(PREFIX)/sbin/|g' systemd/waystation.service > $(UNITDIR)/waystation.service
	sed 's|/usr/bin/|$(PREFIX)/bin/|g' systemd/waystation-web.service > $(UNITDIR)/waystation-web.service
	sed 's|/usr/bin/|$(PREFIX)/bin/|g' systemd/waystation-uplink.service > $(UNITDIR)/waystation-uplink.service
	install -m 0644 systemd/waystation.socket $(UNITDIR)/
	install -m 0644 systemd/waystation.sysusers $(SYSUSERSDIR)/waystation.conf
	install -m 0644 systemd/waystation.tmpfiles $(TMPFILESDIR)/waystation.conf
	[ -e $(ETCDIR)/station.toml ] || install -m 0644 examples/station.toml $(ETCDIR)/station.toml
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/waystation/
	.build/release/waystationctl --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/waystationctl
	.build/release/waystationctl --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_waystationctl

# --- Debian package and the system test under a real systemd (issue 12) ---------------------------
# `make deb`: a release build with the Swift runtime linked statically (Debian ships no Swift
# runtime), then the binary packages waystation and waystation-district (the district hub) from
# systemd/debian/, staged as debian/ in $(DEB_SRC) and built there by debhelper
# (dpkg-buildpackage -us -uc -b; debian/rules packages the binaries of .build/release) into build/,
# checked by lintian (an error or a warning fails).
# `make systemtest`: installs the package into a fresh Debian bookworm root with `chroot ROOT dpkg -i`
# (no /proc, as station images are built), boots it (systemd 252 as PID 1) in systemd-nspawn and
# checks the units (Tests/system/systemtest.py). The debootstrapped root is cached in
# $(SYSTEMTEST_CACHE) (minutes the first time, then a run takes a few minutes).
# `make systemtest DEB=path/to/waystation.deb [HUB_DEB=path/to/waystation-district.deb]` tests packages
# without building them; the hub's package is installed beside the station's last, without PostgreSQL.
DEB_APT_PACKAGES        := dpkg-dev debhelper help2man lintian binutils
SYSTEMTEST_APT_PACKAGES := systemd-container debootstrap util-linux python3 dpkg
DEB_VERSION      = $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' systemd/debian/changelog)
DEB_ARCH         = $(shell dpkg --print-architecture)
DEB_FILE         = build/waystation_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_HUB_FILE     = build/waystation-district_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_SRC          = build/deb-src
SYSTEMTEST_CACHE ?= /var/cache/waystation-systemtest

# Installs the Debian packages named in $(1) that are missing (as root), else says how.
define apt_ensure
	@missing=""; \
	for p in $(1); do \
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
endef

.PHONY: deb deb-deps systemtest systemtest-deps

deb-deps:
	$(call apt_ensure,$(DEB_APT_PACKAGES))

systemtest-deps:
	$(call apt_ensure,$(SYSTEMTEST_APT_PACKAGES))

# -z now: full RELRO (the GOT read-only after start), as Debian's hardening flags give C programs.
deb: deps deb-deps
	$(SWIFT) build $(RELEASE_FLAGS)
	rm -rf $(DEB_SRC) && mkdir -p $(DEB_SRC) && cp -rL systemd/debian $(DEB_SRC)/debian
	cd $(DEB_SRC) && WAYSTATION_REPO=$(CURDIR) dpkg-buildpackage -us -uc -b
	lintian --fail-on error,warning --display-info $(DEB_FILE) $(DEB_HUB_FILE)

systemtest: systemtest-deps $(if $(DEB),,deb)
	WAYSTATION_SYSTEMTEST_CACHE=$(SYSTEMTEST_CACHE) python3 Tests/system/systemtest.py --deb $(or $(DEB),$(DEB_FILE)) \
	  $(if $(DEB),$(if $(HUB_DEB),--hub-deb $(HUB_DEB)),--hub-deb $(DEB_HUB_FILE))
