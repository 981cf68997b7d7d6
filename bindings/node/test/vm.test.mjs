// One VM of a busybox image pulled from a loopback registry: exec with its
// output and status, a timeout, streams (at their reader's pace), files,
// TCP to a guest server, 32 execs at once while the event loop runs on,
// and the errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { registry, skipReason } from './fixture.mjs';

const skip = skipReason() ?? false;
const { Image } = (await import('../lib/index.js')).default;
let fx, image, vm;

before(async () => {
  if (skip) return;
  fx = await registry();
  image = await Image.open(fx.ref('plain'));
  vm = await image.start({ memoryMib: 128, network: 'none' });
});

after(async () => {
  await vm?.stop();
  image?.close();
  fx?.cleanup();
});

test('the image is the registry\'s', { skip }, () => {
  assert.equal(image.info.name, fx.ref('plain'));
  assert.match(image.info.digest, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(image.info.cmd, ['sh']);
  assert.match(vm.id, /^[0-9a-f]{64}$/);
});

test('exec: stdout, stderr and the exit code', { skip }, async () => {
  const r = await vm.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.exitCode, 3);
  assert.equal(r.stdout.toString(), 'out\n');
  assert.equal(r.stderr.toString(), 'err\n');
  assert.equal(r.timedOut, false);
  assert.equal(r.signal, null);
  assert.ok(Buffer.isBuffer(r.stdout));
});

test('exec: env, cwd, user and stdin', { skip }, async () => {
  const r = await vm.exec('echo "$GREETING"; pwd; id -u; cat', {
    env: { GREETING: 'hello', PATH: '/bin:/usr/bin' }, cwd: '/srv/app', user: 'app', stdin: 'fed in',
  });
  assert.equal(r.stdout.toString(), 'hello\n/srv/app\n1000\nfed in');
  assert.equal(r.exitCode, 0);
});

test('exec: a timeout kills the command', { skip }, async () => {
  const t = Date.now();
  const r = await vm.exec(['sleep', '60'], { timeout: 500 });
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, 'SIGKILL');
  assert.equal(r.exitCode, 128 + 9);
  assert.ok(Date.now() - t < 30000, `took ${Date.now() - t} ms`);
});

test('spawn: output as streams, stdin piped, then the end', { skip }, async () => {
  const p = vm.spawn(['sh', '-c', 'echo first; read line; echo "got $line"; echo bye >&2; exit 4'],
    { stdin: 'pipe' });
  const out = [];
  p.stdout.on('data', (d) => out.push(d.toString()));
  const err = [];
  p.stderr.on('data', (d) => err.push(d));
  // The first line arrives before the command ends (it waits for stdin).
  await new Promise((resolve) => p.stdout.once('data', resolve));
  assert.equal(out.join(''), 'first\n');
  p.stdin.end('typed\n');
  const r = await p.wait();
  assert.equal(r.exitCode, 4);
  assert.equal(out.join(''), 'first\ngot typed\n');
  assert.equal(Buffer.concat(err).toString(), 'bye\n');
});

test('spawn: a listener that throws is an uncaught exception, and the end still comes', { skip }, async () => {
  // node:test fails a test at any uncaught exception: its handlers step
  // aside meanwhile.
  const runner = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  try {
    const thrown = new Promise((r) => process.once('uncaughtException', r));
    const p = vm.spawn(['sh', '-c', 'echo out; echo err >&2']);
    p.stdout.once('data', () => { throw new Error('from a listener'); });
    const err = [];
    p.stderr.on('data', (d) => err.push(d));
    assert.equal((await thrown).message, 'from a listener');
    assert.equal((await p.wait()).exitCode, 0);
    assert.equal(Buffer.concat(err).toString(), 'err\n');
  } finally {
    process.removeAllListeners('uncaughtException');
    for (const l of runner) process.on('uncaughtException', l);
  }
});

test('spawn: output left unread holds the command, then comes whole and in order', { skip }, async () => {
  const n = 300000;
  const p = vm.spawn(['seq', String(n)]);
  // A small mark in place of 64 MiB, so that a little output fills it.
  const mark = 1 << 16;
  p.stdout._readableState.highWaterMark = mark;
  let ended = false;
  p.wait().then(() => { ended = true; }, () => {});
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  for (let t = 0; p.stdout.readableLength < mark && t < 600; t++) await sleep(100);
  // Full, it stays as it is (chunks already on their way aside).
  await sleep(500);
  const held = p.stdout.readableLength;
  await sleep(1000);
  assert.equal(p.stdout.readableLength, held);
  assert.equal(ended, false);
  const chunks = [];
  for await (const c of p.stdout) chunks.push(c);
  assert.equal((await p.wait()).exitCode, 0);
  const want = Array.from({ length: n }, (_, i) => `${i + 1}\n`).join('');
  const got = Buffer.concat(chunks).toString();
  assert.equal(got.length, want.length);
  assert.ok(got === want, 'the output is seq\'s, in order');
  console.log(`# ${held} bytes of ${want.length} held unread`);
  assert.ok(held < want.length / 2, `${held} bytes held unread`);
});

