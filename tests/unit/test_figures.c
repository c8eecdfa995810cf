/* SPDX-License-Identifier: MIT */
/*
 * The table of figures holds what its renderers and parser rely on, so that
 * a row added in the wrong place or with a wrong name fails here rather
 * than in the output: each scope's rows together, names that follow the
 * exposition format's conventions, labels after their info family, and the
 * names status looks up found again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "shmfs/figures.h"

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);

	return n >= k && strcmp(s + n - k, tail) == 0;
}

static void each_scope_is_one_run_of_rows(void **state)
{
	bool seen[3] = {false};

	(void)state;
	for (size_t k = 0, end; k < SHMFS_FIGURES; k = end) {
		enum shmfs_figure_scope scope = shmfs_figures[k].scope;

		end = shmfs_figure_run_end(k);
		assert_true(end > k);
		/* The daemon's rows come in runs between the others'. */
		if (scope != SHMFS_FIGURE_DAEMON)
			assert_false(seen[scope]);
		seen[scope] = true;
	}
	assert_true(seen[SHMFS_FIGURE_WORKER] && seen[SHMFS_FIGURE_ZONE]);
}

static void metric_names_follow_the_exposition_conventions(void **state)
{
	(void)state;
	for (size_t k = 0; k < SHMFS_FIGURES; k++) {
		const struct shmfs_figure *f = &shmfs_figures[k];
		char unit[64];

		if (f->type == SHMFS_FIGURE_LABEL) {
			assert_null(f->metric);
			assert_non_null(f->name);
			continue;
		}
		assert_non_null(f->metric);
		assert_non_null(f->help);
		assert_int_equal(strncmp(f->metric, "shmfs_", 6), 0);
		assert_true(f->type != SHMFS_FIGURE_COUNTER ||
			    ends_with(f->metric, "_total"));
		assert_true(f->type != SHMFS_FIGURE_INFO ||
			    ends_with(f->metric, "_info"));
		if (f->unit == NULL)
			continue;
		snprintf(unit, sizeof(unit), "_%s%s", f->unit,
			 f->type == SHMFS_FIGURE_COUNTER ? "_total" : "");
		assert_true(ends_with(f->metric, unit));
	}
}

static void labels_follow_their_info_family(void **state)
{
	(void)state;
	for (size_t k = 0; k < SHMFS_FIGURES; k++) {
		const struct shmfs_figure *f = &shmfs_figures[k];

		if (f->type != SHMFS_FIGURE_LABEL)
			continue;
		assert_true(k > 0);
		assert_int_equal(shmfs_figures[k - 1].scope, f->scope);
		assert_true(shmfs_figures[k - 1].type == SHMFS_FIGURE_INFO ||
			    shmfs_figures[k - 1].type == SHMFS_FIGURE_LABEL);
		assert_non_null(f->text);
	}
}

static void every_stats_name_is_found_in_its_scope_alone(void **state)
{
	(void)state;
	for (size_t k = 0; k < SHMFS_FIGURES; k++) {
		const struct shmfs_figure *f = &shmfs_figures[k];

		if (f->name == NULL)
			continue;
		assert_ptr_equal(
			shmfs_figure_find(f->scope, f->name, strlen(f->name)),
			f);
	}
	assert_null(shmfs_figure_find(SHMFS_FIGURE_ZONE, "capacityx", 9));
	/* The length given, not the NUL: "capacity" within a longer key. */
	assert_ptr_equal(shmfs_figure_find(SHMFS_FIGURE_ZONE, "capacity.x", 8),
			 &shmfs_figures[SHMFS_FIGURE_ZONE_CAPACITY]);
}

/*
 * A rank reads "generation 3" in status's summary, so only a daemon's
 * figure with a word can be one; and the masters' figures are these, in
 * both files (a dashboard keys on the metric names).
 */
static void
the_masters_figures_are_the_generation_restarts_and_upgrades(void **state)
{
	static const struct {
		size_t id;
		const char *name, *metric;
		enum shmfs_figure_type type;
	} masters[] = {
		{SHMFS_FIGURE_GENERATION, "generation", "shmfs_generation",
		 SHMFS_FIGURE_GAUGE},
		{SHMFS_FIGURE_RESTARTS, "restarts", "shmfs_restarts_total",
		 SHMFS_FIGURE_COUNTER},
		{SHMFS_FIGURE_UPGRADES, "upgrades", "shmfs_upgrades_total",
		 SHMFS_FIGURE_COUNTER},
	};

	(void)state;
	for (size_t k = 0; k < SHMFS_FIGURES; k++) {
		const struct shmfs_figure *f = &shmfs_figures[k];

		if (!(f->flags & SHMFS_FIGURE_RANK))
			continue;
		assert_int_equal(f->scope, SHMFS_FIGURE_DAEMON);
		assert_non_null(f->status);
		assert_int_equal(k, SHMFS_FIGURE_GENERATION);
	}
	for (size_t i = 0; i < sizeof(masters) / sizeof(*masters); i++) {
		const struct shmfs_figure *f = &shmfs_figures[masters[i].id];

		assert_int_equal(f->scope, SHMFS_FIGURE_DAEMON);
		assert_string_equal(f->name, masters[i].name);
		assert_string_equal(f->metric, masters[i].metric);
		assert_int_equal(f->type, masters[i].type);
		/* Older daemons' /.stats have none: status shows no 0. */
		assert_true(f->flags & SHMFS_FIGURE_OPTIONAL);
		assert_non_null(f->status);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_scope_is_one_run_of_rows),
		cmocka_unit_test(
			metric_names_follow_the_exposition_conventions),
		cmocka_unit_test(labels_follow_their_info_family),
		cmocka_unit_test(every_stats_name_is_found_in_its_scope_alone),
		cmocka_unit_test(
			the_masters_figures_are_the_generation_restarts_and_upgrades),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
