/**
 * The `fgvis` command line: `run(argv, io)` parses the arguments with
 * commander, runs the command and returns the exit code. It never calls
 * `process.exit` and writes only to `io`, so tests run it in-process.
 *
 * @packageDocumentation
 */
import { Command, CommanderError, Option } from 'commander';
import { version } from '../../package.json';
import { EXPLAIN_DEFAULTS } from '../core/options';
import { IMAGE_DEFAULTS } from '../node/read-image';
import { BUILTIN_MODELS } from '../node/builtin-models';
import {
  BACKEND_NAMES,
  RANGES,
  parseCrop,
  parseInteger,
  parseLambda,
  parseMaxPixels,
  parsePositiveInteger,
  parseRange,
  parseReference,
  parseShard,
  parseSize,
  parseTarget,
} from './args';
import { datasetCommand, explainMode, type ExplainModeOptions } from './dataset-command';
import { CliError, EXIT, EXIT_CODE_HELP, classify, type ExitCode } from './errors';
import { explainCommand } from './explain-command';
import type { CliIO } from './io';
import { modelLines } from './models-command';

export type { CliIO, CliStream } from './io';
export { EXIT } from './errors';

const EXPLAIN_EXAMPLES = `
Examples:
  $ fgvis explain --model emotion --image assets/photos/astronaut.png --crop 160,50,130,140
  $ fgvis explain --model nsfw-mobilenet-v2-graph --image coffee.png --target Neutral --json coffee.json
  $ fgvis explain --model ./my-model/model.json --labels labels.txt --range -1,1 --image cat.jpg --game deletion
  $ fgvis explain --model emotion --images faces/ --out-dir out --workers 4
  $ fgvis explain --model emotion --images 'faces/**/*.jpg' --out-dir out-2 --shard 2/8

Many images (--images): every PNG/JPEG of a folder (recursively) or of a glob, one
figure per image (<out-dir>/<image>.png) and one JSON line per image in
<out-dir>/results.jsonl (the --json fields, 'image' being the path below the folder);
failures in <out-dir>/errors.jsonl (exit code 9). A rerun skips the images already in
results.jsonl. --shard i/n takes every n-th image of the sorted list, starting at the i-th.

Model input (model.json models): the image (after --crop) is resized to the model's
input size (or --size WxH), converted to its channel count (1: grey, 3: RGB, 4: RGBA)
and scaled to --range (default 0,1). Built-in models use their own preprocessing.`;

