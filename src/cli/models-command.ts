/**
 * `fgvis models`: one line per built-in model, the name first, then input
 * size, number of classes and source package (and whether it is installed).
 *
 * @packageDocumentation
 */
import type { BuiltinModel } from '../node/builtin-models';
import { isInstalled } from './preflight';

/** The lines `fgvis models` prints (`verbose`: the description, class names and install command under each). */
export function modelLines(models: readonly BuiltinModel[], verbose = false, installed: (pkg: string) => boolean = isInstalled): string[] {
  const rows = models.map((m) => [
    m.name,
    m.inputSize.join('x'),
    `${m.classes.length} classes`,
    `${m.package} (${installed(m.package) ? 'installed' : `not installed: ${m.install}`})`,
  ]);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines: string[] = [];
  rows.forEach((r, i) => {
    lines.push(r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
    if (verbose) {
      const m = models[i]!;
      lines.push(`    ${m.description}`);
      lines.push(`    classes: ${m.classes.map((name, k) => `${k} ${name}`).join(', ')}`);
    }
  });
  return lines;
}
