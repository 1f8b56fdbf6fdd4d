/**
 * The bounded, in-memory store behind the violations API: the newest
 * `violations.max_records` violations, fed from the pipeline's emitted
 * spans, read newest first in pages. A violation emitted again (same
 * `betrace.violation.id`) replaces its earlier record.
 */

import { toViolationRecord } from './violation-record';

import type { EmittedSpan } from '../emit/emitted-spans';
import type { ViolationRecord } from './violation-record';

/** Filters and paging of a listing; every filter is optional. */
export interface ViolationQuery {
  readonly ruleId?: string;
  /** Upper-case severities; a record matches any of them. */
  readonly severities?: ReadonlySet<string>;
  /** 32 lower-case hex characters. */
  readonly traceId?: string;
  /** Detected at or after, in ms since the epoch. */
  readonly sinceMs?: number;
  /** Detected before, in ms since the epoch. */
  readonly untilMs?: number;
  readonly limit: number;
  /** A cursor from an earlier page: only older records follow it. */
  readonly cursor?: string;
}

/** One page of a listing. */
export interface ViolationPage {
  readonly records: ViolationRecord[];
  /** Hands out the next page; null when no older record matches. */
  readonly nextCursor: string | null;
}

interface Stored {
  readonly seq: number;
  readonly detectedMs: number;
  readonly record: ViolationRecord;
  alive: boolean;
}

/** Compacting the slot list costs a copy; it waits until the dead head is large. */
const COMPACT_AFTER_SLOTS = 1024;

/** Newest-first store of violation records. */
export class ViolationStore {
  readonly maxRecords: number;
  /** Records in arrival order; slots before `head` are gone, dead ones were replaced. */
  private slots: Stored[] = [];
  private head = 0;
  private readonly byId = new Map<string, Stored>();
  private nextSeq = 1;

  constructor(maxRecords: number) {
    if (!Number.isInteger(maxRecords) || maxRecords < 1) throw new RangeError('maxRecords must be a positive integer');
    this.maxRecords = maxRecords;
  }

  /** Records held. */
  get size(): number {
    return this.byId.size;
  }

  /** Takes the violations of a batch of emitted spans (evidence is ignored). */
  add(spans: readonly EmittedSpan[]): void {
    for (const emitted of spans) {
      if (emitted.kind !== 'violation') continue;
      const record = toViolationRecord(emitted);
      const earlier = this.byId.get(record.id);
      if (earlier !== undefined) earlier.alive = false;
      const stored: Stored = {
        seq: this.nextSeq++,
        detectedMs: Number(emitted.span.startNs / 1_000_000n),
        record,
        alive: true,
      };
      this.slots.push(stored);
      this.byId.set(record.id, stored);
    }
    this.dropOldest();
  }

  /** The record with this violation id. */
  get(id: string): ViolationRecord | undefined {
    return this.byId.get(id)?.record;
  }

  /**
   * Matching records, newest first, at most `limit`. Throws RangeError for
   * a cursor this store did not hand out.
   */
  query(q: ViolationQuery): ViolationPage {
    const before = q.cursor === undefined ? Number.POSITIVE_INFINITY : decodeCursor(q.cursor);
    const records: ViolationRecord[] = [];
    let last: Stored | null = null;
    for (let i = this.lastIndexBefore(before); i >= this.head; i--) {
      const s = this.slots[i];
      if (!s.alive || !matches(s, q)) continue;
      if (records.length === q.limit) return { records, nextCursor: encodeCursor(last!.seq) };
      records.push(s.record);
      last = s;
    }
    return { records, nextCursor: null };
  }

  private lastIndexBefore(seq: number): number {
    // Slots are in increasing seq order, so the start is a binary search.
    let lo = this.head;
    let hi = this.slots.length - 1;
    let found = this.head - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.slots[mid].seq < seq) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  private dropOldest(): void {
    while (this.byId.size > this.maxRecords && this.head < this.slots.length) {
      const oldest = this.slots[this.head++];
      if (oldest.alive) this.byId.delete(oldest.record.id);
    }
    // Replaced records leave dead slots behind; drop them from the front too.
    while (this.head < this.slots.length && !this.slots[this.head].alive) this.head++;
    if (this.head > COMPACT_AFTER_SLOTS && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
    // Dead slots in the middle count against nothing but memory; bound them
    // at the live count so that a stream of repeats cannot grow the list.
    if (this.slots.length - this.head > 2 * this.maxRecords) {
      this.slots = this.slots.slice(this.head).filter((s) => s.alive);
      this.head = 0;
    }
  }
}

function matches(s: Stored, q: ViolationQuery): boolean {
  const r = s.record;
  if (q.ruleId !== undefined && r.rule_id !== q.ruleId) return false;
  if (q.severities !== undefined && !q.severities.has(r.severity)) return false;
  if (q.traceId !== undefined && r.trace_id !== q.traceId) return false;
  if (q.sinceMs !== undefined && s.detectedMs < q.sinceMs) return false;
  if (q.untilMs !== undefined && s.detectedMs >= q.untilMs) return false;
  return true;
}

/** The opaque cursor of a position: base64url of the sequence number. */
export function encodeCursor(seq: number): string {
  return Buffer.from(String(seq), 'utf8').toString('base64url');
}

/** The sequence number of a cursor; RangeError when it is not one this store writes. */
export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[1-9][0-9]{0,15}$/.test(text) || encodeCursor(Number(text)) !== cursor) {
    throw new RangeError(`cursor "${cursor.slice(0, 40)}" was not handed out by this processor`);
  }
  return Number(text);
}
