/*!
Geo: geopoints, distances and the four shapes of the filter language
(`geoBoundingBox`, `geoDistance`, `geoDistanceRange`, `geoPolygon`), computed
exactly as Koncorde 4.7.0 computes them, minus the defects Herald does not
reproduce (spec sections 5 and 15).

# Why this is a port and not "some geometry"

Koncorde delegates its geometry to Boost.Geometry 1.87 in a *geographic*
coordinate system (WGS84). Near a shape's boundary the answer depends on
which formulas are used: a planar point-in-polygon test disagrees with
Koncorde on 2.2% of the points of a polygon's bounding box, and haversine or
Vincenty distances disagree near a circle's rim. So this module ports the
Boost code paths Koncorde actually runs, with the same operation order:

* distances: `strategy::distance::geographic<andoyer>`, i.e. the meridian
  special cases of `formula::meridian_inverse`, else the first-order Andoyer
  formula ([`distance`]);
* polygons: `covered_by(point, polygon)`, the spherical winding-number
  strategy with the geographic (Andoyer azimuth) side strategy, walking the
  ring as Boost walks a counter-clockwise open ring, plus the polygon's
  geographic envelope, which Koncorde's R-tree tests first and which is
  therefore part of the answer ([`Polygon::covers`]);
* boxes: Boost's spherical point-in-box test, whose longitude rule wraps
  around the antimeridian ([`BoundingBox::contains`]).

The submodules name the Boost function each piece comes from.

# What Herald does differently (spec 15)

* Circles and annuli have no envelope (decision 9): a point matches iff its
  distance to the centre is `<= radius` (`from <= d <= to` for an annulus).
  Koncorde also requires the point to be inside a deliberately approximate
  box, which clips the circle's north and south ends.
* `{"latLon": null}` is "not a point" (Koncorde throws).
* Boxes with `bottom >= top` or `left >= right` are rejected by
  [`BoundingBox::parse`] (decision 3; Koncorde accepts them in `validate` and
  fails later, half-registered).
* NaN radii and centres with `|lat| > 90` are the validator's to reject
  (decision 4); the functions here accept them without panicking.

# Invariants

* No function panics or loops forever, whatever the input: NaN, infinities,
  huge numbers, empty or deeply nested arrays. Non-finite coordinates flow
  through the formulas as NaN and make every comparison false.
* Coordinates are never normalized or validated when parsed (spec 5.1):
  `[100, 400]` is the point `lat = 100, lon = 400`, and the shapes treat it as
  Boost does (longitudes modulo 360, latitudes as given).
* [`Envelope`]s are conservative: every point a shape accepts lies in the
  shape's envelope ([`Envelope::contains`]). Points whose latitude is outside
  `[-90, 90]` or whose coordinates are not finite are contained in every
  envelope: an index must test them against every shape (they never occur in
  sane data, and the formulas are periodic in latitude, so no box could bound
  them).

# Testing

Besides unit and property tests, `testdata/` holds answers computed by the
reference itself (Boost.Geometry 1.87 for polygons, envelopes and distances;
Koncorde 4.7.0 for point and distance parsing and for boxes and polygons end
to end), with the generators that produced them; the ports must agree bit
for bit. See `testdata/README.md`.
*/

use serde_json::Value;

mod boost_envelope;
mod covering;
mod ellipsoid;
mod parse;
mod winding;

#[cfg(test)]
mod tests;

/// A seeded xorshift generator of doubles in `[0, 1)`, for randomized tests without a
/// dependency (the seed must not be 0).
#[cfg(test)]
pub(crate) fn test_random(mut state: u64) -> impl FnMut() -> f64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Asserts that a polygon's answer for a point (through its covering, if any) is the exact
/// walk's.
#[cfg(test)]
pub(crate) fn assert_covers_exactly(polygon: &Polygon, ring: &[Point], p: Point) {
    assert_eq!(
        polygon.covers(p),
        polygon.covers_exact(p),
        "polygon {ring:?} point {p:?}"
    );
}

