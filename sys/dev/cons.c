/*
 * The console, /dev/console (5,1), and /dev/tty (5,0): output goes to the
 * platform's console (hyp_console_write: stderr when hosted, the serial
 * port on metal).
 *
 * There is no console input yet: reads return end-of-file at once.  The
 * console is not a terminal -- there is no line discipline, no termios and
 * no window size -- so every ioctl, TCGETS and TIOCGWINSZ included, fails
 * with ENOTTY and isatty() is false, which is what programs expect of
 * output redirected to a file and makes them behave (no colours, full
 * buffering).  /dev/tty is the same device rather than the caller's
 * controlling terminal, since processes here have none.
 *
 * hyp_console_write serializes writers; nothing here locks.
 */

#include "kern/cdev.h"

#define CONS_MAJOR 5
#define CONS_TTY 0
#define CONS_CONSOLE 1

static int
cons_open(dev_t dev, int flags)
{
	return 0;
}

static int
cons_read(dev_t dev, struct uio *uio, int flags)
{
	return 0;
}

static int
cons_write(dev_t dev, struct uio *uio, int flags)
{
	char buf[256];
	size_t n;
	int error;

	while (uio->uio_resid > 0) {
		n = MIN(uio->uio_resid, sizeof(buf));
		error = uiomove(buf, n, uio);
		if (error)
			return error;
		hyp_console_write(buf, n);
	}
	return 0;
}

static const struct cdevsw cons_console_sw = {
	.d_name = "console",
	.d_mode = 0600,
	.d_open = cons_open,
	.d_read = cons_read,
	.d_write = cons_write,
};

static const struct cdevsw cons_tty_sw = {
	.d_name = "tty",
	.d_mode = 0666,
	.d_open = cons_open,
	.d_read = cons_read,
	.d_write = cons_write,
};

static void
cons_fini(void)
{
	cdev_unregister(makedev(CONS_MAJOR, CONS_CONSOLE));
	cdev_unregister(makedev(CONS_MAJOR, CONS_TTY));
}

static int
cons_init(void)
{
	int error;

	error = cdev_register(makedev(CONS_MAJOR, CONS_CONSOLE),
	    &cons_console_sw);
	if (error == 0)
		error = cdev_register(makedev(CONS_MAJOR, CONS_TTY),
		    &cons_tty_sw);
	if (error)
		cons_fini();
	return error;
}

COMPONENT(cons, COMP_DEV, cons_init, cons_fini);
