/* A scratch tree for the 9P server tests:
 *   ROOT/outside.txt          "SECRET\n"   (never reachable through the share)
 *   ROOT/share/hello.txt      "hello\n"
 *   ROOT/share/sibling.txt    "sibling\n"
 *   ROOT/share/sub/
 *   ROOT/share/up   -> ../outside.txt
 *   ROOT/share/abs  -> ROOT            (absolute)
 *   ROOT/share/etc  -> /etc
 */
#ifndef SM_TESTS_P9_FIXTURE_H
#define SM_TESTS_P9_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct p9_tree {
    char root[64];
    char share[96];
} p9_tree;

int p9_tree_make(p9_tree *t);
void p9_tree_remove(p9_tree *t);
/* ROOT/share/<rel> read into buf; -1 if missing. */
int p9_tree_read(const p9_tree *t, const char *rel, char *buf, size_t len);
bool p9_tree_exists(const p9_tree *t, const char *rel);
/* How many descriptors this process has open (a fid's cost, counted). */
unsigned p9_open_fds(void);
/* Whether the space-separated list holds word. */
bool p9_has_word(const char *list, const char *word);

#endif
