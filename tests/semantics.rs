//! End-to-end semantics: a rule (YAML) and events (JSON) through the whole
//! pipeline (parse, compile, event extraction, evaluation). Each expected
//! result is justified by the Sigma specification v2.1 (rules spec and
//! modifiers appendix) or pySigma's behaviour, cited per test.

use std::collections::HashMap;
use std::path::Path;

use sigma_match::compile::{CompileOptions, Ruleset};
use sigma_match::eval::Matcher;
use sigma_match::sigma::rule::{self, Loaded};

fn compile_with(
    yaml: &str,
    placeholders: &HashMap<String, Vec<String>>,
) -> Result<Ruleset, String> {
    let mut rules = Vec::new();
    for l in rule::parse_text(Path::new("test.yml"), yaml) {
        match l {
            Loaded::Rule(r) => rules.push(*r),
            Loaded::Failed { issue, .. } => return Err(issue.to_string()),
        }
    }
    let opts = CompileOptions {
        placeholders,
        ..Default::default()
    };
    let (rs, issues) = Ruleset::compile(rules, opts);
    if let Some(i) = issues.first() {
        return Err(i.to_string());
    }
    Ok(rs)
}

/// Compiles a one-rule detection and returns which events match.
fn matches(detection: &str, events: &[&str]) -> Vec<bool> {
    let yaml = format!("title: t\nlogsource: {{product: test}}\ndetection:\n{detection}");
    let rs = compile_with(&yaml, &HashMap::new()).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let mut m = Matcher::new(&rs);
    events
        .iter()
        .map(|e| !m.match_line(e.as_bytes()).expect("valid event").is_empty())
        .collect()
}

fn fails(detection: &str) -> String {
    let yaml = format!("title: t\ndetection:\n{detection}");
    compile_with(&yaml, &HashMap::new())
        .err()
        .unwrap_or_else(|| panic!("expected an error:\n{yaml}"))
}

#[test]
fn plain_values_are_case_insensitive_exact_matches() {
    // Spec "Value Modifiers"/"String Modifiers": default matching is
    // case-insensitive; a value without wildcards is an exact match.
    let d = "  sel:\n    Image: 'C:\\Windows\\System32\\cmd.exe'\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"Image":"c:\\windows\\system32\\CMD.EXE"}"#,
                r#"{"Image":"C:\\Windows\\System32\\cmd.exe /c"}"#,
                r#"{"Other":"C:\\Windows\\System32\\cmd.exe"}"#,
            ]
        ),
        vec![true, false, false]
    );
}

#[test]
fn numbers_match_numbers_and_numeric_strings() {
    // pySigma SigmaNumber: `EventID: 4688` matches 4688 and "4688".
    let d = "  sel:\n    EventID: 4688\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"EventID":4688}"#,
                r#"{"EventID":"4688"}"#,
                r#"{"EventID":46880}"#,
                r#"{"EventID":"4689"}"#
            ]
        ),
        vec![true, true, false, false]
    );
    let d = "  sel:\n    Flag: true\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"Flag":true}"#,
                r#"{"Flag":"True"}"#,
                r#"{"Flag":false}"#
            ]
        ),
        vec![true, true, false]
    );
}

#[test]
fn wildcards_and_escapes() {
    // Spec "Wildcards": * any run, ? one character, \* \? \\ escapes.
    let d = "  sel:\n    F|cased: 'a*b?c'\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"F":"aXXbYc"}"#,
                r#"{"F":"abYc"}"#,
                r#"{"F":"abc"}"#,
                r#"{"F":"aXbYcZ"}"#
            ]
        ),
        vec![true, true, false, false]
    );
    let d = "  sel:\n    F: 'a\\*b'\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"F":"a*b"}"#, r#"{"F":"aXb"}"#]),
        vec![true, false]
    );
    let d = "  sel:\n    F: 'C:\\Windows\\\\*'\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[r#"{"F":"C:\\Windows\\x.exe"}"#, r#"{"F":"C:\\Windowsx"}"#]
        ),
        vec![true, false]
    );
    // `\\*` is needed for a folder wildcard; `\*` would be a literal star.
    let d = "  sel:\n    F: '*\\temp\\\\*.ps1'\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"F":"C:\\Temp\\a\\b.PS1"}"#,
                r#"{"F":"C:\\Temp\\b.ps1x"}"#
            ]
        ),
        vec![true, false]
    );
    let d = "  sel:\n    F: 'ab?'\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"F":"abé"}"#, r#"{"F":"ab"}"#]),
        vec![true, false]
    );
}

