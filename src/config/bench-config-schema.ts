/**
 * The benchmark config file (`-c FILE`, YAML or JSON): one zod schema that validates files, gives the
 * TypeScript type (`BenchConfig`) and generates the published JSON Schema (`bench-configs/bench-config.schema.json`).
 * Its keys come from the option table (src/options/profile-options.ts): each row's `config` (path and schema).
 *
 * Keys are the long flag names in camelCase (`--measurement-interval` → `measurementInterval`), with the same
 * meaning and unit as the flag. Flags that only have a short form get a readable name: `-m` model, `-x`
 * modelVersion, `-u` url, `-i` protocol, `-b` batchSize, `-f` csv, `-H` headers, `-a` async, `-v` verbose,
 * `--threshold` thresholds, `--model-repository` embedded.modelRepository. `-z` is `inputData: zero`.
 * Paths are relative to the current directory, as on the command line. Values are plain validation (no
 * transforms) so the JSON Schema describes exactly what a file may contain; `config-flags.ts` converts.
 */
import { z } from 'zod';
import { analyzeConfigSchema } from '../analyze/analyze-config-schema.ts';
import type { OptionSpec } from '../options/option-spec.ts';
import { PROFILE_OPTIONS } from '../options/profile-options.ts';

/** Descriptions of the nested objects the table's dotted paths build. */
const OBJECT_DESCRIPTIONS: Record<string, string> = {
  embedded: 'the embedded server (used when url is absent)',
};

type Table = typeof PROFILE_OPTIONS;
/** The rows with a config key. */
type ConfigRow = {
  [K in keyof Table]: Table[K] extends { config: { schema: z.ZodType } } ? K : never;
}[keyof Table];
type RowConfig<K extends ConfigRow> = Table[K] extends { config: infer C extends { schema: z.ZodType } }
  ? C
  : never;
type PathOf<K extends ConfigRow> = RowConfig<K> extends { path: infer P extends string } ? P : K;
type Heads = { [K in ConfigRow]: PathOf<K> extends `${infer H}.${string}` ? H : never }[ConfigRow];
type Members<H extends string> = {
  [K in ConfigRow as PathOf<K> extends `${H}.${infer C}` ? C : never]: z.ZodOptional<RowConfig<K>['schema']>;
};
/** The static shape `optionKeys()` builds, so `BenchConfig` is typed from the table too. */
type OptionKeysShape = {
  [K in ConfigRow as PathOf<K> extends `${string}.${string}` ? never : PathOf<K>]: z.ZodOptional<
    RowConfig<K>['schema']
  >;
} & { [H in Heads]: z.ZodOptional<z.ZodObject<Members<H>, z.core.$strict>> };

/** Every key may be left out; its description goes on the optional (where the JSON Schema shows it first). */
function optional(schema: z.ZodType): z.ZodType {
  const optionalSchema = schema.optional();
  return schema.description === undefined ? optionalSchema : optionalSchema.describe(schema.description);
}

/** The file's keys, in the table's order: each row with a config key, dotted paths gathered into objects. */
function optionKeys(): OptionKeysShape {
  const shape: Record<string, z.ZodType> = {};
  const nested: Record<string, Record<string, z.ZodType>> = {};
  for (const [key, spec] of Object.entries(PROFILE_OPTIONS as Record<string, OptionSpec>)) {
    if (!spec.config) continue;
    const [head, child] = (spec.config.path ?? key).split('.') as [string, string | undefined];
    if (child === undefined) {
      shape[head] = optional(spec.config.schema);
      continue;
    }
    if (!nested[head]) {
      nested[head] = {};
      // Placeholder keeps the object where its first member is; replaced below.
      shape[head] = z.never();
    }
    nested[head][child] = optional(spec.config.schema);
  }
  for (const [head, members] of Object.entries(nested)) {
    const object = z.object(members).strict().optional();
    shape[head] = OBJECT_DESCRIPTIONS[head] ? object.describe(OBJECT_DESCRIPTIONS[head]) : object;
  }
  return shape as unknown as OptionKeysShape;
}

export const benchConfigSchema = z
  .object({
    $schema: z.string().optional().describe('JSON Schema reference for editors; ignored'),
    ...optionKeys(),
    // `inferbench analyze` only.
    analyze: analyzeConfigSchema.optional(),
  })
  .strict()
  .meta({
    title: 'inferbench benchmark config',
    description:
      'A benchmark as a file (inferbench -c FILE). Keys are the long flag names in camelCase; command-line flags override them.',
  });

export type BenchConfig = z.infer<typeof benchConfigSchema>;

/** The published JSON Schema text, as committed in `bench-configs/bench-config.schema.json`. */
export function benchConfigJsonSchemaText(): string {
  const schema = z.toJSONSchema(benchConfigSchema, { target: 'draft-2020-12', unrepresentable: 'any' });
  return JSON.stringify(schema, null, 2) + '\n';
}
