#!/usr/bin/env node
/**
 * The `fgvis` executable (built to `dist/cli.js`): runs {@link run} on the
 * process arguments; Ctrl-C aborts a running explanation (exit code 130),
 * a second Ctrl-C exits at once.
 *
 * @packageDocumentation
 */
import { run } from './run';

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
