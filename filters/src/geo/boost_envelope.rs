//! The geographic envelope of a polygon, ported from Boost.Geometry 1.87
//! (`bg::return_envelope<box>(polygon)` with the default geographic
//! strategies: `strategy::envelope::geographic_ring<andoyer>`).
//!
//! Koncorde stores this box in its R-tree and a point is only tested against
//! a polygon if the box covers it, so this box is part of a polygon's
//! meaning, not just an optimisation. It includes the poleward bulge of the
//! geodesic edges (vertex latitude on the spheroid), wraps across the
//! antimeridian by picking the complement of the largest longitude gap, and
//! extends to a pole when the ring spans every longitude and winds around
//! that pole.
//!
//! A box is `lon_min, lat_min, lon_max, lat_max` in degrees, Boost's
//! `model::box` layout; `lon_max` may exceed 180 when the box crosses the
//! antimeridian.

use super::ellipsoid::{
    andoyer_inverse, eq, larger, larger_or_equals, normalize_longitude, normalize_point, smaller,
    D2R, F, R2D,
};
use super::winding::{point_in_ring, pole_side};
use super::Point;
use std::f64::consts::PI;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct GeoBox {
    pub lon_min: f64,
    pub lat_min: f64,
    pub lon_max: f64,
    pub lat_max: f64,
}

impl GeoBox {
    /// `is_inverse_spheroidal_coordinates`: the "empty" box Boost uses as an
    /// initial value. Never produced here, kept for fidelity.
    fn is_inverse(&self) -> bool {
        self.lon_min == f64::MAX
            && self.lat_min == f64::MAX
            && self.lon_max == f64::MIN
            && self.lat_max == f64::MIN
    }
}

/// `envelope_segment_impl<geographic_tag>`: longitudes are normalized and
/// ordered (eastward, `lon_max` possibly > 180), latitudes widened to the
/// geodesic's vertex latitude when the azimuth passes through 90°.
pub(crate) fn envelope_segment(p1: Point, p2: Point) -> GeoBox {
    let (mut lon1, mut lat1) = normalize_point(p1.lon, p1.lat);
    let (mut lon2, mut lat2) = normalize_point(p2.lon, p2.lat);

    special_cases(&mut lon1, &mut lat1, &mut lon2, &mut lat2);

    let inv = andoyer_inverse(lon1 * D2R, lat1 * D2R, lon2 * D2R, lat2 * D2R, false, true);
    compute_box_corners(&mut lat1, &mut lat2, inv.azimuth, inv.reverse_azimuth);
    GeoBox {
        lon_min: lon1,
        lat_min: lat1,
        lon_max: lon2,
        lat_max: lat2,
    }
}

fn special_cases(lon1: &mut f64, lat1: &mut f64, lon2: &mut f64, lat2: &mut f64) {
    let is_pole1 = eq(lat1.abs(), 90.0);
    let is_pole2 = eq(lat2.abs(), 90.0);
    if is_pole1 && is_pole2 {
        *lon1 = 0.0;
        *lon2 = 0.0;
    } else if is_pole1 {
        *lon1 = *lon2;
    } else if is_pole2 {
        *lon2 = *lon1;
    }

    if *lon1 == *lon2 {
        if *lat1 > *lat2 {
            std::mem::swap(lat1, lat2);
        }
        return;
    }
    if *lon1 > *lon2 {
        std::mem::swap(lon1, lon2);
        std::mem::swap(lat1, lat2);
    }
    if (*lon1 - *lon2).abs() > 180.0 {
        *lon1 += 360.0;
        std::mem::swap(lon1, lon2);
        std::mem::swap(lat1, lat2);
    }
}

fn compute_box_corners(lat1: &mut f64, lat2: &mut f64, mut a1: f64, mut a2: f64) {
    let mut lat1_rad = *lat1 * D2R;
    let mut lat2_rad = *lat2 * D2R;
    if *lat1 > *lat2 {
        std::mem::swap(lat1, lat2);
        std::mem::swap(&mut lat1_rad, &mut lat2_rad);
        std::mem::swap(&mut a1, &mut a2);
    }
    let _ = lat2_rad;
    if contains_pi_half(a1, a2) {
        let p_max = vertex_latitude(lat1_rad, a1);
        let mid_lat = *lat1 + *lat2;
        if mid_lat < 0.0 {
            let lat_min = -p_max * R2D;
            if *lat1 > lat_min {
                *lat1 = lat_min;
            }
        } else {
            let lat_max = p_max * R2D;
            if *lat2 < lat_max {
                *lat2 = lat_max;
            }
        }
    }
}

fn contains_pi_half(a1: f64, a2: f64) -> bool {
    let pi_half = PI / 2.0;
    if a1 < a2 {
        a1 < pi_half && pi_half < a2
    } else {
        a1 > pi_half && pi_half > a2
    }
}

