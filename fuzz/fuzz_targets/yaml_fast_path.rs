//! Differential fuzzing of the YAML fast path: whenever it accepts a text,
//! saphyr must accept it too and give the same tree (positions included).
#![no_main]
use libfuzzer_sys::fuzz_target;
use sigma_match::sigma::yaml::{load_documents_fast, load_documents_saphyr};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(fast) = load_documents_fast(text) {
        let slow = load_documents_saphyr(text).expect("saphyr rejects what the fast path accepted");
        // Debug text, so that NaN equals NaN.
        assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
    }
});
