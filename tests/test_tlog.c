/* test_tlog.c -- proto/tlog.c: RFC 6962 tree heads against known answers
 * (computed by tests/tlog_ref.py, an independent hashlib implementation,
 * and the certificate-transparency test leaves), inclusion and consistency
 * proofs for every (leaf, size) and (from, to) pair up to a few hundred,
 * each also tampered with, checkpoints and their signed notes (DER
 * signatures: proto/crypto.c px_sign_der).
 *
 * `test_tlog --vectors` prints the roots and proofs over the leaves of
 * tlog_ref.py as JSON lines, which tlog_ref.py checks (ctest tlog_python).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlog.h"
#include "tls.h"

#define MAXLEAVES 600

/* An in-memory tree: leaf hashes, complete subtrees hashed naively. */
typedef struct mem {
    uint8_t leaf[MAXLEAVES][TLOG_HASH_LEN];
    uint64_t n;
    unsigned calls;
} mem;

static void sub(const mem *m, uint64_t start, uint64_t n, uint8_t out[TLOG_HASH_LEN])
{
    uint8_t l[TLOG_HASH_LEN], r[TLOG_HASH_LEN];
    if (n == 1) {
        memcpy(out, m->leaf[start], TLOG_HASH_LEN);
        return;
    }
    sub(m, start, n / 2, l);
    sub(m, start + n / 2, n / 2, r);
    tlog_node_hash(l, r, out);
}

static int node_fn(void *ud, unsigned level, uint64_t index, uint8_t out[TLOG_HASH_LEN])
{
    mem *m = ud;
    uint64_t start = index << level, n = (uint64_t)1 << level;
    m->calls++;
    if (start + n > m->n) /* the tree functions never ask beyond the tree */
        return -1;
    sub(m, start, n, out);
    return 0;
}

static void leaf_data(unsigned i, uint8_t *buf, size_t *len)
{
    memset(buf, (int)i, i);
    *len = i;
}

static mem *make_tree(uint64_t n)
{
    mem *m = calloc(1, sizeof *m);
    uint8_t buf[256];
    size_t len;
    assert_non_null(m);
    for (uint64_t i = 0; i < n; i++) {
        leaf_data((unsigned)(i & 0xff), buf, &len);
        assert_int_equal(tlog_leaf_hash(buf, len, m->leaf[i]), 0);
    }
    m->n = n;
    return m;
}

static void hex(const uint8_t *h, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* tlog_ref.py --kat: leaf i is i bytes of value i. */
static const char *const kat[21] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", /* 0 */
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", /* 1 */
    "5397b75fcd025549e5c6c04c86b73ee49d8a3135745f4e082f08397d79fa37b3", /* 2 */
    "12c35e40e6189d661c70a762621a48f8bac032746c1712e8d6e73d7c1ef0beb1", /* 3 */
    "2fc5e5989670017aa78cfaf26036dc2e04ee67b7ffa5e233a1def0354950f416", /* 4 */
    "db6d52ab524f99f572fb0198a6a87357ae59e2cbc2d54866ed2a7eee7b801c18", /* 5 */
    "919da75eedccb5ae06e7d1a5aa037e43e3b594ea6a79ae58a29d388a1724642e", /* 6 */
    "b0cc4f00cd89333eef11e629a34d1c746aa6e4d6493bb553e4dac36871ab00e5", /* 7 */
    "c596bdd1cd29b0aec1e58487d6f764fc058a66ec9b3b17836e08338c844c6bc1", /* 8 */
    "b2fd0f9d4206e885db30fc2321da4d9c3c1cc344c8643c69d79ed75fd7d5eed2", /* 9 */
    "df3869a012d9a8ed27472d2747a093282b691760c3d76544691f341affc3ac5e", /* 10 */
    "7273d535c3180586964eb7eed8140eb756cc7ae5905f74c5aee368d897d2ccd8", /* 11 */
    "5883603b33b11ebc62af6623cf3347c4f1918d838c17a2381e216eb07641fa47", /* 12 */
    "6299c5be9d3e70d3a62defbe4580d462368e8e03784415fdcbcc8d2b7fcc8f8b", /* 13 */
    "332dc39fca052468754216b031cd921d0e6fc73e6afd7892ae9ad298e7c397ed", /* 14 */
    "fd834e7ed1d56df1ebdbf327c9f8b55f504931710089278be637250058df8557", /* 15 */
    "97b6b4dff293ee68d7b1168e57537acd796a7513e1ff4cec1f6159c0dbaf289b", /* 16 */
    "6a23c4590364e1bf6c0cfa51723aedb90f1a76940bb25eabda117e2946919b10", /* 17 */
    "e6f7181614289df0e26dcf939c34cae4d6d040ecfa62430fb2fe04d31db79758", /* 18 */
    "4beee98257bc27ecf231504b4b3751d49d3fc827c0566290cc536e79994655b8", /* 19 */
    "2f3eafbf8fb39014c5084130622704906ac6409446419d69db658d59af272ccc", /* 20 */
};

