/**
 * Go encoding/json semantics where flannel depends on them: object keys match field names
 * case-insensitively (Unicode simple folding), the last duplicate wins, null is absent. Size and
 * depth are capped before parsing so that no input can stall the process.
 */

/** Larger config or lease values are refused without parsing (etcd's own default cap is 1.5 MiB). */
export const MAX_VALUE_BYTES = 1024 * 1024;

export type JsonObject = Record<string, unknown>;

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Deeper JSON is refused before parsing (Go's encoding/json stops at 10000; flannel's values are 3 deep). */
export const MAX_JSON_DEPTH = 100;

/** The deepest nesting of arrays/objects in `text`, counting only brackets outside strings; stops past `limit`. */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return max;
}

export function parseJsonObject(text: string, what: string): { value: JsonObject } | { error: string } {
  if (byteLength(text) > MAX_VALUE_BYTES) return { error: `${what} is larger than ${MAX_VALUE_BYTES} bytes` };
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return { error: `${what} is nested more than ${MAX_JSON_DEPTH} levels deep` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { error: `${what} is not valid JSON: ${message.slice(0, 200)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: `${what} must be a JSON object, got ${describe(value)}` };
  }
  return { value: value as JsonObject };
}

/** Go's encoding/json matches names with Unicode simple case folding; for ASCII names that adds ſ and K (Kelvin). */
function fold(name: string): string {
  return name.replace(/\u017f/g, 's').replace(/\u212a/g, 'k').toLowerCase();
}

/** The value of `field` matched case-insensitively (last match wins); `undefined` when absent or null. */
export function field(obj: JsonObject, name: string): unknown {
  const wanted = fold(name);
  let found: unknown;
  for (const key of Object.keys(obj)) {
    if (fold(key) === wanted) found = obj[key];
  }
  return found === null ? undefined : found;
}

export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? 'an array' : typeof value;
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
