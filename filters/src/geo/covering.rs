//! A polygon's covering: a grid over its envelope whose cells say "every point here is
//! covered", "no point here is", or "test the point".
//!
//! # Why
//!
//! Matching a point against a polygon walks the ring's edges (Boost's winding strategy,
//! `winding.rs`); with the per-edge bands that is tens of nanoseconds per candidate polygon,
//! and a document typically has a few dozen candidates (the polygons whose envelope holds the
//! point). Away from the boundary the answer is the same for whole regions, so it is computed
//! once per region when the filter is parsed, and a point far from the boundary costs a
//! grid lookup.
//!
//! # Soundness
//!
//! A region is classified only when *every* edge has the same effect on the walk for every
//! point of it ([`EdgeBand::over_region`]: the branches the banded walk takes, never an
//! assumed exact side); the walk's result is then computed from those effects, exactly as
//! the walk would. An edge's effect changes where the point's longitude crosses one of its
//! ends (its count goes from ±2 to 0): a region is therefore cut at those meridians and each
//! piece classified on its own, and the points within [`STRIP`] of such a meridian are
//! always sent to the walk (the polygon's answer does not change there away from its
//! boundary, but proving it edge by edge would need the walk's fuzzy endpoint logic). Regions are closed and widened by [`SLACK`] so that a point a rounding
//! error outside its cell is still inside the classified region. Anything not provably
//! uniform is split, down to [`GRID`] × [`GRID`] cells, and cells still not uniform send the
//! point to the exact walk.

use super::winding::{EdgeBand, EdgeEffect, Region};
use super::Point;

/// Cells per side of the grid (a power of two: regions are split in quarters).
const GRID: usize = 32;
/// Widening of every classified region, in degrees.
const SLACK: f64 = 1e-9;
/// Half-width of the strip around an edge end's meridian left to the walk, in degrees (wider
/// than the margin of [`EdgeBand::over_region`]).
const STRIP: f64 = 3e-5;

// Cell classes (0: unknown, test the point).
const INSIDE: u8 = 1;
const OUTSIDE: u8 = 2;

/// See the module documentation.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Covering {
    lon_min: f64,
    lat_min: f64,
    lon_max: f64,
    lat_max: f64,
    /// Cells per degree, in longitude and latitude.
    lon_scale: f64,
    lat_scale: f64,
    /// Two bits per cell, row-major by latitude.
    cells: Box<[u8]>,
    /// The meridians where an edge's effect changes, sorted, around the envelope.
    meridians: Box<[f64]>,
}

impl Covering {
    /// The covering of a ring with the given bands (as the walk lists its edges) over its
    /// envelope `[lon_min, lon_max] × [lat_min, lat_max]`, or `None` when there is nothing
    /// to gain (an envelope across the antimeridian or degenerate, or no region provably
    /// uniform).
    pub(crate) fn new(
        bands: &[EdgeBand],
        lon_min: f64,
        lat_min: f64,
        lon_max: f64,
        lat_max: f64,
    ) -> Option<Covering> {
        let lon_valid = -180.0 <= lon_min && lon_min < lon_max && lon_max <= 180.0;
        let lat_valid = -90.0 <= lat_min && lat_min < lat_max && lat_max <= 90.0;
        if !(lon_valid && lat_valid) {
            return None;
        }
        let mut meridians = Vec::new();
        for band in bands {
            for m in band.critical_meridians()? {
                for copy in [m - 360.0, m, m + 360.0] {
                    if lon_min - 1.0 <= copy && copy <= lon_max + 1.0 {
                        meridians.push(copy);
                    }
                }
            }
        }
        meridians.sort_by(f64::total_cmp);
        meridians.dedup();
        let mut covering = Covering {
            lon_min,
            lat_min,
            lon_max,
            lat_max,
            lon_scale: GRID as f64 / (lon_max - lon_min),
            lat_scale: GRID as f64 / (lat_max - lat_min),
            cells: vec![0u8; GRID * GRID / 4].into_boxed_slice(),
            meridians: meridians.into_boxed_slice(),
        };
        let all: Vec<&EdgeBand> = bands.iter().collect();
        covering.classify(&all, 0, 0, 0, GRID);
        covering
            .cells
            .iter()
            .any(|&byte| byte != 0)
            .then_some(covering)
    }