/// `formula::vertex_latitude_on_spheroid` (radians): Clairaut on the
/// auxiliary sphere of reduced latitudes.
fn vertex_latitude(lat1: f64, alp1: f64) -> f64 {
    let one_minus_f = 1.0 - F;
    let bet1 = (one_minus_f * lat1.tan()).atan();
    let betv = (bet1.cos() * alp1.sin()).abs().acos();
    (betv.tan() / one_minus_f).atan()
}

/// `envelope_box_on_spheroid` / `normalize_spheroidal_box_coordinates`.
fn normalize_box(b: GeoBox) -> GeoBox {
    if b.is_inverse() {
        return b;
    }
    let band = larger_or_equals((b.lon_min - b.lon_max).abs(), 360.0);
    let mut lon1 = normalize_longitude(b.lon_min);
    let mut lon2 = normalize_longitude(b.lon_max);
    let (lat1, lat2) = (b.lat_min, b.lat_max);
    if (eq(lat1, -90.0) && eq(lat2, -90.0)) || (eq(lat1, 90.0) && eq(lat2, 90.0)) {
        lon1 = 0.0;
        lon2 = 0.0;
    } else if band {
        lon1 = -180.0;
        lon2 = 180.0;
    } else if lon1 > lon2 {
        lon2 += 360.0;
    }
    GeoBox {
        lon_min: lon1,
        lat_min: lat1,
        lon_max: lon2,
        lat_max: lat2,
    }
}

/// `std::min_element` with a strict "less" predicate: the first minimum.
fn min_by<T: Copy>(items: &[T], less: impl Fn(&T, &T) -> bool) -> Option<T> {
    let mut best = *items.first()?;
    for it in &items[1..] {
        if less(it, &best) {
            best = *it;
        }
    }
    Some(best)
}

/// `std::max_element` with a strict "less" predicate: the first maximum.
fn max_by<T: Copy>(items: &[T], less: impl Fn(&T, &T) -> bool) -> Option<T> {
    let mut best = *items.first()?;
    for it in &items[1..] {
        if less(&best, it) {
            best = *it;
        }
    }
    Some(best)
}

/// `envelope_range_of_boxes`: the smallest box (on the longitude circle)
/// containing all the boxes.
fn envelope_of_boxes(boxes: &[GeoBox]) -> GeoBox {
    let lat_min = min_by(boxes, |a, b| smaller(a.lat_min, b.lat_min)).map_or(0.0, |b| b.lat_min);
    let lat_max = max_by(boxes, |a, b| smaller(a.lat_max, b.lat_max)).map_or(0.0, |b| b.lat_max);

    let mut intervals: Vec<(f64, f64)> = Vec::with_capacity(4);
    for b in boxes {
        if b.is_inverse() {
            continue;
        }
        if eq(b.lat_min, 90.0) || eq(b.lat_max, -90.0) {
            continue;
        }
        if larger(b.lon_max, 180.0) {
            intervals.push((b.lon_min, 180.0));
            intervals.push((-180.0, b.lon_max - 360.0));
        } else {
            intervals.push((b.lon_min, b.lon_max));
        }
    }
    let (lon_min, lon_max) = envelope_of_longitudes(&intervals);
    GeoBox {
        lon_min,
        lat_min,
        lon_max,
        lat_max,
    }
}

/// `envelope_range_of_longitudes`.
fn envelope_of_longitudes(intervals: &[(f64, f64)]) -> (f64, f64) {
    let (Some(first_min), Some(last_max)) = (
        min_by(intervals, |a, b| smaller(a.0, b.0)),
        max_by(intervals, |a, b| smaller(a.1, b.1)),
    ) else {
        return (0.0, 0.0);
    };
    let mut lon_min = first_min.0;
    let mut lon_max = last_max.1;
    if larger(lon_max - lon_min, 180.0) {
        let (max_gap, gap_left, gap_right) = maximum_gap(intervals);
        if larger(max_gap, 0.0) {
            let wrapped_gap = 360.0 + lon_min - lon_max;
            if larger(max_gap, wrapped_gap) {
                lon_min = gap_right;
                lon_max = gap_left + 360.0;
            }
        }
    }
    (lon_min, lon_max)
}

/// `geometry::maximum_gap`: the largest gap between the union's components,
/// found by Boost's sweep (start events before end events at equal times).
/// Returns `(gap, left, right)`; `(0, 0, 0)` if there is no gap.
///
/// The event queue is a `std::priority_queue` and its comparison is fuzzy
/// (`math::equals` on the times), so events whose times differ by an ulp may
/// come out in either order and the gap's ends then differ by an ulp. To get
/// Boost's bits, [`Heap`] replays libstdc++'s heap algorithms exactly.
fn maximum_gap(intervals: &[(f64, f64)]) -> (f64, f64, f64) {
    let mut queue = Heap {
        items: intervals
            .iter()
            .map(|&interval| Event {
                interval,
                start: true,
            })
            .collect(),
    };
    queue.make_heap();
    let mut overlap: usize = 0;
    let (mut gap_left, mut gap_right) = (0.0f64, 0.0f64);
    while let Some(event) = queue.pop() {
        if event.start {
            overlap += 1;
            queue.push(Event {
                interval: event.interval,
                start: false,
            });
        } else {
            overlap = overlap.saturating_sub(1);
            if overlap == 0 {
                if let Some(next) = queue.items.first() {
                    let next_time = next.interval.0;
                    let gap = next_time - event.time();
                    if gap > gap_right - gap_left {
                        gap_left = event.time();
                        gap_right = next_time;
                    }
                }
            }
        }
    }
    (gap_right - gap_left, gap_left, gap_right)
}

