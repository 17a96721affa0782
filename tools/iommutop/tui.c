// SPDX-License-Identifier: GPL-2.0
/*
 * tui.c - iommutop's interactive screen.
 *
 * Only a handful of ANSI sequences, which every terminal and terminal
 * emulator on a serial console knows: cursor home (CSI H), erase to the
 * end of the line (CSI K) and of the screen (CSI J), reverse video
 * (CSI 7m / CSI m) and cursor hide/show (CSI ?25l / ?25h). Each frame is
 * written with one write(): home, every line followed by "erase to end of
 * line", then "erase below", so nothing flickers and nothing is left over
 * from a longer previous frame. Lines are cut at the terminal's width.
 *
 * Keys: q quit, h or ? help, 1-4 or Tab the screens, < > the sort column,
 * r reverse, s sort by a column's name, / filter, c clear the filter.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "tui.h"

static struct termios saved_termios;

/* Whole frames or nothing more: a terminal that is gone ends the loop. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

static const char *const screen_names[SCREEN_NR] = {
	[SCREEN_DEVS] = "devices", [SCREEN_HWPTS] = "hwpts",
	[SCREEN_FAULTS] = "faults", [SCREEN_LATENCY] = "latency",
};

/* The table a screen sorts, or -1. */
static int screen_view(enum tui_screen s)
{
	switch (s) {
	case SCREEN_DEVS:
		return VIEW_DEVS;
	case SCREEN_HWPTS:
		return VIEW_HWPTS;
	case SCREEN_FAULTS:
		return VIEW_FAULTS;
	default:
		return -1;
	}
}

void tui_resize(struct tui *t)
{
	struct winsize ws = {};
	const char *env;

	t->rows = 24;
	t->cols = 80;
	if (!ioctl(t->out_fd, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		t->rows = ws.ws_row;
		t->cols = ws.ws_col;
		return;
	}
	/* A serial console often reports 0x0: trust the environment. */
	env = getenv("LINES");
	if (env && atoi(env) > 0)
		t->rows = atoi(env);
	env = getenv("COLUMNS");
	if (env && atoi(env) > 0)
		t->cols = atoi(env);
}

int tui_start(struct tui *t, int in_fd, int out_fd, const struct sort *sorts,
	      const char *sort_key, const struct filter *filter)
{
	struct termios raw;
	const char *hide = "\033[?25l\033[2J";

	memset(t, 0, sizeof(*t));
	t->in_fd = in_fd;
	t->out_fd = out_fd;
	memcpy(t->sorts, sorts, sizeof(t->sorts));
	t->sort_key = sort_key;
	if (filter)
		t->filter = *filter;
	if (tcgetattr(in_fd, &saved_termios))
		return -errno;
	raw = saved_termios;
	/* Keys one by one, no echo; ^C still sends SIGINT. */
	raw.c_lflag &= ~(ICANON | ECHO);
	raw.c_iflag &= ~(IXON | ICRNL);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(in_fd, TCSAFLUSH, &raw))
		return -errno;
	t->raw = true;
	tui_resize(t);
	return write_all(out_fd, hide, strlen(hide));
}

void tui_stop(struct tui *t)
{
	char buf[32];
	int n;

	if (!t->raw)
		return;
	/* Below the last line, cursor back on. */
	n = snprintf(buf, sizeof(buf), "\033[%d;1H\033[?25h\r\n", t->rows);
	write_all(t->out_fd, buf, n);
	tcsetattr(t->in_fd, TCSAFLUSH, &saved_termios);
	t->raw = false;
}

/* ---- drawing ---- */

struct screen {
	FILE *f;
	int cols;
	int lines;		/* written so far */
	int max;		/* lines available */
};

/* One line, cut at the width; @reverse: in reverse video, full width. */
static void put_line(struct screen *sc, const char *text, bool reverse)
{
	int len = strlen(text);

	if (sc->lines >= sc->max)
		return;
	if (len > sc->cols)
		len = sc->cols;
	if (sc->lines)
		fputs("\r\n", sc->f);
	if (reverse)
		fprintf(sc->f, "\033[7m%-*.*s\033[m", sc->cols, len, text);
	else
		fprintf(sc->f, "%.*s\033[K", len, text);
	sc->lines++;
}

/* @filtered: the display filter applies to @t (every view but the IOAS). */
static void draw_table(struct screen *sc, const struct table *t,
		       const struct sort *s, int max_rows, bool filtered)
{
	char line[LINE_MAX_LEN];
	int sort_col = s->col >= 0 ? s->col : view_default_sort(t->kind);
	size_t r;

	table_header_text(line, sizeof(line), t, sort_col);
	put_line(sc, line, true);
	for (r = 0; r < t->nr_rows && (int)r < max_rows; r++) {
		table_row_text(line, sizeof(line), t, r);
		put_line(sc, line, false);
	}
	if (!t->nr_rows)
		put_line(sc, filtered ? "  (no row passes the filter; c clears it)" :
				    "  (nothing seen yet)", false);
}