/// A random closed star polygon for randomized tests, as Koncorde's benchmark draws them plus
/// variations by `round`: radius 10°, 1° or 40°, some across the antimeridian, every fifth
/// with a meridian edge. Returns its centre, radius and ring (closing vertex repeated).
#[cfg(test)]
pub(crate) fn test_star_polygon(
    rand: &mut impl FnMut() -> f64,
    round: usize,
) -> (Point, f64, Vec<Point>) {
    let radius = match round % 3 {
        0 => 10.0,
        1 => 1.0,
        _ => 40.0,
    };
    let center = Point {
        lat: rand() * 180.0 - 90.0,
        lon: if round.is_multiple_of(7) {
            180.0 - rand() * 2.0
        } else {
            rand() * 360.0 - 180.0
        },
    };
    let mut angles: Vec<f64> = (0..5).map(|_| rand() * std::f64::consts::TAU).collect();
    angles.sort_by(f64::total_cmp);
    let mut points: Vec<Point> = angles
        .iter()
        .map(|a| {
            let r = rand() * radius;
            Point {
                lat: center.lat + r * a.sin(),
                lon: center.lon + r * a.cos(),
            }
        })
        .collect();
    if round.is_multiple_of(5) {
        // A meridian edge.
        points[2].lon = points[1].lon;
    }
    points.push(points[0]);
    (center, radius, points)
}

use boost_envelope::{ring_envelope, GeoBox};
use ellipsoid::{box_covers, geographic_distance_rad, normalize_longitude, A, D2R, F, R2D};

pub use parse::parse_float;

/// A geopoint, latitude first, in degrees. Never NaN when it comes from
/// [`parse_point`]; may be infinite (`"Infinity, 0"`) or out of the usual
/// ranges.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

/// Spec 5.1: converts any JSON value to a point, or `None` ("no point").
/// The same parser serves filters and documents.
///
/// * Strings: `"lat, lon"` (exactly one comma, each side `parseFloat`ed), else
///   a lower-case geohash of 4 or more characters (`a i l o` decode as `0`,
///   as in Koncorde), else nothing.
/// * Arrays of exactly 2 elements, each converted like JavaScript's
///   `parseFloat(String(element))` (`["1", [2]]` is a point, `null` and
///   booleans are NaN).
/// * Objects, after renaming `lat_lon`/`top_left`/`bottom_right` to camel
///   case (the later spelling wins): `lat` and `lon` both present, else
///   `latLon` holding a 2-array, a `{lat, lon}` object or a string.
///   `{"latLon": null}` is no point.
/// * Anything else (falsy values, numbers, booleans) is no point, and so is
///   any form where a coordinate is NaN.
pub fn parse_point(value: &Value) -> Option<Point> {
    parse::parse_point(value)
}

/// Spec 5.2: converts a distance string to meters, `None` when it cannot be
/// parsed, when the number is NaN (`"x5 m"`) or when the result is infinite.
///
/// Minus signs and whitespace are removed, commas become dots, the string is
/// lower-cased and split at its first digit-letter boundary into a number
/// (JavaScript `parseFloat`) and a unit of letters only. A unit is mandatory
/// (`"1000"` and `"km"` are `None`). Units: `m`/`meter`, `ft`/`feet`,
/// `in`/`inch`, `yd`/`yard`, `mi`/`mile` (1609.34 m), with node-units' plural
/// stripping (`s`, `es`, `ies`; not for 2-letter names) and SI prefixes
/// (`km`, `cm`, `dam`, `mum`, `kilometers`, ...). The result is
/// `value * prefix * factor` in double arithmetic:
/// `"1 093,6132983377079 yd"` is `1000.0000000000001`.
///
/// Time units, which node-units would convert to minutes (`"5 h"` = 300),
/// are not supported (`None`).
pub fn parse_distance(s: &str) -> Option<f64> {
    parse::parse_distance(s)
}

/// Spec 5.7: the distance in meters between two points on the WGS84
/// spheroid, as Boost's default geographic strategy computes it (meridian
/// special cases, else first-order Andoyer; same operation order). Not
/// symmetric in theory, symmetric in practice; shapes call it as
/// `distance(center, point)`, like Koncorde.
pub fn distance(a: Point, b: Point) -> f64 {
    geographic_distance_rad(a.lon * D2R, a.lat * D2R, b.lon * D2R, b.lat * D2R)
}

/// A `geoBoundingBox` (spec 5.3), in degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoundingBox {
    pub top: f64,
    pub left: f64,
    pub bottom: f64,
    pub right: f64,
}

