//! The `herald-workload` binary, run as `bench/compare.sh` runs it.

use std::path::PathBuf;
use std::process::Command;

fn out_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("herald-workload-bin-{}-{name}", std::process::id()))
}

fn lines(path: PathBuf) -> Vec<serde_json::Value> {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON value per line"))
        .collect()
}

#[test]
fn writes_the_workload_of_the_library() {
    let dir = out_dir("realistic");
    let output = Command::new(env!("CARGO_BIN_EXE_herald-workload"))
        .args(["--name", "realistic", "--filters", "50"])
        .args(["--docs", "7", "--seed", "3"])
        .arg("--out")
        .arg(&dir)
        .output()
        .expect("run herald-workload");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = herald_bench::workload::realistic(50, 7, 3);
    assert_eq!(lines(dir.join("filters.jsonl")), expected.filters);
    assert_eq!(lines(dir.join("docs.jsonl")), expected.docs);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn rejects_an_unknown_workload_listing_the_known_ones() {
    let dir = out_dir("nope");
    let output = Command::new(env!("CARGO_BIN_EXE_herald-workload"))
        .args(["--name", "nope", "--filters", "5"])
        .arg("--out")
        .arg(&dir)
        .output()
        .expect("run herald-workload");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown workload \"nope\""), "{stderr}");
    assert!(stderr.contains("koncorde-equals"), "{stderr}");
    assert!(!dir.exists());
}
