//! Realistic workload: the subscriptions of a chat, a marketplace and an IoT
//! application sharing one collection.
//!
//! Why it looks this way. Real subscriptions are narrow: a user follows a
//! room, a seller, a device or a saved search, so one document interests a
//! handful of subscribers. But apps also add broad "housekeeping" conditions
//! to almost every subscription (`status: "active"`, a category, a sensor
//! type), so tens of thousands of filters share a few low-selectivity
//! conditions. A matcher that counts satisfied conditions per subfilter (as
//! Koncorde does) touches every filter containing `status == "active"` for
//! every active document; one that anchors each subfilter on its most
//! selective condition touches only the few filters of the document's room.
//! This workload measures exactly that gap.
//!
//! Mix of filters (share of all filters):
//!
//! * chat, 45%: `status == active ∧ room.id == r` (the classic room feed),
//!   `room.id == r ∧ author.id != me` (negation), mentions of a user
//!   (`exists mentions["u-…"]`), a `bool` over a user's room list with
//!   `must_not` on the author, media of a room (`in kind`), threads,
//!   moderation (`room ∧ (flagged ∨ deleted)`, nested or), keyword alerts
//!   (regexp, about 1% of the chat filters);
//! * marketplace, 30%: followed sellers, saved searches (`in category ∧
//!   price range`), local searches (`geoDistance` around a real city),
//!   watched listings (`ids`, or `_id ∧ price < p`), `bool` searches with
//!   `must`/`must_not`/`should`, `not in seller.country`, title regexps (1%);
//! * IoT, 25%: device dashboards (`device.id == d`), site temperature alerts
//!   (`site ∧ sensor ∧ value > t`), CO₂ alerts around a city (`geoDistance`),
//!   device health (`device ∧ (battery < 15 ∨ status == fault)`), site
//!   dashboards (`status == active ∧ site ∧ in sensor`), air-quality boxes
//!   (`geoBoundingBox`), firmware regexps (1%).
//!
//! About 1% of the filters use `regexp`; about half contain
//! `status == "active"`. Identifier pools scale with the number of filters
//! (`n/2` users, `n/8` rooms, `n/4` threads and devices, `n/200` sites, `n`
//! listings), and popularity is skewed (density ∝ x^(-1/3): a few rooms, sellers
//! and devices are much followed), both for filters and documents.
//!
//! Documents: 45% chat messages, 30% listings, 25% sensor readings, drawn
//! from the same pools, with nested objects (`room.id`, `seller.id`,
//! `device.site`) and one geo field, `location` (listings write it
//! `{"lat","lon"}`, readings `[lat, lon]`). A device keeps its site,
//! model, firmware, sensor and position in every reading.
//!
//! Selectivity: a document matches on average a few filters, about 0.05% of
//! them at 10,000 filters, and never close to 1% (checked by a test with
//! Herald's matcher; measured with Koncorde in the benchmark notes).
//!
//! Every filter is accepted by Koncorde 4.7.0: at most 8 conditions and 3
//! variables, geo terms only in `and`s of plain conditions, no `select`,
//! RE2-compatible regexps without `g`/`y`.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::common::{
    below, canonical_key, chance, distinct, float_in, gen, int_in, mix, offset, pick, point_near,
    round2, skewed, unit, weighted, City, Gen, CITIES_APAC_AMER, CITIES_EMEA,
};
use super::Workload;

const CATEGORIES: &[&str] = &[
    "phones",
    "laptops",
    "tablets",
    "cameras",
    "headphones",
    "tv",
    "consoles",
    "games",
    "books",
    "comics",
    "vinyl",
    "instruments",
    "bikes",
    "scooters",
    "cars",
    "motorbikes",
    "furniture",
    "lighting",
    "kitchen",
    "appliances",
    "garden",
    "tools",
    "diy",
    "toys",
    "baby",
    "fashion-women",
    "fashion-men",
    "shoes",
    "watches",
    "jewelry",
    "sports",
    "camping",
    "fitness",
    "art",
    "collectibles",
    "pets",
    "real-estate",
    "jobs",
    "services",
    "tickets",
];

const BRANDS: &[&str] = &[
    "Apple",
    "Samsung",
    "Sony",
    "Nikon",
    "Canon",
    "Dell",
    "Lenovo",
    "Bose",
    "Yamaha",
    "Fender",
    "Decathlon",
    "Ikea",
    "Bosch",
    "Makita",
    "Lego",
    "Nintendo",
    "Peugeot",
    "Trek",
    "Garmin",
    "Xiaomi",
];