impl BoundingBox {
    /// Parses the value of a `geoBoundingBox` field (snake-case keys are
    /// renamed here): `top`, `left`, `bottom`, `right` all strings or
    /// numbers, else `topLeft` and `bottomRight` geopoints. Errors, with
    /// Koncorde's messages:
    ///
    /// * `unrecognized geoBoundingBox format: <box as JSON>` when one of the
    ///   four coordinates is NaN;
    /// * `unrecognized geo-point format` when neither form applies;
    /// * `min_lat argument cannot be greater or equal max_lat` (`bottom >=
    ///   top`), then `min_lon argument cannot be greater or equal max_lon`
    ///   (`left >= right`): Koncorde only checks these when storing; Herald
    ///   checks them here (decision 3). A box crossing the antimeridian is
    ///   written `left: 170, right: 190`.
    pub fn parse(value: &Value) -> Result<BoundingBox, String> {
        let b = Self::parse_unchecked(value)?;
        if b.bottom >= b.top {
            return Err("min_lat argument cannot be greater or equal max_lat".to_string());
        }
        if b.left >= b.right {
            return Err("min_lon argument cannot be greater or equal max_lon".to_string());
        }
        Ok(b)
    }

    fn parse_unchecked(value: &Value) -> Result<BoundingBox, String> {
        let geo_point_error = || "unrecognized geo-point format".to_string();
        let Value::Object(obj) = value else {
            return Err(geo_point_error());
        };
        let camel = parse::camel_cased(obj);
        let sides = ["top", "left", "bottom", "right"].map(|k| parse::lookup(&camel, k));
        if let [Some(top), Some(left), Some(bottom), Some(right)] = sides {
            let scalars = [top, left, bottom, right];
            if scalars
                .iter()
                .all(|v| matches!(v, Value::String(_) | Value::Number(_)))
            {
                let [top, left, bottom, right] = scalars.map(parse::parse_float_value);
                if [top, left, bottom, right].iter().any(|x| x.is_nan()) {
                    let mut json = String::new();
                    parse::write_js_object(&camel, &mut json, 0);
                    return Err(format!("unrecognized geoBoundingBox format: {json}"));
                }
                return Ok(BoundingBox {
                    top,
                    left,
                    bottom,
                    right,
                });
            }
        }
        let top_left = parse::lookup(&camel, "topLeft").and_then(parse_point);
        let bottom_right = parse::lookup(&camel, "bottomRight").and_then(parse_point);
        match (top_left, bottom_right) {
            (Some(tl), Some(br)) => Ok(BoundingBox {
                top: tl.lat,
                left: tl.lon,
                bottom: br.lat,
                right: br.lon,
            }),
            _ => Err(geo_point_error()),
        }
    }

    /// Whether the box covers `p` (spec 5.3, Boost's spherical point-in-box):
    /// `bottom <= lat <= top`, and `left <= lon <= right`, or the box spans
    /// 360° or more, or `left + d <= right` where `d` is `lon - left`
    /// normalized into `[0, 360)`. So `[170, 190]` contains -175 and
    /// `[-10, 10]` contains 360.
    pub fn contains(&self, p: Point) -> bool {
        box_covers(self.left, self.bottom, self.right, self.top, p.lon, p.lat)
    }

    /// The box itself, as an envelope (normalized, see [`Envelope`]).
    pub fn envelope(&self) -> Envelope {
        Envelope::from_box(self.bottom, self.top, self.left, self.right)
    }
}

/// A `geoDistance` shape: the points whose [`distance`] from `center` is at
/// most `radius` meters (Herald decision 9: no envelope clipping).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Circle {
    pub center: Point,
    pub radius: f64,
}

impl Circle {
    /// `distance(center, p) <= radius`. A radius of 0 matches the centre.
    pub fn contains(&self, p: Point) -> bool {
        distance(self.center, p) <= self.radius
    }

    /// A conservative envelope of the circle: every point with a latitude in
    /// `[-90, 90]` that [`Circle::contains`] accepts is inside.
    ///
    /// Why it is conservative: Andoyer's distance is `a * (d + δ)` where `d` is
    /// the central angle between the points taken as spherical coordinates (the
    /// geodetic latitudes), and for such points its correction satisfies
    /// `a * (d + δ) >= a * (1 - 2f) * d` (the `H·K` term is at most
    /// `2(d + 3 sin d)`, the `G·L` term is non-positive below `d ≈ 2.28` and at
    /// most `2(d - 3 sin d)` above). The meridian cases obey the same bound
    /// (`dM/dφ >= a(1 - 3n)/(1 + n) = a(1 - 2f)`). So every accepted point lies
    /// in the spherical cap of angular radius `ρ = radius / (a(1 - 2f))`, whose
    /// box is `φc ± ρ` in latitude and `λc ± asin(sin ρ / cos φc)` in longitude,
    /// or every longitude when the cap reaches a pole. `ρ` gets a relative
    /// margin of 1e-9 and an absolute one of 1e-7 rad (64 cm): `acos` of a
    /// cosine within an ulp of 1 loses half the digits, so the computed central
    /// angle of points a few centimetres apart can be off by ~2e-8 rad (points
    /// 1 mm from a pole are at distance 0 from it). Beyond `ρ = 2` (about
    /// 12,700 km), infinite radii, or centres outside `[-90, 90]`: the whole
    /// globe. NaN or negative radii accept nothing: empty.
    pub fn envelope(&self) -> Envelope {
        circle_envelope(self.center, self.radius)
    }
}

