/**
 * Rule versions for the rules API: a strong ETag derived from what a rule
 * says and whether it is enabled, so that the same rule read back from its
 * file after a restart has the same tag, and any change to it gives a new
 * one (RFC 9110 section 8.8.3).
 */

import { createHash } from 'node:crypto';

import type { RuleDefinition } from '../../dsl/rule';

/** Bytes of the SHA-256 digest kept in a tag: 144 bits, 24 base64url characters. */
const ETAG_DIGEST_BYTES = 18;

/**
 * The strong ETag of a rule (quoted, as the header carries it). Where the
 * rule sits in its file is left out, so editing other rules of the file
 * does not change it; `enabled` is the state in effect, overrides included.
 */
export function computeRuleEtag(definition: RuleDefinition, enabled: boolean): string {
  const content: Record<string, unknown> = {
    id: definition.id,
    name: definition.name,
    description: definition.description,
    severity: definition.severity,
    dialect: definition.dialect,
    condition: definition.condition,
    complianceFrameworks: definition.complianceFrameworks,
    compliance: definition.compliance,
    tags: definition.tags,
    exampleViolation: definition.exampleViolation ?? null,
    examplePass: definition.examplePass ?? null,
  };
  const digest = createHash('sha256')
    .update(toCanonicalText(content), 'utf8')
    .update(enabled ? '\u0000enabled' : '\u0000disabled', 'utf8')
    .digest();
  return `"${digest.subarray(0, ETAG_DIGEST_BYTES).toString('base64url')}"`;
}

/**
 * Whether an If-Match header lets a change to a rule whose current tag is
 * `etag` go ahead: absent (last writer wins), `*`, or a list naming the
 * tag. Weak tags never match, as If-Match compares strongly.
 */
export function isIfMatchSatisfied(header: string | undefined, etag: string): boolean {
  if (header === undefined) return true;
  const trimmed = header.trim();
  if (trimmed === '*') return true;
  return splitEntityTags(trimmed).some((tag) => tag === etag);
}

/** Whether If-None-Match names the tag (weakly compared, as GET allows). */
export function isIfNoneMatchHit(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const trimmed = header.trim();
  if (trimmed === '*') return true;
  return splitEntityTags(trimmed).some((tag) => (tag.startsWith('W/') ? tag.slice(2) : tag) === etag);
}

function splitEntityTags(header: string): string[] {
  // Tags are quoted and may hold commas, so the list is read tag by tag.
  const tags: string[] = [];
  const re = /\s*((?:W\/)?"[^"]*")\s*(?:,|$)/gy;
  let match: RegExpExecArray | null;
  while ((match = re.exec(header)) !== null) {
    tags.push(match[1]);
    if (re.lastIndex >= header.length) break;
  }
  return tags;
}

/**
 * JSON with sorted keys, where an integer written as a number and the same
 * integer read from YAML as a bigint give the same text.
 */
function toCanonicalText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(toCanonicalText).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${toCanonicalText(v)}`).join(',')}}`;
}
