//! Geo coverings: each circle, annulus or box listed in a few cells of a size that suits it,
//! each cell marked *inside* (every point of the cell is in the shape: no exact test) or
//! *boundary* (exact test). Cells the shape cannot reach are not listed.
//!
//! Why. Location subscriptions crowd around the same places (every "near me" circle, map
//! viewport and delivery band of a city), and so do documents. Listed by one-degree cells, a
//! point of a busy city gets every shape of that city as a candidate and pays the geodesic
//! test (trigonometry) for each. Here a small shape is listed in small cells and a large one in
//! large cells (a hierarchy of levels, cell side 2^-k degree, the level chosen so that a shape
//! takes at most [`MAX_CELLS`] cells), so a point's candidates are the shapes near it, and
//! those that hold it deep inside are answered without computing a distance. Cells on the
//! shape's edge are split once more ([`REFINE`]): the exact test is then left to a band half
//! as wide around the edge, for about twice the cells there.
//!
//! Exactness. An *inside* cell must be inside for the very function [`Shape::contains`]
//! computes (the ellipsoidal distance of spec 5.7), not for an idealized circle. A cell is
//! classified from the distance `d` of its centre and a bound `h` on how far any point of the
//! cell is from that centre (a conservative flat bound over the WGS84 degree lengths): the
//! triangle inequality puts every point within `[d - h, d + h]`. That holds for geodesic
//! distances; the computed one approximates them to far better than 1e-4 relative, so the
//! classification keeps a margin of 1e-3 of the radius plus a metre on each side, and only
//! cells well inside or well outside are decided. Boxes are classified by their bounds with a
//! 1e-9° margin. Points whose longitude is not already in (-180, 180] never take the shortcut.
//! The proptest of the index against the reference evaluator draws dense clusters of shapes
//! and points on and near their boundaries.

use smallvec::SmallVec;

use super::storage::{int_hash, ShardedTable};
use crate::geo::{distance, Envelope, Point, Shape};

type LitId = u32;

/// Cells a shape's envelope may take at the level it is planned at.
pub(crate) const MAX_CELLS: u64 = 36;
/// How many times a boundary cell is split in four: each split halves the band of cells that
/// need the exact test around the shape's edge, and about doubles the cells listed there.
const REFINE: u32 = 1;
/// Levels: cell side 2^-k degree for k in `0..LEVELS` (1° down to about 3.4 m).
const LEVELS: u32 = 16;
/// Only shapes within these latitudes are covered (flat cell bounds near the poles would be
/// loose; such shapes keep the grids of `geo_index`).
const MAX_ABS_LAT: f64 = 80.0;
/// Upper bound of the length of one degree, of latitude or of longitude at the equator, on
/// WGS84, in metres (111.69 km), rounded up.
const DEGREE_M: f64 = 111_700.0;

#[derive(Clone, Copy)]
struct Covered {
    lit: LitId,
    inside: bool,
}

/// Every covered shape of one field.
#[derive(Default)]
pub(crate) struct Coverings {
    /// (level, row, column) -> the shapes listing that cell.
    cells: ShardedTable<(u64, SmallVec<[Covered; 2]>)>,
    /// Shapes listed at each level, to probe only the levels in use.
    per_level: [u32; LEVELS as usize],
}

fn key(level: u32, row: u64, col: u64) -> u64 {
    u64::from(level) << 58 | row << 29 | col
}

fn side(level: u32) -> f64 {
    1.0 / f64::from(1u32 << level)
}

/// Row and column of a point (`lon` in (-180, 180]) at a level.
fn cell_of(level: u32, lat: f64, lon: f64) -> (u64, u64) {
    let s = side(level);
    (((lat + 90.0) / s) as u64, ((lon + 180.0) / s) as u64)
}

/// How a cell relates to a shape.
#[derive(PartialEq)]
enum Relation {
    Inside,
    Boundary,
    Outside,
}

/// One listed cell of a shape.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Cell {
    level: u32,
    row: u64,
    col: u64,
    inside: bool,
}

