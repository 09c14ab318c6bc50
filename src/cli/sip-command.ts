import { InvalidArgumentError, type Command } from 'commander';
import { describeServer, type SipPlan } from '../control/sip/sip-block.js';
import type { ControlContext } from './control-context.js';
import { EXIT, printJson, type CliIo } from './output.js';
import { DEFAULT_CONFIG, runControlCommand } from './run-control-command.js';

/** `watrunk sip status|enable|disable|credentials` (docs/whatsapp-calling.md#sip-mode). */

const KEYS_HELP = `
<number> is a number's name, phone_number_id or display number.
Config keys read: numbers[].name, .phone_number_id, .display_number, .access_token_env,
  .graph_version, .base_url, .timeout_ms, .mode (api | sip),
  .provider and its block's API credentials (numbers[].d360, .cams, .conceptomovil).`;

const DEFAULT_CREDENTIALS_STATE = 'var/sip-credentials.json';

export async function sipStatusCommand(ctx: ControlContext, number: string, opts: { json?: boolean }, io: CliIo): Promise<number> {
  const s = await ctx.plane.sipStatusOf(number);
  if (opts.json) { printJson(io, s); return EXIT.ok; }
  io.out(`${s.number}: sip.status ${s.status} (configured mode: ${s.configuredMode}; calling.status ${s.callingStatus})`);
  if (s.servers.length === 0) io.out('  servers: none');
  for (const srv of s.servers) io.out(`  server: ${describeServer(srv)}${srv.app_id ? ` (app ${srv.app_id})` : ''}`);
  if (s.webhookDelivery) io.out(`  webhook_delivery: ${s.webhookDelivery}`);
  io.out(`  ${s.mode.state === 'mismatch' ? 'MISMATCH' : s.mode.state}: ${s.mode.detail}`);
  if (s.mode.state === 'mismatch') io.err(`watrunk: WARNING: ${s.number}: ${s.mode.detail}`);
  return EXIT.ok;
}

function printPlan(io: CliIo, plan: SipPlan, dryRun: boolean | undefined): number {
  io.out(`${plan.number}: ${plan.changes.length ? 'changes:' : 'nothing to change'}`);
  for (const c of plan.changes) io.out(`  ~ ${c}`);
  for (const n of plan.notes) io.out(`  note: ${n}`);
  if (plan.refused) {
    io.err(`watrunk: refused, nothing sent: ${plan.refused}`);
    return EXIT.failed;
  }
  if (plan.changes.length) io.out(plan.applied ? '  applied' : dryRun ? '  dry run: nothing sent' : '  not applied');
  return EXIT.ok;
}

export async function sipEnableCommand(
  ctx: ControlContext, number: string,
  opts: { hostname?: string; port?: number; uriParam?: Record<string, string>; force?: boolean; dryRun?: boolean; json?: boolean },
  io: CliIo,
): Promise<number> {
  const plan = await ctx.plane.sipEnableOn(number, {
    ...(opts.hostname !== undefined && { hostname: opts.hostname }),
    ...(opts.port !== undefined && { port: opts.port }),
    ...(opts.uriParam !== undefined && { requestUriUserParams: opts.uriParam }),
    force: opts.force === true, dryRun: opts.dryRun === true,
  });
  if (opts.json) { printJson(io, plan); return plan.refused ? EXIT.failed : EXIT.ok; }
  return printPlan(io, plan, opts.dryRun);
}

export async function sipDisableCommand(ctx: ControlContext, number: string, opts: { dryRun?: boolean; json?: boolean }, io: CliIo): Promise<number> {
  const plan = await ctx.plane.sipDisableOn(number, { dryRun: opts.dryRun === true });
  if (opts.json) { printJson(io, plan); return EXIT.ok; }
  return printPlan(io, plan, opts.dryRun);
}

