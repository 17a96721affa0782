/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The length cases every uAPI struct must pass, shared by ioas_length.c and
 * xlate_length.c (see the top of ioas_length.c for what they check).
 *
 * The includer defines FIXTURE(length) with a member "arg" (the ioctl's
 * struct), FIXTURE_VARIANT(length) with cmd, struct_size, min_size,
 * prepare(), check_done() and check_not_done(), and LENGTH_FD(self), the
 * fd to issue the ioctl on.
 */
#ifndef NEST_LENGTH_CASES_H
#define NEST_LENGTH_CASES_H

/* prepare(), issue as @user_size with @tail_byte at @tail_at; return the rc. */
static int length_call(FIXTURE_DATA(length) *self,
		       const FIXTURE_VARIANT(length) *variant,
		       __u32 user_size, size_t tail_at, __u8 tail_byte)
{
	TH_CONTEXT("size %u, tail byte 0x%x at +%zu", user_size, tail_byte, tail_at);
	variant->prepare(self);
	return _do_ioctl_sized(LENGTH_FD(self), variant->cmd, &self->arg,
			       variant->struct_size, user_size, tail_at, tail_byte);
}

static void length_not_done(FIXTURE_DATA(length) *self,
			    const FIXTURE_VARIANT(length) *variant)
{
	if (variant->check_not_done)
		variant->check_not_done(self);
}

TEST_F(length, short_size_einval)
{
	const __u32 sizes[] = { 0, sizeof(__u32), variant->min_size - 1 };
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ASSERT_ERR(EINVAL, length_call(self, variant, sizes[i], 0, 0));
		length_not_done(self, variant);
	}
}

TEST_F(length, nonzero_tail_e2big)
{
	const struct { size_t extra, tail_at; } cases[] = {
		{ 8, 0 },	/* first byte past the kernel's struct */
		{ 8, 7 },	/* last byte of a short extension */
		/* the last byte of the largest size */
		{ NESTIOMMU_STRUCT_SIZE_MAX - variant->struct_size,
		  NESTIOMMU_STRUCT_SIZE_MAX - variant->struct_size - 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_ERR(E2BIG, length_call(self, variant,
					      variant->struct_size + cases[i].extra,
					      cases[i].tail_at, 0x01));
		length_not_done(self, variant);
	}
}

TEST_F(length, zero_tail_like_exact)
{
	const size_t extra[] = { 0, 8, NESTIOMMU_STRUCT_SIZE_MAX - variant->struct_size };
	size_t i;

	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		ASSERT_OK(length_call(self, variant, variant->struct_size + extra[i], 0, 0));
		variant->check_done(self);
	}
}

/*
 * Above NESTIOMMU_STRUCT_SIZE_MAX: E2BIG however many zeros follow, and
 * without reading them (0xffffffff would be 4 GiB of zero pages).
 */
TEST_F(length, size_above_max_e2big)
{
	const __u32 sizes[] = { NESTIOMMU_STRUCT_SIZE_MAX + 1, 0xffffffff };
	char *zeros = alloc_zero_tail();
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		TH_CONTEXT("size 0x%x", sizes[i]);
		variant->prepare(self);
		memcpy(zeros, &self->arg, variant->struct_size);
		*(__u32 *)zeros = sizes[i];
		ASSERT_ERR(E2BIG, nest_ioctl(LENGTH_FD(self), variant->cmd, zeros));
		length_not_done(self, variant);
	}
	free_zero_tail(zeros);
}

#endif /* NEST_LENGTH_CASES_H */
