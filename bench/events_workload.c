/* bench/events_workload.c - the traced workload of bench/events.py.
 *
 *   events_workload N CPU [wait]
 *
 * Pins itself to CPU, optionally waits for one byte on stdin (so the bench can
 * attach a probe filtered on its pid first), then calls lseek(-1, i % 1000000,
 * SEEK_SET) N times (a cheap syscall that fails with EBADF at once) and prints
 * the mean nanoseconds per call. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = atol(argv[1]);
	cpu_set_t set;
	struct timespec a, b;
	char go;

	CPU_ZERO(&set);
	CPU_SET(atoi(argv[2]), &set);
	sched_setaffinity(0, sizeof(set), &set);
	if (argc > 3 && read(0, &go, 1) != 1)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		lseek(-1, i % 1000000, SEEK_SET);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.2f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
