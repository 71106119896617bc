/**
 * Offline readers for what deploy/, terraform/ and iam/ contain — Terraform (via @cdktf/hcl2json),
 * IAM policies (a small evaluator), Dockerfiles, .dockerignore, systemd units, Kubernetes YAML and
 * kustomize overlays — and the CLI's real flag set, for test/deploy/*.test.ts.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { parseAllDocuments } from 'yaml';
import { buildCommand } from '../../src/config.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function repoPath(...parts: string[]): string {
  return join(REPO, ...parts);
}

export function readText(...parts: string[]): string {
  return readFileSync(repoPath(...parts), 'utf8');
}

/** Every file under a repository directory, as repository-relative paths with `/`. */
export function listFiles(...parts: string[]): string[] {
  const root = repoPath(...parts);
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(REPO, path).split('\\').join('/'));
    }
  };
  walk(root);
  return out.sort();
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// What routesync calls (docs/architecture.md, 'AWS facts' and 'GCE facts')

/** The EC2 API calls routesync makes, and nothing else. */
export const EC2_ACTIONS = ['DescribeRouteTables', 'DescribeNetworkInterfaces', 'DescribeTags', 'DescribeManagedPrefixLists', 'CreateRoute', 'ReplaceRoute', 'DeleteRoute', 'ModifyNetworkInterfaceAttribute'];

/** The Service Quotas calls routesync makes (--route-limit auto): the applied quota, else AWS's default. */
export const SERVICE_QUOTAS_ACTIONS = ['GetServiceQuota', 'GetAWSDefaultServiceQuota'];

/**
 * Each GCE API call routesync makes and the permissions it needs. The custom role must
 * be exactly the union.
 */
export const GCE_CALL_PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
  'routes.list': ['compute.routes.list'],
  'routes.insert': ['compute.routes.create', 'compute.networks.updatePolicy'],
  'routes.delete': ['compute.routes.delete'],
  'globalOperations.wait': ['compute.globalOperations.get'],
  'globalOperations.get': ['compute.globalOperations.get'],
  'instances.aggregatedList': ['compute.instances.list'],
  'projects.get': ['compute.projects.get'],
};

// ---------------------------------------------------------------------------------------------
// The CLI's flags

export interface CliFlag {
  readonly long: string;
  readonly env: string;
  readonly takesValue: boolean;
  readonly defaultValue: unknown;
}

