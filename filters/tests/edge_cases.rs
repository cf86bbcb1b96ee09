//! The 70 edge cases of the spec's section 14, with Herald's answers (section 15 flips four of
//! them; `data/edge_cases.jsonl` records both answers and the decision behind each flip).

use herald_filters::eval::eval;
use herald_filters::{standardize, Options};
use serde_json::Value;

#[test]
fn spec_edge_cases() {
    let cases = include_str!("data/edge_cases.jsonl");
    let mut count = 0;
    let mut flipped = 0;
    for (i, line) in cases.lines().enumerate() {
        let case: Value = serde_json::from_str(line).expect("valid case");
        let filter = standardize(&case["filter"], &Options::default())
            .unwrap_or_else(|e| panic!("case {i}: filter rejected: {e}"));
        let want = case["herald"].as_bool().expect("herald answer");
        assert_eq!(
            eval(&filter, &case["document"]),
            want,
            "case {i}: {} on {} ({})",
            case["filter"],
            case["document"],
            case["note"]
        );
        count += 1;
        if case["koncorde"] != case["herald"] {
            flipped += 1;
        }
    }
    assert_eq!(count, 70);
    assert_eq!(flipped, 4);
}
