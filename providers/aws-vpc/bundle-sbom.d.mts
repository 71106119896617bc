// Types of bundle-sbom.mjs (plain JavaScript: it runs at build time, before tsc's output exists).
export interface BundledPackage {
  readonly name: string;
  readonly version: string;
  /** The package's directory, as package-lock.json keys it (`node_modules/@smithy/core`). */
  readonly path: string;
  readonly license: string | undefined;
}

export interface Metafile {
  readonly inputs: Readonly<Record<string, unknown>>;
}

export interface Lockfile {
  readonly packages?: Readonly<Record<string, { readonly version?: string; readonly integrity?: string }>>;
}

export const SBOM_PATH: string;
export const METAFILE_PATH: string;
export function bundledPackages(metafile: Metafile, root: string): BundledPackage[];
export function lockfileProblems(packages: readonly BundledPackage[], lock: Lockfile): string[];
export function npmPurl(name: string, version: string): string;
export function buildSbom(input: {
  metafile: Metafile;
  root: string;
  lock: Lockfile;
  pkg: { name: string; version: string; license?: string };
  tool: { name: string; version: string };
}): Record<string, unknown>;
