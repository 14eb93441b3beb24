// The fuzz suite's size: at least 10,000 cases per default run, and every budget entry in use (a
// property dropped from a file would otherwise still count here).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RUNS } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('fuzz budget', () => {
  it('runs at least 10,000 cases by default', () => {
    const total = Object.values(RUNS).reduce((a, b) => a + b, 0);
    console.log(`fuzz: ${total} cases per run (${Object.keys(RUNS).length} properties)`);
    expect(total).toBeGreaterThanOrEqual(10_000);
  });

  it('every entry is the budget of a property some test file runs', () => {
    const sources = readdirSync(here).filter((f) => f.endsWith('.test.ts')).map((f) => readFileSync(join(here, f), 'utf8')).join('\n');
    for (const name of Object.keys(RUNS)) expect(sources, `no check('${name}', ...) in test/fuzz`).toContain(`check('${name}',`);
  });
});