#[test]
fn contains_startswith_endswith_and_all() {
    let d = "  sel:\n    C|contains|all:\n      - ' -enc '\n      - 'hidden'\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"C":"powershell -ENC abc -w HIDDEN"}"#,
                r#"{"C":"powershell -enc abc"}"#
            ]
        ),
        vec![true, false]
    );
    let d = "  sel:\n    C|startswith: 'pow'\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"C":"PowerShell"}"#, r#"{"C":"xpow"}"#]),
        vec![true, false]
    );
    let d = "  sel:\n    C|endswith:\n      - '.exe'\n      - '.dll'\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"C":"a.DLL"}"#, r#"{"C":"a.exe.txt"}"#]),
        vec![true, false]
    );
}

#[test]
fn arrays_match_when_any_element_matches() {
    let d = "  sel:\n    T|contains: 'x'\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"T":["a","bxb"]}"#, r#"{"T":["a","b"]}"#]),
        vec![true, false]
    );
}

#[test]
fn null_exists_and_empty_values() {
    // Spec "Special Field Values": `null` = field absent or null;
    // `exists` checks presence only, whatever the value (modifiers appendix).
    let d = "  sel:\n    F: null\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"F":null}"#, r#"{"G":1}"#, r#"{"F":""}"#]),
        vec![true, true, false]
    );
    let d = "  sel:\n    F|exists: true\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"F":null}"#, r#"{"G":1}"#, r#"{"F":""}"#]),
        vec![true, false, true]
    );
    let d = "  sel:\n    F|exists: false\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"F":null}"#, r#"{"G":1}"#]),
        vec![false, true]
    );
    let d = "  sel:\n    F: ''\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"F":""}"#, r#"{"F":"x"}"#, r#"{"G":""}"#]),
        vec![true, false, false]
    );
}

#[test]
fn cased_and_regex_are_case_sensitive() {
    let d = "  sel:\n    F|cased: 'Abc'\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"F":"Abc"}"#, r#"{"F":"abc"}"#]),
        vec![true, false]
    );
    let d = "  sel:\n    F|contains|cased: 'Abc'\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"F":"xAbcx"}"#, r#"{"F":"xabcx"}"#]),
        vec![true, false]
    );
    // Modifiers appendix: `re` is case-sensitive; `i` makes it insensitive.
    let d = "  sel:\n    F|re: '^Ab+c$'\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"F":"Abbc"}"#, r#"{"F":"abbc"}"#]),
        vec![true, false]
    );
    let d = "  sel:\n    F|re|i: '^Ab+c$'\n  condition: sel\n";
    assert_eq!(matches(d, &[r#"{"F":"abbC"}"#]), vec![true]);
    let d = "  sel:\n    F|re|m: '^b$'\n  condition: sel\n";
    assert_eq!(matches(d, &[r#"{"F":"a\nb\nc"}"#]), vec![true]);
    let d = "  sel:\n    F|re|s: 'a.c'\n  condition: sel\n";
    assert_eq!(matches(d, &[r#"{"F":"a\nc"}"#]), vec![true]);
    // `re` is a search (unanchored), as in pySigma's backends.
    let d = "  sel:\n    F|re: 'b+'\n  condition: sel\n";
    assert_eq!(matches(d, &[r#"{"F":"abbc"}"#]), vec![true]);
}

#[test]
fn neq_negates_the_item() {
    // pySigma: `neq` is SigmaNegateModifier: NOT(field = any value).
    let d = "  sel:\n    A: 1\n    B|neq:\n      - x\n      - y\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"A":1,"B":"z"}"#,
                r#"{"A":1,"B":"X"}"#,
                r#"{"A":1,"B":"y"}"#,
                r#"{"A":1}"#
            ]
        ),
        vec![true, false, false, true]
    );
}

#[test]
fn windash_permutes_dashes() {
    // Modifiers appendix `windash`: -, /, en dash, em dash, horizontal bar.
    let d = "  sel:\n    C|windash|contains: ' -exec bypass'\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"C":"ps /exec bypass"}"#,
                r#"{"C":"ps –exec bypass"}"#,
                r#"{"C":"ps —exec bypass"}"#,
                r#"{"C":"ps ―exec bypass"}"#,
                r#"{"C":"ps -exec bypass"}"#,
                r#"{"C":"ps +exec bypass"}"#,
            ]
        ),
        vec![true, true, true, true, true, false]
    );
}

#[test]
fn base64_and_utf16_encodings() {
    // `whoami` base64 = d2hvYW1p; base64offset gives three shifted forms.
    let d = "  sel:\n    C|base64offset|contains: 'whoami'\n  condition: sel\n";
    let b64 = |s: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let events: Vec<String> = ["whoami", "xwhoami", "xxwhoami", "whoam"]
        .iter()
        .map(|p| {
            format!(
                r#"{{"C":"powershell -e {}"}}"#,
                b64(format!("{p} /all").as_bytes())
            )
        })
        .collect();
    let refs: Vec<&str> = events.iter().map(String::as_str).collect();
    assert_eq!(matches(d, &refs), vec![true, true, true, false]);
    let d = "  sel:\n    C|base64: 'cmd'\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"C":"Y21k"}"#, r#"{"C":"Y21kZA=="}"#]),
        vec![true, false]
    );
    // utf16le|base64offset: what `powershell -enc` payloads look like.
    let d = "  sel:\n    C|wide|base64offset|contains: 'ping'\n  condition: sel\n";
    let utf16: Vec<u8> = "x ping 1"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let ev = format!(r#"{{"C":"-enc {}"}}"#, b64(&utf16));
    assert_eq!(
        matches(d, &[&ev, r#"{"C":"-enc AAAA"}"#]),
        vec![true, false]
    );
}

#[test]
fn numeric_comparisons() {
    let d = "  sel:\n    N|gt: 10\n    M|lte: 5\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"N":11,"M":5}"#,
                r#"{"N":"10.5","M":"0x5"}"#,
                r#"{"N":10,"M":1}"#,
                r#"{"N":"abc","M":1}"#
            ]
        ),
        vec![true, true, false, false]
    );
    let d = "  sel:\n    N|lt: 0\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"N":-1}"#, r#"{"N":0}"#]),
        vec![true, false]
    );
    let d = "  sel:\n    N|gte: 3\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"N":3}"#, r#"{"N":2.9}"#]),
        vec![true, false]
    );
}

#[test]
fn time_part_modifiers() {
    // Modifiers appendix, "Time Modifiers": parts read as written, no zone conversion.
    let d = "  sel:\n    T|hour: 3\n    T|month: 11\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"T":"2026-11-28T03:15:00Z"}"#,
                r#"{"T":"2026-11-28T04:15:00Z"}"#,
                r#"{"T":"nope"}"#
            ]
        ),
        vec![true, false, false]
    );
    let d = "  sel:\n    T|minute: 15\n    T|day: 28\n    T|year: 2026\n    T|week: 48\n  condition: sel\n";
    assert_eq!(matches(d, &[r#"{"T":"2026-11-28 03:15:00"}"#]), vec![true]);
}

#[test]
fn cidr_ipv4_and_ipv6() {
    let d = "  sel:\n    Ip|cidr:\n      - 10.0.0.0/8\n      - 'fe80::/10'\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"Ip":"10.1.2.3"}"#,
                r#"{"Ip":"11.0.0.1"}"#,
                r#"{"Ip":"fe80::1"}"#,
                r#"{"Ip":"not an ip"}"#
            ]
        ),
        vec![true, false, true, false]
    );
}

