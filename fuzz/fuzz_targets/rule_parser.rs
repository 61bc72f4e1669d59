//! Fuzzes the rule side: YAML -> rule model -> compiled ruleset -> one event.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sigma_match::compile::{CompileOptions, Ruleset};
use sigma_match::eval::Matcher;
use sigma_match::sigma::rule::{parse_text, Loaded};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let rules: Vec<_> = parse_text(std::path::Path::new("fuzz.yml"), text)
        .into_iter()
        .filter_map(|l| match l {
            Loaded::Rule(r) => Some(*r),
            Loaded::Failed { .. } => None,
        })
        .collect();
    let (rs, _) = Ruleset::compile(rules, CompileOptions::default());
    let mut m = Matcher::new(&rs);
    let _ = m.match_line(br#"{"Image":"C:\\Windows\\cmd.exe","EventID":1,"CommandLine":"a -b /c","n":[1,"x",null]}"#);
});
