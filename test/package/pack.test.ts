// What `npm pack` puts in the package: scripts/pack-check.cjs judges a listing (prepublishOnly runs
// it after building the prebuild; scripts/ci-prebuilt-install.sh runs it on the packed tarball in CI).
// Here: the judgement itself, and this checkout's real pack listing, where everything but the
// prebuild (built only by `npm run prebuildify`) must be present.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../reliability/bundle.js';

const require = createRequire(import.meta.url);
const { problems, filesOfPackJson, PACK_DRY_RUN, REQUIRED } = require('../../scripts/pack-check.cjs') as {
  problems(files: string[]): string[];
  filesOfPackJson(json: string): string[];
  PACK_DRY_RUN: string[];
  REQUIRED: string[];
};
const PREBUILD = 'prebuilds/linux-x64/tensorbolt.node';

describe('pack-check', () => {
  it('a package without the prebuild, or with a build tree, is refused, naming what is wrong', () => {
    expect(problems(REQUIRED)).toEqual([]);
    expect(problems(REQUIRED.filter((f) => f !== PREBUILD))).toEqual([`missing ${PREBUILD} (build it with \`npm run prebuildify\`)`]);
    expect(problems([...REQUIRED, 'build/Release/tensorbolt.node'])).toEqual(['holds build/ (build/Release/tensorbolt.node)']);
    expect(problems(REQUIRED.filter((f) => !f.startsWith('docs/')))).toEqual(['missing docs/api/README.md', 'missing docs/data.md', 'missing docs/workers.md']);
  });

  it('publishing builds the prebuild and checks the package first', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const steps = pkg.scripts.prepublishOnly!.split('&&').map((s) => s.trim());
    expect(steps.indexOf('npm run prebuildify')).toBeGreaterThanOrEqual(0);
    expect(steps.indexOf('node scripts/pack-check.cjs')).toBeGreaterThan(steps.indexOf('npm run prebuildify'));
    expect(steps.indexOf('npm run build:ts')).toBeLessThan(steps.indexOf('node scripts/pack-check.cjs'));
  });

  it('this checkout packs the library, types, CLI, docs, examples and license (and the prebuild once built)', async () => {
    // what pack-check.cjs runs, without blocking this process meanwhile
    const json = await new Promise<string>((resolve, reject) =>
      execFile('npm', PACK_DRY_RUN, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (e, out) => (e ? reject(e) : resolve(out))));
    const files = filesOfPackJson(json);
    const left = problems(files);
    if (existsSync(join(ROOT, PREBUILD))) expect(left).toEqual([]);
    else expect(left).toEqual([`missing ${PREBUILD} (build it with \`npm run prebuildify\`)`]);
    expect(files).toContain('docs/api/README.md');
    expect(files.filter((f) => f.startsWith('examples/')).length).toBeGreaterThan(3);
  }, 120_000);
});
