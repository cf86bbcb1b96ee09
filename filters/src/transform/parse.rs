//! Validation: JSON filter -> [`Ast`], every keyword and argument checked.
//!
//! This is the only place that looks at the user's JSON. Each keyword's argument is checked in
//! the order Koncorde checks it and rejected with Koncorde's wording, but the error path also
//! carries array positions (`and[1].range.age.gt`). Arguments come out fully parsed: numbers as
//! doubles, distances in meters, geopoints as coordinates, regexps compiled. Rewrites that are
//! pure sugar happen here too (`in`/`ids` -> `or` of `equals`, `missing` -> `not exists`,
//! `bool` -> `and`), so later stages know only `and`, `or`, `not` and conditions.
//!
//! Invariants: nothing here panics or recurses without bound. Operator nesting is limited by
//! [`Options::max_depth`](crate::Options) and so is the depth of `match` arguments; the number
//! of leaves is limited by [`Options::max_conditions`](crate::Options) as they are read, so a
//! huge `in` list is refused before it is turned into conditions.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::condition::{Bound, Condition, Range, Shape};
use crate::error::FilterError;
use crate::geo::{self, Annulus, BoundingBox, Circle, Polygon};
use crate::regexp::Pattern;
use crate::scalar::Scalar;
use crate::Options;

/// A validated filter, before negations are pushed down.
#[derive(Debug)]
pub(crate) enum Ast {
    /// The empty filter: matches every document.
    Everything,
    /// `nothing`: matches no document.
    Nothing,
    /// A condition.
    Leaf(Arc<Condition>),
    And(Vec<Ast>),
    Or(Vec<Ast>),
    Not(Box<Ast>),
}

/// The keywords of the language (what may stand as the one key of a filter object).
pub const KEYWORDS: &[&str] = &[
    "and",
    "bool",
    "equals",
    "exists",
    "geoBoundingBox",
    "geoDistance",
    "geoDistanceRange",
    "geoPolygon",
    "ids",
    "in",
    "match",
    "missing",
    "not",
    "nothing",
    "or",
    "range",
    "regexp",
    "select",
];

type Result<T> = std::result::Result<T, FilterError>;

/// Parses a whole filter (the top level accepts "no keys" as the empty filter).
pub(crate) fn parse(filter: &Value, options: &Options) -> Result<Ast> {
    let mut parser = Parser {
        options,
        too_many: false,
        path: String::new(),
        depth: 0,
        leaves: 0,
        regexp_bytes: 0,
    };
    match filter {
        Value::Object(map) if map.is_empty() => Ok(Ast::Everything),
        Value::Object(_) => parser.counted(filter, |p| p.filter(filter)),
        // Koncorde takes any value without own keys as the empty filter.
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(Ast::Everything),
        Value::String(s) if s.is_empty() => Ok(Ast::Everything),
        Value::Array(a) if a.is_empty() => Ok(Ast::Everything),
        Value::String(_) | Value::Array(_) => Err(FilterError::new(
            "",
            "Invalid filter syntax. Filters must be JSON objects",
        )),
    }
}

/// The conditions of a written filter as Kuzzle counts them (spec 7.2 step 3): each term is
/// one, each value of `in`/`ids` one, operators none; a `select` query counts apart. Only used
/// for the message of a refused filter; the walk stops at `max_depth`.
fn written_conditions(filter: &Value, max_depth: usize) -> usize {
    let Value::Object(map) = filter else {
        return 0;
    };
    if max_depth == 0 {
        return 0;
    }
    let all = |items: &Value| -> usize {
        items.as_array().map_or(0, |items| {
            items
                .iter()
                .map(|item| written_conditions(item, max_depth - 1))
                .fold(0, usize::saturating_add)
        })
    };
    let values = |list: Option<&Value>| list.and_then(Value::as_array).map_or(1, Vec::len);
    map.iter()
        .map(|(keyword, arg)| match keyword.as_str() {
            "and" | "or" => all(arg),
            "not" => written_conditions(arg, max_depth - 1),
            "bool" => arg.as_object().map_or(0, |clauses| {
                clauses.values().map(all).fold(0, usize::saturating_add)
            }),
            "in" => values(arg.as_object().and_then(|m| m.values().next())),
            "ids" => values(arg.get("values")),
            _ => 1,
        })
        .fold(0, usize::saturating_add)
}

