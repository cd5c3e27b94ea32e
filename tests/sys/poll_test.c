/*
 * poll, ppoll, select, pselect6 and epoll through the whole kernel, on
 * pipes: readiness bits as Linux reports them, errors, timeouts, wakeups
 * from another thread, and epoll's level, edge and one-shot modes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <pith/pith.h>

#include "lib/tap.h"

static long
res(long r)
{
	return r < 0 ? -errno : r;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Same checks on a host pipe and a Pith pipe. */
static void
poll_bits(void)
{
	struct pollfd hp[2], pp[2];
	int h[2], p[2];

	pipe(h);
	pith_sys_pipe(p);
	hp[0] = (struct pollfd){ h[0], POLLIN | POLLOUT, 0 };
	hp[1] = (struct pollfd){ h[1], POLLIN | POLLOUT, 0 };
	pp[0] = (struct pollfd){ p[0], POLLIN | POLLOUT, 0 };
	pp[1] = (struct pollfd){ p[1], POLLIN | POLLOUT, 0 };
	is_int(pith_sys_poll(pp, 2, 0), poll(hp, 2, 0), "empty pipe: count");
	is_int(pp[0].revents, hp[0].revents, "empty: read end");
	is_int(pp[1].revents, hp[1].revents, "empty: write end");
	write(h[1], "x", 1);
	pith_sys_write(p[1], "x", 1);
	is_int(pith_sys_poll(pp, 2, 0), poll(hp, 2, 0), "data: count");
	is_int(pp[0].revents, hp[0].revents, "data: read end POLLIN");
	close(h[1]);
	pith_sys_close(p[1]);
	is_int(pith_sys_poll(pp, 1, 0), poll(hp, 1, 0), "no writer: count");
	is_int(pp[0].revents, hp[0].revents, "no writer: POLLIN|POLLHUP");
	close(h[0]);
	pith_sys_close(p[0]);

	pipe(h);
	pith_sys_pipe(p);
	close(h[0]);
	pith_sys_close(p[0]);
	hp[0] = (struct pollfd){ h[1], POLLOUT, 0 };
	pp[0] = (struct pollfd){ p[1], POLLOUT, 0 };
	is_int(pith_sys_poll(pp, 1, 0), poll(hp, 1, 0), "no reader: count");
	is_int(pp[0].revents, hp[0].revents, "no reader: POLLOUT|POLLERR");
	close(h[1]);
	pith_sys_close(p[1]);
}

static void
poll_errors(void)
{
	struct pollfd pf[2] = { { -1, POLLIN, 7 }, { 999, POLLIN, 0 } };
	int64_t t0;

	is_int(pith_sys_poll(pf, 2, 0), 1, "bad fd counts");
	is_int(pf[0].revents, 0, "negative fd ignored");
	is_int(pf[1].revents, POLLNVAL, "bad fd: POLLNVAL");
	is_int(res(pith_sys_poll(pf, 1025, 0)), -EINVAL, "nfds > limit");
	t0 = now_ms();
	pf[1].fd = -1;
	is_int(pith_sys_poll(pf, 2, 60), 0, "timeout returns 0");
	ok(now_ms() - t0 >= 55, "waited the timeout");
}

static int wp[2];

static void *
writer_later(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	pith_sys_write(wp[1], "w", 1);
	return NULL;
}

static void
poll_wakeup(void)
{
	struct pollfd pf;
	struct timespec ts = { 5, 0 };
	fd_set rs;
	pthread_t t;
	char c;

	pith_sys_pipe(wp);
	pf = (struct pollfd){ wp[0], POLLIN, 0 };
	pthread_create(&t, NULL, writer_later, NULL);
	is_int(pith_sys_poll(&pf, 1, -1), 1, "poll woken by a writer thread");
	is_int(pf.revents, POLLIN, "POLLIN");
	pthread_join(t, NULL);
	pith_sys_read(wp[0], &c, 1);

	pthread_create(&t, NULL, writer_later, NULL);
	/* The raw call: libc's ppoll hides the written-back timeout. */
	is_int(pith_syscall(271, &pf, 1UL, &ts, NULL, 8UL), 1, "ppoll woken");
	ok(ts.tv_sec < 5 && ts.tv_sec >= 4, "ppoll wrote back time left");
	pthread_join(t, NULL);
	pith_sys_read(wp[0], &c, 1);

	pthread_create(&t, NULL, writer_later, NULL);
	FD_ZERO(&rs);
	FD_SET(wp[0], &rs);
	is_int(pith_sys_select(wp[0] + 1, &rs, NULL, NULL, NULL), 1,
	    "select woken");
	ok(FD_ISSET(wp[0], &rs), "select: readable");
	pthread_join(t, NULL);
	pith_sys_read(wp[0], &c, 1);
	pith_sys_close(wp[0]);
	pith_sys_close(wp[1]);
}

