/*
 * pithd: a Pith kernel served over a unix socket.  Shared by pithd.c (the
 * command line, the listening socket, the main loop and shutdown) and
 * conn.c (one thread per client connection).
 */
#ifndef PITHD_H
#define PITHD_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * One client.  Created by the main thread at accept, owned by its thread;
 * on the registry list (conn_lock) from accept until that thread is done.
 * c_released says the kernel process is gone: whoever sets it (the
 * thread at the end, the main thread when the peer hangs up mid-call or
 * at shutdown) calls pith_proc_release, exactly once -- unless the
 * process is parked for an exec (c_park), when the token keeps it.
 */
struct ptoken;
struct conn {
	struct conn *c_next;		/* [conn_lock] */
	uint64_t c_id;			/* epoll cookie; never reused */
	int c_fd;
	pid_t c_peerpid;		/* SO_PEERCRED */
	uid_t c_uid;
	gid_t c_gid;
	pid_t c_kpid;			/* [conn_lock] kernel pid, 0 if none */
	int c_released;			/* [conn_lock] */
	struct ptoken *c_park;		/* [conn_lock] our process, parked */
	int c_ntokens;			/* [conn_lock] fork tokens we made */
	int c_admin;			/* peer is the owner or root */
	int c_memfd;
	char *c_area;
	size_t c_areasize;
	int c_ringfd;			/* PROTO_HELLO_RING: the ring's memfd */
	struct proto_ring *c_ring;	/* and its mapping, or NULL */
	int c_dead;			/* [atomic] ended: the thread leaves */
};

void conn_start(int fd);
/* The peer of connection id hung up: release its process now. */
void conn_hangup(uint64_t id);
/* Shutdown: hang up on every client, then wait up to ms for them. */
int conn_shutdown_all(int ms);
unsigned conn_count(void);
/* Release parked processes nobody claimed in time; returns how many
 * tokens are left (the main loop polls while some are). */
unsigned conn_reap_tokens(void);

void pithd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The main loop's epoll: connection threads register and leave it. */
extern int pithd_epfd;

#endif /* PITHD_H */
