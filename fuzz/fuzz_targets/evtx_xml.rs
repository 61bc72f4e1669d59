//! Fuzzes the Plaso `xml_string` parser.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(f) = sigma_match::event::plaso::evtx_xml::EvtxFields::parse(s) {
            for (k, v) in f.iter() {
                assert!(k.len() + v.len() <= s.len() * 4 + 64);
            }
        }
    }
});