/** ROUTESYNC_<FLAG_IN_UPPER_SNAKE>, as src/config.ts derives it. */
export function envNameOf(long: string): string {
  return `ROUTESYNC_${long.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

/** The real flags, from the same Command the CLI parses with. */
export function cliFlags(): Map<string, CliFlag> {
  const flags = new Map<string, CliFlag>();
  for (const option of buildCommand().options) {
    if (option.long === undefined) continue;
    flags.set(option.long, {
      long: option.long,
      // A negated flag (--no-leader-elect) has no variable of its own: ROUTESYNC_LEADER_ELECT=false.
      env: option.negate ? '' : envNameOf(option.long),
      takesValue: option.required || option.optional,
      defaultValue: option.defaultValue,
    });
  }
  return flags;
}

export function cliEnvNames(): Set<string> {
  return new Set([...cliFlags().values()].map((f) => f.env).filter((e) => e !== ''));
}

/** `--flag`, `--flag=value` and `--flag value` tokens of an argv; returns the flag names. */
export function flagsIn(argv: readonly string[]): string[] {
  return argv.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0] ?? a);
}

// ---------------------------------------------------------------------------------------------
// Terraform (HCL → JSON, offline)

export interface TfModule {
  readonly dir: string;
  readonly files: Readonly<Record<string, JsonObject>>;
  readonly variable: Readonly<Record<string, JsonObject>>;
  readonly output: Readonly<Record<string, JsonObject>>;
  readonly locals: Readonly<Record<string, Json>>;
  /** `type.name` → body. */
  readonly resource: Readonly<Record<string, JsonObject>>;
  /** `data.type.name` → body. */
  readonly data: Readonly<Record<string, JsonObject>>;
  readonly module: Readonly<Record<string, JsonObject>>;
  readonly terraform: readonly JsonObject[];
  /** Every string in the module (expressions are strings `${…}` in hcl2json's output). */
  readonly strings: readonly string[];
  /** The same, per file. */
  readonly stringsByFile: Readonly<Record<string, readonly string[]>>;
}

function single(value: Json | undefined, what: string): JsonObject {
  if (Array.isArray(value) && value.length === 1 && isObject(value[0])) return value[0];
  throw new Error(`${what}: expected one block, got ${JSON.stringify(value)}`);
}

function allStrings(value: Json, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) allStrings(item, out);
  else if (isObject(value)) for (const [key, item] of Object.entries(value)) {
    out.push(key);
    allStrings(item, out);
  }
}

/** Parses every .tf file of a directory (not its subdirectories) and indexes the blocks. */
export async function loadTfModule(...parts: string[]): Promise<TfModule> {
  const dir = repoPath(...parts);
  const files: Record<string, JsonObject> = {};
  const variable: Record<string, JsonObject> = {};
  const output: Record<string, JsonObject> = {};
  const locals: Record<string, Json> = {};
  const resource: Record<string, JsonObject> = {};
  const data: Record<string, JsonObject> = {};
  const module: Record<string, JsonObject> = {};
  const terraform: JsonObject[] = [];
  const strings: string[] = [];
  const stringsByFile: Record<string, string[]> = {};
  const claim = (index: Record<string, unknown>, key: string, file: string): void => {
    if (key in index) throw new Error(`${file}: ${key} is declared twice`);
  };
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.tf')).sort()) {
    const parsed = (await parseHcl(name, readFileSync(join(dir, name), 'utf8'))) as JsonObject;
    files[name] = parsed;
    const own: string[] = [];
    allStrings(parsed, own);
    stringsByFile[name] = own;
    strings.push(...own);
    for (const [blockType, body] of Object.entries(parsed)) {
      if (blockType === 'variable' || blockType === 'output' || blockType === 'module') {
        const index = blockType === 'variable' ? variable : blockType === 'output' ? output : module;
        for (const [key, blocks] of Object.entries(body as JsonObject)) {
          claim(index, key, name);
          index[key] = single(blocks, `${name} ${blockType} ${key}`);
        }
      } else if (blockType === 'resource' || blockType === 'data') {
        for (const [type, byName] of Object.entries(body as JsonObject)) {
          for (const [key, blocks] of Object.entries(byName as JsonObject)) {
            const id = blockType === 'data' ? `data.${type}.${key}` : `${type}.${key}`;
            const index = blockType === 'data' ? data : resource;
            claim(index, id, name);
            index[id] = single(blocks, `${name} ${id}`);
          }
        }
      } else if (blockType === 'locals') {
        for (const block of body as Json[]) {
          for (const [key, value] of Object.entries(block as JsonObject)) {
            claim(locals, key, name);
            locals[key] = value;
          }
        }
      } else if (blockType === 'terraform') {
        terraform.push(...(body as JsonObject[]));
      } else if (blockType !== 'provider') {
        throw new Error(`${name}: unexpected top-level block ${blockType}`);
      }
    }
  }
  return { dir, files, variable, output, locals, resource, data, module, terraform, strings, stringsByFile };
}

/** Names referenced as `<prefix>.<name>` in expressions (of the given files, default all), e.g. refs(m, 'var'). */
export function refs(module: TfModule, prefix: 'var' | 'local' | 'module', files?: readonly string[]): Set<string> {
  const out = new Set<string>();
  const pattern = new RegExp(`(?<![\\w.])${prefix}\\.([A-Za-z_][A-Za-z0-9_-]*)`, 'g');
  const texts = files === undefined ? module.strings : files.flatMap((f) => module.stringsByFile[f] ?? []);
  for (const text of texts) for (const match of text.matchAll(pattern)) out.add(match[1] ?? '');
  return out;
}

/** `type.name` resource and `data.type.name` references in expressions. */
export function resourceRefs(module: TfModule, providerPrefix: string): Set<string> {
  const out = new Set<string>();
  const pattern = new RegExp(`(?<![\\w.])((?:data\\.)?${providerPrefix}_[a-z0-9_]+\\.[A-Za-z_][A-Za-z0-9_-]*)`, 'g');
  for (const text of module.strings) {
    if (!text.includes('${')) continue;
    for (const match of text.matchAll(pattern)) out.add(match[1] ?? '');
  }
  return out;
}

/** The regular expressions a variable's validations test it with: `regex("…", var.<name>)` or `regex("…", <each item>)`. */
export function validationRegexes(variable: JsonObject): string[] {
  const out: string[] = [];
  for (const validation of (variable['validation'] as JsonObject[] | undefined) ?? []) {
    const condition = String(validation['condition'] ?? '');
    for (const match of condition.matchAll(/regex\("((?:[^"\\]|\\.)*)"/g)) out.push(JSON.parse(`"${match[1] ?? ''}"`) as string);
  }
  return out;
}

/** Resolves `${path.module}/…` in a path expression relative to the module directory. */
export function modulePath(module: TfModule, expression: string): string {
  const match = /^\$\{path\.module\}\/(.+)$/.exec(expression);
  if (match === null) throw new Error(`not a \${path.module}/… path: ${expression}`);
  return resolve(module.dir, match[1] ?? '');
}

// ---------------------------------------------------------------------------------------------
// templatefile() for the subset iam/aws-policy.json uses

/** `${name}` placeholders of a template. */
export function templatePlaceholders(text: string): Set<string> {
  return new Set([...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1] ?? ''));
}

/** Like Terraform's templatefile(): every placeholder needs a value (and here, every value a placeholder). */
export function renderTemplate(text: string, vars: Readonly<Record<string, string>>): string {
  if (text.includes('%{') || text.includes('$${')) throw new Error('template directives/escapes are not used by routesync templates');
  const unused = new Set(Object.keys(vars));
  const out = text.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`no value for \${${name}}`);
    unused.delete(name);
    return value;
  });
  if (unused.size > 0) throw new Error(`values without a placeholder: ${[...unused].join(', ')}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// A small IAM policy evaluator (identity policies; Allow/Deny, Action, Resource, Condition)

export interface IamStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

export interface IamPolicy {
  readonly Version: string;
  readonly Statement: readonly IamStatement[];
}

export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys of the request (names compared case-insensitively). */
  readonly context: Readonly<Record<string, string>>;
}

