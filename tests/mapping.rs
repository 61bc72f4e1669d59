//! Field mappings end to end: the Timesketch fixture with Timesketch's
//! config, SigmaHQ Windows rules on real Plaso records (XML resolution on
//! and off), the `fields` subcommand and `-c` on the command line.

use std::path::{Path, PathBuf};
use std::process::Command;

use sigma_match::compile::CompileOptions;
use sigma_match::run::engine::{self, RunOptions};
use sigma_match::compile::loader::{self, RuleFilter};
use sigma_match::mapping::{FieldMapping, Identity};
use sigma_match::output::report::{Costs, Report};
use sigma_match::mapping::sigmac::SigmacChain;

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(p)
}

/// Per rule file name: (events tagged, distinct records), and the report.
fn run(
    rules: &str,
    events: &str,
    configs: &[&str],
    no_evtx_xml: bool,
) -> (Vec<(String, u64, u64)>, Report) {
    let chain = SigmacChain::load(&configs.iter().map(|c| data(c)).collect::<Vec<_>>()).unwrap();
    let mapping: &dyn FieldMapping = if configs.is_empty() {
        &Identity
    } else {
        &chain
    };
    let opts = CompileOptions {
        mapping,
        ..Default::default()
    };
    let (rs, failed, _) = loader::load_ruleset(&[data(rules)], &RuleFilter::default(), opts);
    assert!(
        failed.is_empty(),
        "{:?}",
        failed
            .iter()
            .map(|f| f.issue.to_string())
            .collect::<Vec<_>>()
    );
    let input = data(events).display().to_string();
    let stats = engine::run(
        &rs,
        &[input],
        &RunOptions {
            no_evtx_xml,
            ..Default::default()
        },
        &mut [],
    )
    .unwrap();
    let mut out: Vec<(String, u64, u64)> = rs
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                r.rule
                    .path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                stats.counts[i],
                stats.records[i],
            )
        })
        .collect();
    out.sort();
    let report = Report::new(&rs, &failed, &stats, Costs::Omit);
    (out, report)
}

fn counts(v: &[(String, u64, u64)]) -> Vec<(&str, u64, u64)> {
    v.iter().map(|(n, c, r)| (n.as_str(), *c, *r)).collect()
}

#[test]
fn timesketch_fixture_with_timesketch_config() {
    let (c, report) = run(
        "timesketch/rules",
        "timesketch/sigma_events.jsonl",
        &["timesketch/sigma_config.yaml"],
        false,
    );
    assert_eq!(
        counts(&c),
        [
            // product linux + service shell: `shell` entry, data_type apt:history:line.
            ("lnx_susp_zmap.yml", 1, 1),
            // CommandLine -> xml_string, absent from every fixture event.
            ("win_powershell_susp_1.yaml", 0, 0),
            // plain values are whole-value matches (Sigma spec), no message equals them.
            ("win_suspicious_keywords.yml", 0, 0),
        ]
    );
    let missing: Vec<(&str, Vec<&str>, usize)> = report
        .missing_fields
        .iter()
        .map(|m| {
            (
                m.field.as_str(),
                m.rule_fields.iter().map(String::as_str).collect(),
                m.rules,
            )
        })
        .collect();
    assert_eq!(missing, [("xml_string", vec!["CommandLine"], 1)]);
}

