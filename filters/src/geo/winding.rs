//! Point in ring by winding number on the sphere/spheroid: a port of Boost's
//! `strategy::within::detail::spherical_winding_base` (Boost.Geometry 1.87,
//! `strategies/spherical/point_in_poly_winding.hpp`).
//!
//! The walk is generic over the *side strategy* (which side of the edge
//! `s1 -> s2` a point lies on: 1 left, -1 right, 0 on it):
//!
//! * [`geographic_side`] is `side::geographic<andoyer>`: it compares the
//!   Andoyer azimuth from `s1` to the point with the azimuth from `s1` to
//!   `s2`. Edges are therefore geodesics on the WGS84 spheroid. This is what
//!   `covered_by(point, polygon)` uses in a geographic coordinate system.
//! * [`pole_side`] is `envelope::detail::side_of_pole`, used only to decide
//!   whether a ring whose envelope spans all longitudes contains a pole.
//!
//! Everything is in degrees, exactly like Boost, which runs this strategy on
//! the stored (degree) coordinates and converts to radians only inside the
//! side strategy. Comparisons use Boost's fuzzy `math::equals` where Boost
//! does, and exact ones where Boost does.

use super::ellipsoid::{
    andoyer_inverse, eq, lon_distance_signed, normalize_longitude, points_equal, sign, D2R, R2D,
};
use super::Point;
use std::f64::consts::PI;

/// The `counter` state of `spherical_winding_base`.
#[derive(Default)]
struct Counter {
    count: i32,
    count_s: i32,
    raw_count: i32,
    raw_count_anti: i32,
    touches: bool,
}

impl Counter {
    /// 1 inside, 0 on the boundary, -1 outside.
    fn code(&self) -> i32 {
        if self.touches {
            return 0;
        }
        if self.raw_count != 0 && self.raw_count_anti != 0 {
            if self.raw_count > 0 {
                return if self.count + self.count_s == 0 {
                    -1
                } else {
                    1
                };
            }
            return if self.count == 0 { -1 } else { 1 };
        }
        if self.count == 0 {
            -1
        } else {
            1
        }
    }
}

#[derive(Clone, Copy)]
struct CountInfo {
    count: i32,
    is_anti: bool,
}

/// `longitudes_equal`: fuzzy equality of the normalized difference with 0.
fn longitudes_equal(lon1: f64, lon2: f64) -> bool {
    eq(lon_distance_signed(lon1, lon2), 0.0)
}

/// Runs the winding strategy over the ring as Boost's `point_in_geometry`
/// sees it: Koncorde declares its polygons counter-clockwise and open
/// (`model::polygon<point, false, false>`), so Boost walks the ring closed
/// (first vertex appended) and then reversed. Returns 1 (inside), 0 (on the
/// boundary) or -1 (outside); rings of fewer than 3 points are outside.
pub(crate) fn point_in_ring<S>(p: Point, ring: &[Point], side: &S) -> i32
where
    S: Fn(Point, Point, Point) -> i32,
{
    point_in_ring_banded(p, ring, &[], side)
}

/// [`point_in_ring`] using what `bands` precomputed for the edges of the walk (as listed by
/// [`walk_edges`]; edges without a band are computed in full): the same answer, faster.
pub(crate) fn point_in_ring_banded<S>(p: Point, ring: &[Point], bands: &[EdgeBand], side: &S) -> i32
where
    S: Fn(Point, Point, Point) -> i32,
{
    let n = ring.len();
    if n < 3 {
        return -1;
    }
    // Closed then reversed: ring[0], ring[n-1], ..., ring[1], ring[0].
    let at = |i: usize| -> Point {
        if i == 0 || i == n {
            ring[0]
        } else {
            ring[n - i]
        }
    };
    let mut state = Counter::default();
    for i in 0..n {
        if !apply(p, bands.get(i), at(i), at(i + 1), &mut state, side) {
            break;
        }
    }
    state.code()
}

