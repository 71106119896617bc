/**
 * No import cycle in src/ or providers/. Every import counts, type-only ones too: a type import
 * still says which module knows about which, and the old providers/registry.ts ↔ src/config.ts
 * cycle ran through one. The graph is read with a regex over the sources (static `import … from`,
 * `export … from`, side-effect imports and dynamic `import('…')`), relative `.js` specifiers
 * resolved to the `.ts` beside them; packages are not followed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listFiles, repoPath } from '../deploy/support.js';

const SPECIFIERS = [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /^\s*import\s*['"]([^'"]+)['"]/gm];

function withoutComments(source: string): string {
  // `//` only after whitespace or at a line start, so that URLs in strings stay.
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
}

/** file → the files it imports, over `files` (repository-relative paths) and `read`. */
export function importGraph(files: readonly string[], read: (file: string) => string, exists: (file: string) => boolean): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const source = withoutComments(read(file));
    const targets = new Set<string>();
    for (const pattern of SPECIFIERS) {
      for (const match of source.matchAll(pattern)) {
        const specifier = match[1] ?? '';
        if (!specifier.startsWith('.')) continue;
        const resolved = normalize(join(dirname(file), specifier)).split('\\').join('/');
        const ts = resolved.replace(/\.js$/, '.ts');
        targets.add(exists(ts) ? ts : resolved);
      }
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** Every cycle's files, each cycle once, as `a → b → a`. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next].join(' → '));
      else if (state.get(next) === undefined && graph.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (state.get(file) === undefined) visit(file);
  return found;
}

describe('import graph', () => {
  it('the checker finds a cycle, type-only, dynamic and across folders', () => {
    const sources: Record<string, string> = {
      'src/a.ts': "import type { B } from '../providers/b.js';",
      'providers/b.ts': "export const b = async () => (await import('./c.js')).c;",
      'providers/c.ts': "import {\n  a,\n} from '../src/a.js';",
      'src/d.ts': "// import { a } from './a.js';\nconst url = 'http://x/y';\nimport './a.js';",
    };
    const graph = importGraph(Object.keys(sources), (f) => sources[f] ?? '', (f) => f in sources);
    expect(graph.get('src/d.ts')).toEqual(['src/a.ts']);
    expect(cycles(graph)).toEqual(['providers/b.ts → providers/c.ts → src/a.ts → providers/b.ts']);
  });

  it('src/ and providers/ have no import cycle', () => {
    const files = [...listFiles('src'), ...listFiles('providers')].filter((f) => /\.(ts|mts|mjs)$/.test(f) && !f.endsWith('.d.mts'));
    const graph = importGraph(files, (f) => readFileSync(repoPath(f), 'utf8'), (f) => existsSync(repoPath(f)));
    // The graph is really read: the edges this layering rests on are there.
    expect(graph.get('src/config.ts')).toContain('providers/registry.ts');
    expect(graph.get('providers/registry.ts')).toContain('providers/aws-vpc/flags.ts');
    expect(graph.get('providers/aws-vpc/flags.ts')).toContain('providers/aws-vpc/from-config.ts');
    expect(cycles(graph)).toEqual([]);
  });
});
