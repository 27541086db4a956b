#!/usr/bin/env node
/**
 * The `fgvis` executable (built to `dist/cli.js`): runs {@link run} on the
 * process arguments; Ctrl-C aborts a running explanation (exit code 130),
 * a second Ctrl-C exits at once.
 *
 * tfjs-core and tfjs-converter (fgvis's peer dependencies) are checked before
 * the command line is loaded, since it imports them: a missing one is a line
 * naming the install command (exit code 7), not a module-resolution trace.
 *
 * @packageDocumentation
 */
import { createRequire } from 'node:module';

const PEERS = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-converter'];

function missingPeers(): string[] {
  const require = createRequire(import.meta.url);
  return PEERS.filter((name) => {
    try {
      require.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
}

const missing = missingPeers();
if (missing.length > 0) {
  process.stderr.write(
    `fgvis: error: missing package${missing.length === 1 ? '' : 's'}: ${missing.join(', ')} (fgvis's peer dependencies); ` +
      `run: npm install ${missing.join(' ')} @tensorflow/tfjs-backend-wasm @tensorflow/tfjs-layers (the same version for every @tensorflow package)\n`,
  );
  process.exitCode = 7;
} else {
  const { run } = await import('./run');
  const controller = new AbortController();
  process.once('SIGINT', () => {
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  run(process.argv.slice(2), { signal: controller.signal }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`fgvis: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
