// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * procmon: sample processes and their threads from /proc until they exit, for
 * the load harness (bench/run). One line per process and per thread per sample:
 *
 *   P  t_ms pid cpu_ns rss_kb fds threads       (cpu: utime + stime, clock ticks)
 *   T  t_ms pid tid name cpu_ns                  (cpu: schedstat, ns, this thread)
 *
 * t_ms is CLOCK_MONOTONIC since procmon started. Bounded: --max-s (default 900).
 *
 *   procmon [--interval-ms N] [--max-s S] --out FILE PID...
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int read_small(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = 0;
	return (int)n;
}

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* One process: returns 0 while it lives. */
static int sample(FILE *out, double t, int pid, long tick_ns, long page_kb)
{
	char path[96], buf[1024], *p;
	unsigned long long ut, st;
	long pages_rss = 0, size;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return -1;
	p = strrchr(buf, ')');	/* comm may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	if (p[2] == 'Z')
		return -1;	/* exited, not yet reaped */
	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	if (read_small(path, buf, sizeof(buf)) > 0)
		sscanf(buf, "%ld %ld", &size, &pages_rss);
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	int fds = count_entries(path);

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	int threads = count_entries(path);

	fprintf(out, "P\t%.1f\t%d\t%llu\t%ld\t%d\t%d\n", t, pid, (ut + st) * (unsigned long long)tick_ns,
		pages_rss * page_kb, fds, threads);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char name[64] = "?", sched[128];
		unsigned long long ns;
		int tid = atoi(e->d_name);

		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
		if (read_small(path, name, sizeof(name)) > 0)
			name[strcspn(name, "\n")] = 0;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, tid);
		if (read_small(path, sched, sizeof(sched)) <= 0 || sscanf(sched, "%llu", &ns) != 1)
			continue;
		for (char *c = name; *c; c++)
			if (*c == '\t' || *c == ' ')
				*c = '_';
		fprintf(out, "T\t%.1f\t%d\t%d\t%s\t%llu\n", t, pid, tid, name, ns);
	}
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "max-s", required_argument, NULL, 'm' },
		{ "out", required_argument, NULL, 'o' },
		{ 0 },
	};
	int interval = 250, max_s = 900, opt;
	const char *outpath = NULL;
	long tick_ns = 1000000000L / sysconf(_SC_CLK_TCK), page_kb = sysconf(_SC_PAGESIZE) / 1024;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'i': interval = atoi(optarg); break;
		case 'm': max_s = atoi(optarg); break;
		case 'o': outpath = optarg; break;
		default:
			goto usage;
		}
	}
	if (!outpath || optind >= argc || interval < 10 || max_s < 1)
		goto usage;
	FILE *out = fopen(outpath, "we");

	if (!out) {
		fprintf(stderr, "procmon: cannot write %s: %s\n", outpath, strerror(errno));
		return 2;
	}
	double t0 = now_ms();

	while (now_ms() - t0 < max_s * 1e3) {
		int alive = 0;
		double t = now_ms() - t0;

		for (int i = optind; i < argc; i++)
			alive += sample(out, t, atoi(argv[i]), tick_ns, page_kb) == 0;
		fflush(out);
		if (!alive)
			break;
		usleep((useconds_t)interval * 1000);
	}
	fclose(out);
	return 0;
usage:
	fprintf(stderr, "usage: procmon [--interval-ms N] [--max-s S] --out FILE PID...\n");
	return 2;
}
