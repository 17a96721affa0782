# SPDX-License-Identifier: GPL-2.0
# nestiommu: the one entry point. `make help` lists the targets.
#
# Every target that needs packages depends on the deps stamp, so a fresh
# Debian 12 machine needs no step before `make test` or `make demo`.

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
CACHE := $(ROOT)/.cache
O := $(ROOT)/build
# Debian's python3, which has python3-pytest (not a pyenv one on PATH).
PYTHON := /usr/bin/python3
VMRUN := $(PYTHON) $(ROOT)/selftests/vm/vmrun.py

ifeq ($(V),1)
Q :=
else
Q := @
MAKEFLAGS += --no-print-directory
endif

# Everything the project needs, from Debian's archive (flex to openssl:
# building the debug guest kernel).
DEPS_PKGS := linux-headers-amd64 make gcc binutils clang llvm libbpf-dev \
	bpftool libelf-dev zlib1g-dev pkg-config dwarves qemu-system-x86 \
	busybox-static cpio kmod xz-utils linux-perf trace-cmd bpftrace python3 \
	flex bison bc libssl-dev openssl \
	python3-pytest python3-pytest-xdist libclang-rt-14-dev zstd
DEPS_STAMP := $(CACHE)/deps.stamp
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# GUEST=NAME picks the guest kernel the module is built for and `make test`
# boots: one of GUESTS (selftests/vm/kernels.sh says where each comes from).
# The BPF objects and the tools are built once, for all of them (CO-RE).
GUEST ?= generic
GUESTS := $(shell $(ROOT)/selftests/vm/krel.sh --list)
ifeq ($(filter $(GUEST),$(GUESTS)),)
$(error GUEST=$(GUEST) is not a guest kernel: $(GUESTS))
endif

# The guest kernel's release (generic: the one the installed headers are
# for). Expanded only inside recipes, i.e. after `deps` installed the
# headers, and then once.
KREL = $(eval KREL := $(or $(shell $(ROOT)/selftests/vm/krel.sh $(GUEST)),\
	$(error cannot tell the release of the $(GUEST) guest kernel)))$(KREL)
GUEST_DIR = $(CACHE)/guest/$(KREL)

# KDIR builds the module for another kernel tree. By default it is the
# guest's headers (guest-kernel.sh links them as GUEST_DIR/build), and the
# module gets BTF against the guest's vmlinux (6.1's headers ship no vmlinux,
# so kbuild cannot do that itself; 6.12's kbuild does).
ifeq ($(origin KDIR),undefined)
KDIR = $(GUEST_DIR)/build
BTF_BASE ?= $(GUEST_DIR)/vmlinux
else ifneq ($(GUEST),generic)
$(error KDIR and GUEST exclude each other)
endif
# The default kernel's module is built in kernel/ (where insmod hints point
# and the BPF build reads its BTF), another kernel's in its own directory.
ifeq ($(GUEST),generic)
MODULE_DIR := $(ROOT)/kernel
else
MODULE_DIR := $(O)/kernel/$(GUEST)
endif
MODULE := $(MODULE_DIR)/nestiommu.ko
# The same from the repository root, where guest commands start.
GUEST_MODULE := $(MODULE:$(ROOT)/%=%)

.PHONY: all deps module bpf selftests tools guest-kernel test test-matrix demo shell bench \
	bench-compare fuzz fuzz-ioctl install dkms-install dkms-remove clean help

all: module selftests tools

deps: $(DEPS_STAMP)

