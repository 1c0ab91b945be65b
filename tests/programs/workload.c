/* Test workload: set the process name, then call getppid N times and/or sleep
 * M times for 1 ms. Usage: workload <comm> <getppid calls> [sleeps] */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 0, sleeps = argc > 3 ? atol(argv[3]) : 0;
	struct timespec ms = {0, 1000000};

	prctl(PR_SET_NAME, argv[1], 0, 0, 0);
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	for (long i = 0; i < sleeps; i++)
		nanosleep(&ms, NULL);
	return 0;
}