/// The cells a shape is listed in: the cells of its plan that it reaches, where each boundary
/// cell is replaced by its four children, classified in turn, down to [`REFINE`] levels below
/// the plan's. Inside cells stay as large as they can be; the cells of one shape never overlap,
/// so a point finds a shape at most once. Deterministic: `remove` recomputes what `insert`
/// listed.
fn covering(shape: &Shape) -> Option<Vec<Cell>> {
    let (level, (r0, c0), (r1, c1)) = plan(shape)?;
    let mut cells = Vec::new();
    for row in r0..=r1 {
        for col in c0..=c1 {
            refine(shape, level, row, col, REFINE, &mut cells);
        }
    }
    Some(cells)
}

fn refine(shape: &Shape, level: u32, row: u64, col: u64, depth: u32, cells: &mut Vec<Cell>) {
    let inside = match relation(shape, level, row, col) {
        Relation::Outside => return,
        Relation::Inside => true,
        Relation::Boundary if depth == 0 || level + 1 == LEVELS => false,
        Relation::Boundary => {
            // Halving the side is exact in floating point, so a point's row and column one
            // level down are always 2 row or 2 row + 1 (and the same for columns).
            for (dr, dc) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                refine(
                    shape,
                    level + 1,
                    2 * row + dr,
                    2 * col + dc,
                    depth - 1,
                    cells,
                );
            }
            return;
        }
    };
    cells.push(Cell {
        level,
        row,
        col,
        inside,
    });
}

/// The distinct levels of a shape's cells.
fn levels_of(cells: &[Cell]) -> impl Iterator<Item = u32> {
    let mut used = 0u32;
    for cell in cells {
        used |= 1 << cell.level;
    }
    (0..LEVELS).filter(move |level| used & (1 << level) != 0)
}

/// The cells of a shape: a level and the (row, column) corners of a rectangle of its cells.
type Plan = (u32, (u64, u64), (u64, u64));

/// Whether a shape may be covered, and the cells of its envelope at the finest level where
/// they are at most [`MAX_CELLS`].
fn plan(shape: &Shape) -> Option<Plan> {
    if matches!(shape, Shape::Polygon(_)) {
        return None; // polygons have their own covering (crate::geo::covering)
    }
    let e: Envelope = shape.envelope();
    if e.is_empty()
        || e.min_lat < -MAX_ABS_LAT
        || e.max_lat > MAX_ABS_LAT
        || e.min_lon <= -180.0
        || e.max_lon > 180.0
        || e.max_lon < e.min_lon
    {
        return None;
    }
    (0..LEVELS).rev().find_map(|level| {
        let (r0, c0) = cell_of(level, e.min_lat, e.min_lon);
        let (r1, c1) = cell_of(level, e.max_lat, e.max_lon);
        ((r1 - r0 + 1) * (c1 - c0 + 1) <= MAX_CELLS).then_some((level, (r0, c0), (r1, c1)))
    })
}

/// How the cell (level, row, col) relates to the shape (see the module docs).
fn relation(shape: &Shape, level: u32, row: u64, col: u64) -> Relation {
    let s = side(level);
    let lat0 = row as f64 * s - 90.0;
    let lon0 = col as f64 * s - 180.0;
    let (lat1, lon1) = (lat0 + s, lon0 + s);
    let centre = Point {
        lat: lat0 + s / 2.0,
        lon: lon0 + s / 2.0,
    };
    // Widest parallel of the cell: the one nearest the equator.
    let widest = if lat0 <= 0.0 && lat1 >= 0.0 {
        1.0
    } else {
        lat0.abs().min(lat1.abs()).to_radians().cos()
    };
    let half_diagonal = 0.5 * s * DEGREE_M * (1.0 + widest * widest).sqrt() * 1.01 + 1.0;
    let ring = |at: Point, from: f64, to: f64| {
        let d = distance(at, centre);
        let margin = |r: f64| r * 1e-3 + 1.0;
        if d - half_diagonal >= from + margin(from) && d + half_diagonal <= to - margin(to) {
            Relation::Inside
        } else if d + half_diagonal < from - margin(from) || d - half_diagonal > to + margin(to) {
            Relation::Outside
        } else {
            Relation::Boundary
        }
    };
    match shape {
        Shape::Circle(c) => ring(c.center, f64::NEG_INFINITY, c.radius),
        Shape::Annulus(a) => ring(a.center, a.from, a.to),
        Shape::BoundingBox(b) => {
            const M: f64 = 1e-9;
            if b.left > b.right {
                return Relation::Boundary;
            }
            if lat0 - M >= b.bottom
                && lat1 + M <= b.top
                && lon0 - M >= b.left
                && lon1 + M <= b.right
            {
                Relation::Inside
            } else if lat1 + M < b.bottom
                || lat0 - M > b.top
                || lon1 + M < b.left
                || lon0 - M > b.right
            {
                Relation::Outside
            } else {
                Relation::Boundary
            }
        }
        Shape::Polygon(_) => Relation::Boundary,
    }
}

