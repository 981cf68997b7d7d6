#!/usr/bin/env node
// Builds the addon with node-gyp: `npm install` runs it in place
// (build/Release/supermachine.node); meson runs it with --out FILE, and then
// it builds in a directory of meson's (--work DIR) so that the source tree
// is never written by a build of the project.
//
// The headers are this Node's own (<prefix>/include/node) when it has them,
// so that nothing is downloaded; the library is the one pkg-config finds,
// else the build tree of this checkout (../../build), so that `make build`
// then `npm install` works in a fresh clone.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const here = path.resolve(__dirname, '..');

function arg(name) {
  const i = process.argv.indexOf(name);
  return i > 0 ? path.resolve(process.argv[i + 1]) : null;
}

function fail(sentence) {
  process.stderr.write(`supermachine: ${sentence}\n`);
  process.exit(1);
}

function findLibrary() {
  const tries = [process.env.PKG_CONFIG_PATH || ''];
  const tree = path.resolve(here, '..', '..', 'build', 'meson-uninstalled');
  if (fs.existsSync(tree)) tries.push([tree, tries[0]].filter(Boolean).join(':'));
  for (const p of tries) {
    try {
      const env = { ...process.env, PKG_CONFIG_PATH: p };
      execFileSync('pkg-config', ['--exists', 'supermachine'], { env, stdio: 'ignore' });
      return env;
    } catch { /* the next place */ }
  }
  fail('pkg-config finds no libsupermachine: install it (make install), or build it ' +
       '(make build) and set PKG_CONFIG_PATH to BUILD/meson-uninstalled');
}

function nodeGyp() {
  try {
    return require.resolve('node-gyp/bin/node-gyp.js', { paths: [here] });
  } catch {
    // npm carries one of its own for packages that do not list it.
    const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules',
                              'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (fs.existsSync(bundled)) return bundled;
    fail('node-gyp is missing: run npm install in bindings/node');
  }
}

// A copy of what node-gyp reads, so that its build/ lands in `work`.
function stage(work) {
  fs.mkdirSync(path.join(work, 'src'), { recursive: true });
  fs.mkdirSync(path.join(work, 'scripts'), { recursive: true });
  fs.copyFileSync(path.join(here, 'binding.gyp'), path.join(work, 'binding.gyp'));
  for (const f of fs.readdirSync(path.join(here, 'src')))
    fs.copyFileSync(path.join(here, 'src', f), path.join(work, 'src', f));
  fs.copyFileSync(path.join(here, 'scripts', 'flags.js'), path.join(work, 'scripts', 'flags.js'));
}

const out = arg('--out');
const work = out ? (arg('--work') || path.join(path.dirname(out), 'node-gyp')) : here;
if (out) stage(work);
const env = findLibrary();
// Absolute: the package's own include_dir is relative to the working directory.
env.SM_NODE_ADDON_API = path.dirname(require.resolve('node-addon-api/package.json', { paths: [here] }));
const args = [nodeGyp(), 'rebuild', '--jobs', '2', '--loglevel', 'warn'];
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')))
  args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { cwd: work, env, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status || 1);
if (out) fs.copyFileSync(path.join(work, 'build', 'Release', 'supermachine.node'), out);