const COUNTRIES: &[&str] = &[
    "FR", "DE", "ES", "IT", "GB", "NL", "BE", "PL", "US", "CA", "BR", "JP", "IN", "AU",
];

const WORDS: &[&str] = &[
    "hello", "thanks", "meeting", "tomorrow", "lunch", "deploy", "review", "ticket", "build",
    "release", "coffee", "call", "update", "docs", "bug", "fixed", "merged", "ok", "great", "see",
    "you", "later", "urgent", "asap", "outage", "invoice", "offer", "price",
];

const ALERT_WORDS: &[&str] = &[
    "urgent|asap",
    "outage|down|incident",
    "invoice|payment",
    "deploy|release",
    "bug|crash",
];

const SENSORS: &[(&str, &str, f64, f64)] = &[
    ("temperature", "C", 15.0, 35.0),
    ("humidity", "%", 20.0, 90.0),
    ("co2", "ppm", 400.0, 2000.0),
    ("pressure", "hPa", 980.0, 1040.0),
    ("pm25", "ug/m3", 0.0, 150.0),
];

const MODELS: &[&str] = &["th-10", "th-20", "aq-5", "aq-7", "bx-1", "bx-2"];

/// Pool sizes, all scaling with the number of filters.
struct Pools {
    users: usize,
    rooms: usize,
    threads: usize,
    devices: usize,
    sites: usize,
    listings: usize,
}

impl Pools {
    fn new(n: usize) -> Self {
        Pools {
            users: (n / 2).max(100),
            rooms: (n / 8).max(20),
            threads: (n / 4).max(20),
            devices: (n / 4).max(20),
            sites: (n / 200).max(5),
            listings: n.max(100),
        }
    }
}

fn all_cities() -> Vec<City> {
    CITIES_EMEA
        .iter()
        .chain(CITIES_APAC_AMER.iter())
        .copied()
        .collect()
}

fn user(g: &mut Gen, p: &Pools) -> String {
    format!("u-{}", skewed(g, p.users))
}

fn room(g: &mut Gen, p: &Pools) -> String {
    format!("r-{}", skewed(g, p.rooms))
}

fn active() -> Value {
    json!({"equals": {"status": "active"}})
}

// ---------------------------------------------------------------- devices

/// Fixed attributes of device `k` (same in every reading and filter).
struct Device {
    id: String,
    site: usize,
    model: &'static str,
    firmware: String,
    sensor: usize,
    lat: f64,
    lon: f64,
}

fn device(k: usize, p: &Pools, cities: &[City]) -> Device {
    let h = mix(k as u64 ^ 0xD3_71CE);
    let site = (h % p.sites as u64) as usize;
    let (_, clat, clon) = site_city(site, cities);
    let h2 = mix(h);
    let (lat, lon) = offset(
        clat,
        clon,
        (unit(h2) - 0.5) * 30.0,
        (unit(mix(h2)) - 0.5) * 30.0,
    );
    Device {
        id: format!("d-{k}"),
        site,
        model: MODELS[(h >> 20) as usize % MODELS.len()],
        firmware: format!("{}.{}.{}", 1 + (h >> 24) % 3, (h >> 28) % 8, (h >> 32) % 20),
        sensor: (h >> 40) as usize % SENSORS.len(),
        lat,
        lon,
    }
}

fn site_city(site: usize, cities: &[City]) -> City {
    cities[(mix(site as u64 ^ 0x517E) % cities.len() as u64) as usize]
}

fn site_name(site: usize) -> String {
    format!("site-{site}")
}

// ---------------------------------------------------------------- filters

