//! Geo anchors of one field: two grids (one-degree and thirty-degree cells), and an R-tree for
//! large shapes.
//!
//! Each shape is indexed by its conservative envelope ([`Envelope`](crate::geo::Envelope),
//! split in at most two longitude intervals when it crosses the antimeridian). Most shapes
//! that subscriptions use are small (a circle around a place, a neighbourhood box): they are
//! listed in every one-degree cell their envelope touches (at most [`MAX_CELLS`]), so a
//! document point finds its candidates with a bit test and, in an occupied cell, one hash
//! lookup. Shapes too large for that but
//! within a few thirty-degree cells (a small circle near a pole spans every longitude) are
//! listed in the coarse grid the same way. Only larger shapes go to an R-tree of envelopes
//! (logarithmic, but an order of magnitude slower per probe than a cell lookup, and probed for
//! every document point as soon as it holds one shape). The caller then runs the exact
//! geodesic test on the candidates only. Points the envelopes cannot bound (latitude beyond
//! ±90°, non-finite coordinates) are checked against every shape.
//!
//! Invariant: cell indexes are monotone in the coordinate (a cast of a non-negative quotient),
//! so a point inside an envelope lands in one of the cells listed for it.

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;
use smallvec::SmallVec;

use super::geo_cover::Coverings;
use super::storage::{int_hash, ShardedTable};
use crate::geo::{Envelope, Point, Shape};

/// Shapes whose envelope touches more cells than this go to the R-tree.
pub(crate) const MAX_CELLS: usize = 16;

type LitId = u32;
type Entry = GeomWithData<Rectangle<[f64; 2]>, LitId>;

pub(crate) struct GeoIndex {
    /// Circles, annuli and boxes away from the poles and the antimeridian, in cells of a size
    /// that suits each, with inside/boundary marks ([`Coverings`]).
    covered: Coverings,
    /// One-degree cell -> small shapes whose envelope touches the cell.
    cells: CellMap<LitId>,
    /// Thirty-degree cell -> medium shapes.
    coarse: CellMap<Bounded>,
    tree: RTree<Entry>,
    /// Shapes whose envelope is empty (they accept no point with |lat| <= 90).
    unbounded: Vec<LitId>,
}

impl Default for GeoIndex {
    fn default() -> Self {
        GeoIndex {
            covered: Coverings::default(),
            cells: CellMap::sparse(FINE),
            coarse: CellMap::dense(COARSE),
            tree: RTree::default(),
            unbounded: Vec::new(),
        }
    }
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

/// Cells an envelope touches, each with the longitude interval of the envelope touching it.
type CellList = SmallVec<[(u32, (f64, f64)); 16]>;

/// A grid of square cells over latitudes `[-90, 90]` and longitudes `[-180, 180]`.
#[derive(Clone, Copy)]
struct Grid {
    /// Cell side, in degrees (divides 180).
    size: f64,
    /// Shapes whose envelope touches more cells than this do not go to this grid.
    max_cells: usize,
}

/// Small shapes: one-degree cells.
const FINE: Grid = Grid {
    size: 1.0,
    max_cells: MAX_CELLS,
};

/// Medium shapes (circles near a pole, whose envelope spans every longitude; boxes of a few
/// degrees): thirty-degree cells, so that the R-tree, an order of magnitude slower per probe,
/// is left to continent-sized shapes.
const COARSE: Grid = Grid {
    size: 30.0,
    max_cells: 24,
};

impl Grid {
    fn rows(self) -> u32 {
        (180.0 / self.size) as u32
    }

    fn cols(self) -> u32 {
        (360.0 / self.size) as u32
    }

    /// Index of the cell holding `x` degrees past the grid's origin, clamped to `0..n` (a plain
    /// cast floors non-negative values and maps NaN to 0, without a libm `floor` call).
    fn index(self, x: f64, n: u32) -> u32 {
        ((x.max(0.0) / self.size) as u32).min(n - 1)
    }

    /// The cell of a latitude and a longitude in `(-180, 180]`.
    fn cell(self, lat: f64, lon: f64) -> u32 {
        self.index(lat + 90.0, self.rows()) * self.cols() + self.index(lon + 180.0, self.cols())
    }