function buildProgram(io: CliIO, done: (code: ExitCode) => void): Command {
  const program = new Command('fgvis')
    .description('Fine-grained visual explanations (FGVis, Wagner et al. CVPR 2019) for TensorFlow.js image classifiers.')
    .version(version, '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(`fgvis: ${s.trim().replace(/\s*\n\s*/g, ' ')} (see --help)\n`),
    })
    .addHelpText('after', `\n${EXIT_CODE_HELP}`)
    .showSuggestionAfterError(true);

  program
    .command('explain')
    .description('explain a model\'s class on an image and write a figure (image, explanation m*x, saliency, overlay)')
    .requiredOption('-m, --model <model>', 'built-in model name (see `fgvis models`) or path to a model.json (or its folder)')
    .option('-i, --image <file>', 'PNG, JPEG or WebP image (turned upright as its EXIF orientation says)')
    .option('--images <folder|glob>', "many images: a folder (searched recursively) or a quoted glob such as 'photos/**/*.jpg'; needs --out-dir")
    .addOption(
      new Option('-t, --target <class>', "class to explain: 'top' (the predicted class), an index, or a class name")
        .argParser(parseTarget)
        .default(parseTarget('top'), 'top'),
    )
    .addOption(new Option('-g, --game <game>', 'preservation (keep the score with few pixels) or deletion (lose it by removing few)').choices(['preservation', 'deletion']).default('preservation'))
    .option('-s, --steps <n>', 'maximum optimisation steps (early stopping usually ends sooner)', parsePositiveInteger, EXPLAIN_DEFAULTS.steps)
    .addOption(new Option('-b, --backend <name>', 'tfjs backend').choices(BACKEND_NAMES).default('wasm'))
    .option('-o, --out <file>', 'figure PNG (default: fgvis-<image name>.png in the current folder)')
    .option('--json <file>', "write the numbers as JSON ('-' for stdout)")
    .option('--crop <x,y,w,h>', 'cut this rectangle out of the image first (pixels of the upright image)', parseCrop)
    .option('--seed <n>', 'seed for anything random (the noise reference)', parseInteger)
    .option('--lambda <value>', "sparsity weight, or 'auto' (adapted to keep or lose the score)", parseLambda, 'auto' as const)
    .addOption(
      new Option('--reference <kind>', "what removed pixels become: zero, mean, blur, noise, model (a built-in model's normalised zero), or a colour such as 0.5 or 0.485,0.456,0.406")
        .argParser(parseReference)
        .default(EXPLAIN_DEFAULTS.reference),
    )
    .addOption(new Option('--range <range>', `model.json models: input value range, one of ${Object.keys(RANGES).join(' | ')} (default 0,1)`).argParser(parseRange))
    .option('--size <WxH>', "model.json models: input size, when the model's is not fixed", parseSize)
    .option('--labels <file>', 'model.json models: class names, one per line or a JSON array')
    .option(
      '--max-pixels <n>',
      'refuse images larger than this, from their header, before decoding: pixels, or megapixels with M (e.g. 100M)',
      parseMaxPixels,
      IMAGE_DEFAULTS.maxPixels,
    )
    .option('--allow-outside-weights', "model.json models: load weight files listed outside the model's folder (refused by default)")
    .option('--no-defense', 'turn off the defense against adversarial evidence (the gradient filter)')
    .option('--out-dir <dir>', '--images: the output folder (figures, results.jsonl, errors.jsonl); a rerun resumes')
    .option('--workers <n>', '--images: worker threads, each with its own backend and model (default: the number of cores)', parsePositiveInteger)
    .option('--shard <i/n>', '--images: only the i-th of n interleaved shards of the sorted image list (1-based)', parseShard)
    .option('-v, --verbose', 'log each stage; print stack traces on errors')
    .addHelpText('after', `${EXPLAIN_EXAMPLES}\n\n${EXIT_CODE_HELP}`)
    .action(async (opts: ExplainModeOptions) => {
      const mode = explainMode(opts);
      if ('many' in mode) done(await datasetCommand(mode.many, io, version));
      else {
        await explainCommand(mode.one, io, version);
        done(EXIT.OK);
      }
    });

  program
    .command('models')
    .description('list the built-in models: name, input size, classes, source package')
    .option('-v, --verbose', 'also show each model\'s description and class names')
    .action((opts: { verbose?: boolean }) => {
      for (const line of modelLines(io.models ?? BUILTIN_MODELS, opts.verbose === true)) io.stdout.write(`${line}\n`);
      done(EXIT.OK);
    });

  return program;
}

function wantsVerbose(argv: readonly string[]): boolean {
  return argv.includes('--verbose') || argv.includes('-v');
}

/**
 * Run the `fgvis` command line with `argv` (the arguments after the program
 * name, e.g. `['explain', '--model', 'emotion', ...]`). Returns the exit
 * code; every failure is one line on `io.stderr` (plus the stack trace with
 * `--verbose`).
 */
export async function run(argv: readonly string[], io: Partial<CliIO> = {}): Promise<ExitCode> {
  const full: CliIO = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    cwd: io.cwd ?? process.cwd(),
    signal: io.signal,
    models: io.models,
    installed: io.installed,
  };
  let code: ExitCode = EXIT.OK;
  const program = buildProgram(full, (c) => {
    code = c;
  });
  try {
    if (argv.length === 0) {
      full.stdout.write(program.helpInformation());
      return EXIT.USAGE;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0; commander has already printed errors.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const { code: exitCode, message } = classify(e);
    full.stderr.write(`fgvis: error: ${message}\n`);
    if (wantsVerbose(argv) && e instanceof Error && e.stack) {
      full.stderr.write(`${e.stack}\n`);
      const cause = (e as { cause?: unknown }).cause;
      if (cause instanceof Error && cause.stack) full.stderr.write(`caused by: ${cause.stack}\n`);
    } else if (exitCode === EXIT.INTERNAL) {
      full.stderr.write('fgvis: rerun with --verbose for the stack trace\n');
    }
    return exitCode;
  }
}

export { CliError };