static void
select_cases(void)
{
	struct timeval tv = { 0, 100 * 1000 };
	struct timespec ts = { 0, 0 };
	fd_set rs, ws;
	int p[2];

	pith_sys_pipe(p);
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_SET(p[0], &rs);
	FD_SET(p[1], &ws);
	is_int(pith_sys_select(p[1] + 1, &rs, &ws, NULL, &tv), 1,
	    "select: write end ready");
	ok(!FD_ISSET(p[0], &rs) && FD_ISSET(p[1], &ws), "select sets");
	FD_ZERO(&rs);
	FD_SET(500, &rs);
	is_int(res(pith_sys_select(501, &rs, NULL, NULL, &tv)), -EBADF,
	    "select: bad fd EBADF");
	is_int(res(pith_sys_select(-1, NULL, NULL, NULL, &tv)), -EINVAL,
	    "select: nfds < 0");
	is_int(pith_sys_select(2000, NULL, NULL, NULL, &tv), 0,
	    "select: large nfds clamped as Linux");
	tv.tv_sec = -1;
	is_int(res(pith_sys_select(0, NULL, NULL, NULL, &tv)), -EINVAL,
	    "select: negative timeout");
	tv = (struct timeval){ 0, 20000 };
	pith_sys_select(0, NULL, NULL, NULL, &tv);
	ok(tv.tv_sec == 0 && tv.tv_usec == 0, "select: time left written back");
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	pith_sys_write(p[1], "x", 1);
	is_int(pith_sys_pselect6(p[0] + 1, &rs, NULL, NULL, &ts, NULL), 1,
	    "pselect6: readable");
	pith_sys_close(p[0]);
	pith_sys_close(p[1]);
}

static void
epoll_errors(void)
{
	struct epoll_event ev = { EPOLLIN, { .u64 = 0 } };
	int ep, p[2];

	is_int(res(pith_sys_epoll_create(0)), -EINVAL, "epoll_create(0)");
	is_int(res(pith_sys_epoll_create1(1)), -EINVAL, "epoll_create1 flags");
	ep = pith_sys_epoll_create1(EPOLL_CLOEXEC);
	ok(ep >= 0, "epoll_create1(EPOLL_CLOEXEC)");
	is_int(pith_sys_fcntl(ep, F_GETFD), FD_CLOEXEC, "cloexec");
	is_int(pith_sys_fcntl(ep, F_GETFL), O_RDWR, "F_GETFL O_RDWR");
	pith_sys_pipe(p);
	is_int(res(pith_sys_epoll_ctl(ep, EPOLL_CTL_ADD, 900, &ev)), -EBADF,
	    "ctl bad fd");
	is_int(res(pith_sys_epoll_ctl(900, EPOLL_CTL_ADD, p[0], &ev)), -EBADF,
	    "ctl bad epfd");
	is_int(res(pith_sys_epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev)), -EINVAL,
	    "ctl epfd not epoll");
	is_int(res(pith_sys_epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev)), -EINVAL,
	    "ctl fd == epfd");
	is_int(res(pith_sys_epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev)), -ENOENT,
	    "MOD missing");
	is_int(res(pith_sys_epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL)), -ENOENT,
	    "DEL missing");
	is_int(pith_sys_epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0, "ADD");
	is_int(res(pith_sys_epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev)), -EEXIST,
	    "ADD twice");
	is_int(res(pith_sys_epoll_ctl(ep, 99, p[0], &ev)), -EINVAL, "bad op");
	is_int(res(pith_sys_epoll_wait(ep, &ev, 0, 0)), -EINVAL,
	    "maxevents 0");
	is_int(res(pith_sys_epoll_wait(p[0], &ev, 1, 0)), -EINVAL,
	    "wait on a non-epoll fd");
	is_int(pith_sys_epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), 0, "DEL");
	pith_sys_close(p[0]);
	pith_sys_close(p[1]);
	pith_sys_close(ep);
}

