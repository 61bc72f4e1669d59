//! Timesketch's own expectations for its rule conversion
//! (google/timesketch `timesketch/lib/sigma_util_test.py` at commit 45b339bb,
//! with `data/sigma_config.yaml` = `testdata/timesketch/sigma_config.yaml`),
//! and the stored queries of the sample rules of `testdata/timesketch/rules`
//! as sigmatools 0.19.1 produces them (`tests/tools/timesketch_reference.py`).

use std::path::Path;

use sigma_match::timesketch::query::{
    ConvertOptions, Statuses, TimesketchConfig, TimesketchError, TimesketchQuery, timesketch_query,
};

fn config() -> TimesketchConfig {
    TimesketchConfig::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/timesketch/sigma_config.yaml"))
        .unwrap()
}

fn convert(rule: &str) -> Result<TimesketchQuery, TimesketchError> {
    timesketch_query(rule, Path::new("test.yml"), &config(), &ConvertOptions::default())
}

fn query(rule: &str) -> String {
    convert(rule).unwrap_or_else(|e| panic!("{e}")).es_query
}

#[test]
fn get_rule_by_text() {
    let rule = r"
title: Login with WMI
id: 5af54681-df95-4c26-854f-2565e13cfab0
status: stable
description: Detection of logins performed with WMI
author: Thomas Patzke
date: 2019/12/04
tags:
    - attack.execution
    - attack.t1047
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4624
        ProcessName|endswith: '\WmiPrvSE.exe'
    condition: selection
falsepositives:
    - Monitoring tools
    - Legitimate system administration
level: low
";
    let q = convert(rule).unwrap();
    assert_eq!(
        q.es_query,
        r#"(data_type:"windows:evtx:record" AND source_name:("Microsoft-Windows-Security-Auditing" OR "Microsoft-Windows-Eventlog") AND event_identifier:"4624" AND xml_string:"\\WmiPrvSE.exe")"#
    );
    assert!(q.is_analyzed(Statuses::Stable));
    assert_eq!(q.tags, ["attack.execution", "attack.t1047"]);
}

#[test]
fn get_rule_by_text_zmap_rule() {
    let rule = "
title: Suspicious Installation of ZMap
id: 5266a592-b793-11ea-b3de-0242ac130004
description: Detects suspicious installation of zmap
references:
    - https://rmusser.net/docs/ATT&CK-Stuff/ATT&CK/Discovery.html
author: Alexander Jaeger
date: 2020/06/26
modified: 2020/06/26
logsource:
    product: linux
    service: shell
detection:
    keywords:
        # Generic suspicious commands
        - '*apt-get install zmap*'
    condition: keywords
falsepositives:
    - Unknown
level: high
";
    let q = convert(rule).unwrap();
    assert_eq!(
        q.es_query,
        r#"(data_type:("shell:zsh:history" OR "bash:history:command" OR "apt:history:line" OR "selinux:line") AND "apt-get install zmap")"#
    );
    // No status: Timesketch stores `experimental`, the analyzer skips it.
    assert!(!q.is_analyzed(Statuses::Stable));
    assert!(q.is_analyzed(Statuses::All));
}

#[test]
fn get_rule_by_text_no_sanitize_case() {
    let rule = r"
title: TEST
id: BLAH
status: test
description: test
author: test
date: 2020/02/01
modified: 2020/02/01
tags:
    - tag1
logsource:
    category: process_creation
    product: windows
detection:
    selection_img:
        - Image|endswith: '\foo.exe'
        - OriginalFileName: 'origfile.exe'
    selection_cli:
        CommandLine|contains|all:
            - 'bar'
            - '.dll'
            - 'Baz'
    filter:
        CommandLine|contains:
            - ' /foo bar.dll '
            - ' baz.dll '
    condition: all of selection_* and not filter
falsepositives:
    - Unknown
level: high
";
    assert_eq!(
        query(rule),
        r#"(data_type:"windows:evtx:record" AND event_identifier:("1" OR "4688") AND source_name:("Microsoft-Windows-Sysmon" OR "Microsoft-Windows-Security-Auditing" OR "Microsoft-Windows-Eventlog") AND ((message:"\\foo.exe" OR xml_string:"origfile.exe") AND (xml_string:*bar* AND xml_string:*.dll* AND xml_string:"Baz")) AND (NOT (xml_string:(" \/foo bar.dll " OR " baz.dll "))))"#
    );
}

