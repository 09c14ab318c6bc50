#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError, loadConfig } from './config/load.js';
import { startBridge } from './bridge.js';
import { createLogger } from './logging.js';
import { registerPermissionsCommand } from './cli/permissions-command.js';
import { registerSettingsCommand } from './cli/settings-command.js';
import { registerSipCommand } from './cli/sip-command.js';

const DEFAULT_CONFIG = 'config/watrunk.yaml';

/** Exits with a message a person can act on; config problems name the key. */
function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`watrunk: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`watrunk: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}

/** Stops cleanly on SIGINT/SIGTERM (a second signal forces the exit). */
function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`watrunk: ${signal} received, stopping\n`);
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
  log.level, http.host, http.port,
  webhook.path, webhook.verify_token_env, webhook.app_secret_env, webhook.max_body_bytes,
  webhook.max_event_age_s, webhook.dedupe_capacity,
  numbers[].name, .provider, .phone_number_id, .display_number, .access_token_env,
  numbers[].graph_version, .base_url, .mode, .timeout_ms, .max_concurrent_calls,
  drachtio.host, .port, .secret_env, rtpengine.engines[].host/.port, rtpengine.timeout_ms,
  trunks[].name, .sources, .auth.{username,password_env,realm}, .numbers, .number_header,
  trunks[].dial_plan.*, .max_cps, calls.no_answer_timeout_s, .answer_on_first_media,
  calls.first_media_packets, .media_poll_ms
Secrets come from the environment variables those *_env keys name (never from the file).`)
  .action(async (opts: { config: string }) => {
    try {
      const loaded = loadConfig(opts.config);
      const bridge = await startBridge(loaded);
      onShutdown(() => bridge.stop());
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
  access_token_env | access_token, webhook_url, app_secret_env | app_secret, calling), limits.*,
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
