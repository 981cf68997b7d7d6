// What the VM tests share: a store and runtime directory of their own, and
// a loopback registry (Debian's docker-registry) holding the busybox images
// of tests/run/mkrunimage.py, pushed with skopeo, as tests/run does.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const mkrunimage = path.resolve(here, '..', '..', '..', 'tests', 'run', 'mkrunimage.py');

function which(tool) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why the VM tests cannot run here, or null. */
export function skipReason() {
  try {
    fs.closeSync(fs.openSync('/dev/kvm', 'r+'));
  } catch (e) {
    return `no usable /dev/kvm (${e.code}): run through meson (make check), which finds a KVM`;
  }
  for (const tool of ['docker-registry', 'skopeo', 'python3', 'busybox'])
    if (!which(tool)) return `${tool} is not installed (make deps installs it)`;
  return null;
}

/** A store of this test's own, before the library first reads it. */
export function privateStore() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-node-'));
  process.env.SUPERMACHINE_DATA_DIR = path.join(work, 'store');
  process.env.XDG_RUNTIME_DIR = path.join(work, 'run');
  fs.mkdirSync(process.env.XDG_RUNTIME_DIR, { mode: 0o700 });
  return work;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function listening(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the registry did not start');
}

/**
 * Starts the registry and pushes the images; returns {work, registry,
 * ref(tag), cleanup()}.
 */
export async function registry() {
  const work = privateStore();
  const port = await freePort();
  const reg = `127.0.0.1:${port}`;
  const cfg = path.join(work, 'registry.yml');
  fs.writeFileSync(cfg, 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\n' +
    `storage: {filesystem: {rootdirectory: ${work}/registry}}\nhttp: {addr: ${reg}, secret: test}\n`);
  const proc = spawn('docker-registry', ['serve', cfg], { stdio: 'ignore' });
  const layout = path.join(work, 'layout');
  execFileSync('python3', [mkrunimage, layout]);
  await listening(port);
  for (const tag of ['plain', 'web'])
    execFileSync('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:${tag}`,
      `docker://${reg}/node:${tag}`], { stdio: 'ignore' });
  return {
    work,
    registry: reg,
    ref: (tag) => `${reg}/node:${tag}`,
    cleanup() {
      proc.kill();
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}
