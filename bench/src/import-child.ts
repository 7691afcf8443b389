/**
 * Child process of the cold-start measurement: loads the given modules, in order, and prints how long
 * that took. `import` uses the ESM builds, `require` the CommonJS ones. Run as
 * `node src/import-child.ts import|require <module>[,<module>…]`.
 */
import './env.ts';
import { createRequire } from 'node:module';

const [mode, list = ''] = process.argv.slice(2);
const modules = list.split(',').filter(Boolean);
const require = createRequire(import.meta.url);
const started = performance.now();
for (const name of modules) {
  if (mode === 'require') require(name);
  else await import(name);
}
const ms = performance.now() - started;
process.stdout.write(JSON.stringify({ ms }));
