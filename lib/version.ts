import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
function readVersion(): string {
  for (const p of ['../package.json', '../../package.json']) {
    try {
      const pkg = require(p) as { name?: string; version?: string };
      if (pkg.name === 'tensorbolt' && pkg.version) return pkg.version;
    } catch {
      // try the next location (lib/ when run from source, dist/lib/ when built)
    }
  }
  return '0.0.0';
}

/** The package version. */
export const version: string = readVersion();
