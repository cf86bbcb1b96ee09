//! Geo anchors of one field (placeholder: a list; replaced by an R-tree of envelopes).

use crate::condition::Shape;
use crate::geo::Point;

type LitId = u32;

#[derive(Default)]
pub(crate) struct GeoIndex {
    items: Vec<LitId>,
}

impl GeoIndex {
    pub fn insert(&mut self, _shape: &Shape, lit: LitId) {
        self.items.push(lit);
    }

    pub fn remove(&mut self, _shape: &Shape, lit: LitId) {
        self.items.retain(|&l| l != lit);
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Calls `found` with every literal whose shape may contain the point.
    pub fn locate(&self, _point: Point, mut found: impl FnMut(LitId)) {
        for &lit in &self.items {
            found(lit);
        }
    }
}
