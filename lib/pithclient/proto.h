/*
 * The pithd protocol, shared by the server (tools/pithd) and the client
 * library (lib/pithclient).  docs/protocol.md is the prose version; this
 * header is the truth.
 *
 * Transport: a SOCK_SEQPACKET unix socket, so every message arrives whole
 * or not at all and its length is known; plus one memory area per client
 * (a sealed memfd the server creates and passes at the handshake with
 * SCM_RIGHTS, mapped by both).  Pointer arguments are never sent as
 * addresses: the client copies what they point to into the area and sends
 * offsets into it; the server checks each offset and length against the
 * area and hands the kernel pointers into its own mapping.
 *
 * Every fixed-width field is host byte order: client and server are on
 * one machine.
 */
#ifndef PITHCLIENT_PROTO_H
#define PITHCLIENT_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <time.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/utsname.h>

#define PROTO_MAGIC	0x48544950u	/* "PITH" in memory order */
/*
 * The protocol version: bump it on any change to a message, to the area's
 * use or to the argument kinds of syscalls.master (the table is part of
 * the protocol).  Client and server must agree exactly.
 */
#define PROTO_VERSION	2u

/* A token naming a kernel process that waits to be claimed (fork, exec). */
#define PROTO_TOKENLEN	16

/*
 * client -> server, the first message on a connection.  The server reads
 * ph_magic and ph_version before it looks at the length, so that a client
 * of another version, whose hello may be shorter, is told so plainly.
 */
struct proto_hello {
	uint32_t ph_magic;
	uint32_t ph_version;
	uint32_t ph_flags;		/* PROTO_HELLO_* */
	uint32_t ph_reserved;		/* 0 */
	unsigned char ph_token[PROTO_TOKENLEN];	/* with PROTO_HELLO_CLAIM */
};
/* Become the waiting process ph_token names instead of a new one. */
#define PROTO_HELLO_CLAIM	0x1u
/* ... and close its close-on-exec descriptors first: we are a new image. */
#define PROTO_HELLO_EXEC	0x2u
/*
 * Requests through struct proto_ring in shared memory (a second sealed
 * memfd in the welcome) instead of the socket: no system call on the fast
 * path when the server's thread is spinning, futex wake-ups otherwise.
 * The socket stays open for liveness: its end is the client's end.
 */
#define PROTO_HELLO_RING	0x4u


/*
 * server -> client, the answer.  pw_error 0: accepted, the memfd rides
 * along in SCM_RIGHTS, pw_pid is the client's kernel pid.  Otherwise a
 * positive errno (EPROTONOSUPPORT for a version mismatch, EAGAIN, ENOMEM)
 * with a human-readable reason in pw_msg, and the server closes.
 */
struct proto_welcome {
	uint32_t pw_magic;
	uint32_t pw_version;		/* the server's version */
	int32_t pw_error;
	int32_t pw_pid;
	uint64_t pw_areasize;		/* bytes of the shared area */
	char pw_msg[112];		/* NUL-terminated */
};

/* Request operations; see docs/protocol.md. */
#define PROTO_OP_SYSCALL	1u	/* pq_nr, pq_arg: one system call */
/*
 * Before fork: make a copy of the caller's kernel process (descriptors
 * sharing the open files, cwd, umask, credentials) waiting under a new
 * token, which the server writes at area offset pq_arg[0].  ret: the
 * copy's pid.  The token dies with this connection if nobody claimed it.
 */
#define PROTO_OP_FORK		2u
/*
 * Before execve: park the caller's own process under a token (written at
 * pq_arg[0]); when this connection goes away, the process waits
 * PROTO_PARK_SECONDS for the new image to claim it.  ret 0.
 */
#define PROTO_OP_PARK		3u
/* Withdraw a token this connection made (at pq_arg[0]): a fork copy is
 * released, a parked process is ours again (execve failed).  ret 0. */
#define PROTO_OP_CANCEL		4u
/* Administration, for the server's owner (or root) only, else -EPERM. */
#define PROTO_OP_PS		5u	/* struct proto_ps[] at pq_arg[0],
					 * room for pq_arg[1] bytes; ret:
					 * how many there are */
#define PROTO_OP_KILL		6u	/* end kernel process pq_arg[0] */
#define PROTO_OP_STOP		7u	/* shut the server down cleanly */

#define PROTO_PARK_SECONDS	10

/* One client process, as PROTO_OP_PS lists it. */
struct proto_ps {
	int32_t pp_kpid;		/* kernel pid */
	int32_t pp_peerpid;		/* host pid of the client */
	uint32_t pp_uid;		/* the client's uid (SO_PEERCRED) */
	uint32_t pp_nfds;		/* open descriptors */
	char pp_comm[32];		/* the host's comm of pp_peerpid */
	char pp_cwd[256];		/* working directory, "" if unknown */
};

