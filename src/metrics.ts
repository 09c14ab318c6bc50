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
  readonly providerEventDeliveries = new Counter({
    name: 'watrunk_provider_event_deliveries_total',
    help: 'Event deliveries from CAMS and Concepto Móvil (token paths), by provider and outcome (accepted, unknown_shape, bad_json, unknown_path, source_refused)',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly httpRejections = new Counter({
    name: 'watrunk_http_rejections_total',
    help: 'HTTP requests answered 4xx and connections refused, by listener (public, internal), status and reason (e.g. request_timeout, body_too_large, unsupported_media_type, rate_limited, too_many_connections, bad_signature, wrong_token, aborted)',
    labelNames: ['listener', 'status', 'reason'] as const,
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
  readonly callsEnded = new Counter({
    name: 'watrunk_calls_ended_total',
    help: 'Calls that ended, by direction, outcome and cause (e.g. pbx_media_timeout, session_timer_expired)',
    labelNames: ['direction', 'outcome', 'cause'] as const,
    registers: [this.registry],
  });
  readonly terminateFailures = new Counter({
    name: 'watrunk_terminate_failures_total',
    help: 'terminate/reject requests Meta never confirmed (the call may stay open and billed), by action and reason (refused: a 4xx answer; gave_up: every retry failed; abandoned: still unconfirmed when watrunk stopped, left to the call journal)',
    labelNames: ['action', 'reason'] as const,
    registers: [this.registry],
  });
  readonly terminateRetries = new Counter({
    name: 'watrunk_terminate_retries_total',
    help: 'terminate/reject requests sent again after a network error, a timeout or a 5xx, by action',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });
  readonly callsRecovered = new Counter({
    name: 'watrunk_calls_recovered_total',
    help: 'Calls found in the call journal at start-up (left open by a crash) and ended on WhatsApp, by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly journalWriteFailures = new Counter({
    name: 'watrunk_call_journal_write_failures_total',
    help: 'Writes to the call journal that failed (such a call is not recovered after a crash)',
    registers: [this.registry],
  });
  readonly metaSipEvents = new Counter({
    name: 'watrunk_meta_sip_events_total',
    help: 'SIP mode (docs/sip-mode.md): Meta INVITEs refused (refused), digest failures on watrunk\'s INVITEs (digest_failed), password re-fetches after one (password_refetched) and those that found a new password (password_changed)',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  readonly ngRetransmissions = new Counter({
    name: 'watrunk_rtpengine_ng_retransmissions_total',
    help: 'ng commands sent to rtpengine again because no reply came in time (lost UDP, busy engine)',
    registers: [this.registry],
  });
  readonly webhookToSip = new Histogram({
    name: 'watrunk_webhook_to_sip_seconds',
    help: 'From a webhook delivery\'s arrival to its call having handed the SIP response or request it causes to drachtio-server (its confirmation not awaited)',
    labelNames: ['event'],
    buckets: [0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
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
