// SPDX-License-Identifier: GPL-2.0
/*
 * ref_walk.c - the reference walk (see ref_walk.h). Deliberately plain:
 * recursion over the levels, the stage-2 model looked up by page number,
 * A/D bits ORed straight into the byte array.
 */
#include <string.h>
#include "ref_walk.h"

#define RP	(1ULL << 0)
#define RRW	(1ULL << 1)
#define RUS	(1ULL << 2)
#define RA	(1ULL << 5)
#define RD	(1ULL << 6)
#define RPS	(1ULL << 7)
#define RXD	(1ULL << 63)

struct ref_step {
	u64 pte;
	u64 pte_gpa;
	u64 ofn;
	bool s2w;
};

static u64 mem_get(struct ref_ctx *c, u64 ofn, u64 off)
{
	u64 v;

	memcpy(&v, c->mem + ofn * 4096 + off, 8);
	return v;
}

static void mem_or(struct ref_ctx *c, u64 ofn, u64 off, u64 bits)
{
	u64 v = mem_get(c, ofn, off) | bits;

	memcpy(c->mem + ofn * 4096 + off, &v, 8);
}

static void mark_dirty(struct ref_ctx *c, u64 gpa)
{
	u64 pg = gpa / 4096, i;

	if (c->s2[pg].level == 2) {
		for (i = pg & ~511ULL; i < (pg & ~511ULL) + 512; i++)
			c->dirty[i] = 1;
	} else {
		c->dirty[pg] = 1;
	}
}

/* Clear the result, keeping the PTEs read so far. */
static void out_clear(struct ref_out *o)
{
	struct ref_pte ptes[5];
	u32 n = o->nr_ptes;

	memcpy(ptes, o->ptes, sizeof(ptes));
	memset(o, 0, sizeof(*o));
	o->nr_ptes = n;
	memcpy(o->ptes, ptes, sizeof(ptes));
}

static void log_pte(struct ref_out *o, u64 gpa, u64 pte, int level)
{
	o->ptes[o->nr_ptes++] = (struct ref_pte){ gpa, pte, level };
}

static void fault(struct ref_out *o, u32 reason, u32 stage, u32 level)
{
	out_clear(o);
	o->reason = reason;
	o->stage = stage;
	o->level = level;
}

/* Stage 2 for one GPA: 0 ok, else the fault reason. */
static u32 s2(struct ref_ctx *c, u64 gpa, bool need_r, bool need_w,
	      struct ref_s2page **pp)
{
	struct ref_s2page *p;

	if (gpa >= (1ULL << 48))
		return NEST_FAULT_REASON_OOR_ADDRESS;
	if (gpa / 4096 >= c->nr_gpa_pages || !c->s2[gpa / 4096].mapped)
		return NEST_FAULT_REASON_PTE_FETCH;
	p = &c->s2[gpa / 4096];
	if ((need_r && !p->r) || (need_w && !p->w))
		return NEST_FAULT_REASON_PERMISSION;
	*pp = p;
	return 0;
}

static void walk_level(struct ref_ctx *c, const struct ref_desc *d, u64 iova,
		       u32 access, u64 table, int level, u32 perm,
		       struct ref_step *path, u32 refs, struct ref_out *o)
{
	unsigned int shift = 12 + 9 * (level - 1);
	u64 pte_gpa = table + ((iova >> shift) & 511) * 8;
	struct ref_step *st = &path[level];
	struct ref_s2page *p;
	u64 pte, gpa, size;
	u32 r;
	int l;

	r = s2(c, pte_gpa, true, false, &p);
	if (r) {
		fault(o, r, 2, 0);
		o->s1_level = level;
		o->flags = NEST_FAULT_F_TABLE_FETCH | NEST_FAULT_F_GPA_VALID;
		o->gpa = pte_gpa;
		return;
	}
	refs += (p->level == 2 ? 3 : 4) + 1;
	st->pte_gpa = pte_gpa;
	st->ofn = p->ofn;
	st->s2w = p->w;
	if (c->abort_map && c->abort_map[p->ofn]) {
		log_pte(o, pte_gpa, 0, level);
		fault(o, NEST_FAULT_REASON_WALK_EABT, 1, level);
		goto pte_gpa;
	}
	pte = mem_get(c, p->ofn, pte_gpa % 4096);
	log_pte(o, pte_gpa, pte, level);
	st->pte = pte;
	if (!(pte & RP)) {
		fault(o, NEST_FAULT_REASON_PTE_FETCH, 1, level);
		goto pte_gpa;
	}
	/*
	 * Reserved: bits 51:48 (GPAs have 48 bits), PS at levels 5 and 4,
	 * the address bits below a huge leaf's size but PAT (bit 12).
	 */
	if (((pte >> 48) & 0xf) ||
	    ((pte & RPS) && (level >= 4 ||
			     (level == 3 && ((pte >> 13) & 0x1ffff)) ||
			     (level == 2 && ((pte >> 13) & 0xff))))) {
		fault(o, NEST_FAULT_REASON_PTE_FETCH, 1, level);
		o->flags = NEST_FAULT_F_RSVD;
		goto pte_gpa;
	}
	if (!(pte & RRW))
		perm &= ~NEST_PERM_WRITE;
	if (!(pte & RRW) && !(d->flags & 4))
		perm &= ~NEST_PERM_PRIV_WRITE;	/* WP=1 */
	if (!(pte & RUS))
		perm &= ~NEST_PERM_USER;
	if (pte & RXD)
		perm &= ~NEST_PERM_EXEC;

