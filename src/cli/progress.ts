/**
 * The progress bar of `fgvis explain` on stderr (cli-progress), shown only
 * when stderr is a terminal: step, target score and mask mean.
 *
 * @packageDocumentation
 */
import cliProgress from 'cli-progress';
import type { ExplainStep } from '../core/options';
import type { CliStream } from './io';

/** A progress display: `update` after each step, `stop` once (also on failure). */
export interface Progress {
  /** Called by `explain`'s `onStep` (after each of its reads); `undefined` when no progress is shown. */
  readonly onStep: ((s: ExplainStep) => void) | undefined;
  /** Finish the bar (idempotent). */
  stop(): void;
}

/** A progress bar on `stream` for at most `total` steps, or a no-op when `stream` is not a TTY. */
export function createProgress(stream: CliStream, total: number, label: string): Progress {
  if (!stream.isTTY) return { onStep: undefined, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as unknown as NodeJS.WritableStream,
      format: `${label} {bar} {value}/{total} steps | score {score} | mask mean {mean} | {duration}s`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      fps: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { score: '-', mean: '-' });
  let stopped = false;
  let last = 0;
  return {
    onStep(s) {
      last = s.step;
      bar.update(s.step, { score: s.score.toFixed(3), mean: s.l1.toFixed(3) });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      // Early stopping ends before `total`: show where it ended.
      if (last > 0 && last < total) bar.setTotal(last);
      bar.stop();
    },
  };
}