/// The edges [`point_in_ring`] walks, in its order (`(s1, s2)` for edge `i`).
pub(crate) fn walk_edges(ring: &[Point]) -> impl Iterator<Item = (Point, Point)> + '_ {
    let n = ring.len();
    let at = move |i: usize| -> Point {
        if i == 0 || i == n {
            ring[0]
        } else {
            ring[n - i]
        }
    };
    (0..if n < 3 { 0 } else { n }).map(move |i| (at(i), at(i + 1)))
}

/// `spherical_winding_base::apply` (`band`: what is precomputed for `s1 -> s2`, if anything).
fn apply<S>(
    point: Point,
    band: Option<&EdgeBand>,
    s1: Point,
    s2: Point,
    state: &mut Counter,
    side: &S,
) -> bool
where
    S: Fn(Point, Point, Point) -> i32,
{
    let mut eq1 = false;
    let mut eq2 = false;
    let mut s_antipodal = false;

    let ci = match band.map_or(Span::Near, |b| b.locate(point)) {
        Span::Far => return true,
        Span::Inside(count) => CountInfo {
            count,
            is_anti: false,
        },
        Span::Near => check_segment(point, s1, s2, state, &mut eq1, &mut eq2, &mut s_antipodal),
    };
    if ci.count != 0 {
        if !ci.is_anti {
            let side_value = if ci.count == 1 || ci.count == -1 {
                side_equal(point, if eq1 { s1 } else { s2 }, ci, side)
            } else if !s_antipodal {
                band.and_then(|b| b.side(point))
                    .unwrap_or_else(|| side(s1, s2, point))
            } else {
                let through_north = 180.0 - s1.lat - s2.lat <= 180.0;
                sign(f64::from(ci.count)) * if through_north { -1 } else { 1 }
            };
            if side_value == 0 {
                state.touches = true;
                state.count = 0;
                return false;
            }
            if side_value * ci.count > 0 {
                state.count += ci.count;
            }
            state.raw_count += ci.count;
        } else {
            state.count_s -= ci.count;
            state.raw_count_anti -= ci.count;
        }
    }
    !state.touches
}

fn check_segment(
    point: Point,
    s1: Point,
    s2: Point,
    state: &mut Counter,
    eq1: &mut bool,
    eq2: &mut bool,
    s_antipodal: &mut bool,
) -> CountInfo {
    if check_touch(point, s1, s2, state, eq1, eq2, s_antipodal) {
        return CountInfo {
            count: 0,
            is_anti: false,
        };
    }
    calculate_count(point, s1, s2, *eq1, *eq2, *s_antipodal)
}