#[test]
fn timesketch_logsource_condition_is_what_makes_zmap_match() {
    // The same keyword on an event of another data_type: no match with the
    // config (the `shell` entry's data_type condition), a match without.
    let dir = std::env::temp_dir().join(format!("sm-mapping-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ev = dir.join("e.jsonl");
    std::fs::write(
        &ev,
        "{\"message\":\"apt-get install zmap\",\"data_type\":\"syslog:line\"}\n",
    )
    .unwrap();
    let ev = ev.display().to_string();
    let rules = data("timesketch/rules/lnx_susp_zmap.yml");
    let config = data("timesketch/sigma_config.yaml");
    let out = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_sigma-match"))
            .args(args)
            .arg("-q")
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap()
    };
    let with = out(&[
        rules.to_str().unwrap(),
        &ev,
        "-c",
        config.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let without = out(&[
        rules.to_str().unwrap(),
        &ev,
        "--format",
        "json",
        "--no-scope",
    ]);
    // Logsource scoping (the default) agrees with the config: a syslog line
    // is `service: syslog/auth`, not `shell`.
    let scoped = out(&[rules.to_str().unwrap(), &ev, "--format", "json"]);
    let count = |s: &str| {
        serde_json::from_str::<serde_json::Value>(s).unwrap()["rules"][0]["count"]
            .as_u64()
            .unwrap()
    };
    assert_eq!((count(&with), count(&without), count(&scoped)), (0, 1, 0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Six SigmaHQ Windows rules of different categories (see
/// testdata/sigmahq/NOTICE.md) on real Plaso records.
#[test]
fn sigmahq_windows_rules_match_plaso_records_through_the_xml() {
    let (c, _) = run("sigmahq/rules", "plaso/plaso-sample.jsonl", &[], false);
    assert_eq!(
        counts(&c),
        [
            // powershell_script: ScriptBlockText of a 4104 record.
            ("posh_ps_susp_getprocess_lsass.yml", 1, 1),
            // process_access: GrantedAccess 0x001fffff (Plaso) = 0x1FFFFF (rule); both copies of the record.
            ("proc_access_win_susp_all_access_uncommon_target.yml", 2, 1),
            // process_creation: ParentImage of a Sysmon 1 record; both copies of the record.
            ("proc_creation_win_wmiprvse_spawning_process.yml", 2, 1),
            // registry_event: TargetObject of a Sysmon 13 record.
            ("registry_event_portproxy_registry_key.yml", 1, 1),
            // application: Provider_Name and unnamed <Data> of an MSSQL 18456 record.
            ("win_mssql_failed_logon.yml", 1, 1),
            // security: Provider_Name + UserData of a 1102 record.
            ("win_security_audit_log_cleared.yml", 1, 1),
        ]
    );
}

#[test]
fn without_xml_resolution_none_match_and_timesketch_config_cannot_rescue_equality_rules() {
    let (c, report) = run("sigmahq/rules", "plaso/plaso-sample.jsonl", &[], true);
    assert!(c.iter().all(|(_, n, _)| *n == 0), "{c:?}");
    assert!(
        report
            .missing_fields
            .iter()
            .any(|m| m.field == "ParentImage")
    );
    // Timesketch's raw behaviour: its config maps these fields to
    // `xml_string`, so only whole-record substring checks can match there;
    // `endswith`/equality checks on ParentImage, TargetImage, GrantedAccess
    // and the 1102 record's UserData cannot.
    let (ts, _) = run(
        "sigmahq/rules",
        "plaso/plaso-sample.jsonl",
        &["timesketch/sigma_config.yaml"],
        true,
    );
    assert_eq!(
        counts(&ts),
        [
            ("posh_ps_susp_getprocess_lsass.yml", 1, 1),
            ("proc_access_win_susp_all_access_uncommon_target.yml", 0, 0),
            ("proc_creation_win_wmiprvse_spawning_process.yml", 0, 0),
            ("registry_event_portproxy_registry_key.yml", 1, 1),
            ("win_mssql_failed_logon.yml", 1, 1),
            ("win_security_audit_log_cleared.yml", 0, 0),
        ]
    );
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_sigma-match"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn fields_subcommand_lists_names_before_and_after_mapping() {
    let rules = data("timesketch/rules");
    let config = data("timesketch/sigma_config.yaml");
    let (code, out, err) = cli(&[
        "fields",
        rules.to_str().unwrap(),
        "-c",
        config.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rules"], 3);
    assert_eq!(v["keyword_rules"], 1);
    let rule_fields: Vec<(String, u64, String)> = v["rule_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().into(),
                f["rules"].as_u64().unwrap(),
                f["mapped_to"][0].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        rule_fields,
        [
            ("CommandLine".into(), 1, "xml_string".into()),
            ("data_type".into(), 1, "data_type".into()),
            ("message".into(), 1, "message".into())
        ]
    );
    assert!(
        err.contains("warning: `TargetUserName` maps to `xml_String`"),
        "{err}"
    );
    let (_, table, _) = cli(&["fields", rules.to_str().unwrap()]);
    assert!(
        table.contains("CommandLine") && table.contains("event fields"),
        "{table}"
    );
}

#[test]
fn bad_config_is_a_usage_error_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("sm-badcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("bad.yml");
    std::fs::write(&cfg, "fieldmappings:\n  A: b\nlogsource:\n  x: 1\n").unwrap();
    let (code, _, err) = cli(&[
        data("timesketch/rules").to_str().unwrap(),
        data("timesketch/sigma_events.jsonl").to_str().unwrap(),
        "-c",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.yml:3:1: unknown key `logsource`"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn verbose_names_ignored_keys() {
    let (_, _, err) = cli(&[
        data("timesketch/rules").to_str().unwrap(),
        data("timesketch/sigma_events.jsonl").to_str().unwrap(),
        "-c",
        data("timesketch/sigma_config.yaml").to_str().unwrap(),
        "-q",
        "--verbose",
    ]);
    assert!(
        err.contains("ignored")
            && err.contains("`order` (line 2)")
            && err.contains("`backends` (line 3)"),
        "{err}"
    );
}

/// The shared Plaso export (16,926 events = 8,463 records) with every
/// SigmaHQ Windows rule: each tagged record is tagged twice.
#[test]
#[cfg_attr(
    not(shared_corpus),
    ignore = "set SIGMA_MATCH_SHARED to the shared corpus to run (as .ci/run does)"
)]
fn shared_corpus_plaso_counts_events_and_records() {
    let Some(shared) = std::env::var_os("SIGMA_MATCH_SHARED") else {
        eprintln!("SIGMA_MATCH_SHARED unset: shared-corpus mapping test not run");
        return;
    };
    let shared = PathBuf::from(shared);
    let rules = shared.join("sigmahq/rules/windows");
    let events = shared.join("events/plaso-attack.jsonl");
    assert!(
        rules.is_dir() && events.is_file(),
        "SIGMA_MATCH_SHARED set but {} / {} missing",
        rules.display(),
        events.display()
    );
    let (rs, _, _) =
        loader::load_ruleset(&[rules], &RuleFilter::default(), CompileOptions::default());
    let input = [events.display().to_string()];
    let on = engine::run(&rs, &input, &RunOptions::default(), &mut []).unwrap();
    let off = engine::run(
        &rs,
        &input,
        &RunOptions {
            no_evtx_xml: true,
            ..Default::default()
        },
        &mut [],
    )
    .unwrap();
    assert_eq!(on.events, 16_926);
    let hit = |s: &engine::RunStats| s.counts.iter().filter(|c| **c > 0).count();
    assert!(hit(&on) > 300, "{}", hit(&on));
    assert!(hit(&off) < 5, "{}", hit(&off));
    for (i, r) in rs.rules.iter().enumerate() {
        assert_eq!(on.counts[i], 2 * on.records[i], "{}", r.rule.title);
    }
}
