import { Counter, Gauge, type Registry } from 'prom-client';
import type { Metrics } from '../metrics.js';
import type { PermissionMetrics } from '../permissions/permission-cache.js';

/**
 * Metrics of the calling control plane (settings, restrictions, call permissions). Registered on the
 * bridge's own registry (src/metrics.ts stays untouched); a second ControlMetrics on the same
 * registry reuses the metrics already there instead of failing on duplicate names.
 */
export class ControlMetrics implements PermissionMetrics {
  /** account_update / account_settings_update webhooks, by event (ACCOUNT_RESTRICTION, ...). */
  readonly accountNotices: Counter<'event'>;
  /** Restrictions currently in force, by business number and type (docs/whatsapp-calling.md#account-notices). */
  readonly restrictions: Gauge<'number' | 'type'>;
  /** 1 when a number's configured mode disagrees with Meta's sip.status (docs/whatsapp-calling.md#sip-mode). */
  readonly sipModeMismatch: Gauge<'number'>;
  /** call_permissions look-ups, by number and source (cache, graph, throttled, error). */
  readonly permissionLookups: Counter<'number' | 'source'>;
  /** Permission gate decisions, by number and outcome (allowed, denied, requested, error_allowed, error_rejected). */
  readonly permissionDecisions: Counter<'number' | 'outcome'>;

  constructor(metrics: Metrics) {
    const registry = metrics.registry;
    this.accountNotices = counter(registry, 'watrunk_account_notices_total',
      'account_update and account_settings_update webhooks, by event', ['event']);
    this.restrictions = gauge(registry, 'watrunk_calling_restrictions',
      'Calling restrictions Meta reports as in force, by business number and restriction type', ['number', 'type']);
    this.sipModeMismatch = gauge(registry, 'watrunk_sip_mode_mismatch',
      '1 when a number\'s configured mode (api|sip) disagrees with Meta\'s sip.status', ['number']);
    this.permissionLookups = counter(registry, 'watrunk_permission_lookups_total',
      'Call permission look-ups, by business number and source (cache, graph, throttled, error)', ['number', 'source']);
    this.permissionDecisions = counter(registry, 'watrunk_permission_decisions_total',
      'Permission gate decisions before connect, by business number and outcome', ['number', 'outcome']);
  }
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}
