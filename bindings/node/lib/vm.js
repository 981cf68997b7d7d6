'use strict';
const net = require('node:net');
const native = require('./native');
const { asyncDispose } = require('./dispose');
const { Process } = require('./process');

const token = Symbol('supermachine.Vm');

// A string is a shell command line; an array is argv as it is.
function argvOf(cmd) {
  return typeof cmd === 'string' ? ['/bin/sh', '-c', cmd] : cmd;
}

/**
 * A running microVM. Every method that waits for the guest returns a
 * promise; any number may be in flight at once.
 */
class Vm {
  #native;
  #stopping = null;
  /** @type {import('./pool').Pool | null} */
  #pool = null;

  /** @private */
  constructor(t, n, pool) {
    if (t !== token) throw new TypeError('VMs come from image.start, Vm.start or pool.acquire');
    this.#native = n;
    this.#pool = pool ?? null;
  }

  /** @private */
  static _wrap(n, pool) {
    return new Vm(token, n, pool);
  }

  /**
   * Starts a VM without an image: the built-in initramfs (busybox), a
   * config.rootDir, or config.snapshot.
   * @param {import('..').VmConfig} [config]
   * @returns {Promise<Vm>}
   */
  static async start(config) {
    return new Vm(token, await native.startVm(null, config));
  }

  /** The VM's id: 64 hex digits. */
  get id() {
    return this.#native.id();
  }

  /** The VM's runtime directory (console.log, worker.log). */
  get dir() {
    return this.#native.dir();
  }

  /** Whether the VM was resumed from a snapshot rather than booted. */
  get restored() {
    return this.#native.restored();
  }

  /** The pool this VM was acquired from, or null. */
  get pool() {
    return this.#pool;
  }

  /**
   * Runs a command to its end and returns its output and exit status.
   * A string is run with /bin/sh -c.
   * @param {string | string[]} argv
   * @param {import('..').ExecOptions} [options]
   * @returns {Promise<import('..').ExecResult>}
   */
  async exec(argv, options) {
    return this.#native.exec(argvOf(argv), options);
  }

  /**
   * Starts a command and streams its output: stdout and stderr are Readable
   * streams, stdin a Writable with options.stdin 'pipe'; wait() gives the end.
   * @param {string | string[]} argv
   * @param {import('..').SpawnOptions} [options]
   * @returns {Process}
   */
  spawn(argv, options) {
    return new Process(this.#native, argvOf(argv), options);
  }

  /**
   * Writes a whole file in the guest.
   * @param {string} path
   * @param {string | Uint8Array} data
   * @param {{mode?: number, mkdirs?: boolean}} [options]
   */
  async writeFile(path, data, options = {}) {
    return this.#native.writeFile(path, data, options.mode, options.mkdirs);
  }

  /**
   * Reads a whole file of the guest (a directory reads as its names, one a
   * line). With an encoding, a string.
   * @param {string} path
   * @param {{encoding?: BufferEncoding, maxBytes?: number} | BufferEncoding} [options]
   * @returns {Promise<Buffer | string>}
   */
  async readFile(path, options = {}) {
    const o = typeof options === 'string' ? { encoding: options } : options;
    const buf = await this.#native.readFile(path, o.maxBytes);
    return o.encoding ? buf.toString(o.encoding) : buf;
  }

  /**
   * A socket to a TCP port on the guest's loopback, carried over vsock
   * (works with any network setting). ECONNREFUSED when nothing listens.
   * @param {number} port
   * @returns {Promise<net.Socket>}
   */
  async connect(port) {
    const fd = await this.#native.connect(port);
    return new net.Socket({ fd, readable: true, writable: true });
  }

  /**
   * Listens on a host port and forwards each connection to guestPort,
   * until the VM stops. Port 0 (the default) picks a free one.
   * @param {number} guestPort
   * @param {{host?: string, port?: number}} [options]
   * @returns {Promise<{host: string, port: number}>}
   */
  async exposeTcp(guestPort, options = {}) {
    return this.#native.exposeTcp(guestPort, options.host, options.port);
  }

  /**
   * Snapshots the VM into dir (which must not exist); it runs on after.
   * With diff, only the memory changed since it was resumed from its
   * snapshot, which must stay where it is.
   * @param {string} dir
   * @param {{diff?: boolean}} [options]
   */
  async snapshot(dir, options = {}) {
    return this.#native.snapshot(dir, !!options.diff);
  }

  /**
   * Stops the VM (a pool's VM goes back to its pool, which stops it). Calls
   * in flight end first, with an error; later calls are refused (ESRCH).
   * Calling it again returns the same promise.
   */
  stop() {
    this.#stopping ??= this.#native.stop();
    return this.#stopping;
  }

  [asyncDispose]() {
    return this.stop();
  }
}

module.exports = { Vm };