/// `check_touch`: handles segments aligned with the point's meridian (or its
/// antimeridian) and segments ending at a pole; sets `touches` when the point
/// lies on such a segment.
fn check_touch(
    point: Point,
    seg1: Point,
    seg2: Point,
    state: &mut Counter,
    eq1: &mut bool,
    eq2: &mut bool,
    s_antipodal: &mut bool,
) -> bool {
    let pi = 180.0;
    let half_pi = 90.0;
    let p_lon = point.lon;
    let s1_lon = seg1.lon;
    let s2_lon = seg2.lon;
    let p_lat = point.lat;
    let s1_lat = seg1.lat;
    let s2_lat = seg2.lat;

    let eq1_strict = longitudes_equal(s1_lon, p_lon);
    let eq2_strict = longitudes_equal(s2_lon, p_lon);
    let mut eq1_anti = false;
    let mut eq2_anti = false;

    let anti_p_lon = p_lon + if p_lon <= 0.0 { pi } else { -pi };

    *eq1 = eq1_strict || {
        eq1_anti = longitudes_equal(s1_lon, anti_p_lon);
        eq1_anti
    };
    *eq2 = eq2_strict || {
        eq2_anti = longitudes_equal(s2_lon, anti_p_lon);
        eq2_anti
    };

    let s_lon_diff = lon_distance_signed(s1_lon, s2_lon);
    *s_antipodal = eq(s_lon_diff, pi);
    if *s_antipodal {
        let either = *eq1 || *eq2;
        *eq1 = either;
        *eq2 = either;
        if eq(p_lat.abs(), half_pi) {
            *eq1 = true;
            *eq2 = true;
        }
    }

    if lon_distance_signed(s2_lon, p_lon) == 0.0 {
        let s1_north = eq(seg1.lat, half_pi);
        let s1_south = eq(seg1.lat, -half_pi);
        if s1_north || s1_south {
            state.touches = if s1_south {
                s2_lat > p_lat
            } else {
                s2_lat < p_lat
            };
            return state.touches;
        }
    }
    if lon_distance_signed(s1_lon, p_lon) == 0.0 {
        let s2_north = eq(seg2.lat, half_pi);
        let s2_south = eq(seg2.lat, -half_pi);
        if s2_north || s2_south {
            state.touches = if s2_south {
                s1_lat > p_lat
            } else {
                s1_lat < p_lat
            };
            return state.touches;
        }
    }

    if *eq1 && *eq2 {
        if !*s_antipodal {
            if ((s1_lat <= p_lat && s2_lat >= p_lat) || (s2_lat <= p_lat && s1_lat >= p_lat))
                && (!eq1_anti || !eq2_anti)
            {
                state.touches = true;
            }
        } else if pi - s1_lat - s2_lat <= pi {
            // Through the north pole.
            if (eq1_strict && s1_lat <= p_lat)
                || (eq2_strict && s2_lat <= p_lat)
                || eq(p_lat, half_pi)
            {
                state.touches = true;
            } else if !eq1_strict && !eq2_strict && eq(p_lat, -half_pi) {
                return false;
            }
        } else if (eq1_strict && s1_lat >= p_lat)
            || (eq2_strict && s2_lat >= p_lat)
            || eq(p_lat, -half_pi)
        {
            // Through the south pole.
            state.touches = true;
        } else if !eq1_strict && !eq2_strict && eq(p_lat, half_pi) {
            return false;
        }
        return true;
    }
    false
}

/// `calculate_count`: whether and how (±1 at an endpoint's meridian, ±2
/// strictly between) the segment crosses the point's meridian or, flagged
/// `is_anti`, its antimeridian.
fn calculate_count(
    point: Point,
    seg1: Point,
    seg2: Point,
    eq1: bool,
    eq2: bool,
    s_antipodal: bool,
) -> CountInfo {
    let pi = 180.0;
    let half_pi = 90.0;
    let none = CountInfo {
        count: 0,
        is_anti: false,
    };

    let s1_is_pole = eq(seg1.lat.abs(), half_pi);
    let s2_is_pole = eq(seg2.lat.abs(), half_pi);
    if s1_is_pole && s2_is_pole {
        return none;
    }

    let p = point.lon;
    let mut s1 = seg1.lon;
    let mut s2 = seg2.lon;
    if s1_is_pole {
        s1 = if p != 0.0 { 0.0 } else { 1.0 };
    }
    if s2_is_pole {
        s2 = if p != 0.0 { 0.0 } else { 1.0 };
    }

    let s1_p = lon_distance_signed(s1, p);

    if s_antipodal {
        return CountInfo {
            count: if s1_p < 0.0 { -2 } else { 2 },
            is_anti: false,
        };
    }

    let s1_s2 = lon_distance_signed(s1, s2);

    if eq1 || eq2 {
        return CountInfo {
            count: if s1_s2 < 0.0 { -1 } else { 1 },
            is_anti: longitudes_equal(p + pi, if eq1 { s1 } else { s2 }),
        };
    }

    if sign(s1_p) == sign(s1_s2) && s1_p.abs() < s1_s2.abs() {
        return CountInfo {
            count: if s1_s2 < 0.0 { -2 } else { 2 },
            is_anti: false,
        };
    }

    let s1_p_anti = lon_distance_signed(s1, p + pi);
    if sign(s1_p_anti) == sign(s1_s2) && s1_p_anti.abs() < s1_s2.abs() {
        return CountInfo {
            count: if s1_s2 < 0.0 { -2 } else { 2 },
            is_anti: true,
        };
    }
    none
}

