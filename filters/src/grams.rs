//! Grams a regexp's matches must contain: what lets the matcher index `regexp` conditions.
//!
//! # Why
//!
//! Koncorde runs every stored regexp on every document that has the field, and so did Herald's
//! matcher: ten thousand keyword subscriptions cost ten thousand regexp searches per document.
//! Most subscription patterns contain a literal (`\berror\b`, `(?i)^invoice-\d+`,
//! `timeout.*retry`), and a text can only match if it contains that literal. A pattern is
//! therefore filed under a *gram* (a window of [`MIN_GRAM`] to [`MAX_GRAM`] bytes) of each of
//! its literals, and a document's string is looked up window by window: only the patterns
//! whose gram occurs are run. Grams are as long as the literals allow: in natural text a
//! three-byte window (`ion`, `rou`) is in a good share of all strings, a seven-byte one
//! rarely is, and the lookups per string grow only with the number of distinct lengths.
//!
//! # Soundness
//!
//! The literals come from `regex-syntax`'s [`Extractor`], on the same syntax tree the `regex`
//! crate compiles: with prefix extraction, every match *starts with* one of the literals of a
//! finite sequence; with suffix extraction, every match *ends with* one. Either way, a string
//! that matches contains one of them, and so contains each of that literal's windows. Keys are
//! ASCII-case-folded on both sides (an upper-case window finds the lower-case key), which
//! only adds candidates. A pattern without such a sequence, or with a literal shorter than
//! [`MIN_GRAM`], gets no grams and is evaluated for every document, as before. The index only
//! narrows the candidates: the pattern itself decides.

use std::cmp::Reverse;
use std::collections::HashMap;

use regex_syntax::hir::literal::{rank, ExtractKind, Extractor, Literal, Seq};
use regex_syntax::hir::Hir;

/// Shortest gram: literals shorter than this leave their pattern to the scan.
pub(crate) const MIN_GRAM: usize = 3;
/// Longest gram (a gram and its length fit in a `u64`).
pub(crate) const MAX_GRAM: usize = 7;

/// Most grams a pattern is filed under (a case-insensitive pattern over non-ASCII letters has
/// one per spelling); beyond it, the pattern is scanned.
const MAX_GRAMS: usize = 16;

/// The key of a window of [`MIN_GRAM`] to [`MAX_GRAM`] bytes: its bytes ASCII-case-folded,
/// and its length in the top byte.
#[inline]
pub(crate) fn gram(window: &[u8]) -> u64 {
    let mut key = (window.len() as u64) << 56;
    for (i, b) in window.iter().take(MAX_GRAM).enumerate() {
        key |= u64::from(b.to_ascii_lowercase()) << (8 * i);
    }
    key
}

/// The length of a gram.
#[inline]
pub(crate) fn gram_len(gram: u64) -> usize {
    (gram >> 56) as usize
}

/// Calls `f` with the gram of every window of `text` whose length is in `lengths` (bit `n`
/// set: windows of `n` bytes).
#[inline]
pub(crate) fn for_each_gram(text: &str, lengths: u8, mut f: impl FnMut(u64)) {
    let bytes = text.as_bytes();
    for len in MIN_GRAM..=MAX_GRAM {
        if lengths & (1 << len) != 0 {
            bytes.windows(len).for_each(|window| f(gram(window)));
        }
    }
}

/// The grams one of which every string matching `hir` (a pattern as the `regex` crate
/// compiles it) contains, sorted and deduplicated; `None` when the pattern has no usable
/// literals and must be evaluated for every string.
pub(crate) fn required_grams(hir: &Hir) -> Option<Box<[u64]>> {
    let prefixes = grams_of(&Extractor::new().kind(ExtractKind::Prefix).extract(hir));
    let suffixes = grams_of(&Extractor::new().kind(ExtractKind::Suffix).extract(hir));
    match (prefixes, suffixes) {
        // Longer grams (more selective), then fewer.
        (Some(p), Some(s)) => {
            let preference = |g: &[u64]| (Reverse(g.first().map(|&k| gram_len(k))), g.len());
            Some(if preference(&s) < preference(&p) {
                s
            } else {
                p
            })
        }
        (p, s) => p.or(s),
    }
}

/// Grams covering a finite sequence of literals: one window of each literal, all of the same
/// length, the longest length (up to [`MAX_GRAM`]) for which at most [`MAX_GRAMS`] distinct
/// grams do. `None` when the sequence is infinite, empty (a pattern that never matches is
/// left to the scan: nothing to gain), or has a literal shorter than [`MIN_GRAM`].
fn grams_of(seq: &Seq) -> Option<Box<[u64]>> {
    let literals = seq.literals()?;
    let shortest = literals.iter().map(|l| l.len()).min()?;
    (MIN_GRAM..=shortest.min(MAX_GRAM))
        .rev()
        .find_map(|len| grams_of_length(literals, len))
}

