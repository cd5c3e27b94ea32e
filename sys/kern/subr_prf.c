/*
 * Formatted output: kprintf, snprintf and panic.
 *
 * One formatter (prf_format) writes through a small sink: snprintf's sink
 * fills the caller's buffer, kprintf's fills a line buffer on the stack and
 * hands it to hyp_console_write at each newline or when it is full, so a
 * message costs one hypercall and lines from different threads do not mix
 * mid-line.  No locks, no allocation: panic must work from anywhere.
 */
#include "kern/kern.h"
#include "kern/proc.h"

struct prf_sink {
	char *buf;
	size_t size;            /* capacity of buf */
	size_t len;             /* bytes stored in buf */
	size_t total;           /* bytes produced, stored or not */
	bool console;           /* flush to the console when full */
};

static void
prf_flush(struct prf_sink *s)
{
	if (s->len > 0)
		hyp_console_write(s->buf, s->len);
	s->len = 0;
}

static void
prf_putc(struct prf_sink *s, char c)
{
	s->total++;
	if (s->console) {
		s->buf[s->len++] = c;
		if (c == '\n' || s->len == s->size)
			prf_flush(s);
	} else if (s->len + 1 < s->size) {
		s->buf[s->len++] = c;
	}
}

static void
prf_pad(struct prf_sink *s, char c, int n)
{
	while (n-- > 0)
		prf_putc(s, c);
}

struct prf_spec {
	bool left;              /* '-' */
	bool zero;              /* '0' */
	int width;
	int prec;               /* -1: none */
};

static void
prf_str(struct prf_sink *s, const char *str, const struct prf_spec *sp)
{
	if (str == NULL)
		str = "(null)";
	int len = (int)strnlen(str, sp->prec >= 0 ? (size_t)sp->prec : SIZE_MAX);
	if (!sp->left)
		prf_pad(s, ' ', sp->width - len);
	for (int i = 0; i < len; i++)
		prf_putc(s, str[i]);
	if (sp->left)
		prf_pad(s, ' ', sp->width - len);
}

static void
prf_num(struct prf_sink *s, unsigned long long v, bool neg, unsigned base,
    bool upper, const char *prefix, const struct prf_spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v != 0);
	int plen = (neg ? 1 : 0) + (int)strlen(prefix);
	int pad = sp->width - n - plen;
	if (!sp->left && !sp->zero)
		prf_pad(s, ' ', pad);
	if (neg)
		prf_putc(s, '-');
	for (; *prefix != '\0'; prefix++)
		prf_putc(s, *prefix);
	if (!sp->left && sp->zero)
		prf_pad(s, '0', pad);
	while (n > 0)
		prf_putc(s, tmp[--n]);
	if (sp->left)
		prf_pad(s, ' ', pad);
}

static int
prf_int(const char **fmtp, va_list *ap)
{
	const char *f = *fmtp;
	int n = 0;

	if (*f == '*') {
		*fmtp = f + 1;
		return va_arg(*ap, int);
	}
	while (*f >= '0' && *f <= '9')
		n = n * 10 + (*f++ - '0');
	*fmtp = f;
	return n;
}

/* Fetch an integer argument of the given length modifier (0 int, 1 long,
 * 2 long long; z and j count as long). */
static unsigned long long
prf_arg(va_list *ap, int lmod, bool sign, bool *neg)
{
	long long sv;
	unsigned long long uv;

	*neg = false;
	if (sign) {
		if (lmod == 0)
			sv = va_arg(*ap, int);
		else if (lmod == 1)
			sv = va_arg(*ap, long);
		else
			sv = va_arg(*ap, long long);
		if (sv < 0) {
			*neg = true;
			return 0ull - (unsigned long long)sv;
		}
		return (unsigned long long)sv;
	}
	if (lmod == 0)
		uv = va_arg(*ap, unsigned int);
	else if (lmod == 1)
		uv = va_arg(*ap, unsigned long);
	else
		uv = va_arg(*ap, unsigned long long);
	return uv;
}

static void
prf_format(struct prf_sink *s, const char *fmt, va_list ap0)
{
	va_list ap;
	bool neg;

	va_copy(ap, ap0);
	for (; *fmt != '\0'; fmt++) {
		if (*fmt != '%') {
			prf_putc(s, *fmt);
			continue;
		}
		fmt++;
		struct prf_spec sp = { false, false, 0, -1 };
		for (;; fmt++) {
			if (*fmt == '-')
				sp.left = true;
			else if (*fmt == '0')
				sp.zero = true;
			else
				break;
		}
		sp.width = prf_int(&fmt, &ap);
		if (sp.width < 0) {
			sp.left = true;
			sp.width = -sp.width;
		}
		if (*fmt == '.') {
			fmt++;
			sp.prec = prf_int(&fmt, &ap);
		}
		int lmod = 0;
		for (;; fmt++) {
			if (*fmt == 'l')
				lmod++;
			else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't')
				lmod = 1;
			else if (*fmt == 'h')
				continue;
			else
				break;
		}
		unsigned long long v;
		switch (*fmt) {
		case 'd':
		case 'i':
			v = prf_arg(&ap, lmod, true, &neg);
			prf_num(s, v, neg, 10, false, "", &sp);
			break;
		case 'u':
			v = prf_arg(&ap, lmod, false, &neg);
			prf_num(s, v, false, 10, false, "", &sp);
			break;
		case 'x':
		case 'X':
			v = prf_arg(&ap, lmod, false, &neg);
			prf_num(s, v, false, 16, *fmt == 'X', "", &sp);
			break;
		case 'o':
			v = prf_arg(&ap, lmod, false, &neg);
			prf_num(s, v, false, 8, false, "", &sp);
			break;
		case 'p':
			v = (uintptr_t)va_arg(ap, void *);
			prf_num(s, v, false, 16, false, "0x", &sp);
			break;
		case 's':
			prf_str(s, va_arg(ap, const char *), &sp);
			break;
		case 'c':
			prf_putc(s, (char)va_arg(ap, int));
			break;
		case '%':
			prf_putc(s, '%');
			break;
		case '\0':
			fmt--;          /* trailing '%': stop at the NUL */
			break;
		default:
			prf_putc(s, '%');
			prf_putc(s, *fmt);
			break;
		}
	}
	va_end(ap);
}

int
vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct prf_sink s = { buf, size, 0, 0, false };

	prf_format(&s, fmt, ap);
	if (size > 0)
		buf[s.len] = '\0';
	return s.total > INT_MAX ? INT_MAX : (int)s.total;
}

int
snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int
vkprintf(const char *fmt, va_list ap)
{
	char line[256];
	struct prf_sink s = { line, sizeof(line), 0, 0, true };

	prf_format(&s, fmt, ap);
	prf_flush(&s);
	return s.total > INT_MAX ? INT_MAX : (int)s.total;
}

int
kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vkprintf(fmt, ap);
	va_end(ap);
	return n;
}

static int panicking;

void
panic(const char *fmt, ...)
{
	va_list ap;
	char msg[256];
	struct lwp *l = curlwp();

	/* A panic while panicking: do not recurse, just stop. */
	if (__atomic_exchange_n(&panicking, 1, __ATOMIC_SEQ_CST) != 0)
		hyp_panic();
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l != NULL && l->l_syscall >= 0) {
		kprintf("pith: panic: %s (system call %d, pid %d)\n", msg,
		    l->l_syscall, l->l_proc != NULL ? l->l_proc->p_pid : -1);
	} else {
		kprintf("pith: panic: %s\n", msg);
	}
	hyp_panic();
}
