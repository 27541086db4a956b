/**
 * The progress bar of `fgvis explain --images` on stderr (cli-progress),
 * shown only when stderr is a terminal: images done, failures, the ETA.
 *
 * @packageDocumentation
 */
import cliProgress from 'cli-progress';
import type { CliStream } from '../io';

/** A progress display over images: `update` after each image, `stop` once (also on failure). */
export interface ImageProgress {
  update(done: number, failed: number): void;
  /** Finish the bar (idempotent). */
  stop(): void;
}

/** A bar over `total` images on `stream`, or a no-op when `stream` is not a TTY. */
export function createImageProgress(stream: CliStream, total: number): ImageProgress {
  if (!stream.isTTY || total === 0) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as unknown as NodeJS.WritableStream,
      format: 'images {bar} {value}/{total} | {failed} failed | ETA {eta_formatted} | {duration_formatted}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
      fps: 4,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { failed: 0 });
  let stopped = false;
  return {
    update(done, failed) {
      bar.update(done, { failed });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
