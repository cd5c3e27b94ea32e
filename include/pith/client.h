/*
 * libpithclient: the pith_sys_* API of <pith/pith.h>, answered by a Pith
 * kernel running in a pithd server instead of in this process.
 *
 *	if (pith_client_connect("/tmp/p.sock") < 0)
 *		err(1, "pith_client_connect");
 *	int fd = pith_sys_open("/mnt/hello", O_CREAT | O_WRONLY, 0644);
 *
 * Link with -lpithclient (pkg-config pithclient), never together with
 * libpith: both define pith_sys_*.  Every pith_sys_* call of a connected
 * process is one round trip to the server; the process is one process of
 * the server's kernel, with its own descriptors, working directory and
 * umask, and the credentials the server read from the socket (SO_PEERCRED).
 * pith_init and pith_proc_* are the in-process library's and fail here
 * with ENOSYS.
 *
 * Calls from several threads are serialised on the one connection.  A call
 * made before pith_client_connect connects to $PITH_SERVER if it is set,
 * and otherwise fails with ENOTCONN.
 */
#ifndef PITH_CLIENT_H
#define PITH_CLIENT_H

#include <pith/pith.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Connect to the server listening on path (NULL: $PITH_SERVER) and become
 * a process of its kernel.  Returns 0, or -1 with errno set: ENOTCONN with
 * no path and no $PITH_SERVER, EISCONN if already connected, the socket's
 * errors (ENOENT, ECONNREFUSED, EACCES), EPROTONOSUPPORT when the server
 * speaks another protocol version (and the reason on stderr).
 */
int pith_client_connect(const char *path);

/* Leave the server: the kernel process and all it holds are released. */
int pith_client_disconnect(void);

/* This process's pid in the server's kernel, or -1 if not connected. */
pid_t pith_client_pid(void);

/* The server's last refusal or the last transport error, or "". */
const char *pith_client_error(void);

/*
 * fork and exec (docs/protocol.md).  A connected process that forks
 * needs nothing: the child becomes a copy of the parent's kernel process
 * by itself.  These are for callers that start processes otherwise
 * (libpithshim).  Tokens travel as 32 hex digits plus a NUL.
 *
 * pith_client_fork_token: a copy of our kernel process waits under tok
 * for a process to claim it; returns its pid.  pith_client_park: our own
 * process waits under tok, for the image an execve is about to start,
 * for some seconds after our connection ends.  pith_client_cancel: take
 * back a token we made (the fork copy is released, the parked process is
 * ours again).  pith_client_claim: connect as the process behind tok
 * (exec: closing its close-on-exec descriptors); EPERM if another user
 * made it, ESRCH if none waits under it.
 */
#define PITH_CLIENT_TOKENSTR 33
pid_t pith_client_fork_token(char tok[PITH_CLIENT_TOKENSTR]);
int pith_client_park(char tok[PITH_CLIENT_TOKENSTR]);
int pith_client_cancel(const char *tok);
int pith_client_claim(const char *path, const char *tok, int exec);

/* The connection's socket descriptor, or -1. */
int pith_client_sockfd(void);

/*
 * Administration for `pith ps/kill/stop` (the server's owner or root
 * only, else EPERM): op is PROTO_OP_PS (buf gets struct proto_ps
 * entries, up to len bytes; returns how many processes there are),
 * PROTO_OP_KILL (end kernel process arg) or PROTO_OP_STOP.
 */
long pith_client_admin(unsigned op, long arg, void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* PITH_CLIENT_H */
