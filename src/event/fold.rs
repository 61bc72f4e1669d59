//! Case folding: the one lowercasing used on both sides of every
//! case-insensitive comparison (rule needles when compiled, event values
//! when scanned), so both fold identically.
//!
//! The result is always `s.chars().flat_map(char::to_lowercase)`. How it is
//! made is a hot path: every event's keyword text (on Plaso exports ~7 KB of
//! `message` and `xml_string` per event, often non-ASCII because Sysmon
//! writes `Microsoft® Windows®`) and every field value the scan memo has not
//! seen is folded. ASCII runs are copied, tested and lowercased in one pass,
//! 16 bytes at a time with SSE2 (baseline on x86_64) and 32 with AVX2 when
//! the CPU has it; below 16 bytes and on other targets 8 bytes a word. Non-ASCII characters
//! go through Unicode `to_lowercase`, one at a time.

/// The case-folded `s` ([`lower_into`]).
pub fn fold_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    lower_into(&mut out, s);
    out
}

/// Appends the case-folded `s` to `out`: ASCII runs lowercased in bulk
/// (see the module doc), other characters through Unicode `to_lowercase`.
pub fn lower_into(out: &mut String, s: &str) {
    let mut rest = s;
    loop {
        let n = push_ascii_prefix(out, rest.as_bytes());
        rest = &rest[n..];
        let mut chars = rest.chars();
        match chars.next() {
            None => return,
            Some(c) => {
                out.extend(c.to_lowercase());
                rest = chars.as_str();
            }
        }
    }
}

/// Appends the lowercased ASCII prefix of `b` (up to its first non-ASCII
/// byte) to `out` and returns the prefix's length.
#[inline]
fn push_ascii_prefix(out: &mut String, b: &[u8]) -> usize {
    // SAFETY: `lower_ascii_prefix` appends only ASCII bytes, so `out` stays
    // valid UTF-8.
    let v = unsafe { out.as_mut_vec() };
    lower_ascii_prefix(v, b)
}

/// Appends the lowercased ASCII prefix of `src` to `dst`; returns its
/// length. Safe wrapper around the SIMD kernels: it reserves room for all
/// of `src` first (the kernels store whole blocks into that room, of which
/// only the ASCII prefix becomes part of `dst`).
#[inline]
fn lower_ascii_prefix(dst: &mut Vec<u8>, src: &[u8]) -> usize {
    dst.reserve(src.len());
    let len = dst.len();
    // SAFETY: `dst` has room for `src.len()` more bytes; each kernel writes
    // only inside `dst[len..len + src.len()]` and returns `n <= src.len()`
    // with `dst[len..len + n]` initialised.
    unsafe {
        let n = kernel(src, dst.as_mut_ptr().add(len));
        dst.set_len(len + n);
        n
    }
}

/// Portable kernel (every target; the x86_64 kernels use it below 16
/// bytes): writes the lowercase of `src`'s ASCII prefix to `dst`, returns
/// its length. Eight bytes a word (SWAR), the last word overlapping the
/// one before; byte by byte below eight.
///
/// # Safety
/// `dst` is valid for writes of `src.len()` bytes.
#[inline]
unsafe fn lower_portable(src: &[u8], dst: *mut u8) -> usize {
    let n = src.len();
    if n < 8 {
        for (i, &c) in src.iter().enumerate() {
            if !c.is_ascii() {
                return i;
            }
            // SAFETY: i < src.len().
            unsafe { *dst.add(i) = c.to_ascii_lowercase() };
        }
        return n;
    }
    // SAFETY: every word read is `src[i..i + 8]` with `i + 8 <= n`, and
    // written to `dst + i`.
    unsafe {
        let mut i = 0;
        while i + 8 <= n {
            if let Some(end) = word8(src, dst, i) {
                return end;
            }
            i += 8;
        }
        if i < n
            && let Some(end) = word8(src, dst, n - 8)
        {
            return end;
        }
    }
    n
}

/// One 8-byte word at `src[i..i + 8]` to `dst + i`: `Some(end)` when a
/// non-ASCII byte ends the prefix at `end`.
///
/// For ASCII bytes (high bit clear) `b + 0x3F` has its high bit set exactly
/// for `b >= b'A'`, and `b + 0x25` exactly for `b > b'Z'`, with no carry
/// into the next byte. A non-ASCII byte may carry into the bytes after it,
/// which lie past the prefix and are not kept.
///
/// # Safety
/// `i + 8 <= src.len()`; `dst` valid for writes of `src.len()` bytes.
#[inline(always)]
unsafe fn word8(src: &[u8], dst: *mut u8, i: usize) -> Option<usize> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let x = u64::from_le_bytes(src[i..i + 8].try_into().expect("8 bytes"));
    let ge_a = x.wrapping_add(0x3F3F_3F3F_3F3F_3F3F);
    let gt_z = x.wrapping_add(0x2525_2525_2525_2525);
    let upper = ge_a & !gt_z & HIGH;
    let low = x | (upper >> 2);
    // SAFETY: i + 8 <= src.len().
    unsafe { dst.add(i).cast::<[u8; 8]>().write_unaligned(low.to_le_bytes()) };
    let high = x & HIGH;
    (high != 0).then(|| i + (high.trailing_zeros() / 8) as usize)
}

