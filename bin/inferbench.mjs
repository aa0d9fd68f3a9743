#!/usr/bin/env node
// inferbench [profile] [flags] | inferbench serve [flags] — runs the compiled CLI (npm run build emits dist/).
import { runCli } from '../dist/src/cli/main.js';

process.exitCode = await runCli('inferbench', process.argv.slice(2));