	if (level != 1 && !(pte & RPS)) {
		walk_level(c, d, iova, access, pte & 0x0000fffffffff000ULL,
			   level - 1, perm, path, refs, o);
		return;
	}

	/* leaf */
	if (((access & NEST_ACC_WRITE) && !(perm & NEST_PERM_WRITE) &&
	     !((access & NEST_ACC_PRIV) && (d->flags & 4))) ||
	    (!(access & NEST_ACC_PRIV) && !(perm & NEST_PERM_USER)) ||
	    ((access & NEST_ACC_EXEC) && !(perm & NEST_PERM_EXEC))) {
		fault(o, NEST_FAULT_REASON_PERMISSION, 1, level);
		return;
	}
	size = 1ULL << shift;
	gpa = (pte & 0x0000fffffffff000ULL & ~(size - 1)) | (iova & (size - 1));
	r = s2(c, gpa, access & (NEST_ACC_READ | NEST_ACC_EXEC),
	       access & NEST_ACC_WRITE, &p);
	if (r) {
		fault(o, r, 2, 0);
		o->flags = NEST_FAULT_F_GPA_VALID;
		o->gpa = gpa;
		return;
	}
	refs += p->level == 2 ? 3 : 4;

	if (d->flags & 1) {
		/* all W checks first, top-down, then the updates */
		for (l = d->levels; l >= level; l--) {
			bool need = !(path[l].pte & RA) ||
				    (l == level && (access & NEST_ACC_WRITE) &&
				     !(path[l].pte & RD));
			if (need && !path[l].s2w) {
				fault(o, NEST_FAULT_REASON_PERMISSION, 2, 0);
				o->s1_level = l;
				o->flags = NEST_FAULT_F_TABLE_FETCH |
					   NEST_FAULT_F_AD_UPDATE |
					   NEST_FAULT_F_GPA_VALID;
				o->gpa = path[l].pte_gpa;
				return;
			}
		}
		/*
		 * Against the PTE as it is now: when two levels read the same
		 * word (tables that alias, maybe through two GPAs), the first
		 * update makes the walk restart and the second level then
		 * needs nothing, so only the first GPA page is marked dirty.
		 */
		for (l = d->levels; l >= level; l--) {
			u64 now = mem_get(c, path[l].ofn,
					  path[l].pte_gpa % 4096);
			u64 bits = 0;

			if (!(now & RA))
				bits |= RA;
			if (l == level && (access & NEST_ACC_WRITE) &&
			    !(now & RD))
				bits |= RD;
			if (bits) {
				mem_or(c, path[l].ofn, path[l].pte_gpa % 4096,
				       bits);
				mark_dirty(c, path[l].pte_gpa);
			}
		}
	}
	if (access & NEST_ACC_WRITE)
		mark_dirty(c, gpa);

	out_clear(o);
	o->ok = true;
	o->ofn = p->ofn;
	o->perm = perm;
	if (!p->r)
		o->perm &= ~(NEST_PERM_READ | NEST_PERM_EXEC);
	if (!p->w)
		o->perm &= ~(NEST_PERM_WRITE | NEST_PERM_PRIV_WRITE);
	o->shift = shift;
	if (p->level == 2 && o->shift > 21)
		o->shift = 21;
	if (p->level == 1)
		o->shift = 12;
	o->refs = refs;
	return;

pte_gpa:
	o->gpa = pte_gpa;
	o->flags |= NEST_FAULT_F_GPA_VALID;
}

/**
 * ref_walk() - the reference nested walk
 * @c: memory and the stage-2 model
 * @d: the stage-1 descriptor
 * @iova: input address
 * @access: NEST_ACC_*
 * @o: out
 */
void ref_walk(struct ref_ctx *c, const struct ref_desc *d, u64 iova,
	      u32 access, struct ref_out *o)
{
	struct ref_step path[6];
	unsigned int vbits;
	s64 sx;

	o->nr_ptes = 0;

	if ((d->levels != 4 && d->levels != 5) || (d->root % 4096) ||
	    d->root >= (1ULL << 48) || (d->flags & ~7U)) {
		fault(o, NEST_FAULT_REASON_BAD_PASID_ENTRY, 1, 0);
		return;
	}
	vbits = d->levels == 5 ? 57 : 48;
	sx = (s64)(iova << (64 - vbits)) >> (64 - vbits);
	if ((u64)sx != iova) {
		fault(o, NEST_FAULT_REASON_OOR_ADDRESS, 1, 0);
		return;
	}
	if ((access & NEST_ACC_PRIV) && !(d->flags & 2)) {
		fault(o, NEST_FAULT_REASON_ACCESS, 1, 0);
		return;
	}
	/* SRE grants the privileged requests (and their writes) */
	walk_level(c, d, iova, access, d->root, d->levels,
		   (d->flags & 2) ? NEST_PERM_ALL :
		   NEST_PERM_ALL & ~(NEST_PERM_PRIV | NEST_PERM_PRIV_WRITE),
		   path, 0, o);
}
