/**
 * The `analyze:` section of the bench config file (`inferbench analyze -c FILE`): the same settings as the
 * analyze flags, which override them. Validation only (no transforms), so the published JSON Schema says
 * exactly what a file may hold; constraints and objectives are checked with the parsers the flags use.
 */
import { z } from 'zod';
import { parseConstraint } from './constraints.ts';
import { parseObjective } from './objectives.ts';

const intList = (what: string, min: number) =>
  z
    .array(
      z
        .number({ error: `expected ${what}` })
        .int({ error: `expected ${what}` })
        .min(min, { error: `expected ${what}` }),
      {
        error: `expected a list of ${what}s`,
      },
    )
    .min(1, { error: 'expected at least one value' });

const parsed = (parse: (s: string) => { error: string } | object, what: string) =>
  z.string({ error: `expected ${what}` }).superRefine((value, ctx) => {
    const r = parse(value);
    if ('error' in r) ctx.addIssue({ code: 'custom', message: (r as { error: string }).error });
  });

export const analyzeConfigSchema = z
  .object({
    mode: z.enum(['brute', 'quick'], { error: "expected 'brute' or 'quick'" }).optional(),
    objectives: z
      .array(parsed(parseObjective, 'an objective such as throughput'), {
        error: 'expected a list of objectives',
      })
      .min(1)
      .optional(),
    constraints: z
      .array(parsed(parseConstraint, "a constraint such as 'p95_latency<=20ms'"), {
        error: 'expected a list of constraints',
      })
      .optional(),
    searchSpace: z
      .object({
        maxBatchSize: intList('an integer >= 0', 0).optional(),
        dynamicBatching: z
          .array(z.boolean({ error: 'expected true or false' }))
          .min(1)
          .optional(),
        maxQueueDelayUs: intList('an integer >= 0 (µs)', 0).optional(),
        preferredBatchSize: z
          .array(
            z.union([z.array(z.number().int().positive()), z.literal('max')], {
              error: "expected a list of sizes ([] = none) or 'max'",
            }),
          )
          .min(1)
          .optional()
          .describe(
            "each value one choice: a list of sizes ([] = none) or 'max' (= the config's max_batch_size)",
          ),
        instanceCount: intList('an integer >= 1', 1).optional(),
        instanceKind: z
          .array(z.enum(['KIND_CPU', 'KIND_GPU'], { error: 'expected KIND_CPU or KIND_GPU' }))
          .min(1)
          .optional(),
        batchBuckets: z
          .array(
            z.string().regex(/^\s*(auto|off|none|\d+(\s*,\s*\d+)*)\s*$/i, {
              error: "expected 'auto', 'off' or a list like '1,8,32'",
            }),
          )
          .min(1)
          .optional()
          .describe('values of the inferbench.batch_buckets model parameter (GPU batch-size buckets)'),
      })
      .strict()
      .optional()
      .describe("knobs to search; a knob left out keeps the model's value"),
    concurrency: intList('an integer >= 1', 1)
      .optional()
      .describe('load levels of each config (closed loop)'),
    requestRate: z
      .array(z.number({ error: 'expected a rate > 0' }).positive({ error: 'expected a rate > 0' }))
      .min(1)
      .optional()
      .describe('load levels of each config (open loop, req/s)'),
    maxConfigs: z.number().int().positive().optional(),
    saturationGain: z.number().min(0).max(1000).optional().describe('percent; 0 = measure every level'),
    confirmTop: z
      .number()
      .int()
      .min(0)
      .max(16)
      .optional()
      .describe('leaders re-measured before the search settles (0 = none)'),
    outputModelRepository: z.string().min(1).optional(),
    overrideOutputModelRepository: z.boolean().optional(),
    repositoryUrl: z
      .string()
      .min(1)
      .optional()
      .describe('HTTP URL of the repository API (default: -u with -i http)'),
  })
  .strict()
  .describe('inferbench analyze: search for the best model configuration');

export type AnalyzeConfig = z.infer<typeof analyzeConfigSchema>;
