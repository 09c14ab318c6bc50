#!/usr/bin/env node
import { Command } from 'commander';
import { describeStartupFailure, loadConfig } from './config/load.js';
import { startBridge } from './bridge.js';
import { openCallJournal } from './journal/call-journal.js';
import { createLogger } from './logging.js';
import { registerPermissionsCommand } from './cli/permissions-command.js';
import { registerSettingsCommand } from './cli/settings-command.js';
import { registerSipCommand } from './cli/sip-command.js';

const DEFAULT_CONFIG = 'config/watrunk.yaml';

/** Exits with a message a person can act on: one line per problem, each naming its config key. */
function fail(err: unknown): never {
  const { lines, exitCode } = describeStartupFailure(err);
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(exitCode);
}

/**
 * Stops cleanly on SIGINT/SIGTERM (a second signal forces the exit). With `graceS`, the exit comes
 * at most a second after it even if stopping hangs (README "Signals and draining").
 */
function onShutdown(stop: () => Promise<void>, graceS?: number): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`watrunk: ${signal} received, stopping\n`);
    if (graceS !== undefined) {
      setTimeout(() => {
        process.stderr.write(`watrunk: not stopped within shutdown.grace_s (${graceS} s): exiting now\n`);
        process.exit(1);
      }, graceS * 1000 + 1000).unref();
    }
    stop().then(() => process.exit(0), (err) => fail(err));
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

const program = new Command()
  .name('watrunk')
  .description('SIP-to-WhatsApp trunk bridge: WhatsApp Business Calling as an ordinary SIP trunk')
  .showHelpAfterError();

program.command('start')
  .description('Run the bridge: webhook ingress, Calling API client (SIP and media sides when configured)')
  .option('-c, --config <file>', 'config file (YAML)', DEFAULT_CONFIG)
  .addHelpText('after', `
Config keys read (see config/watrunk.example.yaml for every key with comments):
  log.level, http.host, http.port, http.*_timeout_ms, http.max_connections_per_ip,
  http.requests_per_ip_per_s, http.request_burst_per_ip, http.trust_proxy,
  internal_http.host, internal_http.port, internal_http.*_timeout_ms,
  webhook.path, webhook.verify_token_env, webhook.app_secret_env, webhook.max_body_bytes,
  webhook.max_event_age_s, webhook.dedupe_capacity, webhook.provider_events_prefix,
  numbers[].name, .provider, .phone_number_id, .display_number, .access_token_env,
  numbers[].graph_version, .base_url, .mode, .timeout_ms, .max_concurrent_calls,
  numbers[].d360.*, .cams.*, .conceptomovil.* (360dialog, Alibaba CAMS, Concepto Móvil: README "Providers"),
  drachtio.host, .port, .secret_env, rtpengine.engines[].host/.port, rtpengine.timeout_ms,
  trunks[].name, .sources, .auth.{username,password_env,realm}, .numbers, .number_header,
  trunks[].dial_plan.*, .max_cps, calls.no_answer_timeout_s, .answer_on_first_media,
  calls.first_media_packets, .media_poll_ms, shutdown.grace_s, journal.enabled, journal.path
SIGTERM/SIGINT drain: no new calls, every call ended, exit within shutdown.grace_s.
Secrets come from the environment variables those *_env keys name (never from the file).`)
  .action(async (opts: { config: string }) => {
    try {
      const loaded = loadConfig(opts.config);
      // Live WhatsApp calls on disk: the calls a crash left open are ended by this start.
      const journal = await openCallJournal(loaded.config.journal, createLogger(loaded.config.log.level));
      const bridge = await startBridge(loaded, journal ? { journal } : {});
      onShutdown(() => bridge.stop(), loaded.config.shutdown.grace_s);
    } catch (err) {
      fail(err);
    }
  });

program.command('simulate')
  .description('Run the WhatsApp Calling API simulator (Graph API paths, signed webhooks, scripted users)')
  .option('-c, --config <file>', 'simulator config file (YAML)', 'config/simulator.yaml')
  .option('--call <from>', 'after start-up, place one user-initiated call from this WhatsApp number')
  .option('--to <phoneNumberId>', 'with --call: the phone_number_id to call (default: the first configured)')
  .addHelpText('after', `
Config keys read (every key is documented in config/simulator.yaml): http.host, http.port,
  graph_version, seed, require_calling_enabled, numbers[] (phone_number_id, display_number,
  access_token_env | access_token, webhook_url, app_secret_env | app_secret, calling, dialect
  meta | 360dialog | cams | conceptomovil and its credentials, event_format), limits.*,
  timing.*, webhooks.*, users[] and default_user (scripted WhatsApp users), media.*, faults.*
Control API: GET /_sim/calls, POST /_sim/calls (start a user-initiated call), /_sim/faults,
  /_sim/permissions, /_sim/webhooks, /_sim/status, /_sim/reset (see config/simulator.yaml).`)
  .action(async (opts: { config: string; call?: string; to?: string }) => {
    try {
      const { runSimulatorFromFile } = await import('./simulator/index.js');
      const logger = createLogger(process.env['WATRUNK_LOG_LEVEL'] ?? 'info');
      const sim = await runSimulatorFromFile(opts.config, { logger });
      onShutdown(() => sim.close());
      if (opts.call) {
        const { callId } = await sim.startUserCall({ from: opts.call, ...(opts.to ? { phoneNumberId: opts.to } : {}) });
        logger.info({ callId }, 'user-initiated call started');
      }
    } catch (err) {
      fail(err);
    }
  });

// Calling control plane (src/control): settings as code, the sip block and credentials, call permissions.
registerSettingsCommand(program);
registerSipCommand(program);
registerPermissionsCommand(program);

await program.parseAsync(process.argv);