/// For each literal, the window of `len` bytes that the most literals share (the spellings
/// of a case-insensitive word, the digits after a prefix: `^id-[0-9]` is ten literals and one
/// gram), then the one with the fewest non-ASCII bytes (so that `k`, `K` and U+212A KELVIN
/// SIGN spellings pick the same letters), then the rarest by `regex-syntax`'s byte
/// frequency ranks. `None` if that takes more than [`MAX_GRAMS`] grams.
fn grams_of_length(literals: &[Literal], len: usize) -> Option<Box<[u64]>> {
    let windows = |literal: &Literal| -> Vec<u64> {
        let mut keys: Vec<u64> = literal.as_bytes().windows(len).map(gram).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    };
    let mut shared: HashMap<u64, usize> = HashMap::new();
    for literal in literals {
        for key in windows(literal) {
            *shared.entry(key).or_default() += 1;
        }
    }
    let mut grams = Vec::with_capacity(literals.len());
    for literal in literals {
        let best = literal.as_bytes().windows(len).max_by_key(|w| {
            let non_ascii = w.iter().filter(|b| !b.is_ascii()).count();
            let rarity: u32 = w
                .iter()
                .map(|b| u32::from(rank(b.to_ascii_lowercase())))
                .sum();
            let sharing = shared.get(&gram(w)).copied().unwrap_or(0);
            (sharing, Reverse(non_ascii), Reverse(rarity))
        })?;
        grams.push(gram(best));
    }
    grams.sort_unstable();
    grams.dedup();
    (grams.len() <= MAX_GRAMS).then(|| grams.into_boxed_slice())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regexp::Pattern;

    fn grams(pattern: &str, flags: &str) -> Option<Vec<String>> {
        let p = Pattern::compile(pattern, Some(flags)).expect("valid pattern");
        p.grams().map(|g| {
            g.iter()
                .map(|&g| {
                    let bytes: Vec<u8> = (0..gram_len(g)).map(|i| (g >> (8 * i)) as u8).collect();
                    String::from_utf8_lossy(&bytes).into_owned()
                })
                .collect()
        })
    }

    #[test]
    fn literals_give_grams() {
        // One gram: the literal itself when it is short enough, else its rarest window.
        assert_eq!(grams("error", ""), Some(vec!["error".to_string()]));
        let long = grams("connection", "").expect("indexed");
        assert!(
            matches!(&long[..], [g] if g.len() == MAX_GRAM && "connection".contains(g.as_str()))
        );
        // Word boundaries and anchors match the empty string: the literal stays.
        assert!(grams("\\bdisk\\b", "").is_some());
        assert!(grams("^invoice-[0-9]+$", "").is_some());
        // A suffix when the prefix is not usable.
        assert!(grams(".*timeout", "").is_some());
        assert!(grams("[a-z]+@example\\.com", "").is_some());
        // Case-insensitive spellings share one folded gram.
        assert_eq!(grams("Quota", "i").map(|g| g.len()), Some(1));
    }

    #[test]
    fn patterns_without_literals_are_scanned() {
        for pattern in ["a", "ab", "^.*$", "[0-9]+", "x|yz", "(abc)?d", "\\w+"] {
            assert_eq!(grams(pattern, ""), None, "{pattern}");
        }
    }

    use proptest::prelude::*;

    /// Patterns from words, classes, anchors, alternations and repetitions, over the same
    /// pieces as the texts (ASCII and non-ASCII case variants included).
    fn pattern() -> impl Strategy<Value = String> {
        let atom = prop::sample::select(vec![
            "err", "or", "kel", "vin", "st", "xyz", "ab", "[a-c]", "\\d", ".", "\\b", "^", "$",
            "\\w+", "é",
        ])
        .prop_map(str::to_string);
        atom.prop_recursive(3, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(|v| v.concat()),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("(?:{a}|{b})")),
                (
                    inner.clone(),
                    prop::sample::select(vec!["?", "*", "+", "{2}", "{1,3}"])
                )
                    .prop_map(|(a, r)| format!("(?:{a}){r}")),
            ]
        })
    }

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                "err",
                "ERR",
                "Or",
                "or",
                "\u{212A}el",
                "kEl",
                "vin",
                "\u{17F}t",
                "St",
                "xyz",
                "XyZ",
                "ab",
                "c",
                " ",
                "1",
                "é",
                "É",
            ]),
            0..10,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Soundness: whatever matches contains one of the pattern's grams.
        #[test]
        fn every_match_contains_a_gram(p in pattern(), insensitive in any::<bool>(), t in text()) {
            let Ok(compiled) = Pattern::compile(&p, Some(if insensitive { "i" } else { "" })) else {
                return Ok(());
            };
            if let (Some(keys), true) = (compiled.grams(), compiled.is_match(&t)) {
                let mut found = false;
                for_each_gram(&t, u8::MAX, |g| found |= keys.binary_search(&g).is_ok());
                prop_assert!(found, "{p:?} matches {t:?} without any of its grams");
            }
        }
    }

    /// Non-ASCII case folding (`k` also matches U+212A KELVIN SIGN) is covered by a gram per
    /// spelling.
    #[test]
    fn unicode_case_folding_is_covered() {
        let p = Pattern::compile("kelvin", Some("i")).expect("valid pattern");
        let text = "\u{212A}ELVIN";
        assert!(p.is_match(text));
        let keys = p.grams().expect("indexed");
        let mut found = false;
        for_each_gram(text, u8::MAX, |g| found |= keys.binary_search(&g).is_ok());
        assert!(found);
    }
}
