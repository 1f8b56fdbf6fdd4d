/**
 * This instance's share of evaluation in a fleet on the Redis buffer: on
 * every tick it claims due traces, evaluates each under the rule set it
 * began with, emits the verdicts, and once they are handed on marks the
 * traces decided. While a batch is out (a slow downstream), its leases are
 * renewed, so no other instance takes those traces over unless this one
 * dies. Stopping releases the claims still held instead of evaluating
 * everything: the rest of the fleet carries on with them.
 */

import { detectionTimeAt } from '../emit/emitted-spans';

import type { RuleSet } from '../../dsl/rule-set';
import type { ClaimedTrace, Decision, RedisTraceBuffer } from '../buffer/redis-buffer';
import type { CompletedTrace } from '../buffer/types';
import type { DetectionTime, EmittedSpan } from '../emit/emitted-spans';
import type { Logger } from '../log';

/** Claims waiting for their verdicts to be handed on; past this, no more are taken. */
const MAX_CLAIMS_IN_FLIGHT = 8192;

/** What the evaluator works with. */
export interface FleetEvaluatorOptions {
  readonly buffer: RedisTraceBuffer;
  /** Time between passes over the due index, in ms. */
  readonly tickMs: number;
  /** The rule set a trace began under, or the current one. */
  readonly ruleSetFor: (key: string) => RuleSet;
  /** Evaluates one trace into the spans to emit. */
  readonly evaluate: (trace: CompletedTrace<RuleSet>, time: DetectionTime) => EmittedSpan[];
  /**
   * Hands spans on; resolves to true once they are queued or accepted
   * downstream (or refused for good), false when sending failed in a way
   * that a later attempt may get past.
   */
  readonly deliver: (spans: EmittedSpan[]) => Promise<boolean>;
  /** True while Redis is reachable; passes and renewals wait otherwise. */
  readonly isConnected: () => boolean;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** The claim, evaluate, emit and finalise loop of one instance. */
export class FleetEvaluator {
  private readonly options: FleetEvaluatorOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  /** Claimed traces not yet finalised, by trace ID, with their span counts. */
  private readonly held = new Map<string, number>();
  /** Decisions whose finalisation failed; retried on the next passes. */
  private unfinalised: Decision[] = [];
  private readonly batches = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private passing: Promise<void> | null = null;
  private stopped = false;
  private failing = false;