static void draw_help(struct tui *t, struct screen *sc)
{
	static const char *const keys[] = {
		"iommutop - nestiommu activity, live       (any key: back, q: quit)",
		"",
		"  1 d   devices (device x PASID)     2 w   HWPTs and IOAS",
		"  3 f   faults by reason and stage   4 l   page-response latency",
		"  Tab   next screen                  h ?   this help",
		"  < >   sort by the previous / next column    r   reverse the order",
		"  s     sort by a column, by name    /     filter: dev=N pasid=N|rid",
		"  c     clear the filter             q     quit",
		"",
	};
	int v = screen_view(t->screen);
	char line[LINE_MAX_LEN];
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		put_line(sc, keys[i], false);
	if (v < 0) {
		put_line(sc, "Latency: page-response latency histogram, the interval and since start;", false);
		put_line(sc, "the bars show the interval, or everything since start if it had no response.", false);
		return;
	}
	snprintf(line, sizeof(line), "Columns of the %s screen (name for 's', then meaning):",
		 screen_names[t->screen]);
	put_line(sc, line, false);
	{
		int n;
		const struct column *cols = view_columns(v, &n);

		for (i = 0; i < (size_t)n; i++) {
			snprintf(line, sizeof(line), "  %-8s %-16s %s",
				 cols[i].header, cols[i].key, cols[i].help);
			put_line(sc, line, false);
		}
	}
}

static void draw_bottom(struct tui *t, struct screen *sc)
{
	int v = screen_view(t->screen), n;
	char line[LINE_MAX_LEN];

	if (t->prompt_kind == 's')
		snprintf(line, sizeof(line), "sort by column: %s", t->input);
	else if (t->prompt_kind == '/')
		snprintf(line, sizeof(line),
			 "filter (dev=N pasid=N|rid, empty: all): %s", t->input);
	else if (t->message[0])
		snprintf(line, sizeof(line), "%s", t->message);
	else if (v >= 0 && t->sort_key && t->sorts[v].col < 0)
		snprintf(line, sizeof(line),
			 "no column '%s' on the %s screen: sorted by %s (h lists the columns)",
			 t->sort_key, screen_names[t->screen],
			 view_columns(v, &n)[view_default_sort(v)].header);
	else
		snprintf(line, sizeof(line),
			 "[%s] q quit  h help  1-4 screens  </> sort  r reverse  s sort by  / filter",
			 screen_names[t->screen]);
	/* On the last row, whatever the frame above filled. */
	sc->max = t->rows;
	while (sc->lines < t->rows - 1)
		put_line(sc, "", false);
	put_line(sc, line, false);
}

void tui_draw(struct tui *t, const struct frame *fr)
{
	char lines[IOMMUTOP_LAT_SLOTS + 1][LINE_MAX_LEN];
	struct screen sc = { .cols = t->cols, .max = t->rows - 1 };
	bool filtered = t->filter.dev_set || t->filter.pasid_set;
	char *buf = NULL;
	size_t len = 0;
	int i, n, room;

	sc.f = open_memstream(&buf, &len);
	if (!sc.f)
		return;
	fputs("\033[H", sc.f);
	if (t->help) {
		draw_help(t, &sc);
	} else {
		n = header_lines(fr, lines, HEADER_LINES);
		for (i = 0; i < n; i++)
			put_line(&sc, lines[i], false);
		put_line(&sc, "", false);
		room = sc.max - sc.lines - 1;
		switch (t->screen) {
		case SCREEN_DEVS:
			draw_table(&sc, &fr->tables[VIEW_DEVS],
				   &t->sorts[VIEW_DEVS], room, filtered);
			break;
		case SCREEN_HWPTS:
			/* HWPTs first; the IOAS below get what is left. */
			draw_table(&sc, &fr->tables[VIEW_HWPTS],
				   &t->sorts[VIEW_HWPTS], room / 2, filtered);
			put_line(&sc, "", false);
			draw_table(&sc, &fr->tables[VIEW_IOAS],
				   &t->sorts[VIEW_IOAS], sc.max - sc.lines - 1,
				   false);
			break;
		case SCREEN_FAULTS:
			draw_table(&sc, &fr->tables[VIEW_FAULTS],
				   &t->sorts[VIEW_FAULTS], room, filtered);
			break;
		default:
			n = latency_lines(fr, lines, IOMMUTOP_LAT_SLOTS + 1);
			for (i = 0; i < n; i++)
				put_line(&sc, lines[i], i == 0);
			if (n < 2)
				put_line(&sc, "  (no page responses yet)", false);
			break;
		}
	}
	draw_bottom(t, &sc);
	fputs("\033[J", sc.f);
	fclose(sc.f);
	if (buf)
		write_all(t->out_fd, buf, len);
	free(buf);
}

