/* validate.h -- checks for every external text the record holds.
 *
 * Each px_check_* returns NULL when the input is acceptable, otherwise a
 * static English string naming what is wrong ("check character is 'X',
 * expected '7'" style detail goes into the optional buffer where given).
 * None of them allocate. Shared by the terminal and the server.
 */
#ifndef PX_VALIDATE_H
#define PX_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

/* Longest free text (content, minutes ...) in bytes, and a one-line value. */
#define PX_TEXT_MAX 8000
#define PX_LINE_MAX 400
#define PX_IDENT_MAX 64

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), no NUL and no
 * C0/DEL control character except TAB, LF and CR. */
const char *px_check_utf8(const char *s, size_t len);

/* Free text: non-empty after trimming spaces, valid per px_check_utf8,
 * at most max bytes. */
const char *px_check_text(const char *s, size_t max);

/* One line: as px_check_text but no CR/LF/TAB either. */
const char *px_check_line(const char *s, size_t max);

/* Identifier or code: 1..PX_IDENT_MAX of [A-Za-z0-9._-], not starting with
 * '.' or '-'. Safe as a file name component and in URLs. */
const char *px_check_ident(const char *s);

/* Unified social credit code (统一社会信用代码), GB 32100-2015: 18
 * characters from "0123456789ABCDEFGHJKLMNPQRTUWXY", check character by
 * the weighted mod-31 rule. Upper case only. If detail is not NULL it
 * receives a sentence naming the offending position or expected check
 * character. */
const char *px_check_credit_code(const char *s, char *detail, size_t detail_len);

/* Resident identity card number, GB 11643-1999: 17 digits + check digit
 * or 'X' (mod 11, ISO 7064), with a real birth date YYYYMMDD in 7..14. */
const char *px_check_id_number(const char *s, char *detail, size_t detail_len);

/* Calendar date "YYYY-MM-DD" (years 2000..2099 inclusive), strict: no
 * spaces, real day of month. On success *days gets days since 1970-01-01. */
const char *px_parse_date(const char *s, int32_t *days);

/* Format days since 1970-01-01 as "YYYY-MM-DD" into buf (>= 11 bytes). */
void px_format_date(int32_t days, char *buf, size_t len);

/* Decimal unsigned integer, no sign, no spaces, no leading zeros (except
 * "0"), value in [min, max]. */
const char *px_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* "yes" / "no" (also "true"/"false", "1"/"0"). */
const char *px_parse_bool(const char *s, int *out);

/* Lower-case hex of exactly 2*n characters into out[n]. */
const char *px_parse_hex(const char *s, uint8_t *out, size_t n);
void px_format_hex(const uint8_t *in, size_t n, char *out /* 2n+1 */);

#endif
