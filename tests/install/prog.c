/* prog.c -- a program of a libpatrol user, built by test_install.sh
 * against the installed tree only (pkg-config or find_package): it creates
 * a store, verifies it, and says which libpatrol it ran with. */
#include <patrol/patrol.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    patrol *p = NULL;
    patrol_verify_stats st = {0, 0, 0, 0};
    char err[256] = "";
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: prog STORE\n");
        return 2;
    }
    if ((rc = patrol_init(argv[1], "SY-CGJ", "install-test", &p, err, sizeof err)) != PATROL_OK) {
        fprintf(stderr, "prog: init: %s (%s)\n", err, patrol_strerror(rc));
        return 1;
    }
    rc = patrol_verify(p, NULL, NULL, &st);
    printf("libpatrol %s: %llu entries, verify %s\n", patrol_version(),
           (unsigned long long)st.entries, rc == PATROL_OK ? "ok" : patrol_strerror(rc));
    patrol_close(p);
    return rc == PATROL_OK ? 0 : 1;
}