static void test_kat_roots(void **state)
{
    mem *m = make_tree(20);
    uint8_t root[TLOG_HASH_LEN];
    char h[65];
    (void)state;
    for (uint64_t n = 0; n <= 20; n++) {
        assert_int_equal(tlog_root(node_fn, m, n, root), 0);
        hex(root, h);
        assert_string_equal(h, kat[n]);
    }
    free(m);
}

/* The certificate-transparency project's test leaves and tree heads. */
static void test_ct_roots(void **state)
{
    static const char *const leaves[8] = {"", "00", "10", "2021", "3031", "40414243",
                                          "5051525354555657",
                                          "606162636465666768696a6b6c6d6e6f"};
    static const char *const roots[8] = {
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
    mem *m = calloc(1, sizeof *m);
    uint8_t root[TLOG_HASH_LEN], buf[16];
    char h[65];
    (void)state;
    assert_non_null(m);
    for (int i = 0; i < 8; i++) {
        size_t n = strlen(leaves[i]) / 2;
        for (size_t j = 0; j < n; j++) {
            unsigned v;
            char two[3] = {leaves[i][2 * j], leaves[i][2 * j + 1], 0};
            v = (unsigned)strtoul(two, NULL, 16);
            buf[j] = (uint8_t)v;
        }
        assert_int_equal(tlog_leaf_hash(buf, n, m->leaf[i]), 0);
        m->n = (uint64_t)i + 1;
        assert_int_equal(tlog_root(node_fn, m, m->n, root), 0);
        hex(root, h);
        assert_string_equal(h, roots[i]);
    }
    free(m);
}

static void test_inclusion_all_pairs(void **state)
{
    mem *m = make_tree(MAXLEAVES);
    uint8_t proof[TLOG_MAX_PROOF][TLOG_HASH_LEN], root[TLOG_HASH_LEN];
    size_t len;
    (void)state;
    for (uint64_t n = 1; n <= MAXLEAVES; n += (n < 140 ? 1 : 37)) {
        assert_int_equal(tlog_root(node_fn, m, n, root), 0);
        for (uint64_t i = 0; i < n; i++) {
            assert_int_equal(tlog_inclusion(node_fn, m, i, n, proof, &len), 0);
            assert_int_equal(tlog_verify_inclusion(i, n, m->leaf[i], proof, len, root), 0);
            /* another leaf, another index, a bit flipped, a hash missing
             * or added: each refused. (Another size may verify: the root
             * binds the size only through the signed checkpoint.) */
            assert_int_not_equal(
                tlog_verify_inclusion(i, n, m->leaf[(i + 1) % MAXLEAVES], proof, len, root), 0);
            if (n > 1)
                assert_int_not_equal(
                    tlog_verify_inclusion((i + 1) % n, n, m->leaf[i], proof, len, root), 0);
            if (len) {
                proof[len - 1][7] ^= 0x10;
                assert_int_not_equal(tlog_verify_inclusion(i, n, m->leaf[i], proof, len, root),
                                     0);
                proof[len - 1][7] ^= 0x10;
                assert_int_not_equal(
                    tlog_verify_inclusion(i, n, m->leaf[i], proof, len - 1, root), 0);
            }
            if (len < TLOG_MAX_PROOF) {
                memcpy(proof[len], root, TLOG_HASH_LEN);
                assert_int_not_equal(
                    tlog_verify_inclusion(i, n, m->leaf[i], proof, len + 1, root), 0);
            }
        }
    }
    /* out of range */
    assert_int_not_equal(tlog_inclusion(node_fn, m, 5, 5, proof, &len), 0);
    assert_int_not_equal(tlog_verify_inclusion(0, 0, m->leaf[0], proof, 0, root), 0);
    free(m);
}

static void test_consistency_all_pairs(void **state)
{
    mem *m = make_tree(MAXLEAVES);
    uint8_t proof[TLOG_MAX_PROOF][TLOG_HASH_LEN];
    static uint8_t roots[MAXLEAVES + 1][TLOG_HASH_LEN];
    size_t len;
    (void)state;
    for (uint64_t n = 0; n <= MAXLEAVES; n++)
        assert_int_equal(tlog_root(node_fn, m, n, roots[n]), 0);
    for (uint64_t b = 0; b <= MAXLEAVES; b += (b < 100 ? 1 : 53)) {
        for (uint64_t a = 0; a <= b; a++) {
            assert_int_equal(tlog_consistency(node_fn, m, a, b, proof, &len), 0);
            assert_int_equal(tlog_verify_consistency(a, b, roots[a], roots[b], proof, len), 0);
            if (a == 0 || a == b) {
                assert_int_equal(len, 0);
                if (a == b && b > 0)
                    assert_int_not_equal(
                        tlog_verify_consistency(a, b, roots[a], roots[b - 1], proof, len), 0);
                continue;
            }
            /* the wrong old root, the wrong new root, a flipped bit, a
             * shorter proof: each refused */
            assert_int_not_equal(
                tlog_verify_consistency(a, b, roots[a - 1], roots[b], proof, len), 0);
            assert_int_not_equal(
                tlog_verify_consistency(a, b, roots[a], roots[b - 1], proof, len), 0);
            proof[0][0] ^= 1;
            assert_int_not_equal(tlog_verify_consistency(a, b, roots[a], roots[b], proof, len),
                                 0);
            proof[0][0] ^= 1;
            assert_int_not_equal(
                tlog_verify_consistency(a, b, roots[a], roots[b], proof, len - 1), 0);
        }
    }
    assert_int_not_equal(tlog_consistency(node_fn, m, 6, 5, proof, &len), 0);
    free(m);
}

/* A proof reads O(log n) complete subtrees, not the whole tree. */
static void test_proofs_are_logarithmic(void **state)
{
    mem *m = make_tree(MAXLEAVES);
    uint8_t proof[TLOG_MAX_PROOF][TLOG_HASH_LEN], root[TLOG_HASH_LEN];
    size_t len;
    (void)state;
    m->calls = 0;
    assert_int_equal(tlog_root(node_fn, m, 599, root), 0);
    assert_true(m->calls <= 10);
    m->calls = 0;
    assert_int_equal(tlog_inclusion(node_fn, m, 300, 599, proof, &len), 0);
    assert_true(len <= 10 && m->calls <= 2 * 10 * 10);
    m->calls = 0;
    assert_int_equal(tlog_consistency(node_fn, m, 333, 599, proof, &len), 0);
    assert_true(len <= 20 && m->calls <= 2 * 10 * 10);
    free(m);
}

static void test_tampered_leaf_changes_root(void **state)
{
    mem *m = make_tree(13);
    uint8_t before[TLOG_HASH_LEN], after[TLOG_HASH_LEN];
    (void)state;
    assert_int_equal(tlog_root(node_fn, m, 13, before), 0);
    assert_int_equal(tlog_leaf_hash("tampered", 8, m->leaf[6]), 0);
    assert_int_equal(tlog_root(node_fn, m, 13, after), 0);
    assert_memory_not_equal(before, after, TLOG_HASH_LEN);
    free(m);
}

static void test_checkpoint_text(void **state)
{
    uint8_t root[TLOG_HASH_LEN], back[TLOG_HASH_LEN];
    char text[TLOG_NOTE_MAX], origin[256];
    uint64_t size;
    size_t tl;
    int n;
    (void)state;
    for (int i = 0; i < 32; i++)
        root[i] = (uint8_t)i;
    n = tlog_checkpoint_text("example.org/log", 42, root, text, sizeof text);
    assert_int_equal(n, (int)strlen("example.org/log\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"));
    assert_string_equal(text, "example.org/log\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
    assert_int_equal(tlog_checkpoint_parse(text, (size_t)n, origin, sizeof origin, &size, back, &tl),
                     0);
    assert_string_equal(origin, "example.org/log");
    assert_int_equal(size, 42);
    assert_memory_equal(root, back, TLOG_HASH_LEN);
    assert_int_equal(tl, (size_t)n);
    /* origins with spaces, '+', control characters or nothing are refused */
    assert_int_equal(tlog_checkpoint_text("a b", 1, root, text, sizeof text), -1);
    assert_int_equal(tlog_checkpoint_text("a+b", 1, root, text, sizeof text), -1);
    assert_int_equal(tlog_checkpoint_text("", 1, root, text, sizeof text), -1);
    assert_int_equal(tlog_checkpoint_text("a\nb", 1, root, text, sizeof text), -1);
    assert_int_equal(tlog_checkpoint_text("log", 1, root, text, 10), -1);
    /* malformed texts */
    static const char *const bad[] = {
        "log\n01\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "log\n-1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "log\n\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "log\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",
        "log\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "log\n99999999999999999999\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "log\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nextra\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(
            tlog_checkpoint_parse(bad[i], strlen(bad[i]), origin, sizeof origin, &size, back, &tl),
            -1);
}

static void test_note_sign_verify(void **state)
{
    px_key *k = NULL, *other = NULL;
    const char *why;
    uint8_t root[TLOG_HASH_LEN] = {1, 2, 3};
    char text[TLOG_NOTE_MAX], note[TLOG_NOTE_MAX];
    int tl, nl;
    (void)state;
    assert_int_equal(px_key_generate(&k, &why), 0);
    assert_int_equal(px_key_generate(&other, &why), 0);
    tl = tlog_checkpoint_text("patrol-log/0011223344556677", 7, root, text, sizeof text);
    assert_true(tl > 0);
    nl = tlog_note_sign(k, text, (size_t)tl, note, sizeof note);
    assert_true(nl > tl);
    assert_memory_equal(note, text, (size_t)tl);
    assert_memory_equal(note + tl, "\n\xe2\x80\x94 patrol-log/0011223344556677 ", 31);
    assert_int_equal(tlog_note_verify(k, note, (size_t)nl), 0);
    assert_int_not_equal(tlog_note_verify(other, note, (size_t)nl), 0);
    /* the size changed under the signature */
    note[tl - 47] = '8';
    assert_int_not_equal(tlog_note_verify(k, note, (size_t)nl), 0);
    note[tl - 47] = '7';
    assert_int_equal(tlog_note_verify(k, note, (size_t)nl), 0);
    /* a flipped signature character */
    note[nl - 10] = note[nl - 10] == 'A' ? 'B' : 'A';
    assert_int_not_equal(tlog_note_verify(k, note, (size_t)nl), 0);
    /* no signature line at all */
    assert_int_not_equal(tlog_note_verify(k, text, (size_t)tl), 0);
    px_key_free(k);
    px_key_free(other);
}

static int vectors(void)
{
    mem *m = make_tree(20);
    uint8_t proof[TLOG_MAX_PROOF][TLOG_HASH_LEN], root[TLOG_HASH_LEN];
    char h[65];
    size_t len;
    if (!m)
        return 1;
    for (uint64_t n = 0; n <= 20; n++) {
        if (tlog_root(node_fn, m, n, root) != 0)
            return 1;
        hex(root, h);
        printf("{\"t\":\"root\",\"n\":%llu,\"root\":\"%s\"}\n", (unsigned long long)n, h);
    }
    for (uint64_t n = 1; n <= 20; n++)
        for (uint64_t i = 0; i < n; i++) {
            if (tlog_inclusion(node_fn, m, i, n, proof, &len) != 0)
                return 1;
            printf("{\"t\":\"inclusion\",\"leaf\":%llu,\"size\":%llu,\"proof\":[",
                   (unsigned long long)i, (unsigned long long)n);
            for (size_t j = 0; j < len; j++) {
                hex(proof[j], h);
                printf("%s\"%s\"", j ? "," : "", h);
            }
            printf("]}\n");
        }
    for (uint64_t b = 0; b <= 20; b++)
        for (uint64_t a = 0; a <= b; a++) {
            if (tlog_consistency(node_fn, m, a, b, proof, &len) != 0)
                return 1;
            printf("{\"t\":\"consistency\",\"from\":%llu,\"to\":%llu,\"proof\":[",
                   (unsigned long long)a, (unsigned long long)b);
            for (size_t j = 0; j < len; j++) {
                hex(proof[j], h);
                printf("%s\"%s\"", j ? "," : "", h);
            }
            printf("]}\n");
        }
    free(m);
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kat_roots),
        cmocka_unit_test(test_ct_roots),
        cmocka_unit_test(test_inclusion_all_pairs),
        cmocka_unit_test(test_consistency_all_pairs),
        cmocka_unit_test(test_proofs_are_logarithmic),
        cmocka_unit_test(test_tampered_leaf_changes_root),
        cmocka_unit_test(test_checkpoint_text),
        cmocka_unit_test(test_note_sign_verify),
    };
    if (argc == 2 && strcmp(argv[1], "--vectors") == 0)
        return vectors();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
