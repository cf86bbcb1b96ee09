//! The alerts workload: keyword and pattern subscriptions over a stream of log lines, the
//! regexp-heavy case (an operations console where each engineer watches for the errors,
//! hosts and services they own; a news or social feed with saved keyword searches looks the
//! same).
//!
//! Filters, each drawn from a vocabulary of a few thousand words (a skewed draw, as real
//! vocabularies are):
//!
//! * a word anywhere in the message, case-insensitive (`\bword\b`, flags `i`): 35%;
//! * two words in order (`first.*second`): 20%;
//! * a word in one service's messages (`service == S` and a `regexp`): 15%;
//! * one of three words at a minimum level (`range level`, alternation `(a|b|c)`): 10%;
//! * a host family (`^web-[0-9]+\.dc3$` on `host`): 10%;
//! * a negated word in a service (`service == S`, `not regexp`): 5%;
//! * structural patterns with no literal to index (`^[A-Z]{3}-[0-9]{4}`: ticket ids), 5%:
//!   they are evaluated on every message, by both engines.
//!
//! A document is a log line: service, host, level, a message of 8 to 20 words, sometimes a
//! ticket id. A line matches a few tenths of a percent of the filters.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::common::{below, canonical_key, chance, gen, int_in, pick, skewed, weighted, Gen};
use super::Workload;

const SERVICES: &[&str] = &[
    "api",
    "auth",
    "billing",
    "search",
    "checkout",
    "mailer",
    "scheduler",
    "gateway",
    "storage",
    "cache",
    "queue",
    "reports",
    "ingest",
    "notifier",
    "payments",
    "profile",
];
const DATACENTERS: &[&str] = &["dc1", "dc2", "dc3", "eu-west", "us-east", "ap-south"];
const ROLES: &[&str] = &[
    "web", "db", "worker", "cache", "lb", "batch", "edge", "kafka",
];

/// Letters a syllable is made of, and the syllables: words are pronounceable and distinct.
const ONSETS: &[&str] = &[
    "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st",
    "tr", "pl",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ou", "ai"];

/// The vocabulary: `n` distinct words of two or three syllables.
fn vocabulary(g: &mut Gen, n: usize) -> Vec<String> {
    let mut seen = HashSet::with_capacity(n);
    let mut words = Vec::with_capacity(n);
    while words.len() < n {
        let syllables = 2 + below(g, 2);
        let word: String = (0..syllables)
            .map(|_| format!("{}{}", pick(g, ONSETS), pick(g, VOWELS)))
            .collect();
        if seen.insert(word.clone()) {
            words.push(word);
        }
    }
    words
}

fn word<'a>(g: &mut Gen, words: &'a [String]) -> &'a str {
    &words[skewed(g, words.len())]
}

fn host(g: &mut Gen) -> String {
    format!(
        "{}-{}.{}",
        pick(g, ROLES),
        int_in(g, 1, 40),
        pick(g, DATACENTERS)
    )
}

fn filter(g: &mut Gen, words: &[String]) -> Value {
    match weighted(g, &[35.0, 20.0, 15.0, 10.0, 10.0, 5.0, 5.0]) {
        0 => {
            json!({"regexp": {"message": {"value": format!("\\b{}\\b", word(g, words)), "flags": "i"}}})
        }
        1 => json!({"regexp": {"message": format!("{}.*{}", word(g, words), word(g, words))}}),
        2 => json!({"and": [
            {"equals": {"service": pick(g, SERVICES)}},
            {"regexp": {"message": {"value": word(g, words), "flags": "i"}}},
        ]}),
        3 => json!({"and": [
            {"range": {"level": {"gte": int_in(g, 2, 5)}}},
            {"regexp": {"message": format!("({}|{}|{})", word(g, words), word(g, words), word(g, words))}},
        ]}),
        4 => {
            json!({"regexp": {"host": format!("^{}-[0-9]+\\.{}$", pick(g, ROLES), pick(g, DATACENTERS))}})
        }
        5 => json!({"and": [
            {"equals": {"service": pick(g, SERVICES)}},
            {"not": {"regexp": {"message": format!("\\b{}\\b", word(g, words))}}},
        ]}),
        _ => {
            json!({"regexp": {"message": format!("^[A-Z]{{{}}}-[0-9]{{{}}}", 2 + below(g, 3), 3 + below(g, 3))}})
        }
    }
}

fn log_line(g: &mut Gen, words: &[String], i: usize) -> Value {
    let n = 8 + below(g, 13);
    let mut message: Vec<String> = (0..n).map(|_| word(g, words).to_string()).collect();
    if chance(g, 0.5) {
        // Capitalized words and ticket ids, as in real lines.
        message[0] = message[0].to_uppercase();
    }
    if chance(g, 0.1) {
        message.insert(0, format!("OPS-{}", int_in(g, 100, 99_999)));
    }
    json!({
        "_id": format!("log-{i}"),
        "service": pick(g, SERVICES),
        "host": host(g),
        "level": int_in(g, 0, 5),
        "message": message.join(" "),
        "ts": 1_700_000_000_000_i64 + 1000 * i as i64,
    })
}

/// The alerts workload: `n_filters` distinct filters and `n_docs` log lines.
pub fn alerts(n_filters: usize, n_docs: usize, seed: u64) -> Workload {
    let mut g = gen(seed, 0x414C_4552);
    // The vocabulary grows with the subscriptions, as more users watch more words.
    let words = vocabulary(&mut g, 2_000 + n_filters / 10);
    let mut seen: HashSet<String> = HashSet::with_capacity(n_filters);
    let mut filters = Vec::with_capacity(n_filters);
    while filters.len() < n_filters {
        let mut f = Value::Null;
        for _ in 0..32 {
            f = filter(&mut g, &words);
            if seen.insert(canonical_key(&f)) {
                break;
            }
        }
        filters.push(f);
    }
    let mut dg = gen(seed, 0x414C_4552_444F);
    let docs = (0..n_docs).map(|i| log_line(&mut dg, &words, i)).collect();
    Workload { filters, docs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_mostly_regexps() {
        let a = alerts(2000, 50, 7);
        assert_eq!(a, alerts(2000, 50, 7));
        assert_eq!(a.filters.len(), 2000);
        let regexps = a
            .filters
            .iter()
            .filter(|f| f.to_string().contains(r#""regexp""#))
            .count();
        assert_eq!(regexps, 2000);
    }

    #[test]
    fn a_line_matches_well_under_one_percent() {
        let w = alerts(5000, 200, 3);
        let counts = super::super::matches_per_doc(&w);
        let mean = counts.iter().sum::<usize>() as f64 / counts.len() as f64;
        assert!(mean > 1.0 && mean < 50.0, "mean {mean} matches per line");
    }
}
