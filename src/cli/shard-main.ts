/**
 * Entry of one local shard process (`profile --shards N --local`, local-shards.ts): the same CLI as
 * bin/inferbench.mjs, loaded from this build (tsx sources or dist/), so a local run uses the code that started it.
 */
import { runCli } from './main.ts';

process.exitCode = await runCli('inferbench', process.argv.slice(2));