    /// Classifies the square of `size` cells whose first cell is `(i, j)` (longitude,
    /// latitude), splitting it while it is not uniform. `open` are the edges whose effect on
    /// the enclosing square was not uniform; the others' crossings are counted in `count`
    /// (an edge uniform over a square is uniform over its parts, so children only re-examine
    /// the open edges: most squares near the boundary have one or two).
    fn classify(&mut self, open: &[&EdgeBand], count: i32, i: usize, j: usize, size: usize) {
        let lon_step = (self.lon_max - self.lon_min) / GRID as f64;
        let lat_step = (self.lat_max - self.lat_min) / GRID as f64;
        let region = Region {
            lon_a: (self.lon_min + i as f64 * lon_step - SLACK).max(-180.0),
            lon_b: (self.lon_min + (i + size) as f64 * lon_step + SLACK).min(180.0),
            lat_lo: self.lat_min + j as f64 * lat_step - SLACK,
            lat_hi: self.lat_min + (j + size) as f64 * lat_step + SLACK,
        };
        let mut count = count;
        let mut still_open = Vec::new();
        for &band in open {
            match band.over_region(region) {
                Some(effect) => count += counted(effect),
                None => still_open.push(band),
            }
        }
        let covered = if still_open.is_empty() {
            Some(count != 0)
        } else {
            self.uniform(&still_open, count, region)
        };
        if let Some(covered) = covered {
            let class = if covered { INSIDE } else { OUTSIDE };
            for y in j..j + size {
                for x in i..i + size {
                    self.set(x, y, class);
                }
            }
        } else if size > 1 {
            let half = size / 2;
            for (di, dj) in [(0, 0), (half, 0), (0, half), (half, half)] {
                self.classify(&still_open, count, i + di, j + dj, half);
            }
        }
    }

    fn set(&mut self, x: usize, y: usize, class: u8) {
        let cell = y * GRID + x;
        if let Some(byte) = self.cells.get_mut(cell / 4) {
            *byte |= class << (2 * (cell % 4));
        }
    }

    /// Whether the polygon covers `p`, when the covering knows; `None`: test the point.
    /// Points outside the envelope are left to the caller.
    #[inline]
    pub(crate) fn lookup(&self, p: Point) -> Option<bool> {
        if !(p.lon >= self.lon_min
            && p.lon <= self.lon_max
            && p.lat >= self.lat_min
            && p.lat <= self.lat_max)
        {
            return None;
        }
        // Casts floor these non-negative values; the far edge belongs to the last cell.
        let x = (((p.lon - self.lon_min) * self.lon_scale) as usize).min(GRID - 1);
        let y = (((p.lat - self.lat_min) * self.lat_scale) as usize).min(GRID - 1);
        let cell = y * GRID + x;
        let covered = match (self.cells.get(cell / 4)? >> (2 * (cell % 4))) & 3 {
            INSIDE => true,
            OUTSIDE => false,
            _ => return None,
        };
        if self.meridians.iter().any(|m| (p.lon - m).abs() < STRIP) {
            return None;
        }
        Some(covered)
    }

    /// Whether every point of the region off the strips around [`Covering::meridians`] is
    /// covered (`Some(true)`), none is (`Some(false)`), or either may hold (`None`): the
    /// region is cut at the meridians and every piece must agree.
    fn uniform(&self, open: &[&EdgeBand], count: i32, region: Region) -> Option<bool> {
        let Region { lon_a, lon_b, .. } = region;
        let mut answer = None;
        let mut from = lon_a;
        let mut cuts = self
            .meridians
            .iter()
            .filter(|&&m| lon_a - STRIP < m && m < lon_b + STRIP)
            .peekable();
        // Without a cut, the pieces are the square itself, already found open.
        cuts.peek()?;
        for to in cuts.map(|m| m - STRIP).chain([lon_b]) {
            if to > from {
                let piece = Region {
                    lon_a: from,
                    lon_b: to,
                    ..region
                };
                let piece = uniform_piece(open, count, piece)?;
                if answer.is_some_and(|a| a != piece) {
                    return None;
                }
                answer = Some(piece);
            }
            from = to + 2.0 * STRIP;
        }
        answer
    }
}

