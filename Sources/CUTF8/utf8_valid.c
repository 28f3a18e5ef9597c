// UTF-8 validation, many bytes at a time.
//
// The UTF-8 check follows the method of Keiser and Lemire, "Validating UTF-8
// in less than one instruction per byte" (Software: Practice and Experience,
// 2021): every error of well-formedness shows in a pair of neighbouring bytes
// (the high and low nibble of the first, the high nibble of the second),
// except a missing or extra third or fourth byte, which shows by comparing
// "is this the third or fourth byte of a sequence" (read off the bytes two
// and three back) with "are this byte and the previous one both continuation
// bytes". The tables below were worked out for this file, one bit per kind
// of error. The tests (VectorisedUTF8Tests) compare every variant with the
// standard library on every pair of bytes, every lead and second byte with
// the byte values where the rules change after them, and every byte after a
// whole character, placed across the 16- and 32-byte block edges and at the
// end of the input.
#include "CUTF8.h"

#include <string.h>

// MARK: - Plain C: the reference every vectorised variant must agree with.

static int utf8_valid_scalar(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF;  // the range of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;       // below: overlong
            if (c == 0xED) hi = 0x9F;       // above: surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;       // below: overlong
            if (c == 0xF4) hi = 0x8F;       // above: past U+10FFFF
        } else {
            return 0;  // a continuation byte where a character starts, C0, C1, F5..FF
        }
        if (n - i <= need) return 0;
        if (p[i + 1] < lo || p[i + 1] > hi) return 0;
        for (size_t k = 2; k <= need; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return 0;
        }
        i += need + 1;
    }
    return 1;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

// One bit per kind of error that a pair of bytes (first, second) shows. Each
// is the product of a set of high nibbles of the first byte, a set of its low
// nibbles and a set of high nibbles of the second, so three table lookups
// ANDed together give it exactly.
enum {
    TOO_SHORT = 1 << 0,     // a lead byte, then no continuation byte
    TOO_LONG = 1 << 1,      // an ASCII byte, then a continuation byte
    OVERLONG_3 = 1 << 2,    // E0 then 80..9F
    SURROGATE = 1 << 3,     // ED then A0..BF
    OVERLONG_2 = 1 << 4,    // C0 or C1, then anything
    TOO_LARGE = 1 << 5,     // F4 then 90..BF (F5..FF are caught apart)
    OVERLONG_4 = 1 << 6,    // F0 then 80..8F
    TWO_CONTS = 1 << 7,     // two continuation bytes: not an error by itself
};

#define EVERY_LOW (TOO_SHORT | TOO_LONG | TWO_CONTS)

// Indexed by the first byte's high nibble.
static const uint8_t first_high[16] = {
    TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
    TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS,
    TOO_SHORT | OVERLONG_2,
    TOO_SHORT,
    TOO_SHORT | OVERLONG_3 | SURROGATE,
    TOO_SHORT | TOO_LARGE | OVERLONG_4,
};

// Indexed by the first byte's low nibble.
static const uint8_t first_low[16] = {
    EVERY_LOW | OVERLONG_2 | OVERLONG_3 | OVERLONG_4,
    EVERY_LOW | OVERLONG_2,
    EVERY_LOW, EVERY_LOW,
    EVERY_LOW | TOO_LARGE,
    EVERY_LOW, EVERY_LOW, EVERY_LOW, EVERY_LOW, EVERY_LOW, EVERY_LOW, EVERY_LOW, EVERY_LOW,
    EVERY_LOW | SURROGATE,
    EVERY_LOW, EVERY_LOW,
};