struct Parser<'o> {
    options: &'o Options,
    /// Set when the condition limit was exceeded: the caller that holds the JSON of the
    /// counted filter rewrites the error with the filter's whole count.
    too_many: bool,
    /// Path of the part being checked; pushed and truncated as the walk goes.
    path: String,
    depth: usize,
    /// Conditions read so far (every `in`/`ids` value counts).
    leaves: usize,
    /// Estimated memory of the regexps compiled so far.
    regexp_bytes: usize,
}

impl Parser<'_> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T> {
        Err(FilterError::new(self.path.clone(), message))
    }

    /// Runs `f` with `segment` appended to the path (`.segment`, or `[i]` for positions).
    fn at<T>(&mut self, segment: &str, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let len = self.path.len();
        if !self.path.is_empty() && !segment.starts_with('[') {
            self.path.push('.');
        }
        self.path.push_str(segment);
        let out = f(self);
        self.path.truncate(len);
        out
    }

    fn at_index<T>(&mut self, i: usize, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.at(&format!("[{i}]"), f)
    }

    /// Counts conditions as they are read, so that a huge `in` list is refused before it is
    /// turned into conditions; the message gives the whole filter's count (Kuzzle's wording).
    fn count_leaves(&mut self, n: usize) -> Result<()> {
        self.leaves = self.leaves.saturating_add(n);
        if self.leaves > self.options.max_conditions {
            self.too_many = true;
            return Err(self.too_many_conditions(self.leaves));
        }
        Ok(())
    }

    fn too_many_conditions(&self, count: usize) -> FilterError {
        FilterError::new(
            "",
            format!(
                "Filter too complex: exceeds the configured maximum number of conditions (conditions: {count}, max: {})",
                self.options.max_conditions
            ),
        )
    }

    /// Parses `filter`, the root of a count (the whole filter, or a `select` query): a refusal
    /// for the condition limit names the count of all of `filter`, not where reading stopped.
    fn counted(
        &mut self,
        filter: &Value,
        parse: impl FnOnce(&mut Self) -> Result<Ast>,
    ) -> Result<Ast> {
        parse(self).map_err(|e| {
            if std::mem::take(&mut self.too_many) {
                let count = written_conditions(filter, self.options.max_depth).max(self.leaves);
                self.too_many_conditions(count)
            } else {
                e
            }
        })
    }

    /// A sub-filter: a non-empty object with exactly one keyword.
    fn filter(&mut self, value: &Value) -> Result<Ast> {
        let Value::Object(map) = value else {
            return self.err("must be an object");
        };
        if map.is_empty() {
            return self.err("must be a non-empty object");
        }
        if map.len() > 1 {
            return self.err("Invalid filter syntax. Filters must have one keyword only");
        }
        let Some((keyword, arg)) = map.iter().next() else {
            return self.err("must be a non-empty object");
        };
        if self.depth >= self.options.max_depth {
            return self.err(format!(
                "filter is nested too deeply (more than {} levels)",
                self.options.max_depth
            ));
        }
        self.depth += 1;
        let out = self.at(keyword, |p| p.keyword(keyword, arg));
        self.depth -= 1;
        out
    }

    fn keyword(&mut self, keyword: &str, arg: &Value) -> Result<Ast> {
        match keyword {
            "and" => Ok(Ast::And(self.operands(arg)?)),
            "or" => Ok(Ast::Or(self.operands(arg)?)),
            "not" => self.not(arg),
            "bool" => self.bool(arg),
            "equals" => self.equals(arg),
            "in" => self.in_(arg),
            "ids" => self.ids(arg),
            "exists" => self.exists(arg),
            "missing" => Ok(Ast::Not(Box::new(self.exists(arg)?))),
            "range" => self.range(arg),
            "regexp" => self.regexp(arg),
            "match" => self.match_(arg),
            "select" => self.select(arg),
            "nothing" => {
                self.count_leaves(1)?; // Kuzzle counts it as a condition
                Ok(Ast::Nothing)
            }
            "geoBoundingBox" => self.geo_bounding_box(arg),
            "geoDistance" => self.geo_distance(arg),
            "geoDistanceRange" => self.geo_distance_range(arg),
            "geoPolygon" => self.geo_polygon(arg),
            _ => {
                debug_assert!(!KEYWORDS.contains(&keyword));
                self.err("unknown keyword")
            }
        }
    }

    fn leaf(&mut self, condition: Condition) -> Result<Ast> {
        self.count_leaves(1)?;
        Ok(Ast::Leaf(Arc::new(condition)))
    }

    // ---- argument shapes -------------------------------------------------------------------

    fn object<'v>(&self, value: &'v Value) -> Result<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => Ok(map),
            _ => self.err("must be an object"),
        }
    }

    fn exact_keys<'v>(&self, value: &'v Value, n: usize) -> Result<&'v Map<String, Value>> {
        let map = self.object(value)?;
        if map.len() != n {
            let noun = if n == 1 { "property" } else { "properties" };
            return self.err(format!(
                "expected object to have exactly {n} {noun}, got {}",
                map.len()
            ));
        }
        Ok(map)
    }

    /// `{<field>: <arg>}` with exactly one field.
    fn single_field<'v>(&self, value: &'v Value) -> Result<(&'v str, &'v Value)> {
        let map = self.exact_keys(value, 1)?;
        match map.iter().next() {
            Some((field, arg)) => Ok((field.as_str(), arg)),
            None => self.err("must be a non-empty object"),
        }
    }

    fn required<'v>(&self, map: &'v Map<String, Value>, name: &str) -> Result<&'v Value> {
        match map.get(name) {
            Some(v) => Ok(v),
            None => self.err(format!("the property \"{name}\" is missing")),
        }
    }

    fn allowed(&self, map: &Map<String, Value>, allowed: &[&str]) -> Result<()> {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                return self.err(format!(
                    "\"{key}\" is not an allowed attribute (allowed: {})",
                    allowed.join(",")
                ));
            }
        }
        Ok(())
    }

    fn non_empty_string<'v>(&self, value: &'v Value) -> Result<&'v str> {
        match value {
            Value::String(s) if s.is_empty() => self.err("cannot be empty"),
            Value::String(s) => Ok(s),
            _ => self.err("must be a string"),
        }
    }

    fn non_empty_array<'v>(&self, value: &'v Value) -> Result<&'v [Value]> {
        match value {
            Value::Array(a) if a.is_empty() => self.err("cannot be empty"),
            Value::Array(a) => Ok(a),
            _ => self.err("must be an array"),
        }
    }

    // ---- operands --------------------------------------------------------------------------

    /// Children of `and`/`or`: a non-empty array of non-empty objects, each a filter.
    fn operands(&mut self, arg: &Value) -> Result<Vec<Ast>> {
        let items = self.non_empty_array(arg)?;
        if items
            .iter()
            .any(|item| !matches!(item, Value::Object(m) if !m.is_empty()))
        {
            return self.err("can only contain non-empty objects");
        }
        let mut children = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            children.push(self.at_index(i, |p| p.filter(item))?);
        }
        Ok(children)
    }

    fn not(&mut self, arg: &Value) -> Result<Ast> {
        self.exact_keys(arg, 1)?;
        Ok(Ast::Not(Box::new(self.filter(arg)?)))
    }

    /// `bool` = `and[...must, not(or(must_not)), or(should), not(and(should_not))]`.
    fn bool(&mut self, arg: &Value) -> Result<Ast> {
        let map = self.object(arg)?;
        if map.is_empty() {
            return self.err("must be a non-empty object");
        }
        self.allowed(map, &["must", "must_not", "should", "should_not"])?;
        let mut children = Vec::new();
        let clause = |name: &str| map.get(name).filter(|v| is_truthy(v));
        if let Some(must) = clause("must") {
            self.at("must", |p| match must {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let child = p.at_index(i, |p| p.non_empty_filter(item))?;
                        children.push(child);
                    }
                    Ok(())
                }
                Value::Object(_) => {
                    children.push(p.non_empty_filter(must)?);
                    Ok(())
                }
                _ => p.err("must be an array or an object"),
            })?;
        }
        if let Some(must_not) = clause("must_not") {
            let or = self.at("must_not", |p| p.operands(must_not))?;
            children.push(Ast::Not(Box::new(Ast::Or(or))));
        }
        if let Some(should) = clause("should") {
            children.push(Ast::Or(self.at("should", |p| p.operands(should))?));
        }
        if let Some(should_not) = clause("should_not") {
            let and = self.at("should_not", |p| p.operands(should_not))?;
            children.push(Ast::Not(Box::new(Ast::And(and))));
        }
        if children.is_empty() {
            return self.err("cannot be empty: no clause holds a filter");
        }
        Ok(Ast::And(children))
    }

    fn non_empty_filter(&mut self, value: &Value) -> Result<Ast> {
        match value {
            Value::Object(m) if !m.is_empty() => self.filter(value),
            _ => self.err("can only contain non-empty objects"),
        }
    }

    // ---- terms -----------------------------------------------------------------------------

    fn equals(&mut self, arg: &Value) -> Result<Ast> {
        let (field, value) = self.single_field(arg)?;
        let Some(value) = Scalar::from_json(value) else {
            return self.at(field, |p| {
                p.err("must either be a string, a number, a boolean, or null")
            });
        };
        self.leaf(Condition::Equals {
            field: field.into(),
            value,
        })
    }

    /// `in`: an `or` of `equals`, one per value (strings only).
    fn in_(&mut self, arg: &Value) -> Result<Ast> {
        let (field, values) = self.single_field(arg)?;
        self.at(field, |p| p.string_alternatives(field, values))
    }

    /// `ids`: `in` on the `_id` field.
    fn ids(&mut self, arg: &Value) -> Result<Ast> {
        let map = self.exact_keys(arg, 1)?;
        let values = self.required(map, "values")?;
        self.at("values", |p| p.string_alternatives("_id", values))
    }

    fn string_alternatives(&mut self, field: &str, values: &Value) -> Result<Ast> {
        let values = self.non_empty_array(values)?;
        if values.iter().any(|v| !v.is_string()) {
            return self.err("must hold only values of type \"string\"");
        }
        self.count_leaves(values.len())?;
        self.leaves -= values.len(); // `leaf` counts each again
        let mut children = Vec::with_capacity(values.len());
        for v in values {
            if let Some(value) = Scalar::from_json(v) {
                children.push(self.leaf(Condition::Equals {
                    field: field.into(),
                    value,
                })?);
            }
        }
        Ok(Ast::Or(children))
    }

    /// `exists`/`missing`: a field name (possibly `path[<json>]`), or `{"field": name}`.
    fn exists(&mut self, arg: &Value) -> Result<Ast> {
        let name = match arg {
            Value::String(s) if s.is_empty() => return self.err("cannot test empty field name"),
            Value::String(s) => s.as_str(),
            Value::Object(_) => {
                let map = self.exact_keys(arg, 1)?;
                let field = self.required(map, "field")?;
                self.at("field", |p| p.non_empty_string(field))?
            }
            _ => return self.err("must be an object"),
        };
        let (path, raw) = split_array_value(name);
        let value = match raw {
            None => None,
            Some(raw) => match serde_json::from_str::<Value>(raw) {
                Ok(v) => Some(v),
                Err(_) => return self.err(format!("contains an invalid array value (\"{raw}\")")),
            },
        };
        let field = path.replace("\\[", "[").replace("\\]", "]");
        if let Some(v) = &value {
            if depth_exceeds(v, self.options.max_depth) {
                return self.err("array value is nested too deeply");
            }
        }
        self.leaf(Condition::Exists {
            field: field.into(),
            value: value.map(Box::new),
        })
    }

    fn range(&mut self, arg: &Value) -> Result<Ast> {
        let (field, bounds) = self.single_field(arg)?;
        let range = self.at(field, |p| p.range_bounds(bounds))?;
        self.leaf(Condition::Range {
            field: field.into(),
            range,
        })
    }

    fn range_bounds(&mut self, bounds: &Value) -> Result<Range> {
        let map = self.object(bounds)?;
        if map.is_empty() {
            return self.err("must be a non-empty object");
        }
        self.allowed(map, &["gt", "gte", "lt", "lte"])?;
        let mut range = Range {
            lower: None,
            upper: None,
        };
        for (name, value) in map {
            let value = self.at(name, |p| match value {
                Value::Number(n) => n.as_f64().map_or_else(|| p.err("must be a number"), Ok),
                _ => p.err("must be a number"),
            })?;
            let bound = Bound {
                value: if value == 0.0 { 0.0 } else { value },
                inclusive: name.len() == 3,
            };
            let (slot, side) = if name.starts_with('g') {
                (&mut range.lower, "lower")
            } else {
                (&mut range.upper, "upper")
            };
            if slot.is_some() {
                return self.err(format!("only 1 {side} boundary allowed"));
            }
            *slot = Some(bound);
        }
        if let (Some(lo), Some(hi)) = (range.lower, range.upper) {
            if hi.value <= lo.value {
                return self.err("lower boundary must be strictly inferior to the upper one");
            }
        }
        Ok(range)
    }

    fn regexp(&mut self, arg: &Value) -> Result<Ast> {
        let (field, spec) = self.single_field(arg)?;
        let pattern = self.at(field, |p| {
            let (source, flags) = match spec {
                Value::String(s) => (s.as_str(), None),
                Value::Object(map) if !map.is_empty() => {
                    p.allowed(map, &["flags", "value"])?;
                    let value = p.required(map, "value")?;
                    let Value::String(source) = value else {
                        return p.at("value", |p| p.err("must be a string"));
                    };
                    let flags = match map.get("flags") {
                        Some(f) if is_truthy(f) => match f {
                            Value::String(s) => Some(s.as_str()),
                            _ => return p.at("flags", |p| p.err("must be a string")),
                        },
                        _ => None,
                    };
                    (source.as_str(), flags)
                }
                _ => return p.err("must be either a string or a non-empty object"),
            };
            let pattern = Pattern::compile(source, flags).or_else(|message| p.err(message))?;
            // Each pattern is bounded by the regexp limits; this bounds many of them.
            p.regexp_bytes = p.regexp_bytes.saturating_add(pattern.memory());
            let max = p.options.max_regexp_bytes;
            if p.regexp_bytes > max {
                return p.err(format!(
                    "regexps too large: the filter's compiled patterns would take about {} KiB (max: {} KiB per filter)",
                    p.regexp_bytes >> 10,
                    max >> 10
                ));
            }
            Ok(pattern)
        })?;
        self.leaf(Condition::Regexp {
            field: field.into(),
            pattern: Box::new(pattern),
        })
    }

    fn match_(&mut self, arg: &Value) -> Result<Ast> {
        let map = self.object(arg)?;
        if map.is_empty() {
            return self.err("must be a non-empty object");
        }
        if depth_exceeds(arg, self.options.max_depth) {
            return self.err(format!(
                "is nested too deeply (more than {} levels)",
                self.options.max_depth
            ));
        }
        let Value::Object(value) = multiset_order(arg) else {
            return self.err("must be a non-empty object");
        };
        self.leaf(Condition::Match {
            value: Box::new(value),
        })
    }

    fn select(&mut self, arg: &Value) -> Result<Ast> {
        let map = self.object(arg)?;
        self.allowed(map, &["field", "index", "query"])?;
        let field = self.required(map, "field")?;
        let field = self.at("field", |p| p.non_empty_string(field))?;
        let index = self.required(map, "index")?;
        let index = self.at("index", |p| match index {
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Ok(i),
                (None, Some(f)) if f.fract() == 0.0 => {
                    // Beyond i64 no array position is reachable; saturate.
                    Ok(if f < 0.0 { i64::MIN } else { i64::MAX })
                }
                _ => p.err("cannot have decimals, must be an integer"),
            },
            _ => p.err("must be an integer"),
        })?;
        let query = self.required(map, "query")?;
        // The query is a filter of its own: its conditions are counted apart, the `select`
        // counts one in its parent (as Koncorde normalizes the query on its own).
        let query = self.at("query", |p| {
            let outer = std::mem::take(&mut p.leaves);
            let ast = p.counted(query, |p| p.non_empty_filter(query));
            p.leaves = outer;
            super::canonical::canonicalize(&super::standardize::standardize(ast?), p.options)
        })?;
        self.leaf(Condition::Select {
            field: field.into(),
            index,
            query: Arc::new(query),
        })
    }

    // ---- geo -------------------------------------------------------------------------------

    fn geo_bounding_box(&mut self, arg: &Value) -> Result<Ast> {
        let (field, spec) = self.single_field(arg)?;
        let bbox = self.at(field, |p| {
            BoundingBox::parse(spec).or_else(|message| p.err(message))
        })?;
        self.leaf(Condition::Geo {
            field: field.into(),
            shape: Box::new(Shape::BoundingBox(bbox)),
        })
    }

    /// The field of `geoDistance`/`geoDistanceRange`: the one key that is not an attribute.
    fn geo_field<'v>(
        &self,
        map: &'v Map<String, Value>,
        attributes: &[&str],
    ) -> Result<(&'v str, &'v Value)> {
        match map.iter().find(|(k, _)| !attributes.contains(&k.as_str())) {
            Some((k, v)) => Ok((k.as_str(), v)),
            None => self.err("the geopoint field is missing"),
        }
    }

    fn distance(&mut self, map: &Map<String, Value>, name: &str) -> Result<f64> {
        let value = self.required(map, name)?;
        self.at(name, |p| {
            let text = p.non_empty_string(value)?;
            match geo::parse_distance(text) {
                Some(meters) => Ok(meters),
                None => p.err(format!("unable to parse distance value \"{text}\"")),
            }
        })
    }

    fn center(&mut self, field: &str, value: &Value) -> Result<geo::Point> {
        self.at(field, |p| match geo::parse_point(value) {
            Some(point) if point.lat.abs() <= 90.0 => Ok(point),
            Some(_) => p.err("latitude must be between -90 and 90"),
            None => p.err("unrecognized point format"),
        })
    }

    fn geo_distance(&mut self, arg: &Value) -> Result<Ast> {
        let map = self.exact_keys(arg, 2)?;
        let distance = self.required(map, "distance")?;
        let (field, point) = self.geo_field(map, &["distance"])?;
        self.at("distance", |p| p.non_empty_string(distance))?;
        let center = self.center(field, point)?;
        let radius = self.distance(map, "distance")?;
        self.leaf(Condition::Geo {
            field: field.into(),
            shape: Box::new(Shape::Circle(Circle { center, radius })),
        })
    }

    fn geo_distance_range(&mut self, arg: &Value) -> Result<Ast> {
        let map = self.exact_keys(arg, 3)?;
        self.required(map, "from")?;
        self.required(map, "to")?;
        let (field, point) = self.geo_field(map, &["from", "to"])?;
        let from = self.distance(map, "from")?;
        let to = self.distance(map, "to")?;
        if from >= to {
            return self.err("inner radius must be smaller than outer radius");
        }
        let center = self.center(field, point)?;
        self.leaf(Condition::Geo {
            field: field.into(),
            shape: Box::new(Shape::Annulus(Annulus { center, from, to })),
        })
    }

    fn geo_polygon(&mut self, arg: &Value) -> Result<Ast> {
        let (field, spec) = self.single_field(arg)?;
        let polygon = self.at(field, |p| {
            let map = p.exact_keys(spec, 1)?;
            let points = p.required(map, "points")?;
            p.at("points", |p| {
                let Value::Array(points) = points else {
                    return p.err("must be an array");
                };
                if points.len() < 3 {
                    return p.err("at least 3 points are required to build a polygon");
                }
                let max = p.options.max_polygon_points;
                if points.len() > max {
                    return p.err(format!(
                        "too many points: {} (max: {max} points per polygon)",
                        points.len()
                    ));
                }
                let mut ring = Vec::with_capacity(points.len());
                for point in points {
                    match geo::parse_point(point) {
                        Some(pt) => ring.push(pt),
                        None => {
                            let shown = crate::condition::canonical_string(point);
                            return p.err(format!("unrecognized point format \"{shown}\""));
                        }
                    }
                }
                Ok(Polygon::new(ring))
            })
        })?;
        self.leaf(Condition::Geo {
            field: field.into(),
            shape: Box::new(Shape::Polygon(polygon)),
        })
    }
}

