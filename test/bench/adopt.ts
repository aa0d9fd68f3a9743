/** `npm run bench:adopt -- DIR [DIR…]`: results made elsewhere become the current ones here (adopt-results.ts). */
import { adoptResults } from './adopt-results.ts';

const USAGE = 'usage: npm run bench:adopt -- DIR [DIR…]   (each DIR holding <name>.json / <name>.md results)';
const dirs = process.argv.slice(2);
if (dirs.length === 0 || dirs.includes('--help') || dirs.includes('-h')) {
  console.log(USAGE);
  process.exitCode = dirs.length === 0 ? 2 : 0;
} else {
  try {
    for (const dir of dirs) {
      for (const r of adoptResults(dir)) console.log(`${r.name}: ${r.written.join(', ')}`);
    }
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exitCode = 2;
  }
}