// Indexed by the second byte's high nibble.
#define NOT_CONT (TOO_SHORT | OVERLONG_2)
static const uint8_t second_high[16] = {
    NOT_CONT, NOT_CONT, NOT_CONT, NOT_CONT, NOT_CONT, NOT_CONT, NOT_CONT, NOT_CONT,
    TOO_LONG | TWO_CONTS | OVERLONG_2 | OVERLONG_3 | OVERLONG_4,
    TOO_LONG | TWO_CONTS | OVERLONG_2 | OVERLONG_3 | TOO_LARGE,
    TOO_LONG | TWO_CONTS | OVERLONG_2 | SURROGATE | TOO_LARGE,
    TOO_LONG | TWO_CONTS | OVERLONG_2 | SURROGATE | TOO_LARGE,
    NOT_CONT, NOT_CONT, NOT_CONT, NOT_CONT,
};

// The largest byte each of a block's last three places may hold without
// starting a sequence that runs past the block: a lead of four bytes three
// from the end, of three or more two from the end, any lead at the end.
static const uint8_t last_allowed[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xEF, 0xDF, 0xBF,
};

__attribute__((target("ssse3"))) static inline __m128i
pair_errors_128(__m128i cur, __m128i prev1, __m128i prev2, __m128i prev3) {
    const __m128i nibble = _mm_set1_epi8(0x0F);
    const __m128i t1 = _mm_loadu_si128((const __m128i *)first_high);
    const __m128i t2 = _mm_loadu_si128((const __m128i *)first_low);
    const __m128i t3 = _mm_loadu_si128((const __m128i *)second_high);
    __m128i e = _mm_and_si128(
        _mm_and_si128(
            _mm_shuffle_epi8(t1, _mm_and_si128(_mm_srli_epi16(prev1, 4), nibble)),
            _mm_shuffle_epi8(t2, _mm_and_si128(prev1, nibble))),
        _mm_shuffle_epi8(t3, _mm_and_si128(_mm_srli_epi16(cur, 4), nibble)));
    // 0x80 where this byte must be a third or fourth one: two back is E0 or
    // above (E0 - 0x60 = 0x80) or three back is F0 or above (F0 - 0x70 = 0x80).
    __m128i must = _mm_and_si128(
        _mm_or_si128(_mm_subs_epu8(prev2, _mm_set1_epi8(0x60)), _mm_subs_epu8(prev3, _mm_set1_epi8(0x70))),
        _mm_set1_epi8((char)0x80));
    // An error where TWO_CONTS and "must" disagree, and at any byte from F5 up.
    return _mm_or_si128(_mm_xor_si128(e, must), _mm_subs_epu8(cur, _mm_set1_epi8((char)0xF4)));
}

__attribute__((target("ssse3"))) static int utf8_valid_ssse3(const uint8_t *p, size_t n) {
    const __m128i allowed = _mm_loadu_si128((const __m128i *)(last_allowed + 16));
    __m128i prev = _mm_setzero_si128(), incomplete = _mm_setzero_si128(), err = _mm_setzero_si128();
    uint8_t tail[16];
    size_t i = 0;
    for (;;) {
        __m128i cur;
        int last = n - i < 16;
        if (last) {
            // The rest, padded with zero bytes: a sequence cut short at the
            // end then meets an ASCII byte and shows as an error.
            memset(tail, 0, sizeof tail);
            if (n > i) memcpy(tail, p + i, n - i);
            cur = _mm_loadu_si128((const __m128i *)tail);
        } else {
            cur = _mm_loadu_si128((const __m128i *)(p + i));
        }
        if (_mm_movemask_epi8(cur) == 0) {
            err = _mm_or_si128(err, incomplete);  // ASCII: only a sequence left open before it is wrong
            incomplete = _mm_setzero_si128();
        } else {
            __m128i p1 = _mm_alignr_epi8(cur, prev, 15);
            __m128i p2 = _mm_alignr_epi8(cur, prev, 14);
            __m128i p3 = _mm_alignr_epi8(cur, prev, 13);
            err = _mm_or_si128(err, pair_errors_128(cur, p1, p2, p3));
            incomplete = _mm_subs_epu8(cur, allowed);
        }
        prev = cur;
        if (last) break;
        i += 16;
    }
    return _mm_movemask_epi8(_mm_cmpeq_epi8(err, _mm_setzero_si128())) == 0xFFFF;
}