/// A `geoDistanceRange` shape: the points whose [`distance`] from `center`
/// is within `[from, to]` meters, both ends included (the validator
/// guarantees `from < to`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Annulus {
    pub center: Point,
    pub from: f64,
    pub to: f64,
}

impl Annulus {
    /// `from <= distance(center, p) <= to`.
    pub fn contains(&self, p: Point) -> bool {
        let d = distance(self.center, p);
        self.from <= d && d <= self.to
    }

    /// The envelope of the outer circle.
    pub fn envelope(&self) -> Envelope {
        circle_envelope(self.center, self.to)
    }
}

/// A `geoPolygon` shape: a ring of points, implicitly closed, whose edges are
/// geodesics of the WGS84 spheroid. Orientation does not matter;
/// self-intersecting rings follow the non-zero winding rule; the boundary is
/// inside.
#[derive(Clone, Debug, PartialEq)]
pub struct Polygon {
    points: Vec<Point>,
    /// Boost's geographic envelope of the ring (`None` below 3 points).
    bbox: Option<GeoBox>,
    /// Per edge of the winding walk: its side, precomputed for points far from it.
    bands: Vec<winding::EdgeBand>,
    /// The answer for whole regions of the envelope, where it is provably uniform.
    covering: Option<Box<covering::Covering>>,
}

impl Polygon {
    /// Builds the polygon (the caller guarantees at least 3 points; with
    /// fewer it covers nothing). A repeated closing vertex is harmless.
    pub fn new(points: Vec<Point>) -> Polygon {
        let bbox = ring_envelope(&points);
        let bands: Vec<winding::EdgeBand> = winding::walk_edges(&points)
            .map(|(s1, s2)| winding::EdgeBand::new(s1, s2))
            .collect();
        let covering = bbox.and_then(|b| {
            covering::Covering::new(&bands, b.lon_min, b.lat_min, b.lon_max, b.lat_max)
        });
        Polygon {
            points,
            bbox,
            bands,
            covering: covering.map(Box::new),
        }
    }

    /// The vertices, in the given order, without a closing vertex added.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// What Koncorde answers for a document point: inside Boost's geographic
    /// envelope of the polygon (the R-tree's test) and `covered_by` the
    /// polygon (Boost's spherical winding with the Andoyer side strategy;
    /// boundary points are covered).
    pub fn covers(&self, p: Point) -> bool {
        let Some(b) = self.bbox else {
            return false;
        };
        if let Some(known) = self.covering.as_ref().and_then(|c| c.lookup(p)) {
            return known;
        }
        box_covers(b.lon_min, b.lat_min, b.lon_max, b.lat_max, p.lon, p.lat)
            && winding::point_in_ring_banded(
                p,
                &self.points,
                &self.bands,
                &winding::geographic_side,
            ) >= 0
    }

    /// How many edges have sub-bands (for tests).
    #[cfg(test)]
    pub(crate) fn sub_banded_edges(&self) -> usize {
        self.bands.iter().filter(|b| b.has_sub_bands()).count()
    }

    /// [`Polygon::covers`] computing every side exactly (the reference the precomputed edge
    /// bands are tested against).
    #[cfg(test)]
    pub(crate) fn covers_exact(&self, p: Point) -> bool {
        let Some(b) = self.bbox else {
            return false;
        };
        box_covers(b.lon_min, b.lat_min, b.lon_max, b.lat_max, p.lon, p.lat)
            && winding::point_in_ring(p, &self.points, &winding::geographic_side) >= 0
    }

