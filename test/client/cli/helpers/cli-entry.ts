/** The CLI as a real process under tsx (what bin/inferbench.mjs runs from dist/), for process-level tests. */
import { runCli } from '../../../../src/cli/main.ts';

process.exitCode = await runCli('inferbench', process.argv.slice(2));
