// Type declarations of the 'supermachine' package: OCI images as
// hardware-isolated microVMs on Linux KVM, over libsupermachine.
//
// Every call that waits for a guest, a registry or the disk returns a
// promise and runs on a thread of the addon's own, off the event loop.
// Failures are SupermachineError objects: the library's sentence as the
// message, with code and errno.

/// <reference types="node" />
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

/** An error from the library, or the binding's refusal to call it. */
export interface SupermachineError extends Error {
  /** errno's name ('ENOENT', 'EINVAL', 'ETIMEDOUT', ...), or the library's own
   * 'SM_ENOKVM' (no usable KVM) and 'SM_EKVMPERM' (no permission for /dev/kvm). */
  code: string;
  /** The negative error number the C call returned (as Node's errno is). */
  errno: number;
}

export interface OpenOptions {
  /** 'missing' (default): pull when the store lacks it; 'always'; 'never'. */
  pullPolicy?: 'missing' | 'always' | 'never';
  /** "os/arch[/variant]"; default linux/amd64. */
  platform?: string;
  /** Registries ("host[:port]") that may be reached over plain HTTP (loopback always may). */
  insecureRegistries?: string[];
  /** Credentials; default: those in Docker's config.json. */
  username?: string;
  password?: string;
  /** Docker Hub mirrors, tried in order. */
  mirrors?: string[];
}

export interface ImageInfo {
  name: string;
  digest: string;
  indexDigest: string;
  configDigest: string;
  mediaType: string;
  os: string;
  architecture: string;
  variant: string;
  created: string;
  /** Unix time it was pulled or imported. */
  stored: number;
  bytes: number;
  layers: { digest: string; mediaType: string; size: number }[];
  entrypoint: string[] | null;
  cmd: string[] | null;
  env: string[] | null;
  workingDir: string | null;
  user: string | null;
  exposedPorts: string[] | null;
  stopSignal: string | null;
  labels: Record<string, string | null>;
}

export interface VmConfig {
  /** Guest RAM in MiB; default 128. */
  memoryMib?: number;
  /** vCPUs; default 1. */
  cpus?: number;
  /** 'default': user-mode NAT for a VM with an image, else none. */
  network?: 'default' | 'user' | 'none';
  /** Guest ports published on the host. */
  ports?: { hostPort: number; guestPort: number; hostIp?: string; udp?: boolean }[];
  /** Host files and directories shared with the guest (virtio-9p). */
  shares?: { hostPath: string; guestPath: string; readOnly?: boolean }[];
  tmpfs?: { path: string; options?: string }[];
  disks?: { path: string; readOnly?: boolean }[];
  hostname?: string;
  /** A unique name the CLI's ps, logs and stop know it by. */
  name?: string;
  /** ms until the agent answers; default 120 s. */
  startTimeout?: number;
  /** Resume this snapshot directory instead of booting. */
  snapshot?: string;
  /** Boot even when a baked snapshot fits, and bake none. */
  noSnapshot?: boolean;
  /** docker's --read-only. */
  readOnly?: boolean;
  /** CPUs' worth of time the vCPUs may use together (docker's --cpus 1.5). */
  cpuQuota?: number;
  /** A sparse ext4 file holding the root's writable layer, so that it survives the VM. */
  upperDisk?: string;
  /** A host directory as the root filesystem (Vm.start only). */
  rootDir?: string;
  rootReadOnly?: boolean;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
}

export interface ExecOptions {
  /** {NAME: value} or ["NAME=value"]; default PATH and HOME. */
  env?: Record<string, string> | string[];
  /** Default '/'. */
  cwd?: string;
  /** "name", "uid", "name:group" or "uid:gid" from the guest's /etc/passwd, or a uid. */
  user?: string | number;
  /** With a numeric user. */
  gid?: number;
  /** On a pseudo-terminal (stderr joins stdout). */
  tty?: boolean;
  rows?: number;
  cols?: number;
  /** ms; then the command's process group is killed (timedOut: true). */
  timeout?: number;
  /** Bytes fed to its stdin; default /dev/null. */
  stdin?: string | Uint8Array;
  /** Bytes kept of each stream (exec); default 64 MiB. */
  maxOutput?: number;
  /** docker's exec semantics: the image's Env, WorkingDir and User (and,
   * with argv null, its Entrypoint and Cmd). */
  fromImage?: boolean;
}

export interface SpawnOptions extends Omit<ExecOptions, 'stdin' | 'maxOutput'> {
  /** 'pipe': process.stdin is a Writable; or bytes fed whole. */
  stdin?: 'pipe' | string | Uint8Array;
}

export interface ProcessResult {
  /** Shell style: the exit code, or 128 + the signal's number. */
  exitCode: number;
  /** The signal that ended it ('SIGKILL'), or null. */
  signal: string | null;
  /** Killed because options.timeout passed. */
  timedOut: boolean;
  /** Its peak resident memory, KiB. */
  peakRssKib: number;
}

