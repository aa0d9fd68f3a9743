/**
 * `inferbench models list [--json]` and `inferbench models export <dir> [--force] [--model NAME]...`: the
 * bundled models (platform, tensors, max_batch_size, what each is for) and the bundled repository written to
 * a directory any KServe-v2 server can load (embedded-server/src/export-repository.ts says what is refused).
 *
 * Exit codes: 0 done; 3 a refused target (not empty without --force, a symbolic link, a file, under /proc,
 * /sys or /dev, not writable), an unknown model name or a bad flag; 99 an unexpected internal error.
 */
import { Command } from 'commander';
import type { CatalogEntry, TensorSummary } from '../../embedded-server/src/export-repository.ts';
import { OptionError } from '../errors.ts';
import { reportError } from './exit.ts';
import type { CliIo } from './main.ts';

interface ExportFlags {
  force?: boolean;
  model?: string[];
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function createModelsCommand(io: { writeOut(t: string): void; writeErr(t: string): void }): Command {
  const models = new Command('models')
    .description('the bundled models: list them, or export them as a model repository')
    .usage('<list|export> [options]')
    .exitOverride()
    .configureOutput(io);
  // Mounted under its program so usage lines say `inferbench models …`.
  new Command('inferbench').addCommand(models);
  models
    .command('list')
    .description('print each bundled model: platform, max_batch_size, inputs, outputs, what it is for')
    .option('--json', 'print the list as JSON')
    .exitOverride()
    .configureOutput(io);
  models
    .command('export')
    .description(
      'write the bundled repository (config.pbtxt and ONNX files) to DIR, loadable by any KServe-v2 server (Triton included)',
    )
    .argument('<dir>', 'a new or empty directory')
    .option(
      '--force',
      'write into a non-empty DIR: entries named like a bundled model are replaced, others kept',
    )
    .option(
      '--model <name>',
      'export only this model (repeatable; an ensemble brings its composing models)',
      collect,
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 written; 3 refused (DIR not empty without --force, a symbolic link, a file, under /proc,\n' +
        '/sys or /dev, not writable; an unknown --model); 99 unexpected.\n' +
        'Serve it: inferbench serve --model-repository DIR, or tritonserver --model-repository DIR\n',
    )
    .exitOverride()
    .configureOutput(io);
  return models;
}

function tensorText(t: TensorSummary): string {
  return `${t.name} ${t.datatype} [${t.dims.join(',')}]`;
}

/** The human list: one block per model. */
export function renderModelList(catalog: readonly CatalogEntry[]): string {
  const blocks = catalog.map((m) => {
    const lines = [
      `${m.name}  (${m.platform}, max_batch_size ${m.maxBatchSize}, ${m.source})`,
      `  ${m.description}`,
      `  inputs:  ${m.inputs.map(tensorText).join(', ')}`,
      `  outputs: ${m.outputs.map(tensorText).join(', ')}`,
    ];
    if (m.scheduling !== 'none') {
      const steps = m.composing.length > 0 ? ` of ${m.composing.join(', ')}` : '';
      lines.push(`  scheduling: ${m.scheduling}${steps}`);
    }
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n\nExport them: inferbench models export DIR   (then: inferbench serve --model-repository DIR)\n`;
}

/** Runs `inferbench models <args>`; never throws: failures are reported on stderr with their exit code. */
export async function runModelsCommand(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const cmd = createModelsCommand({
      writeOut: (t) => void io.stdout.write(t),
      writeErr: (t) => void io.stderr.write(t),
    });
    let action: (() => Promise<number>) | undefined;
    const exporter = await import('../../embedded-server/src/export-repository.ts');
    cmd.commands
      .find((c) => c.name() === 'list')
      ?.action((flags: { json?: boolean }) => {
        action = async () => {
          const catalog = await exporter.embeddedCatalog();
          io.stdout.write(flags.json ? `${JSON.stringify(catalog, null, 2)}\n` : renderModelList(catalog));
          return 0;
        };
      });
    cmd.commands
      .find((c) => c.name() === 'export')
      ?.action((dir: string, flags: ExportFlags) => {
        action = async () => {
          const result = await exporter.exportEmbeddedRepository(dir, {
            force: flags.force === true,
            models: flags.model,
          });
          const replaced = result.replaced.length > 0 ? ` (replaced: ${result.replaced.join(', ')})` : '';
          for (const { name, why } of result.skipped) io.stderr.write(`note: ${name} not exported: ${why}\n`);
          io.stderr.write(
            `Exported ${result.models.length} models to ${result.dir}${replaced}: ${result.models.join(', ')}\n` +
              `Serve them: inferbench serve --model-repository ${result.dir}\n`,
          );
          return 0;
        };
      });
    if (argv.length === 0) {
      io.stderr.write(cmd.helpInformation());
      return 3;
    }
    await cmd.parseAsync([...argv], { from: 'user' });
    if (action === undefined) return 0;
    return await action();
  } catch (error) {
    // The export's refusals carry exit 3 (it may not import src/errors.ts): reported as an option error.
    if (error instanceof Error && (error as { code?: string }).code === 'ERR_MODELS_EXPORT') {
      return reportError(new OptionError(error.message, { cause: error }), io.stderr);
    }
    return reportError(error, io.stderr);
  }
}
