//! The `herald` binary's offline commands, run as a user would run them.

use std::path::{Path, PathBuf};
use std::process::Command;

fn herald() -> Command {
    Command::new(env!("CARGO_BIN_EXE_herald"))
}

/// The oracle corpora of the filters crate (`filters/tests/data/oracle/`).
fn corpora() -> Vec<PathBuf> {
    let oracle = Path::new(env!("CARGO_MANIFEST_DIR")).join("filters/tests/data/oracle");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(oracle)
        .expect("read filters/tests/data/oracle")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("filters.jsonl").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn run_match(filters: &Path, docs: &Path) -> std::process::Output {
    herald()
        .args(["match", "--filters"])
        .arg(filters)
        .arg("--docs")
        .arg(docs)
        .output()
        .unwrap()
}

fn temp_file(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("herald-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn match_prints_expected_intended_on_every_corpus() {
    let dirs = corpora();
    assert!(!dirs.is_empty());
    for dir in dirs {
        let output = run_match(&dir.join("filters.jsonl"), &dir.join("docs.jsonl"));
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let expected = std::fs::read_to_string(dir.join("expected-intended.jsonl")).unwrap();
        let got = String::from_utf8(output.stdout).unwrap();
        assert_eq!(got.lines().count(), expected.lines().count());
        for (i, (g, e)) in got.lines().zip(expected.lines()).enumerate() {
            assert_eq!(g, e, "{}: document {i}", dir.display());
        }
    }
}

#[test]
fn match_aborts_on_an_invalid_filter_naming_the_line() {
    let filters = temp_file(
        "bad-filters.jsonl",
        "{\"equals\":{\"a\":1}}\n{\"range\":{\"a\":{\"gt\":\"x\"}}}\n",
    );
    let docs = temp_file("docs.jsonl", "{\"a\":1}\n");
    let output = run_match(&filters, &docs);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("range.a.gt"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn match_reports_identical_filters_on_every_line() {
    let filters = temp_file(
        "dup-filters.jsonl",
        "{\"in\":{\"a\":[\"x\",\"y\"]}}\n{\"exists\":\"b\"}\n{\"in\":{\"a\":[\"y\",\"x\"]}}\n{}\n",
    );
    let docs = temp_file("dup-docs.jsonl", "{\"a\":\"y\"}\n{\"b\":null}\n{}\n");
    let output = run_match(&filters, &docs);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "[0,2,3]\n[1,3]\n[3]\n"
    );
}

#[test]
fn normalize_prints_ids_and_errors() {
    let filters = temp_file(
        "norm.jsonl",
        "{\"in\":{\"a\":[\"x\",\"y\"]}}\n{\"or\":[{\"equals\":{\"a\":\"y\"}},{\"equals\":{\"a\":\"x\"}}]}\n{\"and\":[{\"exists\":\"a\"},{\"nope\":1}]}\nnot json\n",
    );
    let output = herald()
        .args(["normalize", "--filters"])
        .arg(&filters)
        .output()
        .unwrap();
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["id"], lines[1]["id"]);
    assert_eq!(lines[0]["id"].as_str().unwrap().len(), 64);
    assert_eq!(
        lines[0]["canonical"],
        serde_json::json!([[{"equals": {"a": "x"}, "not": false}], [{"equals": {"a": "y"}, "not": false}]])
    );
    assert_eq!(lines[2]["error"]["path"], "and[1].nope");
    assert_eq!(lines[2]["error"]["message"], "unknown keyword");
    assert!(lines[3]["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("invalid JSON"));
}

#[test]
fn bench_match_prints_one_json_line() {
    let filters = temp_file(
        "bench-filters.jsonl",
        "{\"equals\":{\"a\":1}}\n{\"equals\":{\"a\":1}}\n{\"range\":{\"a\":{\"gt\":\"x\"}}}\n{}\n",
    );
    let docs = temp_file("bench-docs.jsonl", "{\"a\":1}\n{\"a\":2}\n");
    let output = herald()
        .args(["bench-match", "--seconds", "0.2", "--filters"])
        .arg(&filters)
        .arg("--docs")
        .arg(&docs)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["filters"], 4);
    assert_eq!(v["rejected"], 1);
    assert_eq!(v["docs"], 2);
    // Doc 1 matches {a:1} (counted once) and {}; doc 2 only {}: 1.5 on average.
    assert!(
        (v["matches_per_doc"].as_f64().unwrap() - 1.5).abs() < 0.01,
        "{v}"
    );
    assert!(v["docs_per_s"].as_f64().unwrap() > 0.0);
}
