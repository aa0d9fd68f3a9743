#!/usr/bin/env node
// perf_analyzer [flags] — the drop-in entry point: perf_analyzer's flags, output and exit codes.
import { runCli } from '../dist/src/cli/main.js';

process.exitCode = await runCli('perf_analyzer', process.argv.slice(2));
