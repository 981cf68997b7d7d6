'use strict';
// The compiled addon: where npm install built it, or where
// SUPERMACHINE_NODE_ADDON says (meson's build tree, for the tests).
const path = require('node:path');

const file = process.env.SUPERMACHINE_NODE_ADDON ||
  path.join(__dirname, '..', 'build', 'Release', 'supermachine.node');
module.exports = require(file);