export type IamDecision = 'allow' | 'implicit-deny' | 'explicit-deny';

function list<T>(value: T | readonly T[]): readonly T[] {
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

function glob(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

function arnMatches(pattern: string, value: string): boolean {
  const p = pattern.split(':');
  const v = value.split(':');
  if (p.length < 6 || v.length < 6) return false;
  const head = (parts: string[]): string[] => [...parts.slice(0, 5), parts.slice(5).join(':')];
  const [hp, hv] = [head(p), head(v)];
  return hp.every((part, i) => glob(part, hv[i] ?? ''));
}

const CONDITION_OPERATORS: Readonly<Record<string, (pattern: string, value: string) => boolean>> = {
  StringEquals: (p, v) => p === v,
  StringLike: (p, v) => glob(p, v),
  ArnEquals: arnMatches,
  ArnLike: arnMatches,
};

function conditionHolds(condition: NonNullable<IamStatement['Condition']>, request: IamRequest): boolean {
  const context = new Map(Object.entries(request.context).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [operator, entries] of Object.entries(condition)) {
    const test = CONDITION_OPERATORS[operator];
    if (test === undefined) throw new Error(`condition operator ${operator} is not understood by this evaluator`);
    for (const [key, patterns] of Object.entries(entries)) {
      const value = context.get(key.toLowerCase());
      if (value === undefined) return false;
      if (!list(patterns).some((pattern) => test(pattern, value))) return false;
    }
  }
  return true;
}

function statementMatches(statement: IamStatement, request: IamRequest): boolean {
  for (const key of Object.keys(statement)) {
    if (!['Sid', 'Effect', 'Action', 'Resource', 'Condition'].includes(key)) throw new Error(`statement element ${key} is not understood by this evaluator`);
  }
  if (!list(statement.Action).some((a) => glob(a, request.action, true))) return false;
  if (!list(statement.Resource).some((r) => r === '*' || arnMatches(r, request.resource))) return false;
  return statement.Condition === undefined || conditionHolds(statement.Condition, request);
}

export function evaluate(policy: IamPolicy, request: IamRequest): IamDecision {
  let allowed = false;
  for (const statement of policy.Statement) {
    if (!statementMatches(statement, request)) continue;
    if (statement.Effect === 'Deny') return 'explicit-deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'implicit-deny';
}

export function policyActions(policy: IamPolicy): Set<string> {
  return new Set(policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => [...list(s.Action)]));
}

// ---------------------------------------------------------------------------------------------
// Dockerfile and .dockerignore

export interface DockerInstruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

export interface DockerStage {
  readonly name: string | undefined;
  readonly image: string;
  readonly instructions: readonly DockerInstruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  readonly globalArgs: Readonly<Record<string, string>>;
  readonly stages: readonly DockerStage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: DockerInstruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (pending === '' && /^\s*(#|$)/.test(line)) return;
    if (pending !== '' && /^\s*#/.test(line)) return; // comments inside a continuation
    if (pending === '') start = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/s.exec(full);
    if (match !== null) instructions.push({ keyword: (match[1] ?? '').toUpperCase(), args: (match[2] ?? '').trim(), line: start });
  });
  if (pending !== '') throw new Error('Dockerfile ends inside a line continuation');
  const globalArgs: Record<string, string> = {};
  const stages: Array<{ name: string | undefined; image: string; instructions: DockerInstruction[] }> = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (match === null) throw new Error(`line ${instruction.line}: cannot read FROM ${instruction.args}`);
      const image = (match[1] ?? '').replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => {
        const value = globalArgs[a ?? b ?? ''];
        if (value === undefined) throw new Error(`line ${instruction.line}: FROM uses undeclared ARG ${a ?? b}`);
        return value;
      });
      stages.push({ name: match[2], image, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`line ${instruction.line}: ${instruction.keyword} before the first FROM`);
      const [name, value] = instruction.args.split('=', 2);
      globalArgs[name ?? ''] = value ?? '';
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** The exec (JSON array) form of ENTRYPOINT/CMD, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((p) => typeof p === 'string') ? (parsed as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** A .dockerignore matcher (patterns relative to the context root, `*`, `?`, `**`, `!` exceptions; last match wins). */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .split('/')
        .map((seg) => (seg === '**' ? '(?:.*)' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
      // A pattern that matches a directory excludes everything below it.
      return { negate, regex: new RegExp(`^${source}(?:/.*)?$`) };
    });
  return (path: string) => {
    let excluded = false;
    for (const rule of rules) if (rule.regex.test(path)) excluded = !rule.negate;
    return excluded;
  };
}

// ---------------------------------------------------------------------------------------------
// systemd units and environment files

export type UnitFile = Map<string, Array<[string, string]>>;

export function parseUnit(text: string): UnitFile {
  const sections: UnitFile = new Map();
  let current: Array<[string, string]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section !== null) {
      current = [];
      sections.set(section[1] ?? '', current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq < 1) throw new Error(`unit file: cannot read ${JSON.stringify(line)}`);
    current.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return sections;
}

/** The last value of a unit setting (systemd: later assignments win), or undefined. */
export function unitValue(unit: UnitFile, section: string, key: string): string | undefined {
  return unit.get(section)?.filter(([k]) => k === key).at(-1)?.[1];
}

/** KEY=value lines of an environment file (systemd EnvironmentFile= / docker --env-file). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match === null) throw new Error(`environment file: cannot read ${JSON.stringify(line)}`);
    env[match[1] ?? ''] = (match[2] ?? '').replace(/^"(.*)"$/, '$1');
  }
  return env;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes YAML and kustomize

export interface K8sObject extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject & { name: string; namespace?: string };
}

/** Parses YAML as Kubernetes does (YAML 1.1: `0440` is octal). */
export function parseYamlDocs(text: string, file: string): JsonObject[] {
  return parseAllDocuments(text, { version: '1.1' }).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (!isObject(value)) throw new Error(`${file}: a document is not a mapping`);
    return value;
  });
}

function deepMerge(base: Json, patch: Json): Json {
  if (!isObject(base) || !isObject(patch)) return structuredClone(patch);
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch)) out[key] = key in base ? deepMerge(base[key] as Json, value) : structuredClone(value);
  return out;
}

