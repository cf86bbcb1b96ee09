'use strict';

// Shared loop of the Koncorde benchmark harness. It has exactly the shape of
// Herald's `herald bench-match`, so that the two engines are measured the
// same way on the same files:
//
//   1. register every filter in one engine (default options), counting and
//      skipping the ones it rejects; time the registration;
//   2. parse all documents up front;
//   3. call test(doc) round-robin over the documents for S seconds, reading
//      the clock every CLOCK_EVERY calls;
//   4. report one JSON line.

const fs = require('fs');
const { Koncorde } = require('koncorde');

const CLOCK_EVERY = 64;

function readJsonLines(path) {
  return fs
    .readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line);
      } catch (e) {
        throw new Error(`${path}:${i + 1}: ${e.message}`);
      }
    });
}

function mb(bytes) {
  return Math.round((bytes / (1024 * 1024)) * 10) / 10;
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Run the benchmark on parsed filters and documents.
 * @param {object[]} filters
 * @param {object[]} docs
 * @param {number} seconds matching duration
 * @param {object} [opts] {verbose: print the first rejections on stderr}
 * @returns {object} the result line
 */
function benchMatch(filters, docs, seconds, opts = {}) {
  const koncorde = new Koncorde();
  const ids = new Set();
  let rejected = 0;

  const t0 = process.hrtime.bigint();
  for (const filter of filters) {
    try {
      ids.add(koncorde.register(filter));
    } catch (e) {
      rejected += 1;
      if (opts.verbose && rejected <= 5) {
        process.stderr.write(`rejected: ${JSON.stringify(filter)}: ${e.message}\n`);
      }
    }
  }
  const registerS = Number(process.hrtime.bigint() - t0) / 1e9;
  const mem = process.memoryUsage();

  let iterations = 0;
  let matches = 0;
  let elapsed = 0;
  if (docs.length > 0) {
    const budget = BigInt(Math.round(seconds * 1e9));
    const start = process.hrtime.bigint();
    let i = 0;
    for (;;) {
      for (let k = 0; k < CLOCK_EVERY; k++) {
        matches += koncorde.test(docs[i]).length;
        i += 1;
        if (i === docs.length) {
          i = 0;
        }
      }
      iterations += CLOCK_EVERY;
      const now = process.hrtime.bigint() - start;
      if (now >= budget) {
        elapsed = Number(now) / 1e9;
        break;
      }
    }
  }

  return {
    engine: 'koncorde',
    filters: filters.length,
    rejected,
    distinct: ids.size,
    docs: docs.length,
    register_s: round(registerS, 3),
    docs_per_s: elapsed > 0 ? round(iterations / elapsed, iterations / elapsed < 100 ? 3 : 0) : 0,
    elapsed_s: round(elapsed, 3),
    matches_per_doc: iterations > 0 ? round(matches / iterations, 2) : 0,
    rss_mb: mb(mem.rss),
    heap_mb: mb(mem.heapUsed),
    iterations,
  };
}

/** Minimal `--name value` / `--flag` parser. */
function parseArgs(argv, spec) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      throw new Error(`unexpected argument ${a}`);
    }
    const name = a.slice(2);
    if (!(name in spec)) {
      throw new Error(`unknown option ${a}`);
    }
    if (spec[name] === 'flag') {
      out[name] = true;
    } else {
      if (i + 1 >= argv.length) {
        throw new Error(`${a} needs a value`);
      }
      out[name] = argv[++i];
    }
  }
  return out;
}

module.exports = { benchMatch, readJsonLines, parseArgs };