/// JavaScript truthiness of a JSON value.
pub(crate) fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// A copy of a `match` argument with every array sorted by canonical JSON. `match` compares
/// arrays as multisets, so element order carries no meaning; sorting makes equal arguments
/// canonicalize (and hash) equally.
fn multiset_order(value: &Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut keyed: Vec<(String, Value)> = items
                .iter()
                .map(|item| {
                    let item = multiset_order(item);
                    (crate::condition::canonical_string(&item), item)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Array(keyed.into_iter().map(|(_, v)| v).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), multiset_order(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether a JSON value nests deeper than `max` arrays/objects (checked without recursion).
fn depth_exceeds(value: &Value, max: usize) -> bool {
    let mut stack = vec![(value, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        if depth > max {
            return true;
        }
        match v {
            Value::Array(items) => stack.extend(items.iter().map(|i| (i, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|i| (i, depth + 1))),
            _ => {}
        }
    }
    false
}

/// Splits `path[<json>]` as Koncorde's `^(.*?[^\\])\[(.*)]$` does (JavaScript `.` does not
/// match a newline): the first `[` that is not at position 0 and not escaped by a backslash,
/// with the string ending in `]`. Returns the path and the raw bracket content.
fn split_array_value(name: &str) -> (&str, Option<&str>) {
    let bytes = name.as_bytes();
    if bytes.len() < 3 || bytes[bytes.len() - 1] != b']' {
        return (name, None);
    }
    let Some(open) = (1..bytes.len() - 1).find(|&i| bytes[i] == b'[' && bytes[i - 1] != b'\\')
    else {
        return (name, None);
    };
    let prefix = &name[..open];
    let content = &name[open + 1..name.len() - 1];
    // `.*?` cannot span a newline (the last prefix character, `[^\\]`, can) nor can `(.*)`.
    let last_char = prefix.char_indices().last().map_or(0, |(i, _)| i);
    if prefix[..last_char].contains('\n') || content.contains('\n') {
        return (name, None);
    }
    (prefix, Some(content))
}

#[cfg(test)]
mod tests {
    use super::split_array_value;

    #[test]
    fn array_value_split() {
        assert_eq!(
            split_array_value("tags[\"red\"]"),
            ("tags", Some("\"red\""))
        );
        assert_eq!(split_array_value("a[1][2]"), ("a", Some("1][2")));
        assert_eq!(split_array_value("a[\"b]\"]"), ("a", Some("\"b]\"")));
        assert_eq!(split_array_value("[1]"), ("[1]", None));
        assert_eq!(
            split_array_value("foo.bar[\"baz\""),
            ("foo.bar[\"baz\"", None)
        );
        assert_eq!(split_array_value("a\\[1]"), ("a\\[1]", None));
        assert_eq!(split_array_value("a[]"), ("a", Some("")));
    }
}
