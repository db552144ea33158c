import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const PRODUCT = ['bin', 'cli', 'lambdas', 'lib'];

function sourcesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mts|mjs)$/.test(entry.name))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

describe('product code', () => {
  it('imports nothing from scripts/ or test/: what ships runs without them', () => {
    const reaching = PRODUCT.flatMap(sourcesUnder).flatMap((file) =>
      [...readFileSync(join(ROOT, file), 'utf8').matchAll(/(?:from|import\()\s*['"](\.[^'"]+)['"]/g)]
        .map((match) => relative(ROOT, resolve(ROOT, dirname(file), match[1] ?? '')))
        .filter((target) => /^(scripts|test)\//.test(target))
        .map((target) => `${file} -> ${target}`),
    );

    expect(reaching).toEqual([]);
  });
});
