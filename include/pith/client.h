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

#ifdef __cplusplus
}
#endif

#endif /* PITH_CLIENT_H */