fn chat_filter(g: &mut Gen, p: &Pools) -> Value {
    match weighted(g, &[38.0, 14.0, 10.0, 10.0, 10.0, 9.8, 7.0, 1.2]) {
        0 => json!({"and": [active(), {"equals": {"room.id": room(g, p)}}]}),
        1 => json!({"and": [
            {"equals": {"room.id": room(g, p)}},
            {"not": {"equals": {"author.id": user(g, p)}}},
        ]}),
        2 => json!({"and": [
            active(),
            {"exists": format!("mentions[\"{}\"]", user(g, p))},
        ]}),
        3 => {
            let k = 3 + below(g, 4);
            let rooms: Vec<String> = distinct(g, p.rooms, k, true)
                .into_iter()
                .map(|r| format!("r-{r}"))
                .collect();
            json!({"bool": {
                "must": [{"in": {"room.id": rooms}}],
                "must_not": [{"equals": {"author.id": user(g, p)}}],
            }})
        }
        4 => json!({"and": [
            {"equals": {"room.id": room(g, p)}},
            {"in": {"kind": ["image", "file"]}},
        ]}),
        5 => json!({"and": [
            active(),
            {"equals": {"thread.id": format!("t-{}", skewed(g, p.threads))}},
        ]}),
        6 => json!({"and": [
            {"equals": {"room.id": room(g, p)}},
            {"or": [{"equals": {"flagged": true}}, {"equals": {"status": "deleted"}}]},
        ]}),
        _ => json!({"and": [
            {"equals": {"room.id": room(g, p)}},
            {"regexp": {"text": {"value": format!("({})", pick(g, ALERT_WORDS)), "flags": "i"}}},
        ]}),
    }
}

fn price_exp(g: &mut Gen) -> f64 {
    float_in(g, 0.7, 3.2)
}

fn geo_distance_near_city(g: &mut Gen, cities: &[City], field: &str, as_array: bool) -> Value {
    let (_, lat, lon) = *pick(g, cities);
    let (lat, lon) = point_near(g, lat, lon, 15.0);
    let km = *pick(g, &[2.0, 5.0, 10.0, 25.0, 50.0]);
    let centre = if as_array {
        json!([lat, lon])
    } else {
        json!({"lat": lat, "lon": lon})
    };
    let mut m = serde_json::Map::new();
    m.insert(field.to_owned(), centre);
    m.insert("distance".to_owned(), json!(format!("{km}km")));
    json!({"geoDistance": Value::Object(m)})
}

fn market_filter(g: &mut Gen, p: &Pools, cities: &[City]) -> Value {
    match weighted(g, &[27.0, 24.0, 14.0, 12.0, 12.0, 10.0, 1.0]) {
        0 => json!({"and": [active(), {"equals": {"seller.id": user(g, p)}}]}),
        1 => {
            let k = 2 + below(g, 2);
            let cats: Vec<&str> = distinct(g, CATEGORIES.len(), k, false)
                .into_iter()
                .map(|c| CATEGORIES[c])
                .collect();
            let lo = 10f64.powf(price_exp(g)).round();
            let hi = (lo * float_in(g, 1.5, 4.0)).round();
            json!({"and": [
                active(),
                {"in": {"category": cats}},
                {"range": {"price": {"gte": lo, "lte": hi}}},
            ]})
        }
        2 => json!({"and": [
            active(),
            {"equals": {"category": pick(g, CATEGORIES)}},
            geo_distance_near_city(g, cities, "location", false),
        ]}),
        3 => {
            let id = format!("l-{}", skewed(g, p.listings));
            if chance(g, 0.5) {
                json!({"ids": {"values": [id]}})
            } else {
                let lt = 10f64.powf(float_in(g, 1.0, 3.5)).round();
                json!({"and": [{"equals": {"_id": id}}, {"range": {"price": {"lt": lt}}}]})
            }
        }
        4 => {
            let max = 10f64.powf(float_in(g, 1.5, 3.7)).round();
            json!({"bool": {
                "must": [
                    {"equals": {"category": pick(g, CATEGORIES)}},
                    {"range": {"price": {"lte": max}}},
                ],
                "must_not": [{"equals": {"condition": "used"}}],
                "should": [
                    {"equals": {"shipping.free": true}},
                    {"range": {"seller.rating": {"gte": 4.5}}},
                ],
            }})
        }
        5 => {
            let banned: Vec<&str> = distinct(g, COUNTRIES.len(), 2, false)
                .into_iter()
                .map(|c| COUNTRIES[c])
                .collect();
            let lt = 10f64.powf(float_in(g, 1.0, 3.5)).round();
            json!({"and": [
                {"equals": {"category": pick(g, CATEGORIES)}},
                {"not": {"in": {"seller.country": banned}}},
                {"range": {"price": {"lt": lt}}},
            ]})
        }
        _ => {
            let brand = pick(g, BRANDS).to_lowercase();
            json!({"and": [
                {"equals": {"category": pick(g, CATEGORIES)}},
                {"regexp": {"title": {"value": format!("^{brand} [a-z]*[0-9]"), "flags": "i"}}},
            ]})
        }
    }
}

