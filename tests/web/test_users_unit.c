/* Console accounts (server/users.c): Argon2id hashing with a salt per
 * hash, and users_login's answers through the SQLite backend (a wrong
 * password, an unknown name, a disabled account, the right password). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "storage.h"
#include "users.h"

static void hash_and_check(void **state)
{
    char a[160], b[160];
    (void)state;
    assert_int_equal(users_hash("correct horse", 13, a, sizeof a), 0);
    assert_int_equal(users_hash("correct horse", 13, b, sizeof b), 0);
    assert_int_equal(strncmp(a, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
    assert_string_not_equal(a, b); /* a fresh salt each time */
    assert_int_equal(users_check(a, "correct horse", 13), 0);
    assert_int_equal(users_check(b, "correct horse", 13), 0);
    assert_int_equal(users_check(a, "correct horsE", 13), -1);
    assert_int_equal(users_check(a, "correct horse", 12), -1);
    assert_int_equal(users_check(a, "", 0), -1);
    assert_int_equal(users_check("$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "x", 1), -1);
    assert_int_equal(users_check("garbage", "x", 1), -1);
    assert_int_equal(users_hash("x", 1, a, 20), -1); /* output too small */
}

static void login(void **state)
{
    char dir[] = "/tmp/test_users_XXXXXX", path[64], err[256];
    st_backend *db;
    st_user u, out;
    int64_t id;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/patrold.db", dir);
    db = st_sqlite_open(path, ST_OPEN_CREATE, err, sizeof err);
    assert_non_null(db);
    memset(&u, 0, sizeof u);
    snprintf(u.name, sizeof u.name, "rev1");
    snprintf(u.role, sizeof u.role, "reviewer");
    snprintf(u.department, sizeof u.department, "D01");
    assert_int_equal(users_hash("pass word 1", 11, u.pwhash, sizeof u.pwhash), 0);
    u.created_ms = 1000;
    assert_int_equal(db->ops->user_add(db, &u, &id), ST_OK);
    assert_int_equal(db->ops->user_add(db, &u, &id), ST_EXISTS);

    assert_int_equal(users_login(db, "rev1", "pass word 1", 11, &out), USERS_OK);
    assert_string_equal(out.role, "reviewer");
    assert_string_equal(out.department, "D01");
    assert_int_equal(out.pwhash[0], 0); /* wiped */
    assert_int_equal(users_login(db, "rev1", "pass word 2", 11, &out), USERS_WRONG);
    assert_int_equal(users_login(db, "nobody", "pass word 1", 11, &out), USERS_WRONG);
    assert_int_equal(users_login(db, "../x", "pass word 1", 11, &out), USERS_WRONG);

    assert_int_equal(db->ops->user_disable(db, "rev1", 2000), ST_OK);
    assert_int_equal(db->ops->user_disable(db, "rev1", 3000), ST_OK);
    assert_int_equal(db->ops->user_get(db, "rev1", &out), ST_OK);
    assert_int_equal(out.disabled_ms, 2000); /* the first time stays */
    assert_int_equal(users_login(db, "rev1", "pass word 1", 11, &out), USERS_DISABLED);
    assert_int_equal(users_login(db, "rev1", "pass word 2", 11, &out), USERS_WRONG);
    assert_int_equal(db->ops->user_disable(db, "nobody", 2000), ST_NOTFOUND);
    assert_int_equal(db->ops->user_set_password(db, "nobody", u.pwhash, 2000), ST_NOTFOUND);
    db->ops->close(db);
    unlink(path);
    snprintf(path, sizeof path, "%s/patrold.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/patrold.db-shm", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_and_check),
        cmocka_unit_test(login),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
