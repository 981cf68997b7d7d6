/* Crash points for tests: with SUPERMACHINE_TEST_CRASH_AT=NAME in the
 * environment, the process kills itself (SIGKILL, as the OOM killer or a
 * power cut would stop it) when it reaches the point NAME, so that a test
 * can stop a pull at an exact moment without racing a timer. Unset, a
 * point costs one getenv. */
#ifndef SM_UTIL_TEST_POINT_H
#define SM_UTIL_TEST_POINT_H

void sm_test_point(const char *name);

#endif