/* ---- keys ---- */

static enum tui_action move_sort(struct tui *t, int dir)
{
	int v = screen_view(t->screen), n;
	struct sort *s;

	if (v < 0)
		return TUI_NONE;
	view_columns(v, &n);
	s = &t->sorts[v];
	if (s->col < 0)
		s->col = view_default_sort(v);
	s->col = (s->col + dir + n) % n;
	return TUI_REBUILD;
}

static enum tui_action prompt_done(struct tui *t)
{
	int v = screen_view(t->screen), col;
	char kind = t->prompt_kind;

	t->prompt_kind = 0;
	if (kind == '/') {
		if (!filter_parse(t->input, &t->filter))
			snprintf(t->message, sizeof(t->message),
				 "bad filter '%s': use dev=N, pasid=N or pasid=rid",
				 t->input);
		return TUI_REBUILD;
	}
	if (v < 0)
		return TUI_REDRAW;
	col = view_find_column(v, t->input);
	if (col < 0) {
		snprintf(t->message, sizeof(t->message),
			 "no column '%s' on this screen (h lists them)",
			 t->input);
		return TUI_REDRAW;
	}
	t->sorts[v].col = col;
	return TUI_REBUILD;
}

static enum tui_action prompt_key(struct tui *t, int ch)
{
	size_t len = strlen(t->input);

	if (ch == '\r' || ch == '\n')
		return prompt_done(t);
	if (ch == 27) {		/* Esc */
		t->prompt_kind = 0;
	} else if (ch == 127 || ch == 8) {
		if (len)
			t->input[len - 1] = 0;
	} else if (ch >= ' ' && ch < 127 && len < sizeof(t->input) - 1) {
		t->input[len] = ch;
		t->input[len + 1] = 0;
	}
	return TUI_REDRAW;
}

static enum tui_action start_prompt(struct tui *t, char kind)
{
	if (kind == 's' && screen_view(t->screen) < 0) {
		snprintf(t->message, sizeof(t->message),
			 "nothing to sort on this screen");
		return TUI_REDRAW;
	}
	t->prompt_kind = kind;
	t->input[0] = 0;
	return TUI_REDRAW;
}

static enum tui_action show(struct tui *t, enum tui_screen s)
{
	t->screen = s;
	return TUI_REDRAW;
}

enum tui_action tui_key(struct tui *t, int ch)
{
	/* A message stays over the samples' redraws until the next key. */
	t->message[0] = 0;
	if (t->prompt_kind)
		return prompt_key(t, ch);
	if (ch == 'q' || ch == 'Q')
		return TUI_QUIT;
	if (t->help) {
		t->help = false;
		return TUI_REDRAW;
	}
	switch (ch) {
	case 'h':
	case '?':
		t->help = true;
		return TUI_REDRAW;
	case '1':
	case 'd':
		return show(t, SCREEN_DEVS);
	case '2':
	case 'w':
		return show(t, SCREEN_HWPTS);
	case '3':
	case 'f':
		return show(t, SCREEN_FAULTS);
	case '4':
	case 'l':
		return show(t, SCREEN_LATENCY);
	case '\t':
		return show(t, (t->screen + 1) % SCREEN_NR);
	case '<':
	case ',':
		return move_sort(t, -1);
	case '>':
	case '.':
		return move_sort(t, 1);
	case 'r': {
		int v = screen_view(t->screen);

		if (v < 0)
			return TUI_NONE;
		t->sorts[v].reverse = !t->sorts[v].reverse;
		return TUI_REBUILD;
	}
	case 's':
		return start_prompt(t, 's');
	case '/':
		return start_prompt(t, '/');
	case 'c':
		memset(&t->filter, 0, sizeof(t->filter));
		return TUI_REBUILD;
	case 12:		/* ^L */
		return TUI_REDRAW;
	default:
		return TUI_NONE;
	}
}

enum tui_action tui_input(struct tui *t)
{
	enum tui_action act = TUI_NONE, a;
	unsigned char buf[64];
	ssize_t n, i;

	n = read(t->in_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return TUI_NONE;
	if (n <= 0)
		return TUI_QUIT;	/* the terminal is gone (EOF, EIO) */
	for (i = 0; i < n; i++) {
		a = tui_key(t, buf[i]);
		if (a > act)
			act = a;
		if (act == TUI_QUIT)
			break;
	}
	return act;
}
