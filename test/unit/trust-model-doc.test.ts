/**
 * docs/trust-model.md backs each claim with a test, named `file › title` (a following `› title`
 * names another test of the same file). Every named file must exist and hold a test of that title,
 * so that a renamed or deleted test cannot leave a claim without its proof.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readText, repoPath } from '../deploy/support.js';

describe('docs/trust-model.md', () => {
  const doc = readText('docs', 'trust-model.md');
  const spans = [...doc.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
  const refs: Array<{ file: string; title?: string }> = [];
  let file: string | undefined;
  for (const span of spans) {
    const full = /^(test\/[\w/.-]+\.ts)(?: › (.+))?$/.exec(span);
    const more = /^› (.+)$/.exec(span);
    if (full?.[1] !== undefined) {
      file = full[1];
      refs.push(full[2] !== undefined ? { file, title: full[2] } : { file });
    } else if (more?.[1] !== undefined && file !== undefined) {
      refs.push({ file, title: more[1] });
    }
  }

  it('names tests', () => {
    expect(refs.length).toBeGreaterThan(15);
  });

  it('every test it names exists', () => {
    const missing: string[] = [];
    for (const ref of refs) {
      if (!existsSync(repoPath(ref.file))) {
        missing.push(ref.file);
        continue;
      }
      if (ref.title === undefined) continue;
      // A title may end in … (shortened in the table): the part before it must be there.
      const title = ref.title.split('…')[0]?.trim() ?? '';
      if (!readText(ref.file).includes(title)) missing.push(`${ref.file} › ${ref.title}`);
    }
    expect(missing).toEqual([]);
  });
});