# Quick when everything is installed: only dpkg is asked.
$(DEPS_STAMP): $(ROOT)/Makefile
	$(Q)missing=; for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
			grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "  APT    $$missing"; \
		$(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends $$missing; \
	fi
	$(Q)mkdir -p $(@D) && touch $@

guest-kernel: $(DEPS_STAMP)
	$(Q)$(ROOT)/selftests/vm/guest-kernel.sh -g $(GUEST) $(KREL) $(GUEST_DIR)

# Before Linux 6.13 (MO=), kbuild builds an external module only where its
# sources are: another kernel's output directory gets symbolic links to
# them (not to the .mod.c kbuild writes in kernel/ for the default kernel).
module: $(DEPS_STAMP) $(if $(BTF_BASE),guest-kernel)
ifneq ($(MODULE_DIR),$(ROOT)/kernel)
	$(Q)cd $(ROOT)/kernel && for f in Kbuild $$(find . -name '*.[ch]' ! -name '*.mod.c'); do \
		mkdir -p $(MODULE_DIR)/$$(dirname $$f) && ln -sfn $(ROOT)/kernel/$$f $(MODULE_DIR)/$$f || exit 1; \
	done
endif
	$(Q)$(MAKE) -C $(KDIR) M=$(MODULE_DIR) $(if $(Q),,V=1) modules
	$(Q)+$(if $(BTF_BASE),$(call module_add_btf))

# Add .BTF to the module (once per link) so /sys/kernel/btf/nestiommu exists
# and BPF programs can use the module's types with CO-RE. Run by `make -n`
# too ('+'): kbuild's own '+' lines relink the module even in a dry run,
# which would leave it without BTF. The pahole flags
# are those kbuild uses for pahole 1.24.
define module_add_btf
if ! readelf -S $(MODULE) | grep -q '\.BTF'; then \
	echo "  BTF     $(MODULE:$(ROOT)/%=%)"; \
	LLVM_OBJCOPY=objcopy pahole -J --btf_gen_floats -j \
		--lang_exclude=rust --btf_base $(BTF_BASE) $(MODULE); \
fi
endef

# CO-RE BPF objects and their skeletons (build/bpf/), compiled against the
# BTF of the kernel and of the module (so after `module`, which adds the
# module's BTF against the same base); bpf/Makefile holds the rules. Always
# the default kernel's (bpf/Makefile's defaults), whatever GUEST is: one
# build runs on every kernel.
bpf: $(DEPS_STAMP) guest-kernel module
ifeq ($(GUEST),generic)
	$(Q)$(MAKE) -C $(ROOT)/bpf O=$(O) MODULE=$(MODULE) \
		VMLINUX=$(or $(BTF_BASE),$(KDIR)/vmlinux)
else
	$(Q)$(MAKE) GUEST=generic module
	$(Q)$(MAKE) -C $(ROOT)/bpf O=$(O)
endif

selftests: $(DEPS_STAMP) bpf
	$(Q)$(MAKE) -C $(ROOT)/selftests/guest O=$(O)
	$(Q)$(MAKE) -C $(ROOT)/selftests/host O=$(O)/host
	$(Q)$(MAKE) -C $(ROOT)/selftests/fuzz O=$(O)

# The user-space tools (build/tools/): each tools/NAME/Makefile holds its
# rules.
TOOLS := $(notdir $(patsubst %/Makefile,%,$(wildcard $(ROOT)/tools/*/Makefile)))
TOOLS := $(filter-out lib scripts,$(TOOLS))
tools: $(DEPS_STAMP) bpf
	$(Q)for t in $(TOOLS); do \
		$(MAKE) -C $(ROOT)/tools/$$t O=$(O) || exit 1; \
	done

# The core natively on the host; then, in a guest, the page-request round
# trip; last, in a guest whose clock counts instructions (one vCPU: the
# tools' own work counts too), what tracing and faultinject cost nestload.
# The guests boot without the tests' memory debugging, which slows every
# allocation.
bench: all guest-kernel
	$(Q)$(MAKE) -C $(ROOT)/selftests/host O=$(O)/host bench
	$(Q)$(VMRUN) --no-memory-debug --mem 2G --timeout 1200 -- 'insmod kernel/nestiommu.ko && \
		$(O)/selftests/pri_bench'
	$(Q)$(VMRUN) --no-memory-debug --icount 2 --smp 1 --mem 2G --timeout 3600 -- \
		'insmod kernel/nestiommu.ko && python3 tools/bench/trace_cost.py --rounds 3'

# BASE=REV (a git revision) against the working tree, built side by side and
# measured in turns in one run: bench_core on the host, then in one guest
# nestload's DMA rate and pri_bench's round trip with each module.
ifneq ($(filter bench-compare,$(MAKECMDGOALS)),)
ifeq ($(BASE),)
$(error make bench-compare: set BASE=<git revision>)
endif
endif
bench-compare: all guest-kernel
	$(Q)$(ROOT)/tools/bench/build-base.sh $(BASE) $(O)/base
	$(Q)$(PYTHON) $(ROOT)/tools/bench/compare.py host \
		--old $(O)/base/current/build/host/bench_core --new $(O)/host/bench_core
	$(Q)$(VMRUN) --no-memory-debug --mem 2G --timeout 1800 -- 'python3 tools/bench/compare.py guest \
		--old $(O)/base/current --new $(ROOT)'

# A longer libFuzzer run of the stage-1 walker (FUZZ_TIME seconds).
fuzz: selftests
	$(Q)$(MAKE) -C $(ROOT)/selftests/host O=$(O)/host fuzz

# A longer run of the ioctl fuzzer in a guest: SECONDS (default 600), SEED
# (default: from the clock, printed), THREADS (default 4).
SECONDS ?= 600
THREADS ?= 4
fuzz-ioctl: all guest-kernel
	$(Q)$(VMRUN) --guest $(GUEST) --mem 2G --timeout $$(( $(SECONDS) + 900 )) -- \
		'NEST_MODULE=$(GUEST_MODULE) selftests/fuzz/fuzz_check.sh --seconds $(SECONDS) --threads $(THREADS) $(if $(SEED),--seed $(SEED))'

# The test command (README, .ci/run): host tests and in-guest selftests,
# on the GUEST kernel; TESTS=... runs only those pytest paths. On the debug
# kernel (KASAN, lockdep: several times slower) the default is what it is
# for: the driver suite, the fuzzer, the runner's checks and the kernel's.
#
# Given neither GUEST nor TESTS (.ci/run), `make test` also runs the kernel
# subset (selftests/kernel-subset.sh) on SUBSET_GUESTS, all at once: their
# whole suites do not fit in CI's 30 minutes beside generic's (README "Guest
# kernels"; `make test-matrix` runs them). Their kernels and modules are
# prepared while generic's suite runs; the script does it anyway and reports
# a failure, so the background job only saves time. It is niced, so
# generic's guests come first, and started through PREPARE_MAKE: a recipe
# line that names $(MAKE) itself runs even in `make -n test`.
PREPARE_MAKE := $(MAKE)
SUBSET_GUESTS := $(if $(and $(filter file,$(origin GUEST)),$(filter undefined,$(origin TESTS))),\
	$(filter-out $(GUEST) debug,$(GUESTS)))
# pytest-xdist runs the suite on TEST_WORKERS workers, a guest each (TCG
# runs a guest on one core); conftest.py hands each a test module, or one
# C selftest binary, whole.
TEST_WORKERS ?= $(shell nproc)
ifeq ($(shell echo '$(TEST_WORKERS)' | grep -Ex '[1-9][0-9]{0,2}'),)
$(error TEST_WORKERS=$(TEST_WORKERS) is not a number of workers (1 to 999))
endif
DEBUG_TESTS := $(addprefix selftests/,test_driver.py test_fuzz.py test_vm_runner.py test_kernels.py)
TESTS ?= $(if $(filter debug,$(GUEST)),$(DEBUG_TESTS),selftests)
test: all guest-kernel
	$(Q)cd $(ROOT) && for g in $(SUBSET_GUESTS); do \
		nice $(PREPARE_MAKE) --no-print-directory GUEST=$$g module >$(O)/test-prepare-$$g.log 2>&1 & \
	done; \
	$(PYTHON) -m pytest -v -n $(TEST_WORKERS) --durations=20 $(TESTS) --guest $(GUEST); status=$$?; \
	wait; \
	$(if $(SUBSET_GUESTS),selftests/kernel-subset.sh $(O) $(SUBSET_GUESTS) || status=1;) \
	exit $$status

# `make test` on every guest kernel in turn (15 to 26 minutes each on 2
# cores); all of them run, then the failed ones are named.
test-matrix:
	$(Q)failed=; for g in $(GUESTS); do \
		$(MAKE) test GUEST=$$g || failed="$$failed $$g"; \
	done; \
	if [ -n "$$failed" ]; then echo "test-matrix: failed on:$$failed" >&2; exit 1; fi; \
	echo "test-matrix: passed on $(GUESTS)"

demo: all guest-kernel
	$(Q)$(VMRUN) --guest $(GUEST) --mem 2G --timeout 600 -- NEST_MODULE=$(GUEST_MODULE) tools/demo/demo.sh

shell: all guest-kernel
	$(Q)$(VMRUN) --guest $(GUEST) --mem 2G --shell -- 'NEST_MODULE=$(GUEST_MODULE); . tools/demo/shell.sh'

# On a real machine: make install KDIR=/lib/modules/$(uname -r)/build
install: module
	$(Q)$(SUDO) $(MAKE) -C $(KDIR) M=$(ROOT)/kernel modules_install
	$(Q)$(SUDO) depmod -a $(notdir $(patsubst %/build,%,$(KDIR)))

# DKMS: rebuilt for every kernel the machine installs. DKMS_KREL picks the
# kernel to build for now (default: the running one).
VERSION := 0.1
DKMS_SRC := /usr/src/nestiommu-$(VERSION)
dkms-install:
	$(Q)$(SUDO) rm -rf $(DKMS_SRC) && $(SUDO) mkdir -p $(DKMS_SRC)/kernel
	$(Q)$(SUDO) cp -r $(ROOT)/include $(DKMS_SRC)/
	$(Q)$(SUDO) cp $(ROOT)/kernel/Kbuild $(ROOT)/kernel/*.[ch] $(DKMS_SRC)/kernel/
	$(Q)$(SUDO) cp -r $(ROOT)/kernel/core $(DKMS_SRC)/kernel/
	$(Q)sed 's/@VERSION@/$(VERSION)/' $(ROOT)/kernel/dkms.conf | \
		$(SUDO) tee $(DKMS_SRC)/dkms.conf >/dev/null
	$(Q)$(SUDO) dkms install nestiommu/$(VERSION) $(if $(DKMS_KREL),-k $(DKMS_KREL))

dkms-remove:
	$(Q)$(SUDO) dkms remove nestiommu/$(VERSION) --all
	$(Q)$(SUDO) rm -rf $(DKMS_SRC)

clean:
	$(Q)if [ -d $(KDIR) ]; then $(MAKE) -C $(KDIR) M=$(ROOT)/kernel clean; fi
	$(Q)rm -rf $(O) $(CACHE)/vm

help:
	@echo "make            build the module (with BTF), BPF skeletons, libraries and selftests"
	@echo "make bpf        build the BPF objects and skeletons (build/bpf/)"
	@echo "make tools      build the user-space tools (build/tools/)"
	@echo "make deps       install the Debian packages the project needs"
	@echo "make test       the host tests and in-guest selftests (pytest) on GUEST's kernel;"
	@echo "                given neither GUEST nor TESTS, then the kernel subset on rt and 6.12;"
	@echo "                on TEST_WORKERS workers, a guest each (default: the number of cores)"
	@echo "make test-matrix  make test on every guest kernel ($(GUESTS))"
	@echo "make demo       boot a guest, load the module, run a traced workload"
	@echo "make shell      interactive guest shell with the module loaded"
	@echo "make bench      benchmarks (kernel/core natively in user space)"
	@echo "make bench-compare BASE=REV  the same figures, REV against the working tree"
	@echo "make fuzz       a longer libFuzzer run (FUZZ_TIME=300 seconds)"
	@echo "make fuzz-ioctl SECONDS=600 SEED=N THREADS=4  the ioctl fuzzer in a guest"
	@echo "make install    install the module for KDIR (a real machine)"
	@echo "make dkms-install  register the module with DKMS (DKMS_KREL=release)"
	@echo "make clean      remove build outputs (keeps the guest kernel cache)"
	@echo "V=1 prints full commands; KDIR=... builds for another kernel tree"
	@echo "GUEST=NAME builds the module for, and tests on, that guest kernel ($(GUESTS))"
