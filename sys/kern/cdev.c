/*
 * The character-device registry: a small fixed table from dev_t to a
 * driver's cdevsw, kept in registration order so that /dev is populated
 * in a stable order.
 *
 * Drivers register from their components at boot and unregister at
 * shutdown, both single-threaded; after boot the table does not change,
 * so lookups take no lock.
 */

#include "kern/cdev.h"

#define CDEV_MAX 64

struct cdev_entry {
	dev_t ce_dev;
	const struct cdevsw *ce_sw;
};

static struct cdev_entry cdev_table[CDEV_MAX];
static unsigned cdev_count;

static int
cdev_index(dev_t dev)
{
	unsigned i;

	for (i = 0; i < cdev_count; i++)
		if (cdev_table[i].ce_dev == dev)
			return (int)i;
	return -1;
}

int
cdev_register(dev_t dev, const struct cdevsw *sw)
{
	KASSERT(sw != NULL && sw->d_name != NULL);
	if (cdev_index(dev) >= 0)
		return EEXIST;
	if (cdev_count == CDEV_MAX)
		return ENOSPC;
	cdev_table[cdev_count].ce_dev = dev;
	cdev_table[cdev_count].ce_sw = sw;
	cdev_count++;
	return 0;
}

void
cdev_unregister(dev_t dev)
{
	int i = cdev_index(dev);

	if (i < 0)
		return;
	for (; (unsigned)i + 1 < cdev_count; i++)
		cdev_table[i] = cdev_table[i + 1];
	cdev_count--;
}

const struct cdevsw *
cdev_lookup(dev_t dev)
{
	int i = cdev_index(dev);

	return i < 0 ? NULL : cdev_table[i].ce_sw;
}

bool
cdev_get(unsigned i, dev_t *dev, const struct cdevsw **sw)
{
	if (i >= cdev_count)
		return false;
	*dev = cdev_table[i].ce_dev;
	*sw = cdev_table[i].ce_sw;
	return true;
}