/// `side_equal`: the point is level with a segment endpoint `se`; decide the
/// side against a 1°-long eastward (or westward) segment starting at `se`.
fn side_equal<S>(point: Point, se: Point, ci: CountInfo, side: &S) -> i32
where
    S: Fn(Point, Point, Point) -> i32,
{
    if eq(point.lat, se.lat) {
        return 0;
    }
    let ss1 = se;
    let small_angle = 1.0;
    let lon = if ci.count > 0 {
        se.lon + small_angle
    } else {
        se.lon - small_angle
    };
    let ss2 = Point {
        lat: se.lat,
        lon: normalize_longitude(lon),
    };
    side(ss1, ss2, point)
}

/// Andoyer forward azimuth from `p1` to `p2` (degrees in, radians out).
fn azimuth(p1: Point, p2: Point) -> f64 {
    andoyer_inverse(
        p1.lon * D2R,
        p1.lat * D2R,
        p2.lon * D2R,
        p2.lat * D2R,
        false,
        true,
    )
    .azimuth
}

/// `side::geographic<andoyer>::apply(p1, p2, p)`: 1 if `p` is left of the
/// geodesic `p1 -> p2`, -1 if right, 0 if on it (or degenerate).
pub(crate) fn geographic_side(p1: Point, p2: Point, p: Point) -> i32 {
    if points_equal(p.lon, p.lat, p1.lon, p1.lat)
        || points_equal(p.lon, p.lat, p2.lon, p2.lat)
        || points_equal(p1.lon, p1.lat, p2.lon, p2.lat)
    {
        return 0;
    }
    let a1p = azimuth(p1, p);
    let a12 = azimuth(p1, p2);
    azimuth_side_value(a1p, a12)
}

/// `formula::azimuth_side_value`.
fn azimuth_side_value(azi_a1_p: f64, azi_a1_a2: f64) -> i32 {
    let mut a_diff = azi_a1_p - azi_a1_a2;
    // normalize_angle_loop<radian>; the guard keeps an infinite difference
    // (impossible from atan2, but cheap to exclude) from looping forever.
    if !a_diff.is_finite() {
        return 0;
    }
    while a_diff > PI {
        a_diff -= 2.0 * PI;
    }
    while a_diff <= -PI {
        a_diff += 2.0 * PI;
    }
    if eq(a_diff, 0.0) || eq(a_diff, PI) || eq(a_diff, -PI) {
        0
    } else if a_diff > 0.0 {
        -1
    } else {
        1
    }
}

/// `envelope::detail::side_of_pole::apply(p1, p2, pole)`.
pub(crate) fn pole_side(p1: Point, p2: Point, pole: Point) -> i32 {
    let pi = 180.0;
    let s_lon_diff = lon_distance_signed(p1.lon, p2.lon);
    let s_vertical = eq(s_lon_diff, 0.0) || eq(s_lon_diff, pi);
    if s_vertical {
        return 0;
    }
    if eq(pole.lat, p1.lat) || eq(pole.lat, p2.lat) {
        return 0;
    }
    if pole.lat >= 0.0 {
        if s_lon_diff < 0.0 {
            -1
        } else {
            1
        }
    } else if s_lon_diff > 0.0 {
        -1
    } else {
        1
    }
}

/// Latitude margin around an edge's envelope, in degrees (5.5 km). The side strategy's zero
/// set is the Andoyer approximation of the geodesic, which strays from the geodesic (whose
/// envelope Boost computes) by metres over the longest edges: the margin is hundreds of times
/// that.
const BAND_MARGIN: f64 = 0.05;

