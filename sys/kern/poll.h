/*
 * Wait queues: how a file tells poll, select and epoll that it became
 * ready.
 *
 * Every object that can change readiness (a pipe, a device) owns a waitq.
 * fo_poll(fp, events, pw) returns the current readiness and, when pw is not
 * NULL, hooks a waitent onto each of the object's waitqs with pollwait_add.
 * When readiness changes the object calls waitq_wakeup(wq, events), which
 * calls each entry's callback: poll/select wake their sleeping caller,
 * epoll moves the item to its ready list.
 *
 * Locking: wq_lock protects the entry list and is taken inside whatever
 * lock the object holds when it calls waitq_wakeup; callbacks must not take
 * object locks.  An entry is removed (waitq_remove) by its owner before it
 * is freed; waitq_destroy requires an empty list -- objects wake with
 * POLLHUP and the owners remove themselves.
 */
#ifndef PITH_KERN_POLL_H
#define PITH_KERN_POLL_H

#include "kern/kern.h"

struct waitent;

struct waitq {
	kmutex_t wq_lock;
	TAILQ_HEAD(, waitent) wq_list;  /* [wq_lock] */
};

struct waitent {
	struct waitq *we_q;             /* [wq_lock] NULL once removed */
	void (*we_wake)(struct waitent *we, int events);       /* [I] */
	void *we_arg;                   /* [I] */
	TAILQ_ENTRY(waitent) we_link;   /* [wq_lock] */
};

void waitq_init(struct waitq *wq);
void waitq_destroy(struct waitq *wq);
void waitq_add(struct waitq *wq, struct waitent *we);
void waitq_remove(struct waitent *we);
void waitq_wakeup(struct waitq *wq, int events);

/*
 * The registration context fo_poll receives.  poll/select (sys_poll.c) and
 * epoll (sys_epoll.c) each embed one in their own state: pollwait_add(pw,
 * wq) calls pw_add, which hooks a waitent of theirs onto wq.  pw_file is
 * the file being polled (poll keeps a reference on it for as long as the
 * entries stay hooked).  A registration that cannot allocate sets
 * pw_error (ENOMEM), which the caller reports.
 */
struct file;
struct pollwait {
	void (*pw_add)(struct pollwait *pw, struct waitq *wq);
	struct file *pw_file;
	int pw_error;
};
void pollwait_add(struct pollwait *pw, struct waitq *wq);

/* epoll (sys_epoll.c): fp's last reference is gone; drop every epoll
 * registration on it before its fo_close frees what they watch.  Called
 * by file_rele only. */
void epoll_file_release(struct file *fp);

#endif
