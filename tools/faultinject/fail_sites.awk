# SPDX-License-Identifier: GPL-2.0
# The failure sites from the kernel-doc of enum nestiommu_fail_site in the
# uAPI header, one line each: FI_SITE(CONSTANT, "name", "what fails; errno")
# where name is the constant's suffix in lower case, as the driver prints it
# (kernel/trace.h) and debugfs nestiommu/fail_sites lists it.
#
#   awk -f fail_sites.awk include/uapi/linux/nestiommu.h > fail_sites.h

function flush() {
	if (id != "")
		printf "FI_SITE(%s, \"%s\", \"%s\")\n", id, tolower(id), doc
	id = ""
}

/^ \* enum nestiommu_fail_site / { in_doc = 1; next }
!in_doc { next }
/^ \* @NESTIOMMU_FAIL_SITE_[A-Z0-9_]*:/ {
	flush()
	id = $2
	sub(/^@NESTIOMMU_FAIL_SITE_/, "", id)
	sub(/:$/, "", id)
	if (id == "COUNT") {
		id = ""
		exit
	}
	doc = $0
	sub(/^ \* @[A-Z0-9_]*: */, "", doc)
	next
}
/^ \*\t/ && id != "" {
	line = $0
	sub(/^ \*\t */, "", line)
	doc = doc " " line
	next
}
{ flush() }
END { flush() }
