/* test-loop.h - waiting on a libev loop in a Check test: until a counter reaches a value,
 * or for a while. Static inline, so that the fakes library needs no libev: only the tests
 * that run a loop include it.
 */
#ifndef AUTOSCALERD_TEST_LOOP_H
#define AUTOSCALERD_TEST_LOOP_H

#include <check.h>
#include <unistd.h>

#include <ev.h>

/* Runs loop until *flag reaches want; fails the test when that has not happened within
 * seconds (checked between iterations: a loop with nothing to do blocks until something
 * does happen). */
static inline void test_run_until(struct ev_loop *loop, const int *flag, int want,
				  double seconds)
{
	double end = ev_time() + seconds;

	while (*flag < want && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
	ck_assert_msg(*flag >= want, "gave up waiting");
}

/* Runs loop for s seconds without blocking in it, polling every 2 ms (what other threads
 * do in the meantime is seen at once). */
static inline void test_run_for(struct ev_loop *loop, double s)
{
	double end = ev_time() + s;

	while (ev_time() < end) {
		ev_now_update(loop);
		ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT);
		usleep(2000);
	}
}

#endif
