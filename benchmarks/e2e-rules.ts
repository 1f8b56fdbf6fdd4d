/**
 * The generated rules of the end-to-end benchmark, loaded next to the
 * bundled ones. Most are about services the workload does not have
 * (inventory, auth, shipping, backups...), so the span-name index skips
 * them for every trace, as it would skip the rules of other teams in a real
 * deployment; a few are about the workload's own `payment.step_N` spans and
 * fire on a share of its traces.
 */

import { stringify } from 'yaml';

interface RuleSpec {
  readonly id: string;
  readonly name: string;
  readonly severity: 'critical' | 'high' | 'medium' | 'low';
  readonly condition: string;
  readonly tags: readonly string[];
  readonly compliance?: ReadonlyArray<{ framework: string; control: string }>;
}

/** Rules whose span names occur in the workload (otlp-workload.ts names every third one `payment.step_N`). */
const MATCHING: readonly RuleSpec[] = [
  {
    id: 'step-large-amount-fraud-checked',
    name: 'Large payment steps are fraud checked',
    severity: 'high',
    condition: 'when { payment.step_2.where(payment.amount > 2500) } always { payment.step_5.where(payment.fraud_checked == true) }',
    tags: ['payments', 'fraud'],
    compliance: [{ framework: 'PCI-DSS', control: '10.2.1' }],
  },
  {
    id: 'step-no-upstream-errors',
    name: 'Step 8 never answers 5xx',
    severity: 'medium',
    condition: 'when { payment.step_8 } never { payment.step_8.where(http.response.status_code >= 500) }',
    tags: ['payments', 'reliability'],
  },
  {
    id: 'step-usd-settled',
    name: 'USD payments are settled',
    severity: 'high',
    condition: 'when { payment.step_11.where(payment.currency == USD) } always { payment.step_14 }',
    tags: ['payments', 'settlement'],
  },
  {
    id: 'step-client-call-fast',
    name: 'Outgoing step 17 calls finish within 30 ms',
    severity: 'low',
    condition: 'when { payment.step_17.where(span:kind == client) } never { payment.step_17.where(span:duration > 30ms) }',
    tags: ['payments', 'latency'],
  },
  {
    id: 'step-single-capture',
    name: 'A payment is captured at most twice',
    severity: 'critical',
    condition: 'when { payment.step_20 } never { count(payment.step_20) > 2 }',
    tags: ['payments'],
  },
  {
    id: 'step-error-compensated',
    name: 'A failed step 26 is compensated',
    severity: 'high',
    condition: 'when { payment.step_26.where(span:status == error) } always { payment.step_29 or payment.step_32 }',
    tags: ['payments', 'consistency'],
  },
  {
    id: 'step-user-identified',
    name: 'Step 35 names a known user',
    severity: 'medium',
    condition: 'when { payment.step_35 } always { payment.step_35.where(user.id matches "^u-\\d+$") }',
    tags: ['payments', 'audit'],
    compliance: [{ framework: 'SOC2', control: 'CC7.2' }],
  },
];