__attribute__((target("avx2"))) static int utf8_valid_avx2(const uint8_t *p, size_t n) {
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    const __m256i t1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)first_high));
    const __m256i t2 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)first_low));
    const __m256i t3 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)second_high));
    const __m256i allowed = _mm256_loadu_si256((const __m256i *)last_allowed);
    __m256i prev = _mm256_setzero_si256(), incomplete = _mm256_setzero_si256(), err = _mm256_setzero_si256();
    uint8_t tail[32];
    size_t i = 0;
    for (;;) {
        __m256i cur;
        int last = n - i < 32;
        if (last) {
            memset(tail, 0, sizeof tail);
            if (n > i) memcpy(tail, p + i, n - i);
            cur = _mm256_loadu_si256((const __m256i *)tail);
        } else {
            cur = _mm256_loadu_si256((const __m256i *)(p + i));
        }
        if (_mm256_movemask_epi8(cur) == 0) {
            err = _mm256_or_si256(err, incomplete);
            incomplete = _mm256_setzero_si256();
        } else {
            // Each 128-bit lane shifts on its own: give it the 16 bytes before it.
            __m256i before = _mm256_permute2x128_si256(prev, cur, 0x21);
            __m256i p1 = _mm256_alignr_epi8(cur, before, 15);
            __m256i p2 = _mm256_alignr_epi8(cur, before, 14);
            __m256i p3 = _mm256_alignr_epi8(cur, before, 13);
            __m256i e = _mm256_and_si256(
                _mm256_and_si256(
                    _mm256_shuffle_epi8(t1, _mm256_and_si256(_mm256_srli_epi16(p1, 4), nibble)),
                    _mm256_shuffle_epi8(t2, _mm256_and_si256(p1, nibble))),
                _mm256_shuffle_epi8(t3, _mm256_and_si256(_mm256_srli_epi16(cur, 4), nibble)));
            __m256i must = _mm256_and_si256(
                _mm256_or_si256(
                    _mm256_subs_epu8(p2, _mm256_set1_epi8(0x60)), _mm256_subs_epu8(p3, _mm256_set1_epi8(0x70))),
                _mm256_set1_epi8((char)0x80));
            err = _mm256_or_si256(err, _mm256_xor_si256(e, must));
            err = _mm256_or_si256(err, _mm256_subs_epu8(cur, _mm256_set1_epi8((char)0xF4)));
            incomplete = _mm256_subs_epu8(cur, allowed);
        }
        prev = cur;
        if (last) break;
        i += 32;
    }
    return _mm256_testz_si256(err, err);
}

static int detect_level(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int level = (c >> 9) & 1;  // SSSE3
    // AVX2 needs the CPU's flag and the system saving the wide registers.
    if (((c >> 27) & 1) && ((c >> 28) & 1)) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        if ((lo & 6) == 6 && __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((b >> 5) & 1)) level = 2;
    }
    return level;
}

int mminf_utf8_simd_level(void) {
    static int cached = -1;
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level < 0) {
        level = detect_level();
        __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    }
    return level;
}

int mminf_utf8_valid_at_level(const uint8_t *p, size_t n, int level) {
    int have = mminf_utf8_simd_level();
    if (level >= 2 && have >= 2) return utf8_valid_avx2(p, n);
    if (level >= 1 && have >= 1) return utf8_valid_ssse3(p, n);
    return utf8_valid_scalar(p, n);
}

#else

int mminf_utf8_simd_level(void) { return 0; }

int mminf_utf8_valid_at_level(const uint8_t *p, size_t n, int level) {
    (void)level;
    return utf8_valid_scalar(p, n);
}

#endif

int mminf_utf8_valid(const uint8_t *p, size_t n) {
    return mminf_utf8_valid_at_level(p, n, 2);
}
