/*
 * Character devices: a registry from dev_t to a driver's switch.
 *
 * Device drivers (sys/dev/) register here at boot; the VFS, when a VCHR
 * vnode is opened, finds the switch and forwards reads, writes, ioctls and
 * polls to it.  The registry lives in the core so that neither side has to
 * know the other by name.
 *
 * Registration happens during boot and shutdown only (single-threaded);
 * lookups after boot need no lock.
 */
#ifndef PITH_KERN_CDEV_H
#define PITH_KERN_CDEV_H

#include "kern/kern.h"
#include "kern/file.h"

struct pollwait;

struct cdevsw {
	const char *d_name;             /* "null", "console": the /dev name */
	mode_t d_mode;                  /* permissions of its /dev node */
	/* All return 0 or an errno; NULL ops: EINVAL (read/write), ENOTTY
	 * (ioctl); a NULL poll means always readable and writable. */
	int (*d_open)(dev_t dev, int flags);
	int (*d_read)(dev_t dev, struct uio *uio, int flags);
	int (*d_write)(dev_t dev, struct uio *uio, int flags);
	int (*d_ioctl)(dev_t dev, unsigned long cmd, void *data);
	int (*d_poll)(dev_t dev, int events, struct pollwait *pw);
};

/* Register sw for dev; EEXIST if taken.  Boot time only. */
int cdev_register(dev_t dev, const struct cdevsw *sw);
void cdev_unregister(dev_t dev);
/* The switch for dev, or NULL (ENXIO to the opener). */
const struct cdevsw *cdev_lookup(dev_t dev);
/* Iterate over registered devices (for populating /dev): returns the
 * i-th registration, or false past the end. */
bool cdev_get(unsigned i, dev_t *dev, const struct cdevsw **sw);

#endif