/** Rules about spans the workload never has. */
const ABSENT: readonly RuleSpec[] = [
  rule('inventory-reserve-released', 'Failed reservations release stock', 'high',
    'when { inventory.reserve.where(span:status == error) } always { inventory.release }'),
  rule('inventory-reserve-bounded', 'An order reserves at most 20 lines', 'low',
    'when { inventory.reserve } never { count(inventory.reserve) > 20 }'),
  rule('inventory-adjust-audited', 'Large stock adjustments are explained', 'medium',
    'when { inventory.adjust.where(inventory.delta > 100) } always { audit.record.where(audit.reason != "") }'),
  rule('shipping-label-before-dispatch', 'A parcel is dispatched with a label', 'high',
    'when { shipping.dispatch } always { shipping.label_create }'),
  rule('shipping-carrier-known', 'Labels use a contracted carrier', 'medium',
    'when { shipping.label_create } never { shipping.label_create.where(not shipping.carrier in [dhl, ups, fedex, postnl]) }'),
  rule('auth-admin-mfa', 'Administrators pass MFA', 'critical',
    'when { auth.login.where(user.role == admin) } always { auth.mfa_verify.where(mfa.result == success) }',
    [{ framework: 'SOC2', control: 'CC6.1' }]),
  rule('auth-login-fast', 'Logins answer within 800 ms', 'low',
    'when { auth.login.where(span:kind == server) } never { auth.login.where(span:duration > 800ms) }'),
  rule('auth-reset-notified', 'Password resets are confirmed by mail', 'high',
    'when { auth.password_reset } always { email.send.where(email.template == password_reset) }'),
  rule('auth-token-refresh-limit', 'A client refreshes its token at most 3 times', 'low',
    'when { auth.token_refresh } never { count(auth.token_refresh) > 3 }'),
  rule('auth-brute-force-alerted', 'Repeated failed logins raise an alert', 'high',
    'when { auth.login.where(span:status == error) } never { count(auth.login) > 5 and not security.alert }'),
  rule('search-query-timeout', 'Searches finish within 2 s', 'medium',
    'when { search.query } never { search.query.where(span:duration > 2s) }'),
  rule('search-index-authorized', 'Index updates carry a write scope', 'high',
    'when { search.index_update } always { auth.token_check.where(token.scope contains "search:write") }'),
  rule('email-opt-out-honoured', 'Marketing mail skips opted-out users', 'high',
    'when { email.send.where(email.category == marketing) } never { email.send.where(user.opted_out == true) }',
    [{ framework: 'GDPR', control: 'Art.21' }]),
  rule('sms-rate-limited', 'A trace sends at most 10 text messages', 'medium',
    'when { sms.send } never { count(sms.send) > 10 }'),
  rule('report-export-masked', 'Exports with personal data are masked', 'critical',
    'when { report.export.where(report.contains_pii == true) } always { report.mask_fields }',
    [{ framework: 'HIPAA', control: '164.514(b)' }]),
  rule('report-generate-owner', 'Generated reports have an owner', 'low',
    'when { report.generate } never { report.generate.where(report.owner == "") }'),
  rule('cart-checkout-has-items', 'A checkout follows an added item', 'medium',
    'when { cart.checkout } always { cart.add_item }'),
  rule('cart-large-reviewed', 'Carts above 10000 are risk reviewed', 'high',
    'when { cart.checkout.where(cart.total > 10000) } always { risk.review }'),
  rule('kyc-document-scanned', 'Uploaded identity documents are scanned', 'high',
    'when { kyc.document_upload } always { kyc.virus_scan.where(scan.result == clean) }'),
  rule('kyc-before-payout', 'Payouts go to verified customers', 'critical',
    'when { payout.execute } always { kyc.verify.where(kyc.status == approved) }',
    [{ framework: 'PCI-DSS', control: '8.3.1' }]),
  rule('payout-large-approved', 'Payouts from 50000 need an approver', 'critical',
    'when { payout.execute.where(payout.amount >= 50000) } always { payout.approval.where(approver.id != "") }',
    [{ framework: 'SOC2', control: 'CC6.3' }]),
  rule('admin-user-delete-audited', 'Deleting a user is audited', 'high',
    'when { admin.user_delete } always { admin.audit_record }',
    [{ framework: 'SOC2', control: 'CC6.2' }]),
  rule('admin-role-grant-approved', 'Privileged roles are granted with approval', 'critical',
    'when { admin.role_grant.where(role.name in [owner, billing_admin]) } always { admin.approval }',
    [{ framework: 'SOC2', control: 'CC6.3' }]),
  rule('backup-snapshot-verified', 'Snapshots are verified', 'medium',
    'when { backup.snapshot } always { backup.verify.where(span:status != error) }',
    [{ framework: 'SOC2', control: 'A1.2' }]),
  rule('backup-encrypted', 'Snapshots are encrypted', 'critical',
    'when { backup.snapshot } never { backup.snapshot.where(backup.encrypted == false) }'),
  rule('deploy-production-approved', 'Production rollouts are approved', 'high',
    'when { deploy.rollout.where(deploy.environment == production) } always { deploy.approve }',
    [{ framework: 'SOC2', control: 'CC8.1' }]),
  rule('deploy-no-force-push', 'Releases never force-push', 'high',
    'when { git.push } never { git.push.where(git.force == true) }'),
  rule('webhook-retry-bounded', 'A webhook is tried at most 8 times', 'low',
    'when { webhook.deliver } never { count(webhook.deliver) > 8 }'),
  rule('webhook-signed', 'Webhooks are signed', 'high',
    'when { webhook.deliver } never { webhook.deliver.where(webhook.signed != true) }'),
  rule('cache-miss-filled', 'A cache miss fills or bypasses the cache', 'low',
    'when { cache.lookup.where(cache.hit == false) } always { cache.fill or cache.bypass }'),
  rule('storage-upload-size', 'Uploads stay under 100 MiB', 'medium',
    'when { storage.upload } never { storage.upload.where(file.size_bytes > 104857600) }'),
  rule('storage-no-public-acl', 'Buckets are never made public', 'critical',
    'when { storage.put_acl } never { storage.put_acl.where(acl.grant contains "AllUsers") }'),
  rule('subscription-cancel-confirmed', 'Cancellations are confirmed by mail', 'medium',
    'when { subscription.cancel } always { email.send.where(email.template == cancel_confirmation) }'),
  rule('privacy-erasure-completed', 'Erasure requests complete', 'high',
    'when { privacy.erasure_request } always { privacy.erasure_complete }',
    [{ framework: 'GDPR', control: 'Art.17' }]),
  rule('model-predict-versioned', 'Predictions name their model version', 'low',
    'when { model.predict } never { model.predict.where(model.version == "") }'),
  rule('queue-failures-dead-lettered', 'Failed messages go to the dead-letter queue', 'medium',
    'when { queue.consume.where(span:kind == consumer) } never { queue.consume.where(span:status == error) and not queue.dead_letter }'),
];

