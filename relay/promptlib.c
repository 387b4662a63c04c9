// SPDX-License-Identifier: GPL-2.0-or-later
#include "relay/promptlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct prompt_audio *prompt_lib_find(const struct prompt_lib *lib, const char *path)
{
	for (int i = 0; i < lib->n; i++)
		if (!strcmp(lib->audio[i].path, path))
			return &lib->audio[i];
	return NULL;
}

static int load_one(struct prompt_audio *a, const char *path, char *err, size_t errsize)
{
	int16_t *samples = NULL;
	size_t n = 0;
	int rc;

	memset(a, 0, sizeof(*a));
	snprintf(a->path, sizeof(a->path), "%s", path);
	rc = prompt_load(path, &samples, &n, err, errsize);
	if (rc < 0)
		return rc;
	a->nblocks = (n + 159) / 160;
	for (int law = 0; law < 2; law++) {
		a->blocks[law] = malloc(a->nblocks * 160);
		if (!a->blocks[law]) {
			rc = -ENOMEM;
			goto out;
		}
		memset(a->blocks[law], g711_idle_code((enum g711_law)law), a->nblocks * 160);
		g711_encode((enum g711_law)law, samples, a->blocks[law], n);
	}
	rc = prompt_ref_build(&a->ref, samples, n, NULL);
	if (rc < 0)
		snprintf(err, errsize, "%s: cannot be used as a reference to verify against (%s)", path, strerror(-rc));
out:
	free(samples);
	return rc;
}

static int load_rule(struct prompt_lib *lib, const struct policy_rule *rule, char *err, size_t errsize)
{
	int rc;

	if (!rule->prompt[0] || prompt_lib_find(lib, rule->prompt))
		return 0;
	if (lib->n == (int)(sizeof(lib->audio) / sizeof(lib->audio[0])))
		return -E2BIG;
	rc = load_one(&lib->audio[lib->n], rule->prompt, err, errsize);
	if (rc < 0)
		return rc;
	lib->n++;
	return 0;
}

int prompt_lib_load(struct prompt_lib *lib, const struct policy_rules *rules, char *err, size_t errsize)
{
	int rc;

	memset(lib, 0, sizeof(*lib));
	for (int i = 0; i < rules->n; i++)
		if ((rc = load_rule(lib, &rules->rule[i], err, errsize)) < 0)
			return rc;
	return load_rule(lib, &rules->deflt, err, errsize);
}

void prompt_lib_free(struct prompt_lib *lib)
{
	for (int i = 0; i < lib->n; i++) {
		free(lib->audio[i].blocks[0]);
		free(lib->audio[i].blocks[1]);
		prompt_ref_free(&lib->audio[i].ref);
	}
	lib->n = 0;
}
