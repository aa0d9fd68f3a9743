/**
 * The zod building blocks of config-file values (the option table's `config.schema`s and the bench-config
 * schema use them): plain validation with the messages a config error prints, no transforms, so the published
 * JSON Schema says exactly what a file may contain.
 */
import { fromJson } from '@bufbuild/protobuf';
import { fromText } from '@bufbuild/protobuf/txtpb';
import { z } from 'zod';
import { parseThreshold } from '../gate/thresholds.ts';
import { ModelConfigSchema } from '../protocol/gen/model_config_pb.ts';

const POSITIVE_INT = 'expected a positive integer';
const NON_NEGATIVE_INT = 'expected an integer >= 0';
const POSITIVE_NUMBER = 'expected a positive number';
const PERCENTAGE = 'expected a percentage 0..100';
const NON_NEGATIVE_NUMBER = 'expected a number >= 0';
const PERCENTILE = 'expected a percentile 1..99';

export const positiveInt = () =>
  z.number({ error: POSITIVE_INT }).int({ error: POSITIVE_INT }).positive({ error: POSITIVE_INT });
export const nonNegativeInt = () =>
  z
    .number({ error: NON_NEGATIVE_INT })
    .int({ error: NON_NEGATIVE_INT })
    .nonnegative({ error: NON_NEGATIVE_INT });
const positiveNumber = () => z.number({ error: POSITIVE_NUMBER }).positive({ error: POSITIVE_NUMBER });
export const text = () =>
  z.string({ error: 'expected a string' }).min(1, { error: 'expected a non-empty string' });
export const flag = () => z.boolean({ error: 'expected true or false' });
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `expected one of ${values.map((v) => `'${v}'`).join(', ')}` });
export const nonNegativeNumber = () =>
  z.number({ error: NON_NEGATIVE_NUMBER }).nonnegative({ error: NON_NEGATIVE_NUMBER });
export const percentile = () =>
  z
    .number({ error: PERCENTILE })
    .int({ error: PERCENTILE })
    .min(1, { error: PERCENTILE })
    .max(99, { error: PERCENTILE });
export const percentage = () =>
  z.number({ error: PERCENTAGE }).min(0, { error: PERCENTAGE }).max(100, { error: PERCENTAGE });

/** `start[:end[:step]]` as on the command line, or its object form. */
export const range = (what: string) =>
  z.union(
    [
      z
        .string()
        .regex(/^\s*[0-9.]+\s*(:\s*[0-9.]+\s*){0,2}$/, { error: `expected ${what} as "start:end:step"` }),
      z
        .object({
          start: positiveNumber(),
          end: z.number({ error: 'expected a number >= 0' }).nonnegative().optional(),
          step: positiveNumber().optional(),
        })
        .strict(),
    ],
    { error: `expected "start:end:step" or {start, end, step}` },
  );

export const threshold = z.string({ error: 'expected a threshold expression' }).superRefine((value, ctx) => {
  const parsed = parseThreshold(value);
  if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
});

/** A model's config.pbtxt override: protobuf text (merged into the model's config) or its JSON form. */
export const configOverride = z
  .union([z.string(), z.record(z.string(), z.unknown())], {
    error: 'expected protobuf text (config.pbtxt syntax) or an object (ModelConfig JSON)',
  })
  .superRefine((value, ctx) => {
    try {
      if (typeof value === 'string') fromText(ModelConfigSchema, value);
      else fromJson(ModelConfigSchema, value as never);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not a valid ModelConfig: ${(error as Error).message}` });
    }
  });
