// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunkrec top: the spans and the live calls, redrawn every interval, for an
 * operator's terminal (over ssh, in tmux). Plain VT100 sequences (alternate
 * screen, cursor home, clear to end of line and of screen) that every
 * terminal these people use understands; no curses needed for one table.
 *
 * q or Ctrl-C quits and gives the terminal back as it was. A daemon that
 * goes away is shown as such and asked again at the next refresh, so top
 * survives a restart. --once prints one frame without control sequences.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tools/trunkrec/cmds.h"
#include "tools/trunkrec/ctlclient.h"

#define FRAME_MAX	(256 * 1024)

static volatile sig_atomic_t quit, resized;
static struct termios saved_tty;
static bool tty_changed;

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		resized = 1;
	else
		quit = 1;
}

static void terminal_restore(void)
{
	if (!tty_changed)
		return;
	fputs("\033[?25h\033[?1049l", stdout);	/* cursor back, main screen back */
	fflush(stdout);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	tty_changed = false;
}

/* Keys without Enter and without echo; signals stay (Ctrl-C quits). */
static void terminal_take(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty) < 0)
		return;
	t = saved_tty;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
		return;
	tty_changed = true;
	atexit(terminal_restore);
	fputs("\033[?1049h\033[?25l", stdout);	/* alternate screen, no cursor */
}

static void terminal_size(int *rows, int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

/* The figure called name in `stats text` ("name  value  help" lines); -1 when absent. */
static long long stats_figure(const char *stats, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = stats; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, len) && p[len] == ' ')
			return strtoll(p + len, NULL, 10);
	return -1;
}

struct frame {
	char text[FRAME_MAX];
	size_t len;
	int lines;
};

static void frame_line(struct frame *f, int cols, const char *line, size_t len)
{
	if ((int)len > cols)
		len = (size_t)cols;
	if (f->len + len + 2 >= sizeof(f->text))
		return;
	memcpy(f->text + f->len, line, len);
	f->len += len;
	f->text[f->len++] = '\n';
	f->lines++;
}

/* Each line of text, cut at cols, until the frame has max_lines; says how many were left out. */
static void frame_lines(struct frame *f, int cols, const char *text, int max_lines)
{
	int total = 0, shown = 0;
	char more[64];

	if (max_lines < 1)
		return;
	for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
		total++;
	for (const char *p = text; *p && shown < total; shown++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (shown == max_lines - 1 && total > max_lines) {
			frame_line(f, cols, more, (size_t)snprintf(more, sizeof(more), "… %d more", total - shown));
			return;
		}
		frame_line(f, cols, p, len);
		p = nl ? nl + 1 : p + len;
	}
}

static void build_frame(struct frame *f, const char *socket_path, unsigned interval_s, int rows, int cols)
{
	static char stats[64 * 1024], spans[64 * 1024], calls[FRAME_MAX];
	char line[512], clock[16];
	time_t now = time(NULL);
	int rc;

	f->len = 0;
	f->lines = 0;
	strftime(clock, sizeof(clock), "%H:%M:%S", localtime(&now));
	rc = ctlclient_call(socket_path, "stats text", stats, sizeof(stats));
	frame_line(f, cols, line, (size_t)snprintf(line, sizeof(line), "trunkrec top   %s   every %us   q quits",
						    clock, interval_s));
	if (rc != 0) {
		frame_line(f, cols, line, (size_t)snprintf(line, sizeof(line), "trunkrecd: %s", stats));
		return;
	}
	frame_line(f, cols, line,
		   (size_t)snprintf(line, sizeof(line),
				    "calls active %lld   recordings complete %lld failed %lld   late batches %lld"
				    " (p99 %lld us)   disk free %lld MB",
				    stats_figure(stats, "calls_active"), stats_figure(stats, "recordings_complete"),
				    stats_figure(stats, "recordings_failed"), stats_figure(stats, "late_batches"),
				    stats_figure(stats, "batch_p99_us"), stats_figure(stats, "disk_free_bytes") >> 20));
	frame_line(f, cols, "", 0);
	if (ctlclient_call(socket_path, "spans text", spans, sizeof(spans)) == 0)
		frame_lines(f, cols, spans, rows / 3);
	frame_line(f, cols, "", 0);
	if (ctlclient_call(socket_path, "calls text", calls, sizeof(calls)) == 0)
		frame_lines(f, cols, calls, rows - f->lines);
	else
		frame_line(f, cols, line, (size_t)snprintf(line, sizeof(line), "calls: %s", calls));
}

/* Redraw in place: home, each line cleared to its end, the rest of the screen cleared. */
static void draw(const struct frame *f)
{
	fputs("\033[H", stdout);
	for (const char *p = f->text; p < f->text + f->len;) {
		const char *nl = memchr(p, '\n', (size_t)(f->text + f->len - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(f->text + f->len - p);

		fwrite(p, 1, len, stdout);
		fputs("\033[K", stdout);
		p += len + 1;
		if (p < f->text + f->len)
			fputs("\r\n", stdout);
	}
	fputs("\033[J", stdout);
	fflush(stdout);
}

/* Sleep until the next refresh; true when the operator asked to quit. */
static bool wait_key(unsigned interval_s)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	struct timespec end, now;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += interval_s;
	while (!quit && !resized) {
		char key;
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0)
			return false;
		if (poll(&pfd, tty_changed ? 1 : 0, (int)ms) > 0 && read(STDIN_FILENO, &key, 1) == 1 &&
		    (key == 'q' || key == 'Q'))
			return true;
	}
	return quit;
}

int cmd_top(int argc, char **argv)
{
	static struct frame frame;
	const char *socket_path = cli_socket_option(argc, argv);
	unsigned interval_s = 1;
	bool once = false;
	struct sigaction sa = { .sa_handler = on_signal };
	int rows, cols;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--once")) {
			once = true;
		} else if (!strcmp(argv[i], "--interval") && i + 1 < argc && atoi(argv[i + 1]) > 0) {
			interval_s = (unsigned)atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			i++;
		} else {
			fprintf(stderr, "usage: trunkrec top [--interval SECONDS] [--once] [--socket PATH]\n");
			return CLI_EXIT_ERROR;
		}
	}
	if (once) {
		build_frame(&frame, socket_path, interval_s, 1 << 20, 1 << 20);
		fwrite(frame.text, 1, frame.len, stdout);
		return frame.lines > 1 ? 0 : CLI_EXIT_ERROR;	/* one line: the daemon did not answer */
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	terminal_take();
	do {
		resized = 0;
		terminal_size(&rows, &cols);
		build_frame(&frame, socket_path, interval_s, rows, cols);
		draw(&frame);
	} while (!wait_key(interval_s) && !quit);
	terminal_restore();
	return 0;
}
