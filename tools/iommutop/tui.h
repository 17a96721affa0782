/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tui.h - iommutop's interactive screen: plain ANSI escape sequences over
 * a terminal in raw mode, so it works on a serial console; no curses.
 */
#ifndef IOMMUTOP_TUI_H
#define IOMMUTOP_TUI_H

#include <stdbool.h>

#include "output.h"

enum tui_screen { SCREEN_DEVS, SCREEN_HWPTS, SCREEN_FAULTS, SCREEN_LATENCY,
		  SCREEN_NR };

struct tui {
	int in_fd, out_fd;
	bool raw;		/* termios changed (restore at the end) */
	int rows, cols;
	enum tui_screen screen;
	struct sort sorts[VIEW_NR];
	const char *sort_key;	/* -s COLUMN, or NULL */
	struct filter filter;
	bool help;
	/* A line being typed at the bottom: 's'ort column or '/' filter. */
	char prompt_kind;	/* 0: none */
	char input[64];
	char message[128];	/* at the bottom, until the next key */
};

enum tui_action { TUI_NONE, TUI_REDRAW, TUI_REBUILD, TUI_QUIT };

/*
 * Raw mode on @in_fd, hidden cursor on @out_fd; 0 or -errno. @sorts were
 * made from @sort_key (-s, or NULL): a screen without that column says so.
 */
int tui_start(struct tui *t, int in_fd, int out_fd, const struct sort *sorts,
	      const char *sort_key, const struct filter *filter);
/* Restore the terminal (idempotent; safe from an exit path). */
void tui_stop(struct tui *t);
/* Read the terminal's size again (SIGWINCH). */
void tui_resize(struct tui *t);
/* Draw @fr (built with t->sorts and t->filter). */
void tui_draw(struct tui *t, const struct frame *fr);
/*
 * Handle the bytes waiting on in_fd. TUI_REBUILD: sorting or filtering
 * changed, build the frame again and draw; TUI_REDRAW: draw the same.
 */
enum tui_action tui_input(struct tui *t);
/* One key, for tests and tui_input(). */
enum tui_action tui_key(struct tui *t, int ch);

#endif /* IOMMUTOP_TUI_H */
