// check.mjs - load an MN_TRACE file with Chrome DevTools' own trace parser
// (npm @paulirish/trace_engine, the engine of DevTools' Performance panel) and check that
// the G spans it builds are the ones the run made.
//
//   node check.mjs TRACE.json --gs N [--creates N]
//
// Checks, each a line on stdout; exit 1 on the first that fails, 2 on bad usage:
//   - the parser loads the file without throwing (the B/E trace it replaced threw a
//     TypeError in DevTools' MetaHandler: its E events had no name);
//   - the G spans in the parsed model (cat "g", name "G <id>") number exactly the G span
//     events in the file: none dropped, none left open;
//   - the distinct G ids among them number N (--gs): every G run ran at least once;
//   - the per-P span trees are at most 3 deep (P > G > instant): spans close where they
//     should (speedscope drew the old file as a 1000-level staircase);
//   - every G span's node in the tree lies inside a P span (its parent is a P span, or a
//     P span of exactly its extent is its child: equal spans may sort either way);
//   - with --creates N: the parsed "create" instants number N.
import fs from 'node:fs';
import * as Trace from '@paulirish/trace_engine';

const TOOL = 'trace-viewer-check';

function usage(msg) {
  console.error(`${TOOL}: ${msg} (usage: node check.mjs TRACE.json --gs N [--creates N])`);
  process.exit(2);
}

const argv = process.argv.slice(2);
let path = null;
let gs = null;
let creates = null;
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--gs' || argv[i] === '--creates') {
    const v = Number(argv[i + 1]);
    if (!Number.isInteger(v) || v < 0) usage(`${argv[i]} needs a count`);
    if (argv[i] === '--gs') gs = v; else creates = v;
    i++;
  } else if (path === null) {
    path = argv[i];
  } else {
    usage(`unexpected argument '${argv[i]}'`);
  }
}
if (path === null || gs === null) usage('a trace file and --gs are required');

let failed = false;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failed = true;
}

// The engine runs in DevTools' window; Node lacks the one DOM class it touches.
globalThis.DOMRect ??= class DOMRect {
  constructor(x = 0, y = 0, width = 0, height = 0) {
    Object.assign(this, {x, y, width, height});
  }
};

let events;
try {
  const json = JSON.parse(fs.readFileSync(path, 'utf8'));
  events = Array.isArray(json) ? json : json.traceEvents;
} catch (e) {
  console.error(`${TOOL}: ${path}: ${e.message}`);
  process.exit(1);
}
const fileG = events.filter((e) => e.ph === 'X' && e.cat === 'g').length;

const model = Trace.TraceModel.Model.createWithAllHandlers();
try {
  await model.parse(events);
} catch (e) {
  check(false, `DevTools' trace engine parses ${path}: ${e.stack}`);
  process.exit(1);
}
const parsed = model.parsedTrace();
check(parsed && parsed.data && parsed.data.Renderer, "DevTools' trace engine parses the file");
if (failed) process.exit(1);

const renderer = parsed.data.Renderer;
const proc = renderer.processes.get(1);
check(proc !== undefined, 'the parsed model has process 1 (the runtime)');
if (failed) process.exit(1);

const gSpans = [];
let maxDepth = 0;
let createsSeen = 0;
const tracks = [];
for (const [tid, thread] of proc.threads) {
  tracks.push(thread.name ?? `tid ${tid}`);
  maxDepth = Math.max(maxDepth, thread.tree?.maxDepth ?? 0);
  for (const e of thread.entries) {
    if (e.cat === 'g' && /^G \d+$/.test(e.name) && typeof e.dur === 'number') gSpans.push(e);
    if (e.name === 'create') createsSeen++;
  }
}
const ids = new Set(gSpans.map((e) => e.args?.g));

check(gSpans.length === fileG && fileG > 0,
      `parsed G spans ${gSpans.length} == G span events in the file ${fileG}`);
check(ids.size === gs, `distinct Gs among the parsed spans ${ids.size} == Gs run ${gs}`);
check(maxDepth >= 2 && maxDepth <= 3,
      `span trees ${maxDepth} deep on tracks ${tracks.join(', ')} (P > G > instant: 2..3)`);

let outside = 0;
for (const e of gSpans) {
  const node = renderer.entryToNode.get(e);
  const parentIsP = node?.parent?.entry?.name === 'P';
  const childIsSameP = [...(node?.children ?? [])].some(
      (c) => c.entry.name === 'P' && c.entry.ts === e.ts && c.entry.dur === e.dur);
  if (!(parentIsP || childIsSameP)) outside++;
}
check(outside === 0, `G spans not inside a P span in the parsed tree: ${outside}`);
if (creates !== null)
  check(createsSeen === creates, `parsed create instants ${createsSeen} == Gs created ${creates}`);

console.log(failed ? `${TOOL}: FAILED on ${path}` : `${TOOL}: ${path} loads in DevTools' parser`);
process.exit(failed ? 1 : 0);
