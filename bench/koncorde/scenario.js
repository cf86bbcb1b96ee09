#!/usr/bin/env node
'use strict';

// Koncorde's own benchmark scenario (spec 12.1 of docs/spec/filter-dsl.md),
// one keyword or all of them, through the same loop as bench-match.js.
//
//   node scenario.js [--keyword K] [--seconds S] [--dir DIR] [--one-doc]
//   node scenario.js --generate [--keyword K] [--seconds S] [--n N] [--one-doc]
//
// Default: read the files written by Herald's generator
// (`herald_bench::workload::koncorde_scenario`, see bench/src/workload/mod.rs), i.e.
// DIR/koncorde-<keyword>-10k/{filters,docs}.jsonl with DIR defaulting to
// $HERALD_WORKLOAD_DIR or /tmp/herald-workloads. Both engines then see the
// very same filters and documents: this is the mode to compare them.
//
// --generate: draw the scenario in JavaScript like upstream's benchmark.js
// (Math.random instead of random-js / geojson-random, same distributions),
// N filters (default 10,000). Useful to check the Rust generator against
// upstream's figures; not for side-by-side comparisons.
//
// --one-doc: test only the first document (upstream tests one fixed
// document); otherwise round-robin over all documents of the file (the Rust
// generator writes 8 documents drawn like upstream's one).
//
// Prints one JSON line per keyword (bench-match.js's line plus "keyword").

const fs = require('fs');
const os = require('os');
const path = require('path');
const { benchMatch, readJsonLines, parseArgs } = require('./lib');

const KEYWORDS = [
  'equals',
  'exists',
  'geoBoundingBox',
  'geoDistance',
  'geoDistanceRange',
  'geoPolygon',
  'in',
  'range',
];

// ---------------------------------------------------------------- generator

const POOL = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-';

function rand20() {
  let s = '';
  for (let i = 0; i < 20; i++) {
    s += POOL[Math.floor(Math.random() * POOL.length)];
  }
  return s;
}

function randInt() {
  return Math.floor(Math.random() * 20001) - 10000;
}

// geojson-random position(): [lon, lat]
function position() {
  return [Math.random() * 360 - 180, Math.random() * 180 - 90];
}

// geojson-random polygon(1, 5) ring, swapped to [lat, lon]
function starPolygon() {
  const numVertices = 5;
  const maxRadial = 10;
  const offsets = Array.from({ length: numVertices + 1 }, Math.random);
  for (let i = 1; i < offsets.length; i++) {
    offsets[i] += offsets[i - 1];
  }
  const total = offsets[offsets.length - 1];
  const ring = offsets.map((o) => {
    const angle = (o * 2 * Math.PI) / total;
    const r = Math.random();
    return [r * maxRadial * Math.sin(angle), r * maxRadial * Math.cos(angle)];
  });
  ring[ring.length - 1] = ring[0];
  const hub = position();
  return ring.map((v) => [v[1] + hub[1], v[0] + hub[0]]);
}

const GENERATORS = {
  equals: [() => ({ equals: { str: rand20() } }), () => ({ str: rand20() })],
  exists: [() => ({ exists: { field: rand20() } }), () => ({ [rand20()]: true })],
  geoBoundingBox: [
    () => {
      const [lon, lat] = position();
      return { geoBoundingBox: { point: { bottom: lat - 0.5, left: lon, right: lon + 0.5, top: lat } } };
    },
    () => ({ point: [0, 0] }),
  ],
  geoDistance: [
    () => {
      const [lon, lat] = position();
      return { geoDistance: { distance: '500m', point: [lat, lon] } };
    },
    () => ({ point: [0, 0] }),
  ],
  geoDistanceRange: [
    () => {
      const [lon, lat] = position();
      return { geoDistanceRange: { from: '500m', point: [lat, lon], to: '1km' } };
    },
    () => ({ point: [0, 0] }),
  ],
  geoPolygon: [() => ({ geoPolygon: { point: { points: starPolygon() } } }), () => ({ point: [0, 0] })],
  in: [
    () => ({ in: { str: Array.from({ length: 5 }, rand20) } }),
    () => ({ str: rand20() }),
  ],
  range: [
    () => {
      const b = randInt();
      return { range: { integer: { gte: b, lte: b + 100 } } };
    },
    () => ({ integer: randInt() }),
  ],
};

function generate(keyword, n, nDocs) {
  const [filter, doc] = GENERATORS[keyword];
  const docs = Array.from({ length: nDocs }, doc); // drawn before the filters
  const filters = Array.from({ length: n }, filter);
  return { filters, docs };
}

// ---------------------------------------------------------------- main

function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2), {
      keyword: 'value',
      seconds: 'value',
      dir: 'value',
      n: 'value',
      generate: 'flag',
      'one-doc': 'flag',
      verbose: 'flag',
    });
    if (args.keyword !== undefined && !KEYWORDS.includes(args.keyword)) {
      throw new Error(`unknown keyword ${args.keyword} (one of ${KEYWORDS.join(', ')})`);
    }
  } catch (e) {
    process.stderr.write(
      `${e.message}\nusage: node scenario.js [--keyword K] [--seconds S] [--dir DIR | --generate [--n N]] [--one-doc]\n`,
    );
    process.exit(2);
  }
  const seconds = args.seconds === undefined ? 5 : Number(args.seconds);
  const dir =
    args.dir || process.env.HERALD_WORKLOAD_DIR || path.join(os.tmpdir(), 'herald-workloads');
  const keywords = args.keyword ? [args.keyword] : KEYWORDS;

  for (const keyword of keywords) {
    let filters;
    let docs;
    if (args.generate) {
      ({ filters, docs } = generate(keyword, args.n ? Number(args.n) : 10000, 8));
    } else {
      const sub = path.join(dir, `koncorde-${keyword}-10k`);
      const f = path.join(sub, 'filters.jsonl');
      if (!fs.existsSync(f)) {
        process.stderr.write(
          `${f} not found: write the files with Herald's generator first (see bench/src/workload/mod.rs), or use --generate\n`,
        );
        process.exit(1);
      }
      filters = readJsonLines(f);
      docs = readJsonLines(path.join(sub, 'docs.jsonl'));
    }
    if (args['one-doc']) {
      docs = docs.slice(0, 1);
    }
    const result = benchMatch(filters, docs, seconds, { verbose: Boolean(args.verbose) });
    process.stdout.write(`${JSON.stringify({ keyword, ...result })}\n`);
  }
}

main();