    /// Boost's geographic envelope (it includes the poleward bulge of the
    /// geodesic edges and, for rings around a pole, the pole), normalized
    /// and slightly widened. Conservative by construction: [`Polygon::covers`]
    /// requires the unwidened box.
    pub fn envelope(&self) -> Envelope {
        match self.bbox {
            Some(b) => Envelope::from_box(b.lat_min, b.lat_max, b.lon_min, b.lon_max),
            None => Envelope::EMPTY,
        }
    }
}

/// Any of the four shapes.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    BoundingBox(BoundingBox),
    Circle(Circle),
    Annulus(Annulus),
    Polygon(Polygon),
}

impl Shape {
    /// Whether the shape accepts the point (the positive geo condition).
    pub fn contains(&self, p: Point) -> bool {
        match self {
            Shape::BoundingBox(b) => b.contains(p),
            Shape::Circle(c) => c.contains(p),
            Shape::Annulus(a) => a.contains(p),
            Shape::Polygon(poly) => poly.covers(p),
        }
    }

    /// A conservative envelope of the shape.
    pub fn envelope(&self) -> Envelope {
        match self {
            Shape::BoundingBox(b) => b.envelope(),
            Shape::Circle(c) => c.envelope(),
            Shape::Annulus(a) => a.envelope(),
            Shape::Polygon(poly) => poly.envelope(),
        }
    }
}

/// A latitude/longitude box that contains every point a shape accepts, for
/// indexing (an R-tree).
///
/// Layout and meaning:
///
/// * `min_lat <= max_lat`, both within `[-90, 90]`; an empty envelope (a
///   shape that accepts no point with a latitude in `[-90, 90]`) has
///   `min_lat > max_lat`, see [`Envelope::is_empty`].
/// * Longitudes wrap: the envelope holds the longitudes `λ` such that
///   `λ - min_lon`, taken modulo 360 into `[0, 360)`, is at most
///   `max_lon - min_lon`. `min_lon` is in `[-180 - ε, 180)` and `min_lon <=
///   max_lon`, so `max_lon` exceeds 180 when the envelope crosses the
///   antimeridian (`170..190` holds -175). `max_lon - min_lon >= 360` means
///   every longitude ([`Envelope::is_full_lon`]). [`Envelope::lon_ranges`]
///   gives the same set as at most two plain intervals of `[-180, 180]`.
/// * Shapes' envelopes are widened by a tiny margin (1e-9°, about 0.1 mm)
///   so that rounding never makes them exclude a point the shape accepts.
/// * Points with a latitude outside `[-90, 90]` or non-finite coordinates
///   are in every envelope (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Envelope {
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
}

/// Margin added around envelopes, in degrees.
const ENVELOPE_MARGIN: f64 = 1e-9;

impl Envelope {
    /// The whole globe.
    pub const EVERYTHING: Envelope = Envelope {
        min_lat: -90.0,
        max_lat: 90.0,
        min_lon: -180.0,
        max_lon: 180.0,
    };

    /// No point with a latitude in `[-90, 90]`.
    pub const EMPTY: Envelope = Envelope {
        min_lat: 1.0,
        max_lat: -1.0,
        min_lon: 0.0,
        max_lon: 0.0,
    };

    /// Whether the envelope holds no point with a latitude in `[-90, 90]`.
    pub fn is_empty(&self) -> bool {
        self.min_lat.is_nan() || self.max_lat.is_nan() || self.min_lat > self.max_lat
    }

    /// Whether every longitude is inside.
    pub fn is_full_lon(&self) -> bool {
        self.max_lon - self.min_lon >= 360.0
    }

    /// Whether the envelope contains `p` (see the type's documentation).
    pub fn contains(&self, p: Point) -> bool {
        if !is_indexable(p) {
            return true;
        }
        box_covers(
            self.min_lon,
            self.min_lat,
            self.max_lon,
            self.max_lat,
            p.lon,
            p.lat,
        )
    }

    /// The longitudes of the envelope as at most two intervals of
    /// `[-180, 180]` (none if the envelope is empty). A point with a
    /// latitude in `[-90, 90]` and a finite longitude is in the envelope only
    /// if its latitude is in `[min_lat, max_lat]` and
    /// [`Envelope::index_lon`] of its longitude is in one of these intervals.
    pub fn lon_ranges(&self) -> impl Iterator<Item = (f64, f64)> {
        let mut ranges = [None, None];
        if self.is_empty() {
            // No range.
        } else if self.is_full_lon() {
            ranges[0] = Some((-180.0, 180.0));
        } else {
            let (lo, hi) = (self.min_lon, self.max_lon);
            ranges[0] = Some((lo.max(-180.0), hi.min(180.0)));
            if lo < -180.0 {
                ranges[1] = Some((lo + 360.0, 180.0));
            } else if hi > 180.0 {
                ranges[1] = Some((-180.0, (hi - 360.0).min(180.0)));
            }
        }
        ranges.into_iter().flatten()
    }

