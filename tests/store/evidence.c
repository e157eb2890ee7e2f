/* evidence.c -- test_store: evidence: import, hashing, the files never modified. Moved from test_store.c. */
#include "store_test.h"

/* ======================================================================
 * 5. Evidence
 * ====================================================================== */

/* A recorded sha256 (64 hex digits) into out. */
void copy_sha(char out[65], const char *v)
{
    assert_int_equal(strlen(v), 64);
    memcpy(out, v, 65);
}

void make_jpeg(const char *path, size_t n, uint32_t seed)
{
    unsigned char *d = malloc(n);
    assert_non_null(d);
    fill_bytes(d, n, seed);
    memcpy(d, "\xff\xd8\xff\xe0\x00\x10JFIF\x00", 11);
    write_file(path, d, n);
    free(d);
}

void evidence_stored_once(void **state)
{
    fx *f = *state;
    char src[2048], ev[2048];
    patrol_saved a, b;
    patrol_info info;
    find_ud *u;

    path_join(src, sizeof src, f->root, "IMG_0001.jpg");
    path_join(ev, sizeof ev, f->store, "evidence");
    make_jpeg(src, 300000, 7);
    EXPECT_OK(f->p, patrol_evidence_add(f->p, f->matter, "photo", src, NULL, "店外货架", NULL, &a));
    EXPECT_OK(f->p, patrol_evidence_add(f->p, f->matter, "photo", src, NULL, "同一张照片", NULL,
                                        &b));
    assert_true(b.seq == a.seq + 1);
    assert_int_equal(count_files(ev), 1);
    EXPECT_OK(f->p, patrol_get_info(f->p, &info));
    assert_int_equal(info.evidence_files, 1);
    assert_int_equal(info.evidence_bytes, 300000);
    u = entry_field(f->p, a.seq, "sha256");
    assert_string_equal(u->kind, "evidence.add");
    assert_string_equal(u->matter, f->matter);
    {
        char sha[65], stored[2048], rel[100];
        copy_sha(sha, u->value);
        assert_string_equal(field_of(f->p, b.seq, "sha256"), sha);
        snprintf(rel, sizeof rel, "evidence/%.2s/%s", sha, sha);
        path_join(stored, sizeof stored, f->store, rel);
        {
            struct stat st;
            assert_int_equal(stat(stored, &st), 0);
            assert_int_equal(st.st_size, 300000);
            assert_int_equal(st.st_mode & 0222, 0); /* stored read-only */
        }
    }
    /* What was guessed and kept. */
    assert_string_equal(field_of(f->p, a.seq, "media_type"), "image/jpeg");
    assert_string_equal(field_of(f->p, a.seq, "size"), "300000");
    assert_string_equal(field_of(f->p, a.seq, "name"), "IMG_0001.jpg");
    assert_string_equal(field_of(f->p, a.seq, "kind"), "photo");
    assert_string_equal(field_of(f->p, a.seq, "caption"), "店外货架");
    /* A given media type wins over the guess. */
    EXPECT_OK(f->p, patrol_evidence_add(f->p, f->matter, "document", src, "image/x-scan", NULL,
                                        NULL, &b));
    assert_string_equal(field_of(f->p, b.seq, "media_type"), "image/x-scan");
    /* A PDF and an unknown blob. */
    {
        char pdf[2048];
        path_join(pdf, sizeof pdf, f->root, "notice.pdf");
        write_file(pdf, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", 24);
        EXPECT_OK(f->p, patrol_evidence_add(f->p, f->matter, "document", pdf, NULL, NULL, NULL,
                                            &b));
        assert_string_equal(field_of(f->p, b.seq, "media_type"), "application/pdf");
        write_file(pdf, "just some bytes", 15);
        EXPECT_OK(f->p, patrol_evidence_add(f->p, f->matter, "document", pdf, NULL, NULL, NULL,
                                            &b));
        assert_string_equal(field_of(f->p, b.seq, "media_type"), "application/octet-stream");
    }
    assert_int_equal(count_files(ev), 3);
    EXPECT_OK(f->p, patrol_verify(f->p, NULL, NULL, NULL));
}

void evidence_bad_input(void **state)
{
    fx *f = *state;
    char src[2048], missing[2048], empty[2048], dir[2048], closed[PATROL_ID_MAX];
    patrol_saved s;

    path_join(src, sizeof src, f->root, "IMG_0002.jpg");
    path_join(missing, sizeof missing, f->root, "IMG_9999.jpg");
    path_join(empty, sizeof empty, f->root, "empty.jpg");
    path_join(dir, sizeof dir, f->root, "DCIM");
    make_jpeg(src, 5000, 11);
    write_file(empty, "", 0);
    assert_int_equal(mkdir(dir, 0700), 0);

    EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, "photo", missing, NULL, NULL, NULL, &s),
                   PATROL_ENOTFOUND, missing);
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, "photo", dir, NULL, NULL, NULL, &s),
                   PATROL_EINVAL, dir);
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, "photo", empty, NULL, NULL, NULL, &s),
                   PATROL_EINVAL, "empty");
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, "selfie", src, NULL, NULL, NULL, &s),
                   PATROL_EINVAL, "selfie");
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, "photo", src, "image/\njpeg", NULL,
                                          NULL, &s),
                   PATROL_EINVAL, "media type");
    /* Refused after the file was copied in: the copy must go again. */
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, "M-00000000-404", "photo", src, NULL, NULL, NULL,
                                          &s),
                   PATROL_ENOTFOUND, "M-00000000-404");
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, "photo", src, NULL, "\xff\xfe", NULL,
                                          &s),
                   PATROL_EINVAL, "'caption'");
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, NULL, src, NULL, NULL, NULL, &s),
                   PATROL_EINVAL, "kind");
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, NULL, "photo", src, NULL, NULL, NULL, &s),
                   PATROL_EINVAL, "matter");
    open_matter(f->p, f->biz, closed, NULL);
    record_ok(f, "matter.close", closed, "outcome", "terminated", "reason", "other",
              "reason_text", "当事人已搬离", NULL);
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, closed, "photo", src, NULL, NULL, NULL, &s),
                   PATROL_ESTATE, closed);
    /* Unreadable (not testable as root: root reads everything). */
    if (geteuid() != 0) {
        assert_int_equal(chmod(src, 0), 0);
        EXPECT_REFUSED(f, patrol_evidence_add(f->p, f->matter, "photo", src, NULL, NULL, NULL, &s),
                       PATROL_EIO, src);
        assert_int_equal(chmod(src, 0600), 0);
    }
    /* After all that, the file goes in once and the store verifies. */
    EXPECT_OK(f->p, patrol_evidence_add(f->p, f->matter, "photo", src, NULL, NULL, NULL, &s));
    /* Refused on a closed matter when already stored: the stored copy,
     * which the earlier entry refers to, stays. */
    EXPECT_REFUSED(f, patrol_evidence_add(f->p, closed, "photo", src, NULL, NULL, NULL, &s),
                   PATROL_ESTATE, closed);
    EXPECT_OK(f->p, patrol_verify(f->p, NULL, NULL, NULL));
}