    /// The cells an envelope touches, each with the longitude interval of the envelope that
    /// touches it, or `None` when there are more than `max_cells`.
    fn cells_of(self, envelope: &Envelope) -> Option<CellList> {
        let mut cells = SmallVec::new();
        let lat_lo = self.index(envelope.min_lat + 90.0, self.rows());
        let lat_hi = self.index(envelope.max_lat + 90.0, self.rows());
        for (lo, hi) in envelope.lon_ranges() {
            let lon_lo = self.index(lo + 180.0, self.cols());
            let lon_hi = self.index(hi + 180.0, self.cols());
            let count = (lat_hi - lat_lo + 1) as usize * (lon_hi - lon_lo + 1) as usize;
            if cells.len() + count > self.max_cells {
                return None;
            }
            for lat_i in lat_lo..=lat_hi {
                for lon_i in lon_lo..=lon_hi {
                    cells.push((lat_i * self.cols() + lon_i, (lo, hi)));
                }
            }
        }
        Some(cells)
    }
}

/// What a cell lists for one shape.
trait CellEntry: Copy {
    fn lit(&self) -> LitId;
    /// Whether the shape's envelope may hold the point (`lon` in `(-180, 180]`).
    fn admits(&self, lat: f64, lon: f64) -> bool;
}

/// In one-degree cells, the literal alone: a shape touches at most [`MAX_CELLS`] of them, so
/// its envelope is about the cell and testing it would save little.
impl CellEntry for LitId {
    #[inline]
    fn lit(&self) -> LitId {
        *self
    }

    #[inline]
    fn admits(&self, _lat: f64, _lon: f64) -> bool {
        true
    }
}

/// In thirty-degree cells, the literal with its envelope (the longitude interval that touches
/// the cell), checked before the exact test: a coarse cell is much larger than most of the
/// shapes it lists.
#[derive(Clone, Copy)]
struct Bounded {
    lit: LitId,
    lat: (f64, f64),
    lon: (f64, f64),
}

impl CellEntry for Bounded {
    #[inline]
    fn lit(&self) -> LitId {
        self.lit
    }

    #[inline]
    fn admits(&self, lat: f64, lon: f64) -> bool {
        self.lat.0 <= lat && lat <= self.lat.1 && self.lon.0 <= lon && lon <= self.lon.1
    }
}

/// Shapes listed per cell of one grid: in a hash table of the non-empty cells with a bitmap of
/// them (the fine grid has 64,800 cells, most of them empty: a point in an empty cell costs
/// one bit test, no hashing), or in a plain array indexed by cell (the coarse grid has 72).
/// Either is allocated with the first shape and freed with the last; the hash table grows
/// without rehashing everything at once ([`ShardedTable`]), as writes hold the index's lock.
enum CellMap<E> {
    Sparse {
        cells: ShardedTable<(u32, SmallVec<[E; 2]>)>,
        /// One bit per cell of the grid: set when the cell is in `cells`.
        occupied: Vec<u64>,
        /// Cells of the grid.
        size: usize,
    },
    Dense {
        cells: Vec<SmallVec<[E; 2]>>,
        /// Non-empty cells.
        used: usize,
        /// Cells of the grid.
        size: usize,
    },
}

impl<E: CellEntry> CellMap<E> {
    fn sparse(grid: Grid) -> CellMap<E> {
        CellMap::Sparse {
            cells: ShardedTable::default(),
            occupied: Vec::new(),
            size: (grid.rows() * grid.cols()) as usize,
        }
    }

    fn dense(grid: Grid) -> CellMap<E> {
        CellMap::Dense {
            cells: Vec::new(),
            used: 0,
            size: (grid.rows() * grid.cols()) as usize,
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            CellMap::Sparse { cells, .. } => cells.is_empty(),
            CellMap::Dense { used, .. } => *used == 0,
        }
    }

    #[inline]
    fn get(&self, cell: u32) -> Option<&SmallVec<[E; 2]>> {
        match self {
            CellMap::Sparse {
                cells, occupied, ..
            } => {
                let word = occupied.get(cell as usize / 64)?;
                if word & (1 << (cell % 64)) == 0 {
                    return None;
                }
                cells
                    .find(int_hash(cell.into()), |(c, _)| *c == cell)
                    .map(|(_, list)| list)
            }
            CellMap::Dense { cells, .. } => cells.get(cell as usize),
        }
    }

