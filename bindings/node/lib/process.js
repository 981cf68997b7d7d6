'use strict';
const { Readable, Writable } = require('node:stream');

/**
 * A command started with vm.spawn: its output as streams, its end as a
 * promise.
 */
class Process {
  /** @type {Readable} */ stdout;
  /** @type {Readable} */ stderr;
  /** @type {Writable | null} */ stdin = null;
  #exec;
  #done;

  /** @private */
  constructor(vmNative, argv, options = {}) {
    // The native side blocks its output thread when its queue is full,
    // so these buffer only what JS has not read yet.
    this.stdout = new Readable({ read() {} });
    this.stderr = new Readable({ read() {} });
    let settle;
    this.#done = new Promise((resolve, reject) => {
      settle = (err, result) => (err ? reject(err) : resolve(result));
    });
    // A rejection nobody waits for is not a crash: wait() hands it on.
    this.#done.catch(() => {});
    let ended = false;
    const end = (err, result) => {
      if (ended) return;
      ended = true;
      this.stdout.push(null);
      this.stderr.push(null);
      settle(err, result);
    };
    const onEvent = (kind, a, b) => {
      if (kind === 1) this.stdout.push(a);
      else if (kind === 2) this.stderr.push(a);
      else end(a, b);
    };
    this.#exec = vmNative.spawn(argv, options, onEvent);
    this.#exec.catch((err) => end(err));
    if (options?.stdin === 'pipe') {
      this.stdin = new Writable({
        write: (chunk, _enc, cb) => this.#exec.then((e) => e.write(chunk)).then(() => cb(), cb),
        // A command that ended first has no stdin left to close.
        final: (cb) => this.#exec.then((e) => e.closeStdin())
          .then(() => cb(), (err) => cb(err.code === 'ESRCH' ? null : err)),
      });
    }
  }

  /**
   * The end: {exitCode, signal, timedOut, peakRssKib}, once all output has
   * been pushed to the streams.
   * @returns {Promise<import('..').ProcessResult>}
   */
  wait() {
    return this.#done;
  }

  /**
   * Sends a signal ("SIGTERM", "TERM", or a number) to the command.
   * @param {string | number} [signal]
   */
  async kill(signal = 'SIGTERM') {
    return (await this.#exec).signal(signal);
  }

  /** Resizes its terminal (options.tty). */
  async resize(rows, cols) {
    return (await this.#exec).resize(rows, cols);
  }
}

module.exports = { Process };