export interface ExecResult extends ProcessResult {
  stdout: Buffer;
  stderr: Buffer;
  /** More than maxOutput came. */
  outputTruncated: boolean;
}

export interface PoolOptions {
  /** VMs kept started and idle. */
  min?: number;
  /** VMs at most (idle + acquired + starting); default min, at least 1. */
  max?: number;
  /** ms after which an idle VM above min is stopped; default never. */
  idleTimeout?: number;
  /** ms acquire() waits; default for ever. */
  acquireTimeout?: number;
  /** VMs started at once; default 4. */
  maxParallelStarts?: number;
  /** How each VM is started (not named, no upper disk, published ports or writable disks). */
  vm?: VmConfig;
}

export interface PoolStats {
  idle: number;
  acquired: number;
  starting: number;
  stopping: number;
  waiting: number;
  started: number;
  acquisitions: number;
  discarded: number;
  expired: number;
  failedStarts: number;
  timeouts: number;
}

/** An image ready to run: in the store, its root filesystem built. */
export class Image {
  private constructor();
  /** Opens an image by reference, pulling it when the store lacks it. */
  static open(ref: string, options?: OpenOptions): Promise<Image>;
  /** A snapshot directory as an image: its VMs resume the snapshot. */
  static fromSnapshot(dir: string): Promise<Image>;
  /** Null for a snapshot of a VM without an image. */
  readonly info: ImageInfo | null;
  /** The read-only root filesystem (ext4 file); null for a snapshot. */
  readonly rootfs: string | null;
  start(config?: VmConfig): Promise<Vm>;
  createPool(options?: PoolOptions): Promise<Pool>;
  /** Lets go of it; VMs and pools made of it go on. */
  close(): void;
  [Symbol.dispose](): void;
}

/** A running microVM. */
export class Vm {
  private constructor();
  /** A VM without an image: the built-in initramfs, config.rootDir or config.snapshot. */
  static start(config?: VmConfig): Promise<Vm>;
  /** 64 hex digits. */
  readonly id: string;
  /** Its runtime directory (console.log, worker.log). */
  readonly dir: string;
  /** Resumed from a snapshot (true) or booted. */
  readonly restored: boolean;
  /** The pool it was acquired from, or null. */
  readonly pool: Pool | null;
  /** Runs a command to its end; a string runs with /bin/sh -c. */
  exec(argv: string | string[], options?: ExecOptions): Promise<ExecResult>;
  /** Starts a command whose output streams. */
  spawn(argv: string | string[], options?: SpawnOptions): Process;
  writeFile(path: string, data: string | Uint8Array, options?: { mode?: number; mkdirs?: boolean }): Promise<void>;
  readFile(path: string, options: BufferEncoding | { encoding: BufferEncoding; maxBytes?: number }): Promise<string>;
  readFile(path: string, options?: { maxBytes?: number }): Promise<Buffer>;
  /** A socket to a TCP port on the guest's loopback (over vsock: any network setting). */
  connect(port: number): Promise<Socket>;
  /** A host port (0: any) forwarded to guestPort until the VM stops. */
  exposeTcp(guestPort: number, options?: { host?: string; port?: number }): Promise<{ host: string; port: number }>;
  /** Snapshots the VM into dir (which must not exist); diff: only memory changed since its restore. */
  snapshot(dir: string, options?: { diff?: boolean }): Promise<void>;
  /** Stops it (a pool's VM goes back to its pool); calls in flight end with an error. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A command started with vm.spawn. */
export class Process {
  private constructor();
  /** Each holds up to 64 MiB unread; past that the command waits until it
   * is read, as a writer to a full pipe waits (wait() too). */
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** A Writable with options.stdin 'pipe', else null. */
  readonly stdin: Writable | null;
  /** The end, after the last output chunk was pushed. */
  wait(): Promise<ProcessResult>;
  /** A signal: 'SIGTERM' (default), 'TERM' or a number. */
  kill(signal?: string | number): Promise<void>;
  resize(rows: number, cols: number): Promise<void>;
}

/** VMs started ahead of time; one given back is stopped and replaced, never reused. */
export class Pool {
  private constructor();
  static create(image: Image, options?: PoolOptions): Promise<Pool>;
  acquire(): Promise<Vm>;
  /** Gives an acquired VM back (as vm.stop() does). */
  release(vm: Vm): Promise<void>;
  /** fn with a VM of the pool, given back however fn ends. */
  use<T>(fn: (vm: Vm) => Promise<T>): Promise<T>;
  stats(): PoolStats;
  /** Stops every VM, acquired ones too. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The library's API version, "major.minor". */
export const version: string;