#[cfg(not(target_arch = "x86_64"))]
use lower_portable as kernel;

/// Below this many bytes the AVX2 kernel is not worth the feature test.
#[cfg(target_arch = "x86_64")]
const AVX2_MIN: usize = 64;

/// Picks the kernel for `src` (see the module doc).
///
/// # Safety
/// `dst` is valid for writes of `src.len()` bytes.
#[cfg(target_arch = "x86_64")]
#[inline]
unsafe fn kernel(src: &[u8], dst: *mut u8) -> usize {
    // SAFETY: forwarded; the AVX2 kernel runs only when the CPU has AVX2
    // (`is_x86_feature_detected!` caches its answer).
    unsafe {
        if src.len() < 16 {
            lower_portable(src, dst)
        } else if src.len() >= AVX2_MIN && std::arch::is_x86_feature_detected!("avx2") {
            x86::lower_avx2(src, dst)
        } else {
            x86::lower_sse2(src, dst)
        }
    }
}

/// Hand-written SIMD (why: folding is ~5% of the instructions of a run over
/// unique Plaso input, and the std building blocks `is_ascii`, a copy and
/// `make_ascii_lowercase` are three passes over the text; see
/// docs/performance.md for the measured gain). Each block is loaded once,
/// lowercased (bytes `A..=Z` get 0x20 or-ed in) and stored whole; its
/// high-bit mask says where the ASCII prefix ends. Bytes stored past that
/// end are scratch the caller does not keep.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Lowercases the ASCII letters of `v` (other bytes unchanged, non-ASCII
    /// bytes included: `v + 0x3F` lands in `0x80..=0x99`, signed below
    /// `-102`, exactly for `A..=Z`).
    #[inline(always)]
    fn lower16(v: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe {
            let shifted = _mm_add_epi8(v, _mm_set1_epi8(0x3F));
            let upper = _mm_cmpgt_epi8(_mm_set1_epi8(-128 + 26), shifted);
            _mm_or_si128(v, _mm_and_si128(upper, _mm_set1_epi8(0x20)))
        }
    }

    /// One 16-byte block at `src[i..i + 16]` to `dst + i`: `Some(end)` when
    /// a non-ASCII byte ends the prefix at `end`.
    ///
    /// # Safety
    /// `i + 16 <= src.len()`; `dst` valid for writes of `src.len()` bytes.
    #[inline(always)]
    unsafe fn block16(src: &[u8], dst: *mut u8, i: usize) -> Option<usize> {
        unsafe {
            let v = _mm_loadu_si128(src.as_ptr().add(i).cast());
            _mm_storeu_si128(dst.add(i).cast(), lower16(v));
            let mask = _mm_movemask_epi8(v);
            (mask != 0).then(|| i + mask.trailing_zeros() as usize)
        }
    }

    /// The SSE2 kernel (needs `src.len() >= 16`).
    ///
    /// # Safety
    /// `src.len() >= 16`; `dst` valid for writes of `src.len()` bytes.
    #[inline]
    pub unsafe fn lower_sse2(src: &[u8], dst: *mut u8) -> usize {
        let n = src.len();
        debug_assert!(n >= 16);
        let mut i = 0;
        unsafe {
            while i + 16 <= n {
                if let Some(end) = block16(src, dst, i) {
                    return end;
                }
                i += 16;
            }
            if i < n {
                // The last 16 bytes, overlapping ASCII already done (their
                // mask bits are 0, so the first set bit is past `i`).
                if let Some(end) = block16(src, dst, n - 16) {
                    return end;
                }
            }
        }
        n
    }

    /// The AVX2 kernel: 32 bytes a block, then the SSE2 tail.
    ///
    /// # Safety
    /// The CPU has AVX2; `src.len() >= 32`; `dst` valid for writes of
    /// `src.len()` bytes.
    #[target_feature(enable = "avx2")]
    pub unsafe fn lower_avx2(src: &[u8], dst: *mut u8) -> usize {
        let n = src.len();
        debug_assert!(n >= 32);
        let mut i = 0;
        unsafe {
            let bias = _mm256_set1_epi8(0x3F);
            let limit = _mm256_set1_epi8(-128 + 26);
            let bit = _mm256_set1_epi8(0x20);
            while i + 32 <= n {
                let v = _mm256_loadu_si256(src.as_ptr().add(i).cast());
                let upper = _mm256_cmpgt_epi8(limit, _mm256_add_epi8(v, bias));
                let low = _mm256_or_si256(v, _mm256_and_si256(upper, bit));
                _mm256_storeu_si256(dst.add(i).cast(), low);
                let mask = _mm256_movemask_epi8(v);
                if mask != 0 {
                    return i + mask.trailing_zeros() as usize;
                }
                i += 32;
            }
            if i + 16 <= n {
                if let Some(end) = block16(src, dst, i) {
                    return end;
                }
                i += 16;
            }
            if i < n
                && let Some(end) = block16(src, dst, n - 16)
            {
                return end;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past the largest block size and the AVX2 threshold.
    const SPAN: usize = 64;

    fn reference(s: &str) -> String {
        s.chars().flat_map(char::to_lowercase).collect()
    }

    /// Folds `s` appended to a non-empty buffer, and alone.
    fn check(s: &str) {
        let want = reference(s);
        assert_eq!(fold_case(s), want, "{s:?}");
        let mut out = String::from("Pre");
        lower_into(&mut out, s);
        assert_eq!(&out[..3], "Pre");
        assert_eq!(&out[3..], want, "{s:?}");
    }

    #[test]
    fn mixed_text_equals_char_by_char_lowercase() {
        let long = "Product: Microsoft® Windows® Operating System, \
                    CommandLine: C:\\WINDOWS\\System32\\CMD.EXE /C ÉCHO İ ẞ ΣΑΣ";
        for s in ["", "ABC", "é", long, &long[..40], &long.repeat(3)] {
            check(s);
        }
    }

    /// Every ASCII byte at every position of every length around the
    /// block sizes (16, 32, the AVX2 threshold), followed by a non-ASCII
    /// character or not.
    #[test]
    fn every_ascii_byte_at_every_position() {
        for len in 0..=SPAN + 40 {
            for pos in 0..len {
                for c in 0u8..0x80 {
                    let mut b = vec![b'Q'; len];
                    b[pos] = c;
                    let s = String::from_utf8(b).unwrap();
                    check(&s);
                }
            }
        }
    }

    /// A non-ASCII character at every position of every length, with
    /// upper-case ASCII around it; and every char of Unicode folded alone,
    /// after an ASCII block and before one.
    #[test]
    fn non_ascii_at_every_position_and_every_char() {
        for c in ['®', 'İ', 'K', 'ẞ', 'Σ', 'É', '😀', '\u{80}'] {
            for len in 0..=SPAN + 40 {
                for pos in 0..len {
                    let s: String = (0..len)
                        .map(|i| if i == pos { c } else { (b'A' + (i % 26) as u8) as char })
                        .collect();
                    check(&s);
                }
            }
        }
        let pad = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123";
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let mut buf = [0u8; 4];
            let c = c.encode_utf8(&mut buf);
            check(c);
            if (c.as_bytes()[0] as u32).is_multiple_of(61) {
                check(&format!("{pad}{c}{pad}"));
                check(&format!("{}{c}", &pad[..17]));
            }
        }
    }

    /// The portable kernel on its own (x86_64 uses it below 16 bytes only).
    #[test]
    fn portable_kernel_equals_the_reference() {
        for len in 0..=SPAN + 40 {
            for pos in 0..len {
                for c in 0u8..=255 {
                    let mut src = vec![b'Q'; len];
                    src[pos] = c;
                    let mut dst = vec![0u8; len];
                    // SAFETY: dst holds len bytes.
                    let n = unsafe { lower_portable(&src, dst.as_mut_ptr()) };
                    let want = src.iter().position(|b| !b.is_ascii()).unwrap_or(len);
                    assert_eq!(n, want, "{src:?}");
                    assert_eq!(dst[..n], src[..n].to_ascii_lowercase()[..], "{src:?}");
                }
            }
        }
    }

    /// Random strings over ASCII letters, digits, punctuation and
    /// non-ASCII characters (some whose lowercase is longer or ASCII),
    /// lengths up to 300 characters (deterministic xorshift).
    #[test]
    fn random_strings_equal_the_reference() {
        let alphabet: Vec<char> = "AZaz09 \\/:.-_\"<>=ÉéÀ®İKẞΣΑΩ€😀\u{7f}\u{80}Ⅻ"
            .chars()
            .collect();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let len = (next() % 300) as usize;
            // Mostly ASCII, like real text: 1 in `sparse` non-ASCII.
            let sparse = 1 + next() % 200;
            let s: String = (0..len)
                .map(|_| {
                    let r = next();
                    if r % sparse == 0 {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    } else {
                        (0x20 + (r >> 16) % 0x5F) as u8 as char
                    }
                })
                .collect();
            check(&s);
        }
    }
}