/**
 * Builds a kustomization the way `kubectl apply -k` does for what these manifests use: `resources`
 * (files and directories with a kustomization.yaml) and `patches` with `path` (strategic merge;
 * maps are merged, which is all these patches do).
 */
export function kustomize(...parts: string[]): { objects: K8sObject[]; files: string[] } {
  const dir = repoPath(...parts);
  const kustomization = parseYamlDocs(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'), join(...parts, 'kustomization.yaml'))[0] ?? {};
  const objects: K8sObject[] = [];
  const files: string[] = [];
  for (const entry of (kustomization['resources'] as string[] | undefined) ?? []) {
    const path = join(dir, entry);
    if (!existsSync(path)) throw new Error(`${join(...parts)}: resource ${entry} does not exist`);
    if (statSync(path).isDirectory()) {
      const nested = kustomize(...relative(REPO, path).split('/'));
      objects.push(...nested.objects);
      files.push(...nested.files);
    } else {
      files.push(relative(REPO, path));
      objects.push(...(parseYamlDocs(readFileSync(path, 'utf8'), entry) as K8sObject[]));
    }
  }
  for (const patch of (kustomization['patches'] as JsonObject[] | undefined) ?? []) {
    const path = join(dir, String(patch['path']));
    if (!existsSync(path)) throw new Error(`${join(...parts)}: patch ${String(patch['path'])} does not exist`);
    files.push(relative(REPO, path));
    for (const doc of parseYamlDocs(readFileSync(path, 'utf8'), path) as K8sObject[]) {
      const index = objects.findIndex((o) => o.kind === doc.kind && o.metadata.name === doc.metadata.name);
      if (index < 0) throw new Error(`${path}: patches ${doc.kind}/${doc.metadata.name}, which no resource defines`);
      objects[index] = deepMerge(objects[index] as K8sObject, doc) as K8sObject;
    }
  }
  return { objects, files };
}

export function findObject(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const matches = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (matches.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : `/${name}`}, found ${matches.length}`);
  return matches[0] as K8sObject;
}

/** Follows a dotted path of object keys; throws when a step is missing. */
export function at(value: Json | undefined, path: string): Json {
  let current: Json | undefined = value;
  for (const key of path.split('.')) {
    if (!isObject(current) || !(key in current)) throw new Error(`missing ${path} (at ${key})`);
    current = current[key];
  }
  return current as Json;
}

/** True when every label of `selector` is on `labels`. */
export function selects(selector: Json, labels: Json): boolean {
  if (!isObject(selector) || !isObject(labels) || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
