// Vectorised UTF-8 validation, for the record scanner in RecordCore.
//
// Swift's SIMD types have no byte shuffle (pshufb), which the UTF-8 check
// below is built on, so this loop is C with x86 intrinsics, chosen at
// run time by what the CPU offers (AVX2, else SSSE3, else plain C; on other
// processors plain C). Every variant answers exactly what the plain C one
// does; the tests compare them.
#ifndef MMINF_CUTF8_H
#define MMINF_CUTF8_H

#include <stddef.h>
#include <stdint.h>

/// 1 when the n bytes at p are well-formed UTF-8 as RFC 3629 defines it
/// (no overlong forms, no surrogates, nothing above U+10FFFF, no sequence cut
/// short at the end), else 0. Says nothing of where the fault is: a caller
/// that must name the place walks the bytes itself.
int mminf_utf8_valid(const uint8_t *p, size_t n);

/// The same answer from one implementation, for the tests: 0 plain C,
/// 1 SSSE3, 2 AVX2. A level the CPU lacks falls back to the widest below it
/// that it has.
int mminf_utf8_valid_at_level(const uint8_t *p, size_t n, int level);

/// What this CPU runs: 0 plain C, 1 SSSE3, 2 AVX2.
int mminf_utf8_simd_level(void);

#endif