/// Edges and points beyond this latitude always take the exact side test (near the poles the
/// longitude-span argument of [`EdgeBand`] degenerates).
const BAND_MAX_LAT: f64 = 85.0;

/// The side of one ring edge, precomputed for the points far north or far south of it.
///
/// The winding walk asks for `side(s1, s2, p)` only when `p`'s longitude lies strictly inside
/// the edge's longitude span (count ±2), and that is where almost all of the cost of a polygon
/// test goes (two Andoyer azimuths, a dozen trigonometric calls). Within that span (less than
/// 180° wide), the side strategy changes sign only on the edge itself: its other zero set, the
/// backward geodesic from `s1`, and the antipode of `s1` lie outside the span. The edge stays
/// within its geodesic envelope's latitudes (vertex bulge included) up to the Andoyer error.
/// So every point of the span north of `lat_max + BAND_MARGIN` (up to [`BAND_MAX_LAT`]) has
/// one side, and every point south of `lat_min - BAND_MARGIN` the other: each is computed once,
/// with the exact strategy, at a sample point, and only points inside the band pay for the
/// exact test. Edges where the samples do not give two opposite non-zero sides (degenerate
/// edges, spans near 180°, polar edges) always take the exact test.
///
/// The band also records the edge's longitude span, so that the walk skips at once the edges
/// whose span (and its antimeridian copy) is far from the point's longitude: for those Boost's
/// `check_touch` and `calculate_count` find no touch and a count of 0 (all their longitude
/// equalities are fuzzy to about 1e-13°; [`SKIP_MARGIN`] is far wider), so the edge changes
/// nothing, and the walk avoids their dozen `fmod`-based longitude normalizations. Likewise a
/// point well inside the span is counted without them ([`Span::Inside`]).
///
/// A long diagonal edge has a wide latitude band, so edges of moderate latitude also get
/// *sub-bands*: the span is cut in pieces of at most [`SUB_WIDTH`] degrees of longitude (and of
/// latitude between their ends, on the chord), and each piece has the band of the edge over
/// it. The edge's latitude at each cut is that of the great circle through the endpoints,
/// *verified* with the exact strategy (the sides just north and just south of it must be the
/// two sides above, so the exact zero set crosses the cut within [`SUB_CHECK`]); over a piece,
/// the curve is monotone in latitude except around its vertex, where it strays from the chord
/// of the piece's ends by less than 0.004° below [`SUB_MAX_LAT`], and each sub-band adds
/// [`BAND_MARGIN`]. If any cut fails the check, the edge keeps its single band. Bands are
/// computed when the filter is parsed, outside any lock (a few µs per polygon; 10,000
/// five-vertex polygons take 0.1 s more to register), and take up to a few hundred bytes per
/// edge.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EdgeBand {
    lo: f64,
    hi: f64,
    north: i8,
    south: i8,
    /// Whether `start` and `span` are set (else the walk runs Boost's logic in full).
    has_span: bool,
    /// `s1`'s normalized longitude and the signed span to `s2` (0 for a meridian edge, which
    /// Boost never counts for a point off its meridian and its antimeridian).
    start: f64,
    span: f64,
    /// Per piece of the span, in order from `s1`: its latitude band (empty: none).
    sub: Box<[(f64, f64)]>,
}

/// Longest piece of an edge's span with a sub-band, in degrees of longitude.
const SUB_WIDTH: f64 = 1.0;
/// Most pieces per edge.
const SUB_MAX: usize = 64;
/// Edges with a sub-band stay within these latitudes.
const SUB_MAX_LAT: f64 = 60.0;
/// Latitude offset of the exact-side check at each cut, in degrees.
const SUB_CHECK: f64 = 0.01;