/// A sweep event of `maximum_gap`.
#[derive(Clone, Copy)]
struct Event {
    interval: (f64, f64),
    start: bool,
}

impl Event {
    fn time(&self) -> f64 {
        if self.start {
            self.interval.0
        } else {
            self.interval.1
        }
    }

    /// `sweep_event::operator<`.
    fn less(&self, other: &Event) -> bool {
        if !eq(self.time(), other.time()) {
            return self.time() < other.time();
        }
        self.start && !other.start
    }
}

/// `std::priority_queue<Event, vector, event_greater>` (a min-queue), with
/// libstdc++'s `make_heap`, `push_heap` and `pop_heap`.
struct Heap {
    items: Vec<Event>,
}

impl Heap {
    /// The queue's comparator, `event_greater(a, b) = b < a`: true if `a`
    /// comes out after `b`.
    fn comp(a: &Event, b: &Event) -> bool {
        b.less(a)
    }

    /// `std::__push_heap`.
    fn push_hole(&mut self, mut hole: usize, top: usize, value: Event) {
        while hole > top {
            let parent = (hole - 1) / 2;
            if !Self::comp(&self.items[parent], &value) {
                break;
            }
            self.items[hole] = self.items[parent];
            hole = parent;
        }
        self.items[hole] = value;
    }

    /// `std::__adjust_heap` over the first `len` items.
    fn adjust(&mut self, mut hole: usize, len: usize, value: Event) {
        let top = hole;
        let mut second = hole;
        while len >= 1 && second < (len - 1) / 2 {
            second = 2 * (second + 1);
            if Self::comp(&self.items[second], &self.items[second - 1]) {
                second -= 1;
            }
            self.items[hole] = self.items[second];
            hole = second;
        }
        if len >= 2 && len & 1 == 0 && second == (len - 2) / 2 {
            second = 2 * (second + 1);
            self.items[hole] = self.items[second - 1];
            hole = second - 1;
        }
        self.push_hole(hole, top, value);
    }

    /// `std::make_heap`.
    fn make_heap(&mut self) {
        let len = self.items.len();
        if len < 2 {
            return;
        }
        let mut parent = (len - 2) / 2;
        loop {
            let value = self.items[parent];
            self.adjust(parent, len, value);
            if parent == 0 {
                return;
            }
            parent -= 1;
        }
    }

    /// `priority_queue::push`.
    fn push(&mut self, event: Event) {
        self.items.push(event);
        let last = self.items.len() - 1;
        self.push_hole(last, 0, event);
    }

    /// `priority_queue::top` then `pop`.
    fn pop(&mut self) -> Option<Event> {
        let top = *self.items.first()?;
        let len = self.items.len();
        if len > 1 {
            let last = len - 1;
            let value = self.items[last];
            self.items[last] = self.items[0];
            self.adjust(0, last, value);
        }
        self.items.pop();
        Some(top)
    }
}

/// `spheroidal_ring` with the geographic segment strategies: the envelope of
/// the closed ring's segments, extended to a pole the ring winds around.
/// `None` for fewer than 3 points (Koncorde never builds those).
pub(crate) fn ring_envelope(ring: &[Point]) -> Option<GeoBox> {
    let n = ring.len();
    if n < 3 {
        return None;
    }
    // closed_view: ring[0], ..., ring[n-1], ring[0].
    let at = |i: usize| if i == n { ring[0] } else { ring[i] };
    let mut mbr = envelope_segment(at(0), at(1));
    for i in 1..n {
        let seg = envelope_segment(at(i), at(i + 1));
        let current = normalize_box(mbr);
        mbr = envelope_of_boxes(&[seg, current]);
    }

    if mbr.lon_max - mbr.lon_min >= 360.0 {
        let mut lat_min = mbr.lat_min;
        let mut lat_max = mbr.lat_max;
        if eq(lat_min, -90.0) {
            lat_min = -90.0;
        }
        if eq(lat_max, 90.0) {
            lat_max = 90.0;
        }
        if lat_max < 90.0 && pole_within(90.0, ring) {
            lat_max = 90.0;
        }
        if lat_min > -90.0 && pole_within(-90.0, ring) {
            lat_min = -90.0;
        }
        mbr.lat_min = lat_min;
        mbr.lat_max = lat_max;
    }
    Some(mbr)
}

/// `pole_within`: winding test of the pole (longitude 0) with the
/// `side_of_pole` strategy.
fn pole_within(lat_pole: f64, ring: &[Point]) -> bool {
    let pole = Point {
        lat: lat_pole,
        lon: 0.0,
    };
    point_in_ring(pole, ring, &pole_side) > 0
}
