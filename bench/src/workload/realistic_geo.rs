//! Realistic workload with standalone location subscriptions: the `realistic` application
//! mix, where a tenth of the subscriptions are the `geo` workload's shapes on their own.
//!
//! Why it looks this way. The `realistic` generator scopes every location condition behind an
//! `equals` (a seller's listings near a city, a site's sensors in a box), so its geo terms are
//! never anchors. Real applications of the same kind also have subscriptions that are nothing
//! but a shape: "listings near me", a map viewport over the listings, a courier's delivery
//! zone, pricing bands around a depot. Those crowd around the same cities as the documents,
//! so each listing or sensor reading lies inside (or near the edge of) many of them, and a
//! matcher that cannot tell inside from boundary without the exact geodesic test pays for
//! every one. This workload keeps everything of `realistic` and swaps one filter in ten for a
//! `geo` shape on the same `location` field. The documents are `realistic`'s, except that a
//! listing is posted where `geo`'s documents are (within 12 km of a centre drawn with the same
//! Zipf popularity as the shapes: people list where people live); chat messages have no
//! location and sensor readings stay at their device.
//!
//! Determinism and distinctness are those of the two generators: the geo shapes use their own
//! seed stream and are distinct from each other and from the realistic filters (which never
//! hold a standalone geo term).

use serde_json::Value;

use super::{geo, realistic, Workload};

/// One filter in `GEO_EVERY` is a standalone shape.
const GEO_EVERY: usize = 10;

/// `n_filters` filters (a tenth of them standalone shapes) and `n_docs` documents.
pub fn realistic_geo(n_filters: usize, n_docs: usize, seed: u64) -> Workload {
    let n_geo = n_filters / GEO_EVERY;
    let base = realistic(n_filters - n_geo, n_docs, seed);
    let shapes = geo(n_geo, 0, seed).filters;
    let places = geo(0, n_docs, seed).docs;
    let mut docs = base.docs;
    for (doc, place) in docs.iter_mut().zip(&places) {
        if doc["type"] == "listing" {
            doc["location"] = place["location"].clone();
        }
    }
    // Interleaved, so that a prefix of the file (what a slow engine reaches) has the same mix.
    let mut filters: Vec<Value> = Vec::with_capacity(n_filters);
    let mut shapes = shapes.into_iter();
    for (i, f) in base.filters.into_iter().enumerate() {
        filters.push(f);
        if (i + 1) % (GEO_EVERY - 1) == 0 {
            filters.extend(shapes.next());
        }
    }
    filters.extend(shapes);
    Workload { filters, docs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::matches_per_doc;

    #[test]
    fn a_tenth_standalone_shapes_and_documents_inside_them() {
        let w = realistic_geo(5_000, 300, 3);
        assert_eq!(w, realistic_geo(5_000, 300, 3));
        assert_eq!(w.filters.len(), 5_000);
        let standalone = w
            .filters
            .iter()
            .filter(|f| {
                f.as_object()
                    .and_then(|o| o.keys().next())
                    .is_some_and(|k| k.starts_with("geo"))
            })
            .count();
        // geo's own mix: 90 % of its shapes are standalone, 10 % scoped by `kind`.
        assert!(
            (400..=500).contains(&standalone),
            "{standalone} standalone shapes"
        );
        let distinct: std::collections::HashSet<String> =
            w.filters.iter().map(Value::to_string).collect();
        assert_eq!(distinct.len(), w.filters.len());
        // The shapes are where the documents are: located documents lie in several of them.
        let matches = matches_per_doc(&w);
        let plain = matches_per_doc(&realistic(4_500, 300, 3));
        let (with, without): (usize, usize) = (matches.iter().sum(), plain.iter().sum());
        assert!(
            with > without + 300 * 2,
            "{with} matches with shapes, {without} without"
        );
    }
}