#[test]
fn fieldref_compares_fields() {
    // Modifiers appendix `fieldref`, combinable with `neq` (v2.1).
    let d = "  sel:\n    A|fieldref: B\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"A":"x","B":"X"}"#,
                r#"{"A":"x","B":"y"}"#,
                r#"{"A":"x"}"#
            ]
        ),
        vec![true, false, false]
    );
    let d = "  sel:\n    A|fieldref|neq: B\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"A":"x","B":"X"}"#, r#"{"A":"x","B":"y"}"#]),
        vec![false, true]
    );
    let d = "  sel:\n    A|fieldref|endswith: B\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"A":"c:\\x\\cmd.exe","B":"cmd.exe"}"#,
                r#"{"A":"cmd.exe.bak","B":"cmd.exe"}"#
            ]
        ),
        vec![true, false]
    );
}

#[test]
fn expand_uses_placeholder_values_and_reports_undefined_ones() {
    let yaml = "title: p\ndetection:\n  sel:\n    User|expand: '%Admins%'\n  condition: sel\n";
    let mut ph = HashMap::new();
    ph.insert(
        "Admins".to_string(),
        vec!["root".to_string(), "adm_*".to_string()],
    );
    let rs = compile_with(yaml, &ph).unwrap();
    let mut m = Matcher::new(&rs);
    let hit = |m: &mut Matcher, e: &str| !m.match_line(e.as_bytes()).unwrap().is_empty();
    assert!(hit(&mut m, r#"{"User":"ROOT"}"#));
    assert!(hit(&mut m, r#"{"User":"adm_bob"}"#));
    assert!(!hit(&mut m, r#"{"User":"bob"}"#));
    let err = compile_with(yaml, &HashMap::new()).unwrap_err();
    assert!(
        err.contains("placeholder `%Admins%` is not defined"),
        "{err}"
    );
}

#[test]
fn keywords_search_every_string_value() {
    // Spec "Keywords search": a list under a search identifier is searched
    // across the whole event; `|all` requires every keyword.
    let d = "  kw:\n    - 'mimikatz'\n    - 'sekurlsa'\n  condition: kw\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"a":"x","b":{"c":"run MIMIKATZ.exe"}}"#,
                r#"{"a":"nothing"}"#,
                r#"{"n":1}"#
            ]
        ),
        vec![true, false, false]
    );
    let d = "  kw:\n    '|all':\n      - 'OabVirtualDirectory'\n      - ' -ExternalUrl '\n  condition: kw\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"m":"Set-OabVirtualDirectory -ExternalUrl x"}"#,
                r#"{"m":"Set-OabVirtualDirectory"}"#
            ]
        ),
        vec![true, false]
    );
    let d = "  kw:\n    - '*apt-get install zmap*'\n  condition: kw\n";
    assert_eq!(
        matches(d, &[r#"{"message":"Commandline: apt-get install zmap"}"#]),
        vec![true]
    );
}

#[test]
fn lists_of_maps_are_or_and_maps_are_and() {
    let d = "  sel:\n    - A: 1\n      B: 2\n    - C: 3\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"A":1,"B":2}"#,
                r#"{"A":1}"#,
                r#"{"C":3}"#,
                r#"{"B":2,"C":4}"#
            ]
        ),
        vec![true, false, true, false]
    );
}

