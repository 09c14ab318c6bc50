import { metricValue } from '../../test/support/faults/metrics-text.js';

/**
 * prom-client's event-loop delay p99 samples the loop every 10 ms and each sample is the whole
 * interval, so an idle loop reads 10 ms; the delay itself is the rest
 * (https://nodejs.org/api/perf_hooks.html#perf_hooksmonitoreventloopdelayoptions).
 */
const SAMPLING_INTERVAL_MS = 10;

/** watrunk's event-loop delay p99 in ms, from a /metrics scrape, net of the sampling interval. */
export function loopDelayP99Ms(metricsText: string): number {
  return Math.max(0, metricValue(metricsText, 'watrunk_nodejs_eventloop_lag_p99_seconds') * 1000 - SAMPLING_INTERVAL_MS);
}
