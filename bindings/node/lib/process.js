'use strict';
const { Readable, Writable } = require('node:stream');

// What each output stream holds unread before the command waits for its
// reader, as a writer to a full pipe does: as much as exec keeps of a
// stream by default, so that a command whose output nobody reads runs
// on as it did, and a guest that writes without end cannot fill the host.
const HELD = 64 << 20;

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
    // A chunk's onEvent says whether both streams have room (push's
    // answer); when not, the native side holds the output until resume().
    // A destroyed stream takes no more and holds nothing back.
    const full = [false, false, false];
    let paused = false;
    const resume = () => {
      if (!paused || full[1] || full[2]) return;
      paused = false;
      this.#exec.then((e) => e.resume(), () => {});
    };
    const readable = (fd) => new Readable({
      highWaterMark: HELD,
      read() {
        full[fd] = false;
        resume();
      },
      destroy(err, cb) {
        full[fd] = false;
        resume();
        cb(err);
      },
    });
    this.stdout = readable(1);
    this.stderr = readable(2);
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
      if (kind === 0) return end(a, b);
      const s = kind === 1 ? this.stdout : this.stderr;
      full[kind] = !s.push(a) && !s.destroyed;
      paused ||= full[kind];
      return !paused;
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
