// The package without a VM: it loads, and its refusals carry the library's
// sentence with Node's code and errno (no KVM needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { privateStore } from './fixture.mjs';

const work = privateStore();
const sm = (await import('../lib/index.js')).default;

test.after(() => fs.rmSync(work, { recursive: true, force: true }));

test('the API is there', () => {
  assert.equal(sm.version, '0.2');
  for (const name of ['Image', 'Vm', 'Pool', 'Process']) assert.equal(typeof sm[name], 'function');
  assert.throws(() => new sm.Vm(), TypeError);
});

test('a missing image: ENOENT and the library sentence', async () => {
  await assert.rejects(sm.Image.open('example.com/nothing:1', { pullPolicy: 'never' }), (e) => {
    assert.ok(e instanceof Error);
    assert.equal(e.code, 'ENOENT');
    assert.equal(e.errno, -2);
    assert.match(e.message, /no image 'example\.com\/nothing:1' in the store/);
    return true;
  });
});

test('a missing snapshot: ENOENT naming the directory', async () => {
  await assert.rejects(sm.Image.fromSnapshot('/nonexistent/snap'), {
    code: 'ENOENT', errno: -2, message: /\/nonexistent\/snap/,
  });
});

test('bad arguments are TypeErrors before any call', async () => {
  await assert.rejects(sm.Image.open(42), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  await assert.rejects(sm.Image.open('x', { pullPolicy: 'sometimes' }),
    { name: 'TypeError', message: /pullPolicy is 'missing', 'always' or 'never'/ });
  await assert.rejects(sm.Vm.start({ memoryMib: -1 }), { code: 'ERR_INVALID_ARG_TYPE' });
  await assert.rejects(sm.Vm.start({ network: 'bridge' }), { name: 'TypeError' });
  await assert.rejects(sm.Pool.create({}), { name: 'TypeError', message: /must be an Image/ });
});

test('the loop is not held while calls are pending', async () => {
  // Calls that fail at once still go through a thread and back.
  const all = await Promise.allSettled(
    Array.from({ length: 64 }, (_, i) => sm.Image.open(`example.com/none${i}:1`, { pullPolicy: 'never' })));
  assert.ok(all.every((r) => r.status === 'rejected' && r.reason.code === 'ENOENT'));
});

test('numbers out of range are TypeErrors before any call', async () => {
  await assert.rejects(sm.Vm.start({ cpuQuota: -1 }), { code: 'ERR_INVALID_ARG_TYPE', message: /cpuQuota/ });
  await assert.rejects(sm.Vm.start({ cpuQuota: '2' }), { code: 'ERR_INVALID_ARG_TYPE', message: /cpuQuota/ });
});

// spawn's output as the native side sees it: onEvent's answer to each
// chunk, and resume() once the reader has caught up.
function fakeSpawn() {
  const fake = { resumed: 0, onEvent: null };
  const native = {
    spawn(_argv, _options, onEvent) {
      fake.onEvent = onEvent;
      return Promise.resolve({ resume: () => fake.resumed++ });
    },
  };
  return { fake, process: new sm.Process(native, ['cmd'], {}) };
}

test('spawn output: a full stream holds the command until it is read', async () => {
  const { fake, process: p } = fakeSpawn();
  const big = Buffer.alloc(p.stdout.readableHighWaterMark, 'x');
  assert.equal(fake.onEvent(1, Buffer.from('a')), true);
  assert.equal(fake.onEvent(1, big), false);
  // Full stays full, for stderr too, until the reader catches up.
  assert.equal(fake.onEvent(2, Buffer.from('b')), false);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(fake.resumed, 0);
  const out = [];
  p.stdout.on('data', (d) => out.push(d));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(fake.resumed, 1);
  assert.equal(fake.onEvent(1, Buffer.from('c')), true);
  fake.onEvent(0, null, { exitCode: 0 });
  assert.deepEqual(await p.wait(), { exitCode: 0 });
  await new Promise((r) => p.stdout.on('end', r));
  const all = Buffer.concat(out);
  assert.equal(all.length, big.length + 2);
  assert.equal(`${all.subarray(0, 2)}${all.subarray(-2)}`, 'axxc');
});

test('spawn output: a destroyed stream holds nothing back', async () => {
  const { fake, process: p } = fakeSpawn();
  assert.equal(fake.onEvent(2, Buffer.alloc(p.stderr.readableHighWaterMark)), false);
  p.stderr.destroy();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(fake.resumed, 1);
  assert.equal(fake.onEvent(2, Buffer.from('gone')), true);
  fake.onEvent(0, null, { exitCode: 0 });
  await p.wait();
});