static void
epoll_modes(void)
{
	struct epoll_event ev, out[4];
	struct pollfd pf;
	pthread_t t;
	int ep, ep2, p[2];
	char c;

	ep = pith_sys_epoll_create(1);
	pith_sys_pipe(p);
	ev = (struct epoll_event){ EPOLLIN, { .u64 = 42 } };
	pith_sys_epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	is_int(pith_sys_epoll_wait(ep, out, 4, 0), 0, "nothing ready");
	pith_sys_write(p[1], "ab", 2);
	is_int(pith_sys_epoll_wait(ep, out, 4, 0), 1, "LT: ready");
	ok(out[0].events == EPOLLIN && out[0].data.u64 == 42, "event and data");
	is_int(pith_sys_epoll_wait(ep, out, 4, 0), 1, "LT: still ready");
	pf = (struct pollfd){ ep, POLLIN, 0 };
	is_int(pith_sys_poll(&pf, 1, 0), 1, "epoll fd is pollable");

	ev.events = EPOLLIN | EPOLLET;
	pith_sys_epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
	is_int(pith_sys_epoll_wait(ep, out, 4, 0), 1, "ET: first report");
	is_int(pith_sys_epoll_wait(ep, out, 4, 0), 0, "ET: not again");
	pith_sys_write(p[1], "c", 1);
	is_int(pith_sys_epoll_wait(ep, out, 4, 0), 1, "ET: new edge");

	ev.events = EPOLLIN | EPOLLONESHOT;
	pith_sys_epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
	is_int(pith_sys_epoll_wait(ep, out, 4, 0), 1, "ONESHOT: once");
	pith_sys_write(p[1], "d", 1);
	is_int(pith_sys_epoll_wait(ep, out, 4, 0), 0, "ONESHOT: disabled");
	pith_sys_epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
	is_int(pith_sys_epoll_wait(ep, out, 4, 0), 1, "ONESHOT: re-armed");

	/* Drain, then wait for a writer thread. */
	ev.events = EPOLLIN;
	pith_sys_epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
	while (pith_sys_fcntl(p[0], F_SETFL, O_NONBLOCK) == 0 &&
	    pith_sys_read(p[0], &c, 1) == 1)
		;
	wp[0] = p[0];
	wp[1] = p[1];
	pthread_create(&t, NULL, writer_later, NULL);
	is_int(pith_sys_epoll_wait(ep, out, 4, 2000), 1,
	    "epoll_wait woken by a writer thread");
	pthread_join(t, NULL);

	/* Nested: an epoll set watching another. */
	ep2 = pith_sys_epoll_create1(0);
	ev = (struct epoll_event){ EPOLLIN, { .u64 = 7 } };
	is_int(pith_sys_epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &ev), 0,
	    "nested ADD");
	is_int(pith_sys_epoll_wait(ep2, out, 4, 0), 1, "nested: ready");

	/* Hang-up on the watched end. */
	pith_sys_close(p[1]);
	is_int(pith_sys_epoll_wait(ep, out, 4, 0), 1, "HUP reported");
	ok(out[0].events == (EPOLLIN | EPOLLHUP), "EPOLLIN|EPOLLHUP");

	/* Closing the only descriptor drops the registration. */
	pith_sys_close(p[0]);
	is_int(pith_sys_epoll_wait(ep, out, 4, 0), 0, "closed file gone");
	pith_sys_close(ep);
	is_int(pith_sys_epoll_wait(ep2, out, 4, 0), 0, "inner set gone");
	pith_sys_close(ep2);
}

/* Registrations appearing and vanishing while another thread waits. */
static volatile int churn_done;

static void *
churner(void *arg)
{
	struct epoll_event ev = { EPOLLIN, { 0 } };
	int ep = *(int *)arg, p[2], i;

	for (i = 0; i < 3000; i++) {
		pith_sys_pipe(p);
		pith_sys_epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
		pith_sys_write(p[1], "x", 1);
		if (i & 1)
			pith_sys_close(p[1]);
		pith_sys_close(p[0]);
		if (!(i & 1))
			pith_sys_close(p[1]);
	}
	churn_done = 1;
	return NULL;
}

static void
epoll_churn(void)
{
	struct epoll_event out[8];
	pthread_t t;
	long waits = 0;
	int ep;

	ep = pith_sys_epoll_create1(0);
	pthread_create(&t, NULL, churner, &ep);
	while (!churn_done) {
		if (pith_sys_epoll_wait(ep, out, 8, 1) < 0)
			break;
		waits++;
	}
	pthread_join(t, NULL);
	ok(churn_done, "epoll_wait survives registrations churning (%ld waits)",
	    waits);
	is_int(pith_sys_epoll_wait(ep, out, 8, 0), 0, "nothing left behind");
	pith_sys_close(ep);
}

int
main(void)
{
	if (pith_init(NULL) != 0)
		bail_out("pith_init: %s", strerror(errno));
	poll_bits();
	poll_errors();
	poll_wakeup();
	select_cases();
	epoll_errors();
	epoll_modes();
	epoll_churn();
	pith_fini();
	return done_testing();
}