test('files: a round trip, with mode and parents', { skip }, async () => {
  const data = Buffer.from(Array.from({ length: 70000 }, (_, i) => i % 251));
  await vm.writeFile('/tmp/node/deep/blob', data, { mode: 0o600, mkdirs: true });
  assert.deepEqual(await vm.readFile('/tmp/node/deep/blob'), data);
  const r = await vm.exec(['stat', '-c', '%a %s', '/tmp/node/deep/blob']);
  assert.equal(r.stdout.toString(), '600 70000\n');
  await vm.writeFile('/tmp/text', 'héllo');
  assert.equal(await vm.readFile('/tmp/text', 'utf8'), 'héllo');
  await assert.rejects(vm.readFile('/no/such/file'), { code: 'ENOENT', message: /\/no\/such\/file/ });
});

test('tcp: a socket to a guest server, and a host port forwarded to it', { skip }, async () => {
  const server = vm.spawn(['httpd', '-f', '-p', '8080', '-h', '/var/www']);
  let sock;
  for (let i = 0; ; i++) {
    try {
      sock = await vm.connect(8080);
      break;
    } catch (e) {
      // Until httpd listens.
      if (e.code !== 'ECONNREFUSED' || i > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const reply = await new Promise((resolve, reject) => {
    const chunks = [];
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => resolve(Buffer.concat(chunks).toString()));
    sock.on('error', reject);
    sock.write('GET /index.html HTTP/1.0\r\n\r\n');
  });
  assert.match(reply, /^HTTP\/1\.[01] 200/);
  assert.match(reply, /served-from-the-guest/);

  const { host, port } = await vm.exposeTcp(8080);
  assert.equal(host, '127.0.0.1');
  assert.ok(port > 0);
  const body = await new Promise((resolve, reject) => {
    http.get({ host, port, path: '/index.html' }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
  assert.equal(body, 'served-from-the-guest\n');

  await server.kill('TERM');
  const r = await server.wait();
  assert.equal(r.signal, 'SIGTERM');
});

test('32 execs at once all return their own output; the loop runs meanwhile', { skip }, async () => {
  let ticks = 0;
  let last = Date.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    longest = Math.max(longest, now - last);
    last = now;
    ticks++;
  }, 10);
  const t = Date.now();
  const results = await Promise.all(Array.from({ length: 32 }, (_, i) =>
    vm.exec(['sh', '-c', `echo out-${i}; echo err-${i} >&2; exit ${i % 7}`])));
  const took = Date.now() - t;
  clearInterval(timer);
  results.forEach((r, i) => {
    assert.equal(r.stdout.toString(), `out-${i}\n`);
    assert.equal(r.stderr.toString(), `err-${i}\n`);
    assert.equal(r.exitCode, i % 7);
  });
  // A loop blocked by the calls would fire the timer once at the end, if
  // at all. (Gaps of a second or two are the emulated KVM host's single
  // CPU busy with the guest, not the loop.)
  assert.ok(ticks >= 10, `${ticks} ticks in ${took} ms`);
  assert.ok(longest < took * 0.75, `the loop stalled for ${longest} ms of ${took}`);
  console.log(`# 32 execs in ${took} ms; timer fired ${ticks} times, longest gap ${longest} ms`);
});

test('errors: a bad argument, a missing image, a stopped VM', { skip }, async () => {
  // The library's refusal, with its sentence.
  await assert.rejects(vm.exec([]), {
    code: 'EINVAL', errno: -22, message: 'exec: argv needs at least a program name',
  });
  // The binding's own, before any call.
  await assert.rejects(vm.exec(['true'], { timeout: -5 }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  const bad = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' };
  await assert.rejects(vm.writeFile('/tmp/x', 'x', { mode: '644' }), { ...bad, message: /"mode"/ });
  await assert.rejects(vm.readFile('/tmp/x', { maxBytes: -1 }), { ...bad, message: /"maxBytes"/ });
  await assert.rejects(vm.connect(65536), { ...bad, message: /"port"/ });
  await assert.rejects(vm.exposeTcp(80, { port: 1.5 }), { ...bad, message: /"port"/ });
  const p = vm.spawn(['true']);
  await assert.rejects(p.resize(24.5, 80), { ...bad, message: /"rows"/ });
  await assert.rejects(p.resize(24, undefined), { ...bad, message: /"cols"/ });
  await p.wait();
  await assert.rejects(Image.open(`${fx.registry}/node:absent`), (e) => {
    assert.equal(typeof e.code, 'string');
    assert.ok(e.errno < 0);
    assert.match(e.message, /tag 'absent' not found in .*\/node/);
    console.log(`# missing image: ${e.code}: ${e.message}`);
    return true;
  });
  // A command in flight when the VM stops ends with an error; calls after
  // the stop are refused.
  const longRun = assert.rejects(vm.exec(['sleep', '600']), (e) => {
    assert.ok(e instanceof Error && typeof e.code === 'string' && e.errno < 0);
    console.log(`# an exec in flight at the stop: ${e.code}: ${e.message}`);
    return true;
  });
  await new Promise((r) => setTimeout(r, 200));
  await vm.stop();
  await longRun;
  await assert.rejects(vm.exec(['true']), {
    code: 'ESRCH', errno: -3, message: /^VM [0-9a-f]{12} was stopped \(vm\.stop\(\)\): start another$/,
  });
  await vm.stop();  // again: nothing to do
});