    fn insert(&mut self, entries: impl IntoIterator<Item = (u32, E)>) {
        for (c, entry) in entries {
            match self {
                CellMap::Sparse {
                    cells,
                    occupied,
                    size,
                } => {
                    if let Some((_, list)) = cells.find_mut(int_hash(c.into()), |(x, _)| *x == c) {
                        list.push(entry);
                        continue;
                    }
                    if occupied.is_empty() {
                        occupied.resize(size.div_ceil(64), 0);
                    }
                    if let Some(word) = occupied.get_mut(c as usize / 64) {
                        *word |= 1 << (c % 64);
                    }
                    let mut list = SmallVec::new();
                    list.push(entry);
                    cells.insert_unique(int_hash(c.into()), (c, list), |(x, _)| {
                        int_hash((*x).into())
                    });
                }
                CellMap::Dense { cells, used, size } => {
                    if cells.is_empty() {
                        cells.resize_with(*size, SmallVec::new);
                    }
                    if let Some(list) = cells.get_mut(c as usize) {
                        *used += usize::from(list.is_empty());
                        list.push(entry);
                    }
                }
            }
        }
    }

    fn remove(&mut self, entries: &[(u32, (f64, f64))], lit: LitId) {
        for &(c, _) in entries {
            match self {
                CellMap::Sparse {
                    cells, occupied, ..
                } => {
                    let emptied = match cells.find_mut(int_hash(c.into()), |(x, _)| *x == c) {
                        Some((_, list)) => {
                            list.retain(|e| e.lit() != lit);
                            list.is_empty()
                        }
                        None => false,
                    };
                    if emptied {
                        cells.remove(int_hash(c.into()), |(x, _)| *x == c);
                        if let Some(word) = occupied.get_mut(c as usize / 64) {
                            *word &= !(1 << (c % 64));
                        }
                        if cells.is_empty() {
                            *cells = ShardedTable::default();
                            *occupied = Vec::new();
                        }
                    }
                }
                CellMap::Dense { cells, used, .. } => {
                    if let Some(list) = cells.get_mut(c as usize) {
                        let had = !list.is_empty();
                        list.retain(|e| e.lit() != lit);
                        if had && list.is_empty() {
                            *used -= 1;
                            // Give the spilled buffer back.
                            *list = SmallVec::new();
                        }
                    }
                    if *used == 0 {
                        *cells = Vec::new();
                    }
                }
            }
        }
    }

    #[inline]
    fn locate(&self, grid: Grid, lat: f64, lon: f64, found: &mut impl FnMut(LitId)) {
        if self.is_empty() {
            return;
        }
        if let Some(list) = self.get(grid.cell(lat, lon)) {
            for e in list {
                if e.admits(lat, lon) {
                    found(e.lit());
                }
            }
        }
    }

    fn all(&self, found: &mut impl FnMut(LitId)) {
        let lists: Box<dyn Iterator<Item = &SmallVec<[E; 2]>>> = match self {
            CellMap::Sparse { cells, .. } => Box::new(cells.iter().map(|(_, list)| list)),
            CellMap::Dense { cells, .. } => Box::new(cells.iter()),
        };
        for list in lists {
            for e in list {
                found(e.lit());
            }
        }
    }
}

/// Where a shape is stored.
enum Place {
    Unbounded,
    Fine(CellList),
    Coarse(CellList),
    Tree,
}

fn place(envelope: &Envelope) -> Place {
    if envelope.is_empty() {
        Place::Unbounded
    } else if let Some(cells) = FINE.cells_of(envelope) {
        Place::Fine(cells)
    } else if let Some(cells) = COARSE.cells_of(envelope) {
        Place::Coarse(cells)
    } else {
        Place::Tree
    }
}

impl GeoIndex {
    pub fn insert(&mut self, shape: &Shape, lit: LitId) {
        if self.covered.insert(shape, lit) {
            return;
        }
        let envelope = shape.envelope();
        match place(&envelope) {
            Place::Unbounded => self.unbounded.push(lit),
            Place::Fine(cells) => self.cells.insert(cells.iter().map(|&(c, _)| (c, lit))),
            Place::Coarse(cells) => self.coarse.insert(cells.iter().map(|&(c, lon)| {
                let lat = (envelope.min_lat, envelope.max_lat);
                (c, Bounded { lit, lat, lon })
            })),
            Place::Tree => {
                for entry in entries(shape, lit) {
                    self.tree.insert(entry);
                }
            }
        }
    }

