// A snapshot of a running VM, opened as an image (Image.fromSnapshot): a
// VM resumed from it sees what the first had written, and a pool of it
// hands out such VMs. One boot; the rest are restores.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { registry, skipReason } from './fixture.mjs';

const skip = skipReason() ?? false;
const { Image, Pool } = (await import('../lib/index.js')).default;
let fx, image, vm, snapImage;

before(async () => {
  if (skip) return;
  fx = await registry();
  image = await Image.open(fx.ref('plain'));
  vm = await image.start({ memoryMib: 128, network: 'none' });
});

after(async () => {
  await vm?.stop();
  snapImage?.close();
  image?.close();
  fx?.cleanup();
});

test('a snapshot, and a VM resumed from it', { skip }, async () => {
  await vm.writeFile('/root/marker', 'written before the snapshot\n');
  const dir = path.join(fx.work, 'snap');
  await vm.snapshot(dir);
  // The VM runs on after its snapshot.
  assert.equal((await vm.exec(['cat', '/root/marker'])).stdout.toString(), 'written before the snapshot\n');
  snapImage = await Image.fromSnapshot(dir);
  assert.equal(snapImage.info.name, fx.ref('plain'));
  assert.equal(snapImage.rootfs, null);
  const resumed = await snapImage.start();
  try {
    assert.equal(resumed.restored, true);
    assert.notEqual(resumed.id, vm.id);
    assert.equal(await resumed.readFile('/root/marker', 'utf8'), 'written before the snapshot\n');
    // Its own from here on.
    await resumed.writeFile('/root/marker', 'changed in the copy\n');
    assert.equal(await vm.readFile('/root/marker', 'utf8'), 'written before the snapshot\n');
  } finally {
    // What `await using` does where the language has it (Node 22+).
    await resumed[Symbol.asyncDispose]();
  }
  await assert.rejects(resumed.exec(['true']), { code: 'ESRCH' });
});

test('a pool of the snapshot image', { skip }, async () => {
  const pool = await Pool.create(snapImage, { min: 1, max: 2 });
  const a = await pool.acquire();
  assert.equal(a.pool, pool);
  assert.equal(a.restored, true);
  assert.equal((await a.exec(['cat', '/root/marker'])).stdout.toString(), 'written before the snapshot\n');
  await a.writeFile('/root/marker', 'dirty\n');
  await pool.release(a);
  await assert.rejects(a.exec(['true']), { code: 'ESRCH', message: /was given back to its pool/ });
  // A released VM is never handed out again: the next one is fresh.
  const marker = await pool.use((b) => b.readFile('/root/marker', 'utf8'));
  assert.equal(marker, 'written before the snapshot\n');
  const s = pool.stats();
  assert.equal(s.acquisitions, 2);
  assert.equal(s.discarded, 2);
  assert.equal(s.acquired, 0);
  // Not this pool's VM.
  await assert.rejects(pool.release(vm), { code: 'EINVAL' });
  // An acquired VM ends with its pool, and an acquire waiting at max
  // (c and the one started in a's place) is cancelled by the close.
  const c = await pool.acquire();
  const d = await pool.acquire();
  const waiting = assert.rejects(pool.acquire(), { code: 'ECANCELED', message: /the pool was closed/ });
  while (pool.stats().waiting === 0) await new Promise((r) => setTimeout(r, 20));
  await pool.close();
  await waiting;
  await assert.rejects(d.exec(['true']), { code: 'ESRCH' });
  await assert.rejects(c.exec(['true']), { code: 'ESRCH', message: /ended with its pool/ });
  await assert.rejects(pool.acquire(), { code: 'EBADF', message: /the pool was closed/ });
});
