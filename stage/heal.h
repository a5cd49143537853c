/*
 * heal.h - the skeleton's list of protocol steps a machine fault left half
 * done (heal.c). Private to stage/.
 */
#ifndef TMC_HEAL_H
#define TMC_HEAL_H

#include "spool.h"

enum heal_kind {
	HEAL_RETURN,   /* still claimed (lock held): give it back to new/ */
	HEAL_DELIVER,  /* committed, still claimed: deliver out/ and finish */
	HEAL_FINALIZE, /* a chain handoff in a successor's tmp/: finalize it */
};

struct heal {
	enum heal_kind kind;
	struct stage_dir *sd; /* ours (RETURN, DELIVER) or the successor's */
	struct item it;       /* RETURN, DELIVER: the claim, owned here */
	char id[ITEM_ID_MAX];
	bool pixels;
	int64_t due_ms; /* CLOCK_MONOTONIC */
	int delay_ms;
};

struct heals {
	struct heal *v;
	size_t n;
};

#define HEAL_DELAY_MIN_MS 250
#define HEAL_DELAY_MAX_MS 30000

/* Take over a claimed item (*it is emptied) or remember a finalize. */
void heal_add_item(struct heals *h, enum heal_kind kind, struct stage_dir *sd, struct item *it);
void heal_add_finalize(struct heals *h, struct stage_dir *sd, const char *id, bool pixels);
/* Earliest due time (ms, CLOCK_MONOTONIC), 0 when nothing is pending. */
int64_t heal_due_ms(const struct heals *h);
/* Retry what is due; returns how many were healed. */
int heal_run(struct heals *h);
/* At exit: claims are released (recovery returns them), the rest forgotten. */
void heal_free(struct heals *h);

#endif