/* client -> server: one system call. */
struct proto_req {
	uint32_t pq_op;
	uint32_t pq_nr;			/* Linux x86-64 number */
	uint64_t pq_arg[6];		/* values, or area offsets for pointers */
};

/* server -> client: its result, a value or -errno. */
struct proto_rep {
	int64_t pr_ret;
};

/*
 * The ring: one request slot and its reply, in a page both map.  rg_state
 * is the futex word.  The client writes rg_req, then rg_state = REQ, and
 * wakes the server if rg_srvwait says it sleeps; the server copies the
 * request to private memory, calls, writes rg_ret, moves REQ to REP and
 * wakes the client if rg_cliwait.  The server sets DEAD when it ends the
 * connection.  Everything here is the client's to scribble on: the server
 * only ever reads its private copy of the request.
 */
struct proto_ring {
	uint32_t rg_state;		/* PROTO_RING_*, the futex word */
	uint32_t rg_srvwait;		/* the server's thread sleeps */
	uint32_t rg_cliwait;		/* the client sleeps */
	uint32_t rg_pad;
	struct proto_req rg_req;
	int64_t rg_ret;
};
#define PROTO_RING_IDLE		0u
#define PROTO_RING_REQ		1u
#define PROTO_RING_REP		2u
#define PROTO_RING_DEAD		3u
#define PROTO_RINGSIZE		4096u

/* A pointer argument that is NULL travels as this, not as an offset. */
#define PROTO_NULL	UINT64_MAX

/* The area's size.  Transfers larger than it are cut (read/write). */
#define PROTO_AREASIZE	(1024u * 1024u)

/* --- the argument kinds, generated from syscalls.master (out=remote) --- */

enum proto_kind {
	PK_VAL = 0,	/* a plain value */
	PK_STR,		/* NUL-terminated input string */
	PK_IN,		/* count * size bytes, read by the kernel */
	PK_OUT,		/* count * size bytes, written by the kernel */
	PK_INOUT,	/* both */
	PK_OUTR,	/* as OUT; only ret * size bytes come back */
	PK_IOVIN,	/* struct iovec[count], buffers read */
	PK_IOVOUT,	/* struct iovec[count], buffers filled; ret bytes */
	PK_FDSET,	/* fd_set of count bits, in and out */
	PK_IOCTL,	/* decided by the command in argument narg */
	PK_FCNTL,	/* likewise for fcntl */
	PK_PSEL,	/* pselect6's { const sigset_t *, size_t } */
	PK_NKINDS
};

struct proto_arg {
	signed char pa_kind;	/* enum proto_kind */
	signed char pa_narg;	/* the argument giving the count; -1: pa_count */
	uint32_t pa_count;	/* constant element count when pa_narg < 0 */
	uint32_t pa_size;	/* bytes per element */
};

struct proto_call {
	const char *pc_name;	/* NULL: not implemented (ENOSYS) */
	int pc_nargs;
	struct proto_arg pc_arg[6];
};

#define PA_VAL		{ PK_VAL, -1, 0, 0 }
#define PROTO_NCALLS	512

extern const struct proto_call proto_calls[PROTO_NCALLS];

/*
 * One argument resolved for a particular call: what it is and how many
 * bytes it covers, computed from the call's own (private) argument values.
 * For the iovec kinds pr_len is the array's bytes, for PSEL the pair's.
 */
struct proto_res {
	int kind;
	uint64_t len;
};

/*
 * Resolve the arguments of call nr with values a[] (as the caller passed
 * them, pointers still pointers or offsets -- only counts are read).
 * Returns 0, or -errno: -ENOSYS for a call the table does not implement,
 * -EINVAL for counts the kernel would refuse anyway, -ENOTTY for an ioctl
 * command whose argument cannot be described.
 */
int proto_resolve(unsigned long nr, const uint64_t a[6], struct proto_res r[6]);

/* The kernel's struct termios (not glibc's). */
#define PROTO_KTERMIOS_SIZE 36
/* IOV_MAX on Linux. */
#define PROTO_IOV_MAX 1024
/* Largest fd_set the server marshals: nfds beyond it is EINVAL. */
#define PROTO_FDSET_MAXBITS (1u << 20)

/*
 * The server's side, a pure function so a fuzzer can drive it: check a
 * request of reqlen bytes against an area of areasize bytes mapped at
 * area (followed by at least one zero-filled readable page, so a string
 * cannot run off the end), and produce the kernel's arguments in out[].
 * Arrays the kernel reads pointers from (iovecs, pselect6's pair) are
 * copied into scratch, private memory the client cannot change under the
 * kernel; *scratchp is malloc'ed when needed and the caller frees it.
 * Returns 0, or -errno for the reply; PROTO_BADMSG when the message itself
 * is malformed and the connection should be closed.
 */
#define PROTO_BADMSG (-100000)
int proto_decode(const void *msg, size_t reqlen, char *area, size_t areasize,
    long out[6], unsigned long *nrp, void **scratchp);

#endif /* PITHCLIENT_PROTO_H */