/// Where a point's longitude lies with respect to an edge's longitude span.
enum Span {
    /// Far from the span and from its antimeridian copy: the edge changes nothing.
    Far,
    /// Strictly inside the span, far from its ends: Boost's `check_touch` finds no touch (no
    /// longitude equality holds, the antimeridian copies of the ends are more than a degree
    /// away since the span is below 179°) and `calculate_count` counts this crossing (±2,
    /// with the span's sign); only the side remains to compute.
    Inside(i32),
    /// Near an end of the span or of its copy: Boost's full logic.
    Near,
}

/// Longitude margin of the skip test, in degrees.
const SKIP_MARGIN: f64 = 1e-6;

/// `x` wrapped into `(-180, 180]` by at most one turn (`x` in `[-540, 540]`).
#[inline]
fn wrap_once(x: f64) -> f64 {
    if x > 180.0 {
        x - 360.0
    } else if x <= -180.0 {
        x + 360.0
    } else {
        x
    }
}

impl EdgeBand {
    fn exact() -> EdgeBand {
        EdgeBand {
            lo: 0.0,
            hi: 0.0,
            north: 0,
            south: 0,
            has_span: false,
            start: 0.0,
            span: 0.0,
            sub: Box::new([]),
        }
    }

    pub(crate) fn new(s1: Point, s2: Point) -> EdgeBand {
        let finite = [s1.lat, s1.lon, s2.lat, s2.lon]
            .iter()
            .all(|x| x.is_finite());
        if !finite || s1.lat.abs() > BAND_MAX_LAT || s2.lat.abs() > BAND_MAX_LAT {
            return EdgeBand::exact();
        }
        let span = lon_distance_signed(s1.lon, s2.lon);
        if span == 0.0 {
            return EdgeBand {
                has_span: true,
                start: normalize_longitude(s1.lon),
                ..EdgeBand::exact()
            };
        }
        if span.abs() >= 179.0 || span.is_nan() {
            return EdgeBand::exact();
        }
        let envelope = super::boost_envelope::envelope_segment(s1, s2);
        let (lo, hi) = (
            envelope.lat_min - BAND_MARGIN,
            envelope.lat_max + BAND_MARGIN,
        );
        if !(lo.is_finite() && hi.is_finite()) {
            return EdgeBand::exact();
        }
        let lon = normalize_longitude(s1.lon + span / 2.0);
        let sample = |lat: f64| -> i8 {
            if lat.abs() < BAND_MAX_LAT {
                geographic_side(s1, s2, Point { lat, lon }) as i8
            } else {
                0
            }
        };
        let (north, south) = (sample(hi + BAND_MARGIN), sample(lo - BAND_MARGIN));
        if north != 0 && north == south {
            return EdgeBand::exact();
        }
        let sub = if north != 0 && south != 0 && lo.min(-hi) > -SUB_MAX_LAT {
            sub_bands(s1, s2, span, north, south)
        } else {
            Box::new([])
        };
        EdgeBand {
            lo,
            hi,
            north,
            south,
            has_span: true,
            start: normalize_longitude(s1.lon),
            span,
            sub,
        }
    }

    /// Where `p`'s longitude lies with respect to the edge's span (see [`Span`]).
    #[inline]
    fn locate(&self, p: Point) -> Span {
        if !self.has_span || !(-180.0..=180.0).contains(&p.lon) {
            return Span::Near;
        }
        let (lo, hi) = if self.span > 0.0 {
            (-SKIP_MARGIN, self.span + SKIP_MARGIN)
        } else {
            (self.span - SKIP_MARGIN, SKIP_MARGIN)
        };
        let d = wrap_once(p.lon - self.start);
        let anti = wrap_once(d - 180.0);
        let near = |x: f64| lo < x && x < hi;
        if !near(d) && !near(anti) {
            Span::Far
        } else if lo + 2.0 * SKIP_MARGIN < d && d < hi - 2.0 * SKIP_MARGIN {
            Span::Inside(if self.span > 0.0 { 2 } else { -2 })
        } else {
            Span::Near
        }
    }

