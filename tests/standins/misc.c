/* misc.c - the small modes: gui (static page), idle (a worker that only stays up), tcp-sink (MySQL port) */
#include "misc.h"
#include "http_server.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void gui_handle(const struct http_req *req, struct http_resp *resp, void *ctx)
{
	const char *version = ctx;
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		resp_text(resp, 405, "text/html", "<html><body><h1>405 Not Allowed</h1></body></html>\n");
		return;
	}
	/* a single-page app: every path serves index.html */
	char *html = xasprintf("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			       "<title>Tracardi</title><meta name=\"tracardi-version\" content=\"%s\"></head>\n"
			       "<body><div id=\"root\">Tracardi GUI %s</div></body></html>\n", version, version);
	resp_text(resp, 200, "text/html", html);
	free(html);
}

int gui_main(void)
{
	static char version[64];
	snprintf(version, sizeof version, "%s", env_or("STANDIN_VERSION", "0.8.2"));
	struct http_server_opts o = {
		.bind = env_or("STANDIN_BIND", "0.0.0.0"),
		.port = (int)env_long("STANDIN_PORT", 80),
		.max_body = 64 * 1024,
		.handler = gui_handle,
		.ctx = version,
	};
	return http_serve(&o) == 0 ? 0 : 1;
}

int idle_main(void)
{
	logmsg("%s idle, waiting for SIGTERM", env_or("STANDIN_VERSION", "?"));
	while (!g_stop)
		sleep_ms_interruptible(1000);
	return 0;
}

/*
 * tracardi/apm (Tracardi/apm app/config.py, main.py): MODE defaults to "job", which runs one
 * profile-merging pass and exits; any other MODE loops, sleeping PAUSE seconds (default 60)
 * between passes. The official 0.8.2.1 compose sets MODE=worker and PAUSE=15.
 */
int apm_main(void)
{
	const char *mode = env_or("MODE", "job");
	long pause = strtol(env_or("PAUSE", "60"), NULL, 10);
	if (pause <= 0 || pause > 86400)
		pause = 60;
	logmsg("apm %s, mode %s", env_or("STANDIN_VERSION", "?"), mode);
	if (strcmp(mode, "job") == 0) {
		logmsg("one merging pass done; exiting (MODE=job)");
		return 0;
	}
	while (!g_stop) {
		logmsg("merging pass done; next in %ld s", pause);
		sleep_ms_interruptible(pause * 1000);
	}
	return 0;
}

static void *sink_conn(void *arg)
{
	int fd = (int)(long)arg;
	char buf[4096];
	/* hold the connection open and discard input, for at most an hour */
	for (int waited = 0; !g_stop && waited < 3600 * 5;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int r = poll(&p, 1, 200);
		if (r == 0) {
			waited++;
			continue;
		}
		if (r < 0 || recv(fd, buf, sizeof buf, 0) <= 0)
			break;
	}
	close(fd);
	return NULL;
}

int tcp_sink_main(void)
{
	const char *bind_addr = env_or("STANDIN_BIND", "0.0.0.0");
	int port = (int)env_long("STANDIN_PORT", 3306);
	struct sockaddr_in sa;
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0) {
		logmsg("error: cannot listen on %s:%d: %s", bind_addr, port, strerror(errno));
		close(fd);
		return 1;
	}
	logmsg("accepting tcp on %s:%d", bind_addr, port);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (!g_stop) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 200) <= 0)
			continue;
		int c = accept(fd, NULL, NULL);
		if (c < 0)
			continue;
		logmsg("connection accepted");
		pthread_t t;
		if (pthread_create(&t, &attr, sink_conn, (void *)(long)c) != 0)
			close(c);
	}
	pthread_attr_destroy(&attr);
	close(fd);
	return 0;
}
