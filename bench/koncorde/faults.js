// Which of two faults makes Koncorde 4.7.0 refuse a filter: a geo term in a negated group
// (spec 15 (8)) or a negated `select` (15 (12)). Each line of `invalid.jsonl` named on the
// command line is registered as is, with its geo terms replaced by a plain `equals`, with its
// `select`s replaced the same way, and with both replaced; "accepted" in the last column means
// those were the filter's only faults.
//
//   node bench/koncorde/faults.js filters/tests/data/oracle/seed1/invalid.jsonl 0 10 36
'use strict';
const fs = require('fs');
const { Koncorde } = require('koncorde');

const GEO = new Set(['geoDistance', 'geoDistanceRange', 'geoBoundingBox', 'geoPolygon']);

function replace(filter, matches) {
  if (Array.isArray(filter)) return filter.map((f) => replace(f, matches));
  if (filter && typeof filter === 'object') {
    const keys = Object.keys(filter);
    if (keys.length === 1 && matches(keys[0])) return { equals: { replaced: 1 } };
    return Object.fromEntries(keys.map((k) => [k, replace(filter[k], matches)]));
  }
  return filter;
}

function register(filter) {
  try {
    new Koncorde().register(filter);
    return 'accepted';
  } catch (e) {
    return `${e.constructor.name}: ${e.message}`;
  }
}

const [file, ...lines] = process.argv.slice(2);
if (!file || lines.length === 0) {
  console.error('usage: node faults.js INVALID_JSONL LINE...');
  process.exit(2);
}
const invalid = fs.readFileSync(file, 'utf8').split('\n');
for (const n of lines) {
  const { filter } = JSON.parse(invalid[Number(n)]);
  console.log(`line ${n}`);
  console.log(`  as written:          ${register(filter)}`);
  console.log(`  geo terms replaced:  ${register(replace(filter, (k) => GEO.has(k)))}`);
  console.log(`  selects replaced:    ${register(replace(filter, (k) => k === 'select'))}`);
  console.log(`  both replaced:       ${register(replace(filter, (k) => GEO.has(k) || k === 'select'))}`);
}
