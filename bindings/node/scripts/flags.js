#!/usr/bin/env node
// What binding.gyp asks for: `flags.js cflags|libs|addon-api`. The library's
// flags come from pkg-config (PKG_CONFIG_PATH as build.js set it); libs adds
// an rpath for each -L directory, so that a build tree's library is found
// at run time without LD_LIBRARY_PATH.
'use strict';
const { execFileSync } = require('node:child_process');

function pkg(what) {
  return execFileSync('pkg-config', [what, 'supermachine'], { encoding: 'utf8' })
    .trim().split(/\s+/).filter(Boolean);
}

switch (process.argv[2]) {
  case 'cflags':
    console.log(pkg('--cflags').join(' '));
    break;
  case 'libs': {
    const libs = pkg('--libs');
    const rpaths = libs.filter((f) => f.startsWith('-L')).map((f) => `-Wl,-rpath,${f.slice(2)}`);
    console.log([...libs, ...rpaths].join(' '));
    break;
  }
  case 'addon-api':
    console.log(process.env.SM_NODE_ADDON_API || require('node-addon-api').include_dir);
    break;
  default:
    process.stderr.write('usage: flags.js cflags|libs|addon-api\n');
    process.exit(2);
}
