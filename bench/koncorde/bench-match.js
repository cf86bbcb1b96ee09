#!/usr/bin/env node
'use strict';

// Koncorde side of `herald bench-match`.
//
//   node bench-match.js --filters F --docs D [--seconds S] [--verbose]
//
// F and D are JSON Lines files (one filter / one document per line), as
// written by Herald's workload generators (`herald-workload`,
// `herald_bench::workload::write_jsonl`).
// Registers every filter of F in one Koncorde 4.7.0 instance with default
// options (rejected filters are counted and skipped), parses D, then calls
// koncorde.test(doc) round-robin over the documents for S seconds (default 5)
// and prints one JSON line:
//
//   {"engine":"koncorde","filters":N,"rejected":k,"distinct":u,"docs":M,
//    "register_s":x,"docs_per_s":y,"matches_per_doc":z,"rss_mb":r,
//    "heap_mb":h,"iterations":i}
//
// The keys are those of `herald bench-match` (plus heap_mb and iterations):
// filters: lines of F; rejected: lines Koncorde refused (not registered);
// distinct: distinct filter ids (Koncorde gives equivalent filters one id);
// matches_per_doc: mean number of ids returned per test() call;
// rss_mb/heap_mb: process.memoryUsage() right after registration;
// iterations: test() calls made.

const { benchMatch, readJsonLines, parseArgs } = require('./lib');

function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2), {
      filters: 'value',
      docs: 'value',
      seconds: 'value',
      verbose: 'flag',
    });
    if (!args.filters || !args.docs) {
      throw new Error('--filters and --docs are required');
    }
  } catch (e) {
    process.stderr.write(
      `${e.message}\nusage: node bench-match.js --filters F --docs D [--seconds S] [--verbose]\n`,
    );
    process.exit(2);
  }
  const seconds = args.seconds === undefined ? 5 : Number(args.seconds);
  if (!(seconds > 0)) {
    process.stderr.write('--seconds must be a positive number\n');
    process.exit(2);
  }
  const filters = readJsonLines(args.filters);
  const docs = readJsonLines(args.docs);
  const result = benchMatch(filters, docs, seconds, { verbose: Boolean(args.verbose) });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