impl Coverings {
    pub(crate) fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Lists the shape in its cells; false (and nothing listed) if it is not for coverings.
    pub(crate) fn insert(&mut self, shape: &Shape, lit: LitId) -> bool {
        let Some(cells) = covering(shape) else {
            return false;
        };
        for cell in &cells {
            let k = key(cell.level, cell.row, cell.col);
            let entry = Covered {
                lit,
                inside: cell.inside,
            };
            if let Some((_, list)) = self.cells.find_mut(int_hash(k), |(x, _)| *x == k) {
                list.push(entry);
            } else {
                let mut list = SmallVec::new();
                list.push(entry);
                self.cells
                    .insert_unique(int_hash(k), (k, list), |(x, _)| int_hash(*x));
            }
        }
        for level in levels_of(&cells) {
            self.per_level[level as usize] += 1;
        }
        true
    }

    /// Forgets the shape; false if it was not covered here.
    pub(crate) fn remove(&mut self, shape: &Shape, lit: LitId) -> bool {
        let Some(cells) = covering(shape) else {
            return false;
        };
        for cell in &cells {
            let k = key(cell.level, cell.row, cell.col);
            let emptied = match self.cells.find_mut(int_hash(k), |(x, _)| *x == k) {
                Some((_, list)) => {
                    list.retain(|e| e.lit != lit);
                    list.is_empty()
                }
                None => false,
            };
            if emptied {
                self.cells.remove(int_hash(k), |(x, _)| *x == k);
            }
        }
        for level in levels_of(&cells) {
            let count = &mut self.per_level[level as usize];
            *count = count.saturating_sub(1);
        }
        if self.cells.is_empty() {
            self.cells = ShardedTable::default();
        }
        true
    }

    /// Calls `found(lit, inside)` for every shape listing the point's cell at its level:
    /// `inside` means the shape holds the point for sure. `lon` is `point.lon` normalized.
    #[inline]
    pub(crate) fn locate(&self, point: Point, lon: f64, found: &mut impl FnMut(LitId, bool)) {
        if self.cells.is_empty() || point.lat.abs() > MAX_ABS_LAT || !point.lat.is_finite() {
            return;
        }
        // The shortcut only for points written as the cells see them.
        let exact_lon = lon == point.lon;
        for level in 0..LEVELS {
            if self.per_level[level as usize] == 0 {
                continue;
            }
            let (row, col) = cell_of(level, point.lat, lon);
            let k = key(level, row, col);
            if let Some((_, list)) = self.cells.find(int_hash(k), |(x, _)| *x == k) {
                for e in list {
                    found(e.lit, e.inside && exact_lon);
                }
            }
        }
    }

