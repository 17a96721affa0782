// SPDX-License-Identifier: GPL-2.0
/*
 * checks.c - the BPF tools' preflight (iommutop, faultinject): module,
 * kernel release, BTF, privilege; and their bad-usage message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/syscall.h>

#include "checks.h"

bool kernel_release_ok(const char *release, int major, int minor)
{
	int maj, min;

	if (sscanf(release, "%d.%d", &maj, &min) != 2)
		return true;
	return maj > major || (maj == major && min >= minor);
}

static bool path_exists(const char *sysfs, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", sysfs, rel);
	return !access(path, F_OK);
}

static bool has_cap(const struct __user_cap_data_struct *data, int cap)
{
	return data[cap / 32].effective & (1U << (cap % 32));
}

/*
 * CAP_BPF with CAP_PERFMON load and attach tracing programs (5.8+), but
 * CO-RE against a module's types needs its BTF, which libbpf finds by
 * walking the BTF object IDs: CAP_SYS_ADMIN.
 */
static bool may_use_bpf(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
	return has_cap(data, CAP_SYS_ADMIN);
}

int check_environment(const char *tool, const char *sysfs,
		      const char *release, char *msg, size_t len)
{
	if (!path_exists(sysfs, "module/nestiommu")) {
		snprintf(msg, len,
			 "nestiommu module not loaded: run insmod kernel/nestiommu.ko (or modprobe nestiommu)");
		return 1;
	}
	if (!kernel_release_ok(release, BPF_TOOL_MIN_KERNEL_MAJOR,
			       BPF_TOOL_MIN_KERNEL_MINOR)) {
		snprintf(msg, len,
			 "kernel %s is too old: %s needs Linux %d.%d or later (BPF CO-RE on the module's types needs module BTF)",
			 release, tool, BPF_TOOL_MIN_KERNEL_MAJOR,
			 BPF_TOOL_MIN_KERNEL_MINOR);
		return 1;
	}
	if (!path_exists(sysfs, "kernel/btf/vmlinux")) {
		snprintf(msg, len,
			 "no kernel BTF (%s/kernel/btf/vmlinux is missing): %s needs a kernel built with CONFIG_DEBUG_INFO_BTF=y",
			 sysfs, tool);
		return 1;
	}
	if (!path_exists(sysfs, "kernel/btf/nestiommu")) {
		snprintf(msg, len,
			 "the nestiommu module has no BTF (%s/kernel/btf/nestiommu is missing): rebuild it with 'make module', which adds BTF with pahole (or use a kernel with CONFIG_DEBUG_INFO_BTF_MODULES=y), and load it again",
			 sysfs);
		return 1;
	}
	if (!may_use_bpf()) {
		snprintf(msg, len,
			 "permission denied: %s loads BPF programs against the module's BTF, which needs CAP_SYS_ADMIN: run it as root",
			 tool);
		return 1;
	}
	return 0;
}

int tool_bad_usage(const char *tool, void (*usage)(FILE *f), const char *fmt,
		   ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", tool);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (usage) {
		fprintf(stderr, "\n");
		usage(stderr);
	} else {
		fprintf(stderr, " (%s -h for help)\n", tool);
	}
	return 2;
}
