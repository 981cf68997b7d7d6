'use strict';
const native = require('./native');
const { dispose } = require('./dispose');

const token = Symbol('supermachine.Image');

/**
 * An image ready to run: pulled into the store if missing, its root
 * filesystem built. Open one with {@link Image.open} or
 * {@link Image.fromSnapshot}; start VMs of it with {@link Image#start}.
 */
class Image {
  #native;

  /** @private */
  constructor(t, n) {
    if (t !== token) throw new TypeError('images come from Image.open or Image.fromSnapshot');
    this.#native = n;
  }

  /**
   * Opens an image by reference ("alpine:3.20", "registry:5000/app@sha256:..."),
   * pulling it first when the store lacks it (pullPolicy 'missing').
   * @param {string} ref
   * @param {import('..').OpenOptions} [options]
   * @returns {Promise<Image>}
   */
  static async open(ref, options) {
    return new Image(token, await native.openImage(ref, options));
  }

  /**
   * A snapshot directory (vm.snapshot's, or a bake's) as an image: every
   * VM started from it resumes the snapshot. The image it was taken of must
   * be in the store.
   * @param {string} dir
   * @returns {Promise<Image>}
   */
  static async fromSnapshot(dir) {
    return new Image(token, await native.imageFromSnapshot(dir));
  }

  /** What the store knows of the image (name, digest, config); null for a
   * snapshot of a VM without an image. */
  get info() {
    return this.#native.info();
  }

  /** The image's read-only root filesystem (an ext4 file); null for a snapshot. */
  get rootfs() {
    return this.#native.rootfs();
  }

  /**
   * Starts a VM of this image (resumes its baked snapshot when one fits).
   * @param {import('..').VmConfig} [config]
   * @returns {Promise<import('./vm').Vm>}
   */
  async start(config) {
    const { Vm } = require('./vm');
    return Vm._wrap(await native.startVm(this.#native, config));
  }

  /**
   * A pool of VMs of this image started ahead of time.
   * @param {import('..').PoolOptions} [options]
   * @returns {Promise<import('./pool').Pool>}
   */
  createPool(options) {
    const { Pool } = require('./pool');
    return Pool.create(this, options);
  }

  /** Lets go of the image; VMs and pools already made of it go on. */
  close() {
    this.#native.close();
  }

  [dispose]() {
    this.close();
  }

  /** @private */
  static _native(image) {
    if (!(image instanceof Image)) throw new TypeError('The "image" argument must be an Image');
    return image.#native;
  }
}

module.exports = { Image };
