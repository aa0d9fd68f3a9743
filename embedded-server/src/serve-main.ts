/**
 * Process entry of the reference server (`node embedded-server/src/serve-main.ts serve-flags…`): what the load
 * generator spawns for its embedded default, so the server's event loop never shares a thread with the
 * measuring one.
 */
import { runServeCommand } from './serve.ts';

process.exitCode = await runServeCommand(process.argv.slice(2));