    /// A finite longitude normalized into `(-180, 180]`, the form
    /// [`Envelope::lon_ranges`] expects.
    pub fn index_lon(lon: f64) -> f64 {
        if lon > -180.0 && lon <= 180.0 {
            // Already normalized (`%` would return it unchanged, through a libm call).
            return lon;
        }
        let l = lon % 360.0;
        if l > 180.0 {
            l - 360.0
        } else if l <= -180.0 {
            l + 360.0
        } else {
            l
        }
    }

    /// A normalized, widened envelope holding every point with a latitude
    /// in `[-90, 90]` that Boost's point-in-box test accepts for the box
    /// `(min_lon, min_lat)-(max_lon, max_lat)`.
    fn from_box(min_lat: f64, max_lat: f64, min_lon: f64, max_lon: f64) -> Envelope {
        if min_lat.is_nan() || max_lat.is_nan() {
            return Envelope::EMPTY;
        }
        let lat_lo = (min_lat - ENVELOPE_MARGIN).max(-90.0);
        let lat_hi = (max_lat + ENVELOPE_MARGIN).min(90.0);
        if lat_lo > lat_hi {
            return Envelope::EMPTY;
        }
        let span = max_lon - min_lon;
        if span >= 360.0 || min_lon.abs() > 1e6 || max_lon.abs() > 1e6 {
            // The box test accepts every longitude, or rounding makes its
            // longitudes meaningless: every longitude, conservatively.
            if span.is_nan() || span < 0.0 {
                return Envelope::EMPTY;
            }
            return Envelope {
                min_lat: lat_lo,
                max_lat: lat_hi,
                min_lon: -180.0,
                max_lon: 180.0,
            };
        }
        if span.is_nan() || span < 0.0 || !min_lon.is_finite() || !max_lon.is_finite() {
            // Reversed or non-finite bounds: Boost's test accepts nothing.
            return Envelope::EMPTY;
        }
        let shift = ((min_lon + 180.0) / 360.0).floor() * 360.0;
        let lo = min_lon - shift - ENVELOPE_MARGIN;
        let hi = max_lon - shift + ENVELOPE_MARGIN;
        if hi - lo >= 360.0 {
            return Envelope {
                min_lat: lat_lo,
                max_lat: lat_hi,
                min_lon: -180.0,
                max_lon: 180.0,
            };
        }
        Envelope {
            min_lat: lat_lo,
            max_lat: lat_hi,
            min_lon: lo,
            max_lon: hi,
        }
    }
}

/// Whether an envelope can decide about `p`: latitude within `[-90, 90]`
/// and finite longitude.
fn is_indexable(p: Point) -> bool {
    (-90.0..=90.0).contains(&p.lat) && p.lon.is_finite()
}

/// See [`Circle::envelope`].
fn circle_envelope(center: Point, radius: f64) -> Envelope {
    if radius.is_nan() || radius < 0.0 {
        return Envelope::EMPTY;
    }
    if !is_indexable(center) {
        return Envelope::EVERYTHING;
    }
    let rho = radius / (A * (1.0 - 2.0 * F)) * (1.0 + 1e-9) + 1e-7;
    if rho.is_nan() || rho >= 2.0 {
        return Envelope::EVERYTHING;
    }
    let dlat = rho * R2D;
    let lat_lo = center.lat - dlat;
    let lat_hi = center.lat + dlat;
    if lat_hi >= 90.0 || lat_lo <= -90.0 {
        return Envelope::from_box(lat_lo, lat_hi, -180.0, 180.0);
    }
    let s = rho.sin() / (center.lat * D2R).cos();
    if s.is_nan() || s >= 1.0 {
        return Envelope::from_box(lat_lo, lat_hi, -180.0, 180.0);
    }
    let dlon = s.asin() * R2D * (1.0 + 1e-9) + 1e-9;
    let lon = normalize_longitude(center.lon);
    Envelope::from_box(lat_lo, lat_hi, lon - dlon, lon + dlon)
}