    /// Every covered shape, possibly several times (for points the cells cannot place).
    pub(crate) fn all(&self, found: &mut impl FnMut(LitId)) {
        for (_, list) in self.cells.iter() {
            for e in list {
                found(e.lit);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::{test_random, Annulus, BoundingBox, Circle};

    /// A point `km` away from `c` on a bearing (flat approximation: only needs to be near).
    fn away(c: Point, km: f64, bearing: f64) -> Point {
        Point {
            lat: c.lat + km * bearing.cos() / 111.32,
            lon: c.lon + km * bearing.sin() / (111.32 * c.lat.to_radians().cos()),
        }
    }

    /// Shapes crowding around one city, points in it and on every boundary: "inside" is only
    /// ever said of a shape that contains the point, and every shape that contains a point
    /// is reported.
    #[test]
    fn dense_clusters_are_exact() {
        let mut rand = test_random(0x5eed);
        let city = Point {
            lat: 48.8566,
            lon: 2.3522,
        };
        let mut shapes = Vec::new();
        for i in 0..3000 {
            let centre = away(city, rand() * 20.0, rand() * std::f64::consts::TAU);
            let km = (rand() * (50.0f64.ln() - 0.05f64.ln()) + 0.05f64.ln()).exp();
            shapes.push(match i % 3 {
                0 => Shape::Circle(Circle {
                    center: centre,
                    radius: km * 1000.0,
                }),
                1 => Shape::Annulus(Annulus {
                    center: centre,
                    from: km * 300.0,
                    to: km * 1000.0,
                }),
                _ => {
                    let h = km / 111.32;
                    Shape::BoundingBox(BoundingBox {
                        top: centre.lat + h,
                        bottom: centre.lat - h,
                        left: centre.lon - h,
                        right: centre.lon + 1.5 * h,
                    })
                }
            });
        }
        let mut covered = Coverings::default();
        for (lit, shape) in shapes.iter().enumerate() {
            assert!(covered.insert(shape, lit as LitId), "{shape:?}");
        }
        let mut points: Vec<Point> = (0..4000)
            .map(|_| away(city, rand() * 60.0, rand() * std::f64::consts::TAU))
            .collect();
        // On and next to the boundaries.
        for shape in shapes.iter().take(1500) {
            let b = rand() * std::f64::consts::TAU;
            match shape {
                Shape::Circle(c) => {
                    for f in [1.0 - 1e-9, 1.0, 1.0 + 1e-9, 0.999, 1.001] {
                        points.push(away(c.center, c.radius / 1000.0 * f, b));
                    }
                }
                Shape::Annulus(a) => {
                    for r in [a.from, a.to] {
                        for f in [1.0 - 1e-9, 1.0, 1.0 + 1e-9] {
                            points.push(away(a.center, r / 1000.0 * f, b));
                        }
                    }
                }
                Shape::BoundingBox(bx) => {
                    points.push(Point {
                        lat: bx.top,
                        lon: bx.left,
                    });
                    points.push(Point {
                        lat: bx.bottom,
                        lon: (bx.left + bx.right) / 2.0,
                    });
                    points.push(Point {
                        lat: bx.top + 1e-12,
                        lon: bx.right,
                    });
                }
                Shape::Polygon(_) => {}
            }
        }
        let (mut sure, mut found_total, mut contained) = (0usize, 0usize, 0usize);
        let mut found = Vec::new();
        for &p in &points {
            found.clear();
            covered.locate(p, p.lon, &mut |lit, inside| found.push((lit, inside)));
            found_total += found.len();
            for &(lit, inside) in &found {
                if inside {
                    sure += 1;
                    assert!(
                        shapes[lit as usize].contains(p),
                        "{:?} at {p:?}",
                        shapes[lit as usize]
                    );
                }
            }
            for (lit, shape) in shapes.iter().enumerate() {
                if shape.contains(p) {
                    contained += 1;
                    assert!(
                        found.iter().any(|&(l, _)| l == lit as LitId),
                        "{shape:?} at {p:?}"
                    );
                }
            }
        }
        // Candidates follow the shapes that hold the point (plus those on whose boundary it
        // lies: 1.22 times as many here), and most of the answers need no exact test (72 %
        // here; 46 % without the refinement of boundary cells).
        assert!(
            found_total * 10 < 13 * contained,
            "{found_total} candidates, {contained} contained"
        );
        assert!(
            sure * 3 > 2 * contained,
            "{sure} sure, {contained} contained"
        );
        for (lit, shape) in shapes.iter().enumerate() {
            assert!(covered.remove(shape, lit as LitId));
        }
        assert!(covered.is_empty());
    }
}
