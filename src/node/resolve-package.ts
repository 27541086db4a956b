/**
 * Finding an installed npm package's folder (to read model files shipped in
 * it) without loading the package. Works from the ESM and the CJS build.
 *
 * @packageDocumentation
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A package that a built-in model needs is not installed (or lacks its files). */
export class MissingPackageError extends Error {
  /** The package name, e.g. `nsfwjs`. */
  readonly packageName: string;
  /** The command that installs it, e.g. `npm install nsfwjs@4.3.0`. */
  readonly install: string;
  constructor(message: string, packageName: string, install: string) {
    super(message);
    this.name = 'MissingPackageError';
    this.packageName = packageName;
    this.install = install;
  }
}

/** Where to resolve from: this module (ESM: `import.meta.url`, CJS: `__filename`), then the working directory. */
function resolveBases(): string[] {
  const bases: string[] = [];
  // In the CJS build `import.meta` is not available; `__filename` is. In ESM it is the other way round.
  if (typeof __filename === 'string' && __filename !== '') bases.push(__filename);
  else {
    try {
      const url = import.meta.url;
      if (typeof url === 'string' && url !== '') bases.push(url);
    } catch {
      // not an ES module
    }
  }
  bases.push(join(process.cwd(), 'package.json'));
  return bases;
}

/**
 * Root folder of the installed package `name` (the folder holding its
 * `package.json`), found via Node's resolution from fgvis's own location and
 * from the working directory. The package is resolved, never loaded.
 * Throws a {@link MissingPackageError} whose message is one line ending in
 * `install` when it is not installed.
 */
export function packageRoot(name: string, install = `npm install ${name}`): string {
  for (const base of resolveBases()) {
    let entry: string;
    try {
      entry = createRequire(base).resolve(name);
    } catch {
      continue;
    }
    for (let dir = dirname(entry); ; dir = dirname(dir)) {
      const manifest = join(dir, 'package.json');
      if (existsSync(manifest)) {
        try {
          if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
        } catch {
          // unreadable package.json: keep walking up
        }
      }
      if (dirname(dir) === dir) break;
    }
  }
  throw new MissingPackageError(`package ${name} is not installed; run: ${install}`, name, install);
}

/**
 * Absolute path of `relative` inside package `name`; throws a
 * {@link MissingPackageError} when the package or the file is missing.
 */
export function packageFile(name: string, relative: string, install = `npm install ${name}`): string {
  const file = join(packageRoot(name, install), relative);
  if (!existsSync(file)) {
    throw new MissingPackageError(`package ${name} has no ${relative} (another version?); run: ${install}`, name, install);
  }
  return file;
}
