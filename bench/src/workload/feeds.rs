//! Feeds workload: the timelines of a social application, each a subscription to the accounts
//! a user follows.
//!
//! Why it looks this way. A home timeline is "posts by anyone I follow": one `in` over tens of
//! account ids (each value counts as a condition, and Koncorde's default limit is 50, so a
//! filter follows at most 49 accounts and keeps one condition for a language; a bigger
//! following would be split across subscriptions). Every filter is therefore an OR of many
//! `equals` on one field, and popular accounts are followed by a large share of the users, so
//! one post by a popular account reaches thousands of timelines while one by a small account
//! reaches a few. Counting-based matching touches every subfilter holding the author; the
//! shape is the opposite of the narrow, AND-heavy subscriptions of `realistic`.
//!
//! Mix of filters: 70 % `in author.id` (10–49 accounts), 30 % the same ANDed with
//! `equals lang` (5 languages). Accounts: `n_filters / 2`, followed with a skewed popularity
//! (`common::skewed`: the first 1 % of the accounts get about 5 % of the follows).
//!
//! Documents: posts, whose author is drawn with the same skew (popular accounts post more),
//! with a `lang`, a `kind` and a short text.

use serde_json::json;

use super::common::{below, chance, distinct, gen, pick, skewed};
use super::Workload;

const LANGS: &[&str] = &["en", "fr", "es", "pt", "de"];
const KINDS: &[&str] = &["post", "reply", "repost", "poll"];

/// `n_filters` filters and `n_docs` documents (see the module docs).
pub fn feeds(n_filters: usize, n_docs: usize, seed: u64) -> Workload {
    let accounts = (n_filters / 2).max(100);
    let mut g = gen(seed, 0xfeed);
    let mut seen = std::collections::HashSet::new();
    let mut filters = Vec::with_capacity(n_filters);
    while filters.len() < n_filters {
        let follows = 10 + below(&mut g, 40);
        let mut ids: Vec<String> = distinct(&mut g, accounts, follows, true)
            .into_iter()
            .map(|a| format!("acct-{a}"))
            .collect();
        ids.sort();
        let followed = json!({"in": {"author.id": ids}});
        let filter = if chance(&mut g, 0.3) {
            json!({"and": [followed, {"equals": {"lang": pick(&mut g, LANGS)}}]})
        } else {
            followed
        };
        if seen.insert(filter.to_string()) {
            filters.push(filter);
        }
    }
    let mut g = gen(seed, 0xfeed + 1);
    let docs = (0..n_docs)
        .map(|i| {
            let author = skewed(&mut g, accounts);
            json!({
                "author": {"id": format!("acct-{author}"), "verified": author < accounts / 100},
                "lang": pick(&mut g, LANGS),
                "kind": pick(&mut g, KINDS),
                "text": format!("post {i}"),
            })
        })
        .collect();
    Workload { filters, docs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::matches_per_doc;

    #[test]
    fn deterministic_valid_and_skewed() {
        let w = feeds(2_000, 300, 1);
        assert_eq!(w, feeds(2_000, 300, 1));
        for f in &w.filters {
            herald_filters::normalize(f, &herald_filters::Options::default()).expect("valid");
        }
        let matches = matches_per_doc(&w);
        let max = matches.iter().copied().max().unwrap_or(0);
        let mean = matches.iter().sum::<usize>() as f64 / matches.len() as f64;
        // Popular authors reach many timelines, the average post far fewer.
        assert!(
            mean >= 1.0 && (max as f64) > 3.0 * mean,
            "mean {mean}, max {max}"
        );
    }
}