fn iot_filter(g: &mut Gen, p: &Pools, cities: &[City]) -> Value {
    let site = |g: &mut Gen| site_name(below(g, p.sites));
    let dev = |g: &mut Gen| format!("d-{}", skewed(g, p.devices));
    match weighted(g, &[33.0, 20.0, 12.0, 14.0, 12.0, 8.0, 1.0]) {
        0 => json!({"equals": {"device.id": dev(g)}}),
        1 => json!({"and": [
            {"equals": {"device.site": site(g)}},
            {"equals": {"sensor": "temperature"}},
            {"range": {"value": {"gt": int_in(g, 26, 34)}}},
        ]}),
        2 => json!({"and": [
            {"equals": {"sensor": "co2"}},
            {"range": {"value": {"gte": 100 * int_in(g, 10, 16)}}},
            geo_distance_near_city(g, cities, "location", true),
        ]}),
        3 => json!({"and": [
            {"equals": {"device.id": dev(g)}},
            {"or": [
                {"range": {"battery": {"lt": 15}}},
                {"equals": {"status": "fault"}},
            ]},
        ]}),
        4 => json!({"and": [
            active(),
            {"equals": {"device.site": site(g)}},
            {"in": {"sensor": ["temperature", "humidity"]}},
        ]}),
        5 => {
            let (_, lat, lon) = *pick(g, cities);
            let (lat, lon) = point_near(g, lat, lon, 10.0);
            let half = *pick(g, &[0.05, 0.1, 0.2]);
            json!({"and": [
                {"equals": {"sensor": "pm25"}},
                {"geoBoundingBox": {"location": {
                    "top": round2(lat + half), "left": round2(lon - half),
                    "bottom": round2(lat - half), "right": round2(lon + half),
                }}},
            ]})
        }
        _ => json!({"and": [
            {"equals": {"device.site": site(g)}},
            {"regexp": {"device.firmware": format!("^{}\\.[0-{}]\\.", 1 + below(g, 3), below(g, 8))}},
        ]}),
    }
}

// ---------------------------------------------------------------- documents

fn sentence(g: &mut Gen) -> String {
    let k = 2 + below(g, 8);
    (0..k)
        .map(|_| *pick(g, WORDS))
        .collect::<Vec<_>>()
        .join(" ")
}

fn message(g: &mut Gen, p: &Pools, i: usize) -> Value {
    let status = if chance(g, 0.95) { "active" } else { "deleted" };
    let kind = ["text", "image", "file", "system"][weighted(g, &[80.0, 10.0, 5.0, 5.0])];
    let mentions: Vec<String> = if chance(g, 0.3) {
        let k = 1 + below(g, 2);
        (0..k).map(|_| user(g, p)).collect()
    } else {
        Vec::new()
    };
    let mut doc = json!({
        "_id": format!("m-{i}"),
        "type": "message",
        "status": status,
        "room": {"id": room(g, p), "kind": if chance(g, 0.7) { "group" } else { "dm" }},
        "author": {"id": user(g, p)},
        "kind": kind,
        "text": sentence(g),
        "mentions": mentions,
        "flagged": chance(g, 0.02),
        "createdAt": 1_700_000_000_000_i64 + 1000 * i as i64,
    });
    if chance(g, 0.25) {
        doc["thread"] = json!({"id": format!("t-{}", skewed(g, p.threads))});
    }
    doc
}

fn listing(g: &mut Gen, p: &Pools, cities: &[City], i: usize) -> Value {
    let status = ["active", "sold", "draft"][weighted(g, &[85.0, 10.0, 5.0])];
    let brand = *pick(g, BRANDS);
    let title = format!(
        "{brand} {}{} {}",
        pick(g, &["X", "Pro ", "Max ", "S", "Mk", "Air "]),
        int_in(g, 1, 30),
        pick(g, WORDS)
    );
    let (_, lat, lon) = *pick(g, cities);
    let (lat, lon) = point_near(g, lat, lon, 30.0);
    let tags: Vec<&str> = (0..2).map(|_| *pick(g, WORDS)).collect();
    json!({
        "_id": format!("l-{}", skewed(g, p.listings)),
        "type": "listing",
        "status": status,
        "category": pick(g, CATEGORIES),
        "title": title,
        "price": round2(10f64.powf(float_in(g, 0.7, 3.7))),
        "currency": "EUR",
        "condition": pick(g, &["new", "used", "used", "refurbished"]),
        "seller": {
            "id": user(g, p),
            "rating": (float_in(g, 30.0, 50.0).round()) / 10.0,
            "country": pick(g, COUNTRIES),
        },
        "shipping": {"free": chance(g, 0.4)},
        "location": {"lat": lat, "lon": lon},
        "tags": tags,
        "updatedAt": 1_700_000_000_000_i64 + 1000 * i as i64,
    })
}