export async function sipCredentialsCommand(
  ctx: ControlContext, number: string,
  opts: { reveal?: boolean; output?: string; hostname?: string; stateFile?: string; json?: boolean },
  io: CliIo,
): Promise<number> {
  const report = await ctx.plane.sipCredentialsOf(number, {
    stateFile: opts.stateFile ?? ctx.config.admin?.credentials_state_file ?? DEFAULT_CREDENTIALS_STATE,
    reveal: opts.reveal === true,
    ...(opts.output !== undefined && { outputFile: opts.output }),
    ...(opts.hostname !== undefined && { hostname: opts.hostname }),
  });
  if (opts.json) printJson(io, report);
  else {
    if (report.credentials.length === 0) io.out(`${report.number}: Meta returned no SIP credentials (no SIP server configured?)`);
    for (const c of report.credentials) {
      const state = c.firstFetch ? 'first fetch' : c.changedSinceLastFetch ? 'CHANGED since the last fetch' : 'unchanged since the last fetch';
      io.out(`${report.number}: ${c.hostname}:${c.port}  password ${c.password}  (${state})`);
    }
    if (report.writtenTo) io.out(`password written to ${report.writtenTo} (mode 0600)`);
  }
  for (const c of report.credentials.filter((x) => x.changedSinceLastFetch)) {
    io.err(`watrunk: WARNING: the SIP password for ${report.number} (${c.hostname}) has changed since the last fetch: update the PBX/SBC`);
  }
  return EXIT.ok;
}

function portNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('a port between 1 and 65535');
  return n;
}

function uriParam(v: string, prev: Record<string, string> = {}): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError('key=value, e.g. tgrp=wacall');
  return { ...prev, [v.slice(0, i)]: v.slice(i + 1) };
}

export function registerSipCommand(program: Command): void {
  const sip = program.command('sip').description("The number's `sip` block: SIP signalling instead of the Graph API, and its credentials (docs/whatsapp-calling.md#sip-mode)");

  sip.command('status <number>')
    .description("Show Meta's sip block and whether it matches the configured mode")
    .option('-c, --config <file>', 'config file (YAML)', DEFAULT_CONFIG)
    .option('--json', 'print JSON')
    .addHelpText('after', KEYS_HELP)
    .action(async (number: string, opts: { config: string; json?: boolean }) => {
      process.exitCode = await runControlCommand(opts.config, (ctx, io) => sipStatusCommand(ctx, number, opts, io), { number });
    });

  sip.command('enable <number>')
    .description('Enable SIP signalling: Meta then dials your SIP server and the Graph /calls endpoints fail with 131055. Refused when the number is configured in api mode, unless --force')
    .option('-c, --config <file>', 'config file (YAML)', DEFAULT_CONFIG)
    .option('--hostname <host>', 'your SIP server (TLS only); required unless Meta already has one')
    .option('--port <port>', 'TLS port (default 5061)', portNumber)
    .option('--uri-param <key=value>', 'request_uri_user_params entry, e.g. tgrp=wacall (repeatable)', uriParam)
    .option('--force', 'enable even though the config says mode: api')
    .option('--dry-run', 'show what would change, send nothing')
    .option('--json', 'print JSON')
    .addHelpText('after', KEYS_HELP)
    .action(async (number: string, opts: { config: string; hostname?: string; port?: number; uriParam?: Record<string, string>; force?: boolean; dryRun?: boolean; json?: boolean }) => {
      process.exitCode = await runControlCommand(opts.config, (ctx, io) => sipEnableCommand(ctx, number, opts, io), { number });
    });

  sip.command('disable <number>')
    .description('Disable SIP signalling (back to API mode); the server entries are kept')
    .option('-c, --config <file>', 'config file (YAML)', DEFAULT_CONFIG)
    .option('--dry-run', 'show what would change, send nothing')
    .option('--json', 'print JSON')
    .addHelpText('after', KEYS_HELP)
    .action(async (number: string, opts: { config: string; dryRun?: boolean; json?: boolean }) => {
      process.exitCode = await runControlCommand(opts.config, (ctx, io) => sipDisableCommand(ctx, number, opts, io), { number });
    });

  sip.command('credentials <number>')
    .description('Fetch the SIP password Meta generated (include_sip_credentials=true); masked unless --reveal; notices when it changed since the last fetch')
    .option('-c, --config <file>', 'config file (YAML)', DEFAULT_CONFIG)
    .option('--reveal', 'print the password itself')
    .option('-o, --output <file>', 'write the password (one line) to this file, mode 0600, for a PBX or SBC')
    .option('--hostname <host>', 'with several server entries: the one to write')
    .option('--state-file <file>', `fingerprint state (sha256, never the password); default admin.credentials_state_file or ${DEFAULT_CREDENTIALS_STATE}`)
    .option('--json', 'print JSON')
    .addHelpText('after', `${KEYS_HELP}\n  admin.credentials_state_file (fingerprint state).`)
    .action(async (number: string, opts: { config: string; reveal?: boolean; output?: string; hostname?: string; stateFile?: string; json?: boolean }) => {
      process.exitCode = await runControlCommand(opts.config, (ctx, io) => sipCredentialsCommand(ctx, number, opts, io), { number });
    });
}
