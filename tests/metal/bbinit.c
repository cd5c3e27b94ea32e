/*
 * Sets the stage for Debian's busybox-static on bare metal: /etc/x, the
 * busybox binary (embedded from BUSYBOX at build time) as /bin/busybox
 * with sh, ls and cat links, then execs `busybox sh -c ARGV[1]`.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

__asm__(".section .rodata\n.globl bb_img\nbb_img:\n.incbin \"" BUSYBOX "\"\n"
    ".globl bb_end\nbb_end:\n.previous\n");
extern const char bb_img[], bb_end[];

int
main(int argc, char **argv)
{
	char *bargv[] = { "sh", "-c", argc > 1 ? argv[1] : "echo ok", NULL };
	char *benv[] = { "PATH=/bin", "HOME=/", NULL };
	int fd;

	mkdir("/etc", 0755);
	mkdir("/bin", 0755);
	fd = open("/etc/x", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "contents of x\n", 14) != 14)
		return 1;
	close(fd);
	fd = open("/bin/busybox", O_CREAT | O_WRONLY | O_TRUNC, 0755);
	if (fd < 0 || write(fd, bb_img, bb_end - bb_img) != bb_end - bb_img)
		return 1;
	close(fd);
	symlink("busybox", "/bin/sh");
	symlink("busybox", "/bin/ls");
	symlink("busybox", "/bin/cat");
	execve("/bin/sh", bargv, benv);
	perror("execve /bin/sh");
	return 127;
}
