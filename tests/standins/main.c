/* main.c - tracup-standin: one program playing Elasticsearch and the Tracardi parts for the test bed */
#include "api.h"
#include "es.h"
#include "misc.h"
#include "util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mode {
	const char *name;
	int (*run)(void);
};

static const struct mode modes[] = {
	{ "es", es_main },
	{ "api", api_main },
	{ "worker", worker_main },
	{ "gui", gui_main },
	{ "idle", idle_main },
	{ "apm", apm_main },
	{ "tcp-sink", tcp_sink_main },
};

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void *crash_timer(void *arg)
{
	long seconds = (long)arg;
	sleep_ms_interruptible(seconds * 1000);
	if (!g_stop) {
		logmsg("crashing now (fault switch crash:%ld)", seconds);
		_exit(1);
	}
	return NULL;
}

static int usage(void)
{
	fputs("usage: tracup-standin es|api|worker|gui|idle|apm|tcp-sink\n"
	      "see tests/standins/README.md for the environment each mode reads\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const struct mode *mode = NULL;
	if (argc != 2)
		return usage();
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (strcmp(argv[1], modes[i].name) == 0)
			mode = &modes[i];
	if (!mode)
		return usage();
	log_set_mode(mode->name);

	/* as PID 1 the kernel ignores signals without a handler, so install them explicitly */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	const char *fault = getenv("STANDIN_FAULT");
	if (fault && strncmp(fault, "crash:", 6) == 0) {
		long secs;
		if (parse_long(fault + 6, &secs) < 0 || secs < 0) {
			fprintf(stderr, "tracup-standin: bad STANDIN_FAULT '%s'\n", fault);
			return 2;
		}
		pthread_t t;
		pthread_create(&t, NULL, crash_timer, (void *)secs);
		pthread_detach(t);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;

	long delay = env_long("STANDIN_BOOT_DELAY", 0);
	if (delay > 0) {
		logmsg("booting: the port opens in %ld s", delay);
		sleep_ms_interruptible(delay * 1000);
	}
	int rc = g_stop ? 0 : mode->run();
	logmsg("exiting with status %d", rc);
	curl_global_cleanup();
	return rc;
}