#[test]
fn condition_forms() {
    let base =
        "  sel1:\n    A: 1\n  sel2:\n    B: 1\n  filter_x:\n    C: 1\n  _hidden:\n    D: 1\n";
    let ev = [
        r#"{"A":1}"#,
        r#"{"A":1,"B":1}"#,
        r#"{"A":1,"C":1}"#,
        r#"{"D":1}"#,
        r#"{"B":1,"C":1}"#,
    ];
    let run = |cond: &str| matches(&format!("{base}  condition: {cond}\n"), &ev);
    assert_eq!(
        run("sel1 and not filter_x"),
        vec![true, true, false, false, false]
    );
    assert_eq!(run("1 of sel*"), vec![true, true, true, false, true]);
    assert_eq!(run("all of sel*"), vec![false, true, false, false, false]);
    // `them` ignores identifiers starting with `_` (rules spec, "1/all of them").
    assert_eq!(run("1 of them"), vec![true, true, true, false, true]);
    assert_eq!(run("all of them"), vec![false, false, false, false, false]);
    assert_eq!(run("2 of them"), vec![false, true, true, false, true]);
    assert_eq!(
        run("sel1 or sel2 and filter_x"),
        vec![true, true, true, false, true]
    );
    assert_eq!(
        run("(sel1 or sel2) and not 1 of filter_*"),
        vec![true, true, false, false, false]
    );
    assert_eq!(run("_hidden"), vec![false, false, false, true, false]);
    // A list of conditions is an OR.
    let d = format!("{base}  condition:\n    - sel2\n    - _hidden\n");
    assert_eq!(matches(&d, &ev), vec![false, true, false, true, true]);
}

#[test]
fn rule_errors_are_reported_with_reasons() {
    assert!(fails("  sel:\n    A|nope: 1\n  condition: sel\n").contains("unknown modifier `nope`"));
    assert!(
        fails("  sel:\n    A: 1\n  condition: sel and x\n")
            .contains("unknown search identifier `x`")
    );
    assert!(
        fails("  sel:\n    A|re: '(('\n  condition: sel\n").contains("invalid regular expression")
    );
    assert!(fails("  sel:\n    A|cidr: '1.2.3.4/40'\n  condition: sel\n").contains("invalid CIDR"));
    assert!(fails("  sel:\n    A: 1\n").contains("missing required key `condition`"));
    assert!(
        fails("  sel:\n    A: 1\n  condition: sel | count() by B > 3\n").contains("aggregation")
    );
    assert!(fails("  sel:\n    A: 1\n  condition: sel near other\n").contains("near"));
    assert!(fails("  sel:\n    A|base64: 'a*'\n  condition: sel\n").contains("wildcards"));
    assert!(fails("  sel:\n    A|gt: abc\n  condition: sel\n").contains("needs a number"));
}

#[test]
fn all_with_expanding_modifiers_links_values_not_alternatives() {
    // pySigma: windash turns each value into a SigmaExpansion (OR of
    // alternatives); `all` then ANDs the values, not the alternatives.
    let d =
        "  sel:\n    C|windash|contains|all:\n      - ' -y '\n      - ' -p '\n  condition: sel\n";
    assert_eq!(
        matches(
            d,
            &[
                r#"{"C":"x /y  /p z"}"#,
                r#"{"C":"x -y  –p z"}"#,
                r#"{"C":"x -y z"}"#
            ]
        ),
        vec![true, true, false]
    );
    let d = "  sel:\n    C|base64offset|contains|all:\n      - 'abc'\n      - 'xyz'\n  condition: sel\n";
    assert_eq!(
        matches(d, &[r#"{"C":"YWJjIHh5eg=="}"#, r#"{"C":"YWJj"}"#]),
        vec![true, false]
    );
}
