#!/usr/bin/env node
// bench/exec_node.mjs [BUILD_DIR] [RUNS]: what Node adds to one exec of
// `true`. The same round trip is timed in the same run through the C call
// (BUILD_DIR/bench/exec, sm_vm_exec in a loop, its own VM) and through the
// Node package (vm.exec awaited in a loop, one VM booted the same way:
// no image, the built-in initramfs); prints both p50s and their ratio.
// Then 32 execs at once from Node, against 32 in turn.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const build = path.resolve(process.argv[2] || path.join(here, '..', 'build'));
const runs = Number(process.argv[3] || 200);
process.env.SUPERMACHINE_NODE_ADDON ||= path.join(build, 'bindings', 'node', 'supermachine.node');
process.env.SUPERMACHINE_WORKER ||= path.join(build, 'supermachine-worker');
const { Vm } = (await import(path.join(here, '..', 'bindings', 'node', 'lib', 'index.js'))).default;

function pct(v, p) {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.round(p * (s.length - 1))];
}

// The C figure first, in a process of its own (1 MiB: its stream part is
// not what we compare).
const cOut = execFileSync(path.join(build, 'bench', 'exec'), [String(runs), '1'], { encoding: 'utf8' });
const m = cOut.match(/exec `true`, \d+ runs: p50 ([\d.]+) ms, p99 ([\d.]+) ms/);
if (!m) throw new Error(`bench/exec printed no p50:\n${cOut}`);
const c50 = Number(m[1]);
const c99 = Number(m[2]);

const vm = await Vm.start({ startTimeout: 600000 });
try {
  for (let i = 0; i < 5; i++) await vm.exec(['true']);
  const lat = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = await vm.exec(['true']);
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.exitCode !== 0) throw new Error(`true exited ${r.exitCode}`);
  }
  const n50 = pct(lat, 0.5);
  const n99 = pct(lat, 0.99);
  console.log(`exec \`true\`, ${runs} runs: C p50 ${c50.toFixed(2)} ms (p99 ${c99.toFixed(2)}), ` +
    `Node p50 ${n50.toFixed(2)} ms (p99 ${n99.toFixed(2)})`);
  console.log(`Node over C, p50: ${(n50 / c50).toFixed(2)}x (${(n50 - c50 >= 0 ? '+' : '')}${(n50 - c50).toFixed(2)} ms an exec)`);

  let t = process.hrtime.bigint();
  for (let i = 0; i < 32; i++) await vm.exec(['true']);
  const serial = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  await Promise.all(Array.from({ length: 32 }, () => vm.exec(['true'])));
  const parallel = Number(process.hrtime.bigint() - t) / 1e6;
  console.log(`32 execs from Node: ${serial.toFixed(0)} ms in turn, ${parallel.toFixed(0)} ms at once ` +
    `(${(serial / parallel).toFixed(1)}x)`);
} finally {
  await vm.stop();
}