/**
 * The YAML text of a rule file with `count` rules: all the matching ones
 * first (as many as fit), then rules about absent services. Past the list,
 * absent rules repeat under new service names (`inventory2.reserve`...).
 */
export function createBenchRulesYaml(count: number): string {
  const rules: RuleSpec[] = MATCHING.slice(0, count);
  for (let i = 0; rules.length < count; i++) {
    const base = ABSENT[i % ABSENT.length];
    const copy = Math.floor(i / ABSENT.length);
    rules.push(copy === 0 ? base : renameServices(base, copy + 1));
  }
  return stringify({ rules: rules.map(toYamlRule) }, { lineWidth: 0 });
}

/** How many generated rules match the workload's span names, for `count` generated rules. */
export function countMatchingRules(count: number): number {
  return Math.min(count, MATCHING.length);
}

function rule(
  id: string,
  name: string,
  severity: RuleSpec['severity'],
  condition: string,
  compliance?: RuleSpec['compliance'],
): RuleSpec {
  return { id, name, severity, condition, tags: [id.split('-')[0]], compliance };
}

function renameServices(spec: RuleSpec, copy: number): RuleSpec {
  // Span names start with a service segment followed by a dot; suffixing it
  // keeps them absent from the workload and distinct from the first copy.
  const condition = spec.condition.replace(
    /(\{\s*|\(|or |and |not )([a-z]+)\.(?=[a-z_]+[\s.)}])/g,
    (_m, before: string, service: string) => `${before}${service}${copy}.`,
  );
  return { ...spec, id: `${spec.id}-${copy}`, name: `${spec.name} (${copy})`, condition };
}

function toYamlRule(spec: RuleSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: spec.id,
    name: spec.name,
    severity: spec.severity,
    tags: [...spec.tags],
    condition: spec.condition,
  };
  if (spec.compliance !== undefined) out.compliance = spec.compliance.map((c) => ({ ...c }));
  return out;
}