    pub fn remove(&mut self, shape: &Shape, lit: LitId) {
        if self.covered.remove(shape, lit) {
            return;
        }
        match place(&shape.envelope()) {
            Place::Unbounded => self.unbounded.retain(|&l| l != lit),
            Place::Fine(cells) => self.cells.remove(&cells, lit),
            Place::Coarse(cells) => self.coarse.remove(&cells, lit),
            Place::Tree => {
                for entry in entries(shape, lit) {
                    self.tree.remove(&entry);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.covered.is_empty()
            && self.cells.is_empty()
            && self.coarse.is_empty()
            && self.tree.size() == 0
            && self.unbounded.is_empty()
    }

    /// Calls `found(lit, inside)` with every literal whose envelope or covering may contain
    /// the point (possibly twice); `inside`: the shape holds the point for sure, no exact test
    /// needed.
    pub fn locate(&self, point: Point, mut found: impl FnMut(LitId, bool)) {
        if indexable(point) {
            let lon = Envelope::index_lon(point.lon);
            self.covered.locate(point, lon, &mut found);
            let mut found = |lit| found(lit, false);
            self.cells.locate(FINE, point.lat, lon, &mut found);
            self.coarse.locate(COARSE, point.lat, lon, &mut found);
            if self.tree.size() > 0 {
                for entry in self.tree.locate_all_at_point(&[lon, point.lat]) {
                    found(entry.data);
                }
            }
        } else {
            let mut found = |lit| found(lit, false);
            self.covered.all(&mut found);
            self.cells.all(&mut found);
            self.coarse.all(&mut found);
            for entry in self.tree.iter() {
                found(entry.data);
            }
            for &lit in &self.unbounded {
                found(lit);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::{Annulus, BoundingBox, Circle};

    /// Every shape that accepts a point is among the candidates `locate` reports, whichever
    /// structure holds it (fine grid, coarse grid, R-tree), and removal forgets it.
    #[test]
    fn locate_reports_every_shape_holding_the_point() {
        let mut rand = crate::geo::test_random(0x2545_F491_4F6C_DD1D);
        let mut shapes = Vec::new();
        for i in 0..600u32 {
            let center = Point {
                lat: rand() * 180.0 - 90.0,
                lon: rand() * 360.0 - 180.0,
            };
            let radius = [500.0, 50_000.0, 800_000.0, 5_000_000.0][i as usize % 4] * rand();
            let shape = match i % 3 {
                0 => Shape::Circle(Circle { center, radius }),
                1 => Shape::Annulus(Annulus {
                    center,
                    from: radius / 2.0,
                    to: radius,
                }),
                _ => {
                    let side = radius / 100_000.0;
                    Shape::BoundingBox(BoundingBox {
                        top: (center.lat + side).min(90.0),
                        bottom: center.lat,
                        left: center.lon,
                        right: center.lon + side,
                    })
                }
            };
            shapes.push(shape);
        }
        let mut index = GeoIndex::default();
        for (lit, shape) in shapes.iter().enumerate() {
            index.insert(shape, lit as LitId);
        }
        assert!(!index.cells.is_empty() && !index.coarse.is_empty() && index.tree.size() > 0);
        assert!(!index.covered.is_empty());
        let points: Vec<Point> = (0..3000)
            .map(|_| Point {
                lat: rand() * 180.0 - 90.0,
                lon: rand() * 360.0 - 180.0,
            })
            .chain(shapes.iter().filter_map(|s| match s {
                Shape::Circle(c) => Some(c.center),
                _ => None,
            }))
            .collect();
        let (mut hits, mut sure) = (0, 0);
        for &p in &points {
            let mut found = Vec::new();
            index.locate(p, |lit, inside| found.push((lit, inside)));
            for (lit, shape) in shapes.iter().enumerate() {
                let lit = lit as LitId;
                if shape.contains(p) {
                    hits += 1;
                    assert!(found.iter().any(|&(l, _)| l == lit), "{shape:?} at {p:?}");
                }
                // "Inside" is a promise the exact test must keep.
                if found.contains(&(lit, true)) {
                    sure += 1;
                    assert!(
                        shape.contains(p),
                        "inside but not contained: {shape:?} at {p:?}"
                    );
                }
            }
        }
        assert!(hits > 100 && sure > 0, "{hits} hits, {sure} sure");
        for (lit, shape) in shapes.iter().enumerate() {
            index.remove(shape, lit as LitId);
        }
        assert!(index.is_empty());
        assert!(matches!(&index.coarse, CellMap::Dense { cells, .. } if cells.is_empty()));
    }
}
