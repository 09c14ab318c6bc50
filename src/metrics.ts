import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric watrunk exports, in one place so names stay consistent. Served at GET /metrics in
 * Prometheus text format. One instance per process (tests make their own).
 */
export class Metrics {
  readonly registry = new Registry();

  readonly webhookDeliveries = new Counter({
    name: 'watrunk_webhook_deliveries_total',
    help: 'Webhook POSTs received, by outcome (accepted, bad_signature, bad_json, too_large, bad_shape)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly webhookEvents = new Counter({
    name: 'watrunk_webhook_events_total',
    help: 'Events parsed from webhooks, by kind and disposition (dispatched, duplicate, stale, unknown_number, ignored)',
    labelNames: ['kind', 'disposition'] as const,
    registers: [this.registry],
  });
  readonly webhookUnknownNumber = new Counter({
    name: 'watrunk_webhook_unknown_number_total',
    help: 'Webhook changes for a phone_number_id that is not configured',
    registers: [this.registry],
  });
  readonly providerRequests = new Counter({
    name: 'watrunk_provider_requests_total',
    help: 'Requests to the WhatsApp provider, by operation and outcome (ok, api_error, timeout, network, protocol)',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly providerLatency = new Histogram({
    name: 'watrunk_provider_request_seconds',
    help: 'Latency of requests to the WhatsApp provider',
    labelNames: ['operation'] as const,
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly dependencyUp = new Gauge({
    name: 'watrunk_dependency_up',
    help: '1 when a dependency (drachtio, rtpengine) is reachable, else 0',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });
  readonly callsActive = new Gauge({
    name: 'watrunk_calls_active',
    help: 'Calls in progress, by direction and business number',
    labelNames: ['direction', 'number'] as const,
    registers: [this.registry],
  });
  readonly callAttempts = new Counter({
    name: 'watrunk_call_attempts_total',
    help: 'Call attempts, by direction and business number',
    labelNames: ['direction', 'number'] as const,
    registers: [this.registry],
  });
  readonly callsAnswered = new Counter({
    name: 'watrunk_calls_answered_total',
    help: 'Calls answered, by direction and business number',
    labelNames: ['direction', 'number'] as const,
    registers: [this.registry],
  });
  readonly callFailures = new Counter({
    name: 'watrunk_call_failures_total',
    help: 'Calls that ended without being answered, by direction and cause',
    labelNames: ['direction', 'cause'] as const,
    registers: [this.registry],
  });
  readonly postDialDelay = new Histogram({
    name: 'watrunk_post_dial_delay_seconds',
    help: 'Time from the PBX INVITE to the first ringing/early-media response',
    buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10],
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'watrunk_' });
  }
}
