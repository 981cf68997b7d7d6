'use strict';
const native = require('./native');
const { asyncDispose } = require('./dispose');
const { Image } = require('./image');
const { Vm } = require('./vm');

const token = Symbol('supermachine.Pool');

/**
 * VMs of one image started ahead of time, so that acquire() hands one out
 * at once. A VM given back is never reused: it is stopped and a fresh one
 * started in its place.
 */
class Pool {
  #native;
  #closing = null;

  /** @private */
  constructor(t, n) {
    if (t !== token) throw new TypeError('pools come from Pool.create or image.createPool');
    this.#native = n;
  }

  /**
   * @param {Image} image  must stay open while the pool lives (the pool
   *   holds it: image.close() does not end it)
   * @param {import('..').PoolOptions} [options]
   * @returns {Promise<Pool>}
   */
  static async create(image, options) {
    return new Pool(token, await native.createPool(Image._native(image), options));
  }

  /**
   * An idle VM at once, else one started or given back within
   * acquireTimeout (ETIMEDOUT after).
   * @returns {Promise<Vm>}
   */
  async acquire() {
    return Vm._wrap(await this.#native.acquire(), this);
  }

  /**
   * Gives an acquired VM back (as vm.stop() does for it).
   * @param {Vm} vm
   */
  async release(vm) {
    if (!(vm instanceof Vm) || vm.pool !== this) {
      const e = new Error('this VM is not acquired from this pool: stop it with vm.stop()');
      e.code = 'EINVAL';
      e.errno = -22;
      throw e;
    }
    return vm.stop();
  }

  /**
   * Runs fn with a VM of the pool and gives it back after, however fn ends.
   * @template T
   * @param {(vm: Vm) => Promise<T>} fn
   * @returns {Promise<T>}
   */
  async use(fn) {
    const vm = await this.acquire();
    try {
      return await fn(vm);
    } finally {
      await vm.stop();
    }
  }

  /** The counts now and since the pool was made. */
  stats() {
    return this.#native.stats();
  }

  /** Stops every VM, acquired ones too (their calls in flight fail). */
  close() {
    this.#closing ??= this.#native.close();
    return this.#closing;
  }

  [asyncDispose]() {
    return this.close();
  }
}

module.exports = { Pool };
