/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The announcement prompts of the configured rules, loaded once at start:
 * G.711 blocks ready to play (both laws) and the fingerprint reference the
 * verifier matches against. Read-only once loaded, so the relay (playing) and
 * the workers (verifying) share them without locks.
 */
#ifndef TRUNKREC_RELAY_PROMPTLIB_H
#define TRUNKREC_RELAY_PROMPTLIB_H

#include <stddef.h>
#include <stdint.h>

#include "codec/g711.h"
#include "codec/prompt.h"
#include "policy/rules.h"

struct prompt_audio {
	char path[POLICY_PATH_MAX];
	uint8_t *blocks[2];		/* [law]: nblocks × 160 bytes, the last padded with idle */
	size_t nblocks;
	struct prompt_ref ref;		/* for verify mode */
};

struct prompt_lib {
	int n;
	struct prompt_audio audio[POLICY_MAX_RULES + 1];
};

/*
 * Load every prompt a rule names (play or verify). On error returns -errno
 * and writes "PATH: what is wrong" to err.
 */
int prompt_lib_load(struct prompt_lib *lib, const struct policy_rules *rules, char *err, size_t errsize);

/* The prompt loaded for path, or NULL. */
const struct prompt_audio *prompt_lib_find(const struct prompt_lib *lib, const char *path);

void prompt_lib_free(struct prompt_lib *lib);

#endif
