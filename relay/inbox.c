// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The relay's inbox (relay/inbox.h): the rings and eventfds, and the control
 * thread's end. The relay's end is relay/loop.c's inbox_poll.
 */
#include "relay/inbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"

int inbox_init(struct inbox *in)
{
	int rc;

	memset(in, 0, sizeof(*in));
	in->relay_efd = in->answer_efd = -1;
	if ((rc = spsc_init(&in->commands, 64, sizeof(struct control_cmd))) < 0 ||
	    (rc = spsc_init(&in->answers, 64, sizeof(struct control_answer))) < 0)
		goto fail;
	in->relay_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	in->answer_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (in->relay_efd < 0 || in->answer_efd < 0) {
		rc = -errno;
		goto fail;
	}
	return 0;
fail:
	inbox_destroy(in);
	return rc;
}

void inbox_destroy(struct inbox *in)
{
	if (in->relay_efd >= 0)
		close(in->relay_efd);
	if (in->answer_efd >= 0)
		close(in->answer_efd);
	in->relay_efd = in->answer_efd = -1;
	spsc_free(&in->commands);
	spsc_free(&in->answers);
}

bool inbox_send(struct inbox *in, enum control_verb verb, unsigned id, const char *selector)
{
	struct control_cmd *cmd = spsc_claim(&in->commands);
	uint64_t one = 1;

	if (!cmd)
		return false;
	cmd->verb = verb;
	cmd->id = id;
	snprintf(cmd->selector, sizeof(cmd->selector), "%s", selector);
	spsc_push(&in->commands);
	return write(in->relay_efd, &one, sizeof(one)) == sizeof(one);
}