  constructor(options: FleetEvaluatorOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: 'fleet' });
    this.now = options.now ?? Date.now;
  }

  /** Spans of the traces this instance holds claims on. */
  get heldSpans(): number {
    let spans = 0;
    for (const n of this.held.values()) spans += n;
    return spans;
  }

  /** Starts the passes and the lease renewals. */
  start(): void {
    this.schedule();
    const renewMs = Math.max(10, Math.floor(this.options.buffer.leaseMs / 3));
    this.renewTimer = setInterval(() => void this.renewLeases(), renewMs);
    this.renewTimer.unref();
  }

  /**
   * One pass: finalises what failed before, claims due traces and starts
   * evaluating them. Resolves once the claims are made (not once their
   * verdicts are out); passes never overlap.
   */
  pass(): Promise<void> {
    this.passing ??= this.runPass().finally(() => {
      this.passing = null;
    });
    return this.passing;
  }

  /**
   * Stops claiming, waits for the batches under way until `deadlineMs`,
   * then releases the claims still held, so other instances evaluate
   * those traces.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.renewTimer !== null) clearInterval(this.renewTimer);
    this.timer = null;
    this.renewTimer = null;
    await this.passing;
    const left = deadlineMs - this.now();
    if (this.batches.size > 0 && left > 0) {
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        this.settled(),
        new Promise((resolve) => {
          timeout = setTimeout(resolve, left);
        }),
      ]);
      clearTimeout(timeout);
    }
    await this.retryFinalise();
    const open = await this.giveBack([...this.held.keys()]);
    if (open > 0) this.logger.info({ traces: open }, 'released claims for the rest of the fleet');
  }

  /** Resolves once every batch claimed so far is done with. */
  private async settled(): Promise<void> {
    while (this.batches.size > 0) await Promise.allSettled([...this.batches]);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.pass().finally(() => this.schedule());
    }, this.options.tickMs);
    this.timer.unref();
  }

  private async runPass(): Promise<void> {
    if (this.stopped || !this.options.isConnected()) return;
    try {
      // Intake stays refused while Redis is full; this tells when it is not.
      await this.options.buffer.probeMemory();
      await this.retryFinalise();
      if (this.held.size >= MAX_CLAIMS_IN_FLIGHT) return;
      const claimed = await this.options.buffer.claimDue(this.now());
      this.recovered();
      if (claimed.length === 0) return;
      for (const trace of claimed) this.held.set(trace.traceId, trace.spans.length);
      const batch = this.complete(claimed);
      this.batches.add(batch);
      void batch.finally(() => this.batches.delete(batch));
    } catch (err) {
      this.failed(err, 'cannot claim due traces');
    }
  }

  /** Evaluates, emits and finalises one batch of claimed traces; never rejects. */
  private async complete(claimed: readonly ClaimedTrace[]): Promise<void> {
    const time = detectionTimeAt(this.now());
    const decisions: Decision[] = [];
    const emitted: EmittedSpan[] = [];
    for (const trace of claimed) {
      let spans: EmittedSpan[] = [];
      try {
        const context = this.options.ruleSetFor(trace.ruleSetKey);
        spans = this.options.evaluate({ traceId: trace.traceId, spans: trace.spans, context, trigger: trace.trigger }, time);
      } catch (err) {
        // Decided all the same: evaluating it again elsewhere would fail the same way.
        this.logger.error({ err, traceId: trace.traceId }, 'cannot evaluate a trace');
      }
      decisions.push({ traceId: trace.traceId, recordIds: spans.map((s) => s.recordId) });
      for (const span of spans) emitted.push(span);
    }
    if (emitted.length > 0 && !(await this.options.deliver(emitted))) {
      // Not decided: the fleet evaluates these traces again and sends then.
      await this.giveBack(decisions.map((d) => d.traceId));
      return;
    }
    await this.finalise(decisions);
  }

  /**
   * Marks traces decided, those whose claims this instance still holds: a
   * trace given back meanwhile (stopping) is another instance's to decide.
   */
  private async finalise(all: Decision[]): Promise<void> {
    const decisions = all.filter((d) => this.held.has(d.traceId));
    if (decisions.length === 0) return;
    try {
      await this.options.buffer.finalise(decisions);
      for (const d of decisions) this.held.delete(d.traceId);
    } catch (err) {
      // Still claimed (the leases are renewed), so nobody else emits them again meanwhile.
      this.unfinalised = this.unfinalised.concat(decisions);
      this.failed(err, 'cannot mark evaluated traces decided; retrying');
    }
  }

  private async retryFinalise(): Promise<void> {
    if (this.unfinalised.length === 0) return;
    const pending = this.unfinalised;
    this.unfinalised = [];
    await this.finalise(pending);
  }

  /** Releases the claims of those traces still held; returns how many were held. */
  private async giveBack(traceIds: readonly string[]): Promise<number> {
    const open = traceIds.filter((id) => this.held.has(id));
    for (const id of open) this.held.delete(id);
    const given = new Set(open);
    this.unfinalised = this.unfinalised.filter((d) => !given.has(d.traceId));
    if (open.length === 0) return 0;
    try {
      await this.options.buffer.release(open, this.now());
    } catch (err) {
      this.logger.warn({ err, traces: open.length }, 'cannot release claims; other instances take them after the lease');
    }
    return open.length;
  }

  private async renewLeases(): Promise<void> {
    if (this.held.size === 0 || !this.options.isConnected()) return;
    try {
      await this.options.buffer.renew([...this.held.keys()], this.now());
    } catch (err) {
      this.failed(err, 'cannot renew claims');
    }
  }

  private failed(err: unknown, message: string): void {
    // Logged when failures start; the metrics count every one.
    if (this.failing) return;
    this.failing = true;
    this.logger.warn({ err }, message);
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.logger.info({}, 'redis operations work again');
  }
}