fn reading(g: &mut Gen, p: &Pools, cities: &[City], i: usize) -> Value {
    let d = device(skewed(g, p.devices), p, cities);
    let (sensor, unit_name, lo, hi) = SENSORS[d.sensor];
    let u = float_in(g, 0.0, 1.0);
    // Mostly ordinary values, occasionally high (alerts are rare).
    let value = round2(lo + (hi - lo) * u * u);
    let battery = if chance(g, 0.05) {
        int_in(g, 0, 14)
    } else {
        int_in(g, 15, 100)
    };
    let status = ["active", "fault", "maintenance"][weighted(g, &[92.0, 3.0, 5.0])];
    json!({
        "_id": format!("rd-{i}"),
        "type": "reading",
        "device": {"id": d.id, "site": site_name(d.site), "model": d.model, "firmware": d.firmware},
        "sensor": sensor,
        "value": value,
        "unit": unit_name,
        "battery": battery,
        "status": status,
        "location": [d.lat, d.lon],
        "ts": 1_700_000_000_000_i64 + 1000 * i as i64,
    })
}

/// The realistic workload: `n_filters` distinct filters and `n_docs`
/// documents (see the module documentation for what they contain).
pub fn realistic(n_filters: usize, n_docs: usize, seed: u64) -> Workload {
    let p = Pools::new(n_filters);
    let cities = all_cities();
    let mut g = gen(seed, 0x5245_414C);
    let mut seen: HashSet<String> = HashSet::with_capacity(n_filters);
    let mut filters = Vec::with_capacity(n_filters);
    while filters.len() < n_filters {
        // Duplicates (two users following the same room) are redrawn so that
        // both engines hold exactly n_filters distinct filters; after a few
        // tries a duplicate is kept rather than looping forever.
        let mut f = Value::Null;
        for _ in 0..32 {
            f = match weighted(&mut g, &[45.0, 30.0, 25.0]) {
                0 => chat_filter(&mut g, &p),
                1 => market_filter(&mut g, &p, &cities),
                _ => iot_filter(&mut g, &p, &cities),
            };
            if seen.insert(canonical_key(&f)) {
                break;
            }
        }
        filters.push(f);
    }
    let mut dg = gen(seed, 0x5245_414C_444F);
    let docs = (0..n_docs)
        .map(|i| match weighted(&mut dg, &[45.0, 30.0, 25.0]) {
            0 => message(&mut dg, &p, i),
            1 => listing(&mut dg, &p, &cities, i),
            _ => reading(&mut dg, &p, &cities, i),
        })
        .collect();
    Workload { filters, docs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_counted() {
        let a = realistic(2000, 100, 42);
        let b = realistic(2000, 100, 42);
        assert_eq!(a.filters, b.filters);
        assert_eq!(a.docs, b.docs);
        assert_eq!(a.filters.len(), 2000);
        assert_eq!(a.docs.len(), 100);
        let c = realistic(2000, 100, 43);
        assert_ne!(a.filters, c.filters);
    }

    #[test]
    fn filters_are_distinct_and_mostly_share_status() {
        let w = realistic(5000, 0, 1);
        let set: HashSet<String> = w.filters.iter().map(Value::to_string).collect();
        assert!(set.len() >= 4990, "{} distinct", set.len());
        let active = w
            .filters
            .iter()
            .filter(|f| f.to_string().contains(r#"{"equals":{"status":"active"}}"#))
            .count();
        assert!(active > 1000, "{active} filters share status == active");
        let regexps = w
            .filters
            .iter()
            .filter(|f| f.to_string().contains(r#""regexp""#))
            .count();
        assert!((20..=100).contains(&regexps), "{regexps} regexps");
    }

    #[test]
    fn a_document_matches_well_under_one_percent() {
        let n = 10_000;
        let w = realistic(n, 300, 7);
        let mut total = 0usize;
        let mut worst = 0usize;
        for m in super::super::matches_per_doc(&w) {
            total += m;
            worst = worst.max(m);
        }
        let mean = total as f64 / w.docs.len() as f64;
        assert!(mean > 0.5, "mean {mean}");
        assert!(mean < 0.002 * n as f64, "mean {mean} matches per doc");
        assert!(worst < n / 100, "worst document matches {worst}");
    }
}
