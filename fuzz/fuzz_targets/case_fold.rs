//! Fuzzes case folding: the SIMD fold must equal Unicode `to_lowercase`
//! char by char, for any text, appended to any prefix.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sigma_match::event::{fold_case, lower_into};

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let want: String = s.chars().flat_map(char::to_lowercase).collect();
    assert_eq!(fold_case(&s), want);
    // After a prefix, so blocks start at every alignment.
    let cut = s.char_indices().map(|(i, _)| i).nth(s.len() % 7).unwrap_or(0);
    let mut out = String::from(&s[..cut]);
    lower_into(&mut out, &s[cut..]);
    assert_eq!(&out[cut..], fold_case(&s[cut..]));
});