/// Whether every point of the region is covered (`Some(true)`), none is (`Some(false)`), or
/// either may hold (`None`), from the walk's counter as `point_in_ring_banded` keeps it: with
/// no edge touching the point and no antimeridian count, the point is inside when the count
/// of crossings on the counting side is not zero. `count`: the other edges' crossings.
fn uniform_piece(open: &[&EdgeBand], count: i32, region: Region) -> Option<bool> {
    let mut count = count;
    for band in open {
        count += counted(band.over_region(region)?);
    }
    Some(count != 0)
}

/// What an edge adds to the walk's `count` (the crossings on the counting side).
fn counted(effect: EdgeEffect) -> i32 {
    match effect {
        EdgeEffect::Crosses { count, side } if side * count > 0 => count,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Polygon;
    use super::*;

    /// The covering never changes an answer: random star polygons (as Koncorde's benchmark
    /// draws them, and larger, smaller, near the poles and the antimeridian), probed where a
    /// covering could go wrong: cell boundaries, the vertices' meridians, the edges.
    #[test]
    fn covering_agrees_with_the_exact_walk() {
        let mut rand = super::super::test_random(0x2545_F491_4F6C_DD1D);
        let (mut probes, mut answered, mut with_covering) = (0usize, 0usize, 0usize);
        for round in 0..300 {
            let (_, _, points) = super::super::test_star_polygon(&mut rand, round);
            let polygon = Polygon::new(points.clone());
            let Some(covering) = polygon.covering.as_deref() else {
                continue;
            };
            with_covering += 1;
            let mut probe = |p: Point| {
                super::super::assert_covers_exactly(&polygon, &points, p);
                probes += 1;
                answered += usize::from(covering.lookup(p).is_some());
            };
            let (lon_step, lat_step) = (
                (covering.lon_max - covering.lon_min) / GRID as f64,
                (covering.lat_max - covering.lat_min) / GRID as f64,
            );
            for _ in 0..200 {
                probe(Point {
                    lat: covering.lat_min + rand() * (covering.lat_max - covering.lat_min),
                    lon: covering.lon_min + rand() * (covering.lon_max - covering.lon_min),
                });
            }
            // Cell corners, exactly and a rounding error or a hair away.
            for _ in 0..100 {
                let x = (rand() * GRID as f64) as usize;
                let y = (rand() * GRID as f64) as usize;
                for (dx, dy) in [(0.0, 0.0), (1e-12, -1e-12), (-1e-9, 1e-9), (2e-9, 2e-9)] {
                    probe(Point {
                        lat: covering.lat_min + y as f64 * lat_step + dy,
                        lon: covering.lon_min + x as f64 * lon_step + dx,
                    });
                }
            }
            // The vertices' meridians, inside and just outside the strips.
            for &m in covering.meridians.iter() {
                for d in [0.0, 1e-7, -1e-6, 1e-5, -2.9e-5, 3.1e-5, -5e-5, 1e-3] {
                    probe(Point {
                        lat: covering.lat_min + rand() * (covering.lat_max - covering.lat_min),
                        lon: m + d,
                    });
                }
            }
            // Along and across the edges.
            for pair in points.windows(2) {
                for t in [0.1, 0.5, 0.9] {
                    let lon = pair[0].lon + (pair[1].lon - pair[0].lon) * t;
                    let lat = pair[0].lat + (pair[1].lat - pair[0].lat) * t;
                    for d in [-0.5, -0.1, -0.01, 0.0, 0.01, 0.1, 0.5] {
                        probe(Point { lat: lat + d, lon });
                    }
                }
            }
        }
        // The test is only worth something if coverings exist and answer often.
        assert!(
            with_covering > 150,
            "{with_covering} polygons with a covering"
        );
        assert!(
            answered * 4 > probes,
            "the covering answered {answered} of {probes} probes"
        );
    }
}
