/** The package version (see src/protocol/package-info.ts), re-exported for the CLI. */
export { packageVersion } from '../protocol/package-info.ts';