    /// The side of `p` when it is known without computing it (`p`'s longitude must lie
    /// strictly inside the edge's span, as it does whenever the winding walk asks).
    #[inline]
    pub(crate) fn side(&self, p: Point) -> Option<i32> {
        let (lo, hi) = self.band_at(p.lon);
        if p.lat > hi && p.lat <= BAND_MAX_LAT && self.north != 0 {
            Some(i32::from(self.north))
        } else if p.lat < lo && p.lat >= -BAND_MAX_LAT && self.south != 0 {
            Some(i32::from(self.south))
        } else {
            None
        }
    }

    /// Whether the edge has sub-bands (for tests).
    #[cfg(test)]
    pub(crate) fn has_sub_bands(&self) -> bool {
        !self.sub.is_empty()
    }

    /// The band that bounds the edge at longitude `lon` (inside the span): the sub-band of
    /// its piece, or the whole band.
    #[inline]
    fn band_at(&self, lon: f64) -> (f64, f64) {
        let n = self.sub.len();
        if n == 0 || !(-180.0..=180.0).contains(&lon) {
            return (self.lo, self.hi);
        }
        let t = wrap_once(lon - self.start) / self.span;
        // A cast floors non-negative values (NaN gives 0); rounding at a cut is harmless, the
        // sub-bands on both sides of a cut both hold the edge's latitude there.
        let piece = ((t.max(0.0) * n as f64) as usize).min(n - 1);
        self.sub.get(piece).copied().unwrap_or((self.lo, self.hi))
    }
}

/// What one edge does to the winding walk for every point of a region (see
/// [`EdgeBand::over_region`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum EdgeEffect {
    /// Nothing, for every point.
    Nothing,
    /// The walk counts a crossing `count` (±2) with side `side` (±1), for every point.
    Crosses { count: i32, side: i32 },
}

/// A region of coordinates, `[lon_a, lon_b] × [lat_lo, lat_hi]` in degrees, with
/// `-180 <= lon_a <= lon_b <= 180`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Region {
    pub lon_a: f64,
    pub lon_b: f64,
    pub lat_lo: f64,
    pub lat_hi: f64,
}

/// Longitude margin around the meridians where an edge's effect changes (its ends and their
/// antimeridians), in degrees: far wider than the margins [`EdgeBand::locate`] uses.
const REGION_MERIDIAN_MARGIN: f64 = 1e-5;

impl EdgeBand {
    /// What the edge does to the walk of [`point_in_ring_banded`] for *every* point of the
    /// region, or `None` when that may differ between its points or needs the exact side
    /// strategy.
    ///
    /// [`EdgeBand::locate`] only changes where the point's longitude crosses (within
    /// [`SKIP_MARGIN`]) an end of the span or the antimeridian of one: when no such meridian
    /// is within [`REGION_MERIDIAN_MARGIN`] of the region, `locate` gives one answer for all of
    /// it, found at its centre. `Far` does nothing; `Inside` counts ±2 with the side that
    /// [`EdgeBand::side`] gives, which is the same for every point when the region lies
    /// strictly north (or south) of the band of every piece its longitudes overlap. These are
    /// exactly the branches the walk takes, so no exact side is ever assumed.
    /// The meridians where [`EdgeBand::over_region`] may change its answer: the span's ends
    /// and their antimeridians (none when the edge has no span: never uniform).
    pub(crate) fn critical_meridians(&self) -> Option<[f64; 4]> {
        let end = self.start + self.span;
        self.has_span
            .then_some([self.start, end, self.start + 180.0, end + 180.0])
    }