#[test]
fn get_rule_by_text_parsing_error() {
    let rule = "
title: Suspicious Foobar
description: Detects suspicious installation of zmap
references:
    - https://rmusser.net/docs/ATT&CK-Stuff/ATT&CK/Discovery.html
author: Alexander Jaeger
date: 2020/06/26
modified: 2020/06/26
";
    let e = convert(rule).unwrap_err();
    assert_eq!(e.class(), "SigmaParseError");
    assert_eq!(e.to_string(), "SigmaParseError: No detection definitions found");
    assert_eq!(e.log_line(), "Sigma parsing error rule No detection definitions found");
}

#[test]
fn get_rule_by_text_whitespaces_in_detection() {
    let rule = "
title: This rule is full of test edge cases
id: aaa-3-34444-45-5-5-555
description: Various edge cases in a rule
references:
    - https://github.com/google/timesketch/issues/2007
author: Alexander Jaeger
date: 2021/12/03
modified: 2021/12/03
detection:
    keywords:
        - 'Whitespace at'
        - ' beginning '
        - ' and extra text '
    condition: keywords
falsepositives:
    - Unknown
level: high
";
    assert_eq!(query(rule), r#"("Whitespace at" OR " beginning " OR " and extra text ")"#);
}

#[test]
fn get_rule_by_text_minimal_rule() {
    let rule = "
title: foo
description: bar
id: aaaa-aaa-aaaa-aaaa
logsource:
    product: windows
detection:
    keywords:
        - ' lorem '
    condition: keywords
";
    assert_eq!(query(rule), r#"(data_type:"windows:evtx:record" AND " lorem ")"#);
}

#[test]
fn get_rule_by_text_count_condition_error() {
    let rule = "
title: count in detection
description: rule that has count in the condition to error out
id: aaaaa-aaaa-aaa-aaa-aaa
detection:
  selection:
    action: failure
  timeframe: 10s
  condition: selection | count(category) by foo > 30
fields:
  - foo
  - bar
  - user
";
    let e = convert(rule).unwrap_err();
    assert_eq!(e.class(), "NotImplementedError");
    assert_eq!(e.log_line(), "Error generating rule Aggregations not implemented for this backend");
}

#[test]
fn get_rule_by_text_date_error() {
    let rule = "
title: Wrong dateformat
id: 67b9a11a-03ae-490a-9156-9be9900f86b0
description: Does nothing useful
references:
    - https://github.com/google/timesketch/issues/2033
author: Alexander Jaeger
date: 2022-01-10
modified: dd23d2323432
detection:
    keywords:
        - 'foobar'
    condition: keywords
";
    // A lone keyword is generated while the backend's `matchKeyword` is still
    // True (no field came before it), so it stays unquoted.
    assert_eq!(query(rule), "foobar");
}

#[test]
fn get_rule_by_text_dots_in_keywords() {
    let rule = "
title: Two dots
id: 67b9a11a-03ae-490a-9156-9be9900aaaaa
description: Similar to a mimikatz rule
references:
    - https://github.com/google/timesketch/issues/2007
author: Alexander Jaeger
date: 2022-01-25
modified: 2022-01-25
detection:
    keywords:
        - 'aaa:bbb'
        - 'ccc::ddd'
    condition: keywords
";
    let q = convert(rule).unwrap();
    assert_eq!(q.id, "67b9a11a-03ae-490a-9156-9be9900aaaaa");
    assert_eq!(q.es_query, r#"("aaa:bbb" OR "ccc\:\:ddd")"#);
}

#[test]
fn get_rule_by_text_startswith_endswith_mixed() {
    let rule = r"
title: MIXED LSASS Mock rule to test various combinations
id: 5d2c62fe-3cbb-47c3-88e1-88ef73503a9f
description: rule to make a complex test case
status: experimental
author: Alexander Jaeger
date: 2022/04/26
logsource:
    category: process_access
    product: windows
detection:
    selection:
        TargetImage|endswith: '\foobar.exe'
        GrantedAccess|endswith: '10'
    filter1:
        SourceImage:
            - 'C:\WINDOWS\system32\foo.exe'
            - 'C:\Users\\*\AppData\Local\Programs\Microsoft VS Code\Microsoft.exe'
    filter2:
        SourceImage|startswith: 'C:\ProgramData\Microsoft\Windows Avangers\'
        SourceImage|endswith: '\MsMpFoo.exe'
    filter6:
        SourceImage|startswith:
            - 'C:\Program Files\'
            - 'C:\Program Files (x86)\'
        SourceImage|contains:
            - 'Provirus'
    filter_localappdata:
        SourceImage|contains|all:
            - 'C:\Users\'
            - '\AppData\Local\'
        SourceImage|endswith:
            - '\Maxisoft AB Cade\Cade.exe'
            - '\PickUpdate.exe'
    condition: selection and not 1 of filter*
level: medium
";
    let q = query(rule);
    assert!(q.contains(r#"event_identifier:"10""#), "{q}");
    assert!(q.contains(r#"xml_string:"\\foobar.exe" AND xml_string:"10""#), "{q}");
}

#[test]
fn get_sigma_rule_by_text_missing_title() {
    let rule = r"
id: 5af54681-df95-4c26-854f-2565e13cfab0
status: stable
description: Detection of logins performed with WMI
detection:
    selection:
        EventID: 4624
        ProcessName|endswith: '\WmiPrvSE.exe'
    condition: selection
";
    let e = convert(rule).unwrap_err();
    assert_eq!(e.class(), "ValueError");
    assert_eq!(e.log_line(), "Missing value: 'title' from the YAML data.");
}

#[test]
fn get_sigmarule_by_text_first_term() {
    let rule = r"
title: WMI Login
id: 5af54681-df95-4c26-854f-2565e13cfab0
status: stable
description: Detection of logins performed with WMI
detection:
    star:
        star:
            - '*stararoundterm*'
    quote:
        quote:
            - 'quote'
    condition:
        (1 of star) and (1 of quote)
";
    assert!(convert(rule).is_ok());
}

#[test]
fn sigmarule_by_text_three_words() {
    let rule = r"
title: test terms
id: 6d8ca9f2-79e2-44bd-957d-b4d810374972
description: Rule to test combination of three words and how they are parsed
status: experimental
level: medium
detection:
    keywords:
        - '*onlyoneterm*'
        - '*two words*'
        - '*completely new term*'
    condition: keywords";
    assert_eq!(query(rule), r#"("onlyoneterm" OR "two words" OR "completely new term")"#);
}

#[test]
fn get_rule_by_text_specialchar() {
    let rule = r#"
title: Vim GTFOBin Abuse - Linux
id: 7ab8f73a-fcff-428b-84aa-6a5ff7877dea
status: test
description: Detects usage of "vim" and it's siblings as a GTFOBin to execute and proxy command and binary execution
logsource:
    category: process_creation
    product: linux
detection:
    selection_img:
        Image|endswith:
            - '/vim'
            - '/rvim'
        CommandLine|contains:
            - ' -c '
            - ' --cmd'
    selection_cli:
        CommandLine|contains:
            - ':!/'
            - ':py '
    condition: all of selection_*
level: high
"#;
    assert!(convert(rule).is_ok());
}

/// Errors of sigmac 0.19.1 that SigmaHQ rules hit (reference:
/// tests/golden/timesketch_queries.tsv).
#[test]
fn unsupported_modifiers_and_values_fail_as_in_sigmac() {
    let base = "title: t\nid: x\ndescription: d\nlogsource: {product: windows}\ndetection:\n  sel:\n";
    let cases = [
        ("    CommandLine|windash: '-a'\n", "KeyError: 'windash'"),
        ("    DestinationIp|cidr: '10.0.0.0/8'\n", "KeyError: 'cidr'"),
        ("    CommandLine|contains: 5\n", "SigmaModifierValueTypeError: "),
        ("    Enabled: true\n", "TypeError: Backend does not support map values of type <class 'bool'>"),
    ];
    for (sel, want) in cases {
        let rule = format!("{base}{sel}  condition: sel\n");
        assert_eq!(convert(&rule).unwrap_err().to_string(), want, "{sel}");
    }
}

#[test]
fn sample_rules_as_sigmatools_converts_them() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/timesketch/rules");
    let cases = [
        (
            "lnx_susp_zmap.yml",
            r#"(data_type:("shell:zsh:history" OR "bash:history:command" OR "apt:history:line" OR "selinux:line") AND "apt-get install zmap")"#,
        ),
        (
            "win_powershell_susp_1.yaml",
            r#"xml_string:(" -NoP " OR " -W Hidden " OR " -decode " OR " \/decode " OR ".downloadstring\(" OR ".downloadfile\(")"#,
        ),
        (
            "win_suspicious_keywords.yml",
            r#"message:(" mimi" OR "lsass.dmp" OR "powershell -nop -w hidden -encodedcommand" OR "vssadmin" OR ".dmp full")"#,
        ),
    ];
    for (file, want) in cases {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert_eq!(query(&text), want, "{file}");
    }
}
