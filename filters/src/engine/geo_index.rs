//! Geo anchors of one field: a grid of one-degree cells, and an R-tree for large shapes.
//!
//! Each shape is indexed by its conservative envelope ([`Envelope`](crate::geo::Envelope),
//! split in at most two longitude intervals when it crosses the antimeridian). Most shapes
//! that subscriptions use are small (a circle around a place, a neighbourhood box): they are
//! listed in every one-degree cell their envelope touches (at most [`MAX_CELLS`]), so a
//! document point finds its candidates with one hash lookup. Larger shapes go to an R-tree of
//! envelopes (logarithmic, but an order of magnitude slower per probe than a cell lookup). The
//! caller then runs the exact geodesic test on the candidates only. Points the envelopes
//! cannot bound (latitude beyond ±90°, non-finite coordinates) are checked against every
//! shape.

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;
use smallvec::SmallVec;

use super::FoldMap;
use crate::geo::{Envelope, Point, Shape};

/// Shapes whose envelope touches more cells than this go to the R-tree.
pub(crate) const MAX_CELLS: usize = 16;

type LitId = u32;
type Entry = GeomWithData<Rectangle<[f64; 2]>, LitId>;

#[derive(Default)]
pub(crate) struct GeoIndex {
    /// Cell number -> small shapes whose envelope touches the cell.
    cells: FoldMap<u32, SmallVec<[LitId; 2]>>,
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

/// The one-degree cell of a latitude and a longitude in `(-180, 180]`.
fn cell(lat: f64, lon: f64) -> u32 {
    let lat_i = (lat + 90.0).floor().clamp(0.0, 179.0) as u32;
    let lon_i = (lon + 180.0).floor().clamp(0.0, 359.0) as u32;
    lat_i * 360 + lon_i
}

/// The cells an envelope touches, or `None` when there are more than [`MAX_CELLS`].
fn cells_of(envelope: &Envelope) -> Option<SmallVec<[u32; 16]>> {
    let mut cells = SmallVec::new();
    let lat_lo = (envelope.min_lat + 90.0).floor().clamp(0.0, 179.0) as u32;
    let lat_hi = (envelope.max_lat + 90.0).floor().clamp(0.0, 179.0) as u32;
    for (lo, hi) in envelope.lon_ranges() {
        let lon_lo = (lo + 180.0).floor().clamp(0.0, 359.0) as u32;
        let lon_hi = (hi + 180.0).floor().clamp(0.0, 359.0) as u32;
        let count = (lat_hi - lat_lo + 1) as usize * (lon_hi - lon_lo + 1) as usize;
        if cells.len() + count > MAX_CELLS {
            return None;
        }
        for lat_i in lat_lo..=lat_hi {
            for lon_i in lon_lo..=lon_hi {
                cells.push(lat_i * 360 + lon_i);
            }
        }
    }
    Some(cells)
}

impl GeoIndex {
    pub fn insert(&mut self, shape: &Shape, lit: LitId) {
        let envelope = shape.envelope();
        if envelope.is_empty() {
            self.unbounded.push(lit);
        } else if let Some(cells) = cells_of(&envelope) {
            for c in cells {
                self.cells.entry(c).or_default().push(lit);
            }
        } else {
            for entry in entries(shape, lit) {
                self.tree.insert(entry);
            }
        }
    }

    pub fn remove(&mut self, shape: &Shape, lit: LitId) {
        let envelope = shape.envelope();
        if envelope.is_empty() {
            self.unbounded.retain(|&l| l != lit);
        } else if let Some(cells) = cells_of(&envelope) {
            for c in cells {
                if let Some(list) = self.cells.get_mut(&c) {
                    list.retain(|l| *l != lit);
                    if list.is_empty() {
                        self.cells.remove(&c);
                    }
                }
            }
        } else {
            for entry in entries(shape, lit) {
                self.tree.remove(&entry);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty() && self.tree.size() == 0 && self.unbounded.is_empty()
    }

    /// Calls `found` with every literal whose envelope contains the point (possibly twice).
    pub fn locate(&self, point: Point, mut found: impl FnMut(LitId)) {
        if indexable(point) {
            let lon = Envelope::index_lon(point.lon);
            if let Some(list) = self.cells.get(&cell(point.lat, lon)) {
                for &lit in list {
                    found(lit);
                }
            }
            if self.tree.size() > 0 {
                for entry in self.tree.locate_all_at_point(&[lon, point.lat]) {
                    found(entry.data);
                }
            }
        } else {
            for list in self.cells.values() {
                for &lit in list {
                    found(lit);
                }
            }
            for entry in self.tree.iter() {
                found(entry.data);
            }
            for &lit in &self.unbounded {
                found(lit);
            }
        }
    }
}
