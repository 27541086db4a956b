/**
 * Checks made before any work starts: every package the command will need
 * (named all at once, in one install line) and every output path (writable,
 * not a folder), so that a missing package or a bad `--out` is reported in
 * a second, not after a 30 s optimisation.
 *
 * @packageDocumentation
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MissingPackageError, packageRoot } from '../node/resolve-package';
import { CliError, EXIT } from './errors';

/** A package a command needs, and why. */
export interface Requirement {
  /** The package name, e.g. `@tensorflow/tfjs-backend-wasm`. */
  name: string;
  /** What `npm install` should get, e.g. `@tensorflow/tfjs-backend-wasm@4.22.0`. */
  spec: string;
  /** What needs it, e.g. `the wasm backend`. */
  why: string;
}

/** Is `name` installed where fgvis (or the working folder) can resolve it? The package is never loaded. */
export function isInstalled(name: string): boolean {
  try {
    packageRoot(name);
    return true;
  } catch (e) {
    if (e instanceof MissingPackageError) return false;
    throw e;
  }
}

/**
 * Throw one {@link CliError} (exit code 7) naming every missing requirement
 * and the single `npm install` line that installs them all.
 */
export function preflightPackages(requirements: readonly Requirement[], installed: (name: string) => boolean = isInstalled): void {
  const seen = new Set<string>();
  const missing = requirements.filter((r) => !seen.has(r.name) && (seen.add(r.name), !installed(r.name)));
  if (missing.length === 0) return;
  const list = missing.map((r) => `${r.name} (${r.why})`).join(', ');
  throw new CliError(
    `missing package${missing.length === 1 ? '' : 's'}: ${list}; run: npm install ${missing.map((r) => r.spec).join(' ')}`,
    EXIT.MISSING_PACKAGE,
  );
}

/** The spec of an install command such as `npm install nsfwjs@4.3.0`, or the bare name. */
export function specOf(name: string, install: string | undefined): string {
  const m = /^npm install (\S+)$/.exec(install?.trim() ?? '');
  return m?.[1] ?? name;
}

/**
 * Check before any work that `path` can be written as a file: not a folder,
 * inside a folder that exists (or can be created: its nearest existing
 * ancestor is a writable folder), writable when it exists. Creates nothing.
 */
export function checkOutputPath(path: string, what: string): void {
  const fail = (why: string): never => {
    throw new CliError(`cannot write ${what} to ${path}: ${why}`, EXIT.WRITE);
  };
  /** What is at `p`: null when nothing is (also when a file sits where a folder above it should be). */
  const kind = (p: string): 'file' | 'dir' | 'other' | null => {
    try {
      const s = statSync(p);
      return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      return fail((e as Error).message);
    }
  };
  const writable = (p: string): boolean => {
    try {
      accessSync(p, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  };
  const target = kind(path);
  if (target === 'dir') fail('it is a folder');
  if (target === 'other') fail('it is not a regular file');
  if (target === 'file') {
    if (!writable(path)) fail('permission denied');
    return;
  }
  // The nearest thing that exists above it must be a writable folder (the rest is created when writing).
  let dir = dirname(path);
  let k = kind(dir);
  while (k === null && dirname(dir) !== dir) {
    dir = dirname(dir);
    k = kind(dir);
  }
  if (k !== 'dir') fail(`${dir} is not a folder`);
  if (!writable(dir)) fail(`the folder ${dir} is not writable`);
}

/** An output of a command: its flag, what it holds, and the path given (`-`: stdout; undefined: none). */
export interface Output {
  flag: string;
  what: string;
  path: string | undefined;
}

/** Check the outputs of a command before any work, and that no two of them are one file. */
export function preflightOutputs(cwd: string, outputs: readonly Output[]): void {
  const seen = new Map<string, string>();
  for (const { flag, what, path: given } of outputs) {
    if (given === undefined || given === '-') continue;
    const path = resolve(cwd, given);
    const other = seen.get(path);
    if (other !== undefined) throw new CliError(`${other} and ${flag} name the same file ${given}`, EXIT.USAGE);
    seen.set(path, flag);
    checkOutputPath(path, what);
  }
}
