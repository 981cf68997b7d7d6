'use strict';
/**
 * supermachine: OCI images as hardware-isolated microVMs on Linux KVM,
 * over libsupermachine. Every call that waits for a guest, a registry or
 * the disk returns a promise and runs off the event loop.
 * @module supermachine
 */
const native = require('./native');
const { Image } = require('./image');
const { Vm } = require('./vm');
const { Pool } = require('./pool');
const { Process } = require('./process');

module.exports = {
  Image,
  Vm,
  Pool,
  Process,
  /** The library's API version, "major.minor". */
  version: native.version(),
};