    pub(crate) fn over_region(&self, region: Region) -> Option<EdgeEffect> {
        let Region {
            lon_a,
            lon_b,
            lat_lo,
            lat_hi,
        } = region;
        if !(self.has_span && lat_lo >= -BAND_MAX_LAT && lat_hi <= BAND_MAX_LAT) {
            return None;
        }
        let width = lon_b - lon_a;
        if !(0.0..360.0).contains(&width) {
            return None;
        }
        for meridian in self.critical_meridians()? {
            // Distance east from lon_a to the meridian, in [0, 360) (both are within a turn
            // and a half of 0: a few additions, not a floating-point remainder).
            let mut east = meridian - lon_a;
            if !east.is_finite() {
                return None;
            }
            while east < 0.0 {
                east += 360.0;
            }
            while east >= 360.0 {
                east -= 360.0;
            }
            if east <= width + REGION_MERIDIAN_MARGIN || east >= 360.0 - REGION_MERIDIAN_MARGIN {
                return None;
            }
        }
        let centre = Point {
            lat: (lat_lo + lat_hi) / 2.0,
            lon: lon_a + width / 2.0,
        };
        let count = match self.locate(centre) {
            Span::Far => return Some(EdgeEffect::Nothing),
            Span::Near => return None,
            Span::Inside(count) => count,
        };
        // The pieces the region's longitudes overlap (one more on each side: `band_at`
        // rounds at the cuts).
        let n = self.sub.len();
        let whole = [(self.lo, self.hi)];
        let bands: &[(f64, f64)] = if n == 0 {
            &whole
        } else {
            let piece = |lon: f64| {
                let t = wrap_once(lon - self.start) / self.span;
                (t.max(0.0) * n as f64) as usize
            };
            let (p, q) = (piece(lon_a), piece(lon_b));
            let first = p.min(q).saturating_sub(1);
            let last = (p.max(q) + 1).min(n - 1);
            &self.sub[first.min(last)..=last]
        };
        let mut side = 0;
        for &(lo, hi) in bands {
            let here = if lat_lo > hi && self.north != 0 {
                i32::from(self.north)
            } else if lat_hi < lo && self.south != 0 {
                i32::from(self.south)
            } else {
                return None;
            };
            if side != 0 && side != here {
                return None;
            }
            side = here;
        }
        Some(EdgeEffect::Crosses { count, side })
    }
}

/// The sub-bands of an edge (see [`EdgeBand`]), or none when a cut fails its check.
fn sub_bands(s1: Point, s2: Point, span: f64, north: i8, south: i8) -> Box<[(f64, f64)]> {
    // Steep edges get more pieces than their longitude span alone asks for, so that each
    // piece's band stays about a degree tall.
    let pieces = (span.abs().max((s2.lat - s1.lat).abs()) / SUB_WIDTH).ceil() as usize;
    if !(2..=SUB_MAX).contains(&pieces) {
        return Box::new([]);
    }
    let (t1, t2) = ((s1.lat * D2R).tan(), (s2.lat * D2R).tan());
    let sin_span = (span * D2R).sin();
    let mut lats = Vec::with_capacity(pieces + 1);
    lats.push(s1.lat);
    for k in 1..pieces {
        let along = span * k as f64 / pieces as f64;
        // Latitude of the great circle through s1 and s2 at `along` degrees east of s1.
        let lat = ((t1 * ((span - along) * D2R).sin() + t2 * (along * D2R).sin()) / sin_span)
            .atan()
            * R2D;
        let lon = normalize_longitude(s1.lon + along);
        let side_at = |lat: f64| geographic_side(s1, s2, Point { lat, lon }) as i8;
        if !lat.is_finite()
            || lat.abs() > SUB_MAX_LAT
            || side_at(lat + SUB_CHECK) != north
            || side_at(lat - SUB_CHECK) != south
        {
            return Box::new([]);
        }
        lats.push(lat);
    }
    lats.push(s2.lat);
    lats.windows(2)
        .map(|w| (w[0].min(w[1]) - BAND_MARGIN, w[0].max(w[1]) + BAND_MARGIN))
        .collect()
}
