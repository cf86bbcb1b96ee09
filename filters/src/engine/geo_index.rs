//! Geo anchors of one field: an R-tree of conservative envelopes.
//!
//! Each shape is stored as its envelope ([`Envelope`](crate::geo::Envelope), split in at most two
//! longitude intervals when it crosses the antimeridian). A document point finds the
//! envelopes containing it in logarithmic time; the caller then runs the exact geodesic test
//! on those candidates only. Points the envelopes cannot bound (latitude beyond ±90°,
//! non-finite coordinates) are checked against every shape.

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;

use crate::geo::{Envelope, Point, Shape};

type LitId = u32;
type Entry = GeomWithData<Rectangle<[f64; 2]>, LitId>;

#[derive(Default)]
pub(crate) struct GeoIndex {
    tree: RTree<Entry>,
    /// Shapes whose envelope is empty (they accept no point with |lat| <= 90).
    unbounded: Vec<LitId>,
}

fn entries(shape: &Shape, lit: LitId) -> impl Iterator<Item = Entry> {
    let envelope = shape.envelope();
    let (lo_lat, hi_lat) = (envelope.min_lat, envelope.max_lat);
    let ranges: Vec<(f64, f64)> = if envelope.is_empty() {
        Vec::new()
    } else {
        envelope.lon_ranges().collect()
    };
    ranges.into_iter().map(move |(lo, hi)| {
        GeomWithData::new(Rectangle::from_corners([lo, lo_lat], [hi, hi_lat]), lit)
    })
}

fn indexable(p: Point) -> bool {
    p.lat.is_finite() && p.lon.is_finite() && p.lat.abs() <= 90.0
}

impl GeoIndex {
    pub fn insert(&mut self, shape: &Shape, lit: LitId) {
        if shape.envelope().is_empty() {
            self.unbounded.push(lit);
            return;
        }
        for entry in entries(shape, lit) {
            self.tree.insert(entry);
        }
    }

    pub fn remove(&mut self, shape: &Shape, lit: LitId) {
        if shape.envelope().is_empty() {
            self.unbounded.retain(|&l| l != lit);
            return;
        }
        for entry in entries(shape, lit) {
            self.tree.remove(&entry);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0 && self.unbounded.is_empty()
    }

    /// Calls `found` with every literal whose envelope contains the point (possibly twice).
    pub fn locate(&self, point: Point, mut found: impl FnMut(LitId)) {
        if indexable(point) {
            let at = [Envelope::index_lon(point.lon), point.lat];
            for entry in self.tree.locate_all_at_point(&at) {
                found(entry.data);
            }
        } else {
            for entry in self.tree.iter() {
                found(entry.data);
            }
            for &lit in &self.unbounded {
                found(lit);
            }
        }
    }
}
