//! The filter language against the oracle corpora of `tests/data/oracle/` (computed with
//! Koncorde 4.7 and the intended-semantics reference): matches, identity and rejections.
//!
//! Every corpus directory there is checked, so a new corpus is picked up by copying it in.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use herald_filters::document::Flat;
use herald_filters::engine::{CollectionName, Engine};
use herald_filters::eval::{eval_canonical, eval_nnf};
use herald_filters::{normalize, FilterId, Options};
use serde_json::Value;

mod support;
use support::oracle_dir;

fn corpora() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(oracle_dir())
        .expect("read tests/data/oracle")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("filters.jsonl").is_file())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no oracle corpus found");
    dirs
}

fn jsonl(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

fn indexes(v: &Value) -> BTreeSet<usize> {
    v.as_array()
        .expect("array of indexes")
        .iter()
        .map(|i| i.as_u64().expect("index") as usize)
        .collect()
}

/// For each filter, the set of documents it matches (through the standardized tree), after
/// checking that the canonical form gives the same answer on every document.
fn results(filters: &[Value], docs: &[Value]) -> Vec<BTreeSet<usize>> {
    let options = Options::default();
    let flats: Vec<Flat<'_>> = docs.iter().map(Flat::new).collect();
    filters
        .iter()
        .enumerate()
        .map(|(f, filter)| {
            let n = normalize(filter, &options)
                .unwrap_or_else(|e| panic!("filter {f} rejected: {e}: {filter}"));
            let mut matched = BTreeSet::new();
            for (d, flat) in flats.iter().enumerate() {
                let by_tree = eval_nnf(n.standardized.nnf(), flat);
                let by_canonical = eval_canonical(&n.canonical, flat);
                assert_eq!(
                    by_tree, by_canonical,
                    "filter {f}, doc {d}: tree and canonical form disagree: {filter}"
                );
                if by_tree {
                    matched.insert(d);
                }
            }
            matched
        })
        .collect()
}

#[test]
fn matches_expected_intended() {
    for dir in corpora() {
        let filters = jsonl(&dir.join("filters.jsonl"));
        let docs = jsonl(&dir.join("docs.jsonl"));
        let expected = jsonl(&dir.join("expected-intended.jsonl"));
        let results = results(&filters, &docs);
        let mut wrong = Vec::new();
        for (d, line) in expected.iter().enumerate() {
            let want = indexes(line);
            for (f, matched) in results.iter().enumerate() {
                if matched.contains(&d) != want.contains(&f) {
                    wrong.push((f, d, want.contains(&f)));
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "{}: {} wrong pairs, first (filter, doc, expected): {:?}",
            dir.display(),
            wrong.len(),
            &wrong[..wrong.len().min(20)]
        );
    }
}

#[test]
fn identity_follows_meaning() {
    let options = Options::default();
    for dir in corpora() {
        let filters = jsonl(&dir.join("filters.jsonl"));
        let docs = jsonl(&dir.join("docs.jsonl"));
        let normalized = jsonl(&dir.join("normalized.jsonl"));
        let ids: Vec<String> = filters
            .iter()
            .map(|f| normalize(f, &options).expect("valid").id.to_hex())
            .collect();
        // Koncorde's id for "pruned entirely" is not an equivalence class for Herald.
        let pruned =
            |i: usize| normalized[i]["normalized"] == serde_json::json!([[{"nothing": true}]]);
        let mut groups_checked = 0;
        for group in jsonl(&dir.join("same.jsonl")) {
            let group: Vec<usize> = indexes(&group).into_iter().collect();
            if group.iter().all(|&i| pruned(i)) {
                continue;
            }
            groups_checked += 1;
            for &i in &group[1..] {
                assert_eq!(
                    ids[group[0]],
                    ids[i],
                    "{}: filters {} and {i} should share an id:\n{}\n{}",
                    dir.display(),
                    group[0],
                    filters[group[0]],
                    filters[i]
                );
            }
        }
        assert!(groups_checked > 0);
        // No two filters with different results share an id.
        let results = results(&filters, &docs);
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            if let Some(&first) = by_id.get(id.as_str()) {
                assert_eq!(
                    results[first], results[i],
                    "filters {first} and {i} share id {id} but match differently"
                );
            } else {
                by_id.insert(id, i);
            }
        }
    }
}

#[test]
fn rejections_follow_intended() {
    let options = Options::default();
    for dir in corpora() {
        let invalid = jsonl(&dir.join("invalid.jsonl"));
        let intended = jsonl(&dir.join("invalid-intended.jsonl"));
        let docs = jsonl(&dir.join("docs.jsonl"));
        assert_eq!(invalid.len(), intended.len());
        let flats: Vec<Flat<'_>> = docs.iter().map(Flat::new).collect();
        // The accepted ones are also registered together in the matcher, which must agree.
        let engine = Engine::new();
        let collection = CollectionName::new("oracle", "invalid");
        let mut accepted: Vec<(usize, FilterId, BTreeSet<usize>)> = Vec::new();
        for (i, (case, want)) in invalid.iter().zip(&intended).enumerate() {
            let result = normalize(&case["filter"], &options);
            match want["herald"].as_str() {
                Some("reject") => assert!(
                    result.is_err(),
                    "{}: invalid line {i} should be rejected (Koncorde: {}): {}",
                    dir.display(),
                    case["error"],
                    case["filter"]
                ),
                Some("accept") => {
                    let n = result.unwrap_or_else(|e| {
                        panic!(
                            "invalid line {i} should be accepted, got {e}: {}",
                            case["filter"]
                        )
                    });
                    let got: BTreeSet<usize> = flats
                        .iter()
                        .enumerate()
                        .filter(|(_, f)| eval_nnf(n.standardized.nnf(), f))
                        .map(|(d, _)| d)
                        .collect();
                    assert_eq!(got, indexes(&want["matches"]), "invalid line {i}");
                    engine.register(&collection, n.id, &n.canonical);
                    accepted.push((i, n.id, got));
                }
                other => panic!("unexpected herald verdict {other:?}"),
            }
        }
        assert!(!accepted.is_empty());
        let mut ids = Vec::new();
        for (d, doc) in docs.iter().enumerate() {
            ids.clear();
            engine.test(&collection, doc, &mut ids);
            for (i, id, matches) in &accepted {
                assert_eq!(
                    ids.contains(id),
                    matches.contains(&d),
                    "{}: invalid line {i}, doc {d}: the matcher disagrees with the evaluator",
                    dir.display()
                );
            }
        }
    }
}
