import { Option, type Command } from 'commander';
import type { PermissionView } from '../control/control-plane.js';
import type { RequestOptions } from '../permissions/permission-gate.js';
import type { ControlContext } from './control-context.js';
import { EXIT, printJson, type CliIo } from './output.js';
import { DEFAULT_CONFIG, runControlCommand } from './run-control-command.js';

/** `watrunk permissions check|request` (docs/whatsapp-calling.md#permissions). */

const KEYS_HELP = `
<number> is a number's name, phone_number_id or display number; <user> is the WhatsApp user's
number with country code (digits, "+" allowed) or a BSUID such as US.13491208655302741918.
Config keys read: numbers[].name, .phone_number_id, .display_number, .access_token_env,
  .graph_version, .base_url, .timeout_ms,
  .provider and its block's API credentials (numbers[].d360, .cams, .conceptomovil).`;

function viewLines(v: PermissionView): string[] {
  const lines = [`${v.number} → ${v.user}: ${v.status}${v.expiresAt ? ` until ${v.expiresAt}` : ''} (${v.granted ? 'may be called' : 'may NOT be called'})`];
  if (v.canStartCall !== undefined) lines.push(`  start_call allowed now: ${v.canStartCall ? 'yes' : 'no'}`);
  if (v.canRequest !== undefined) lines.push(`  permission request allowed now: ${v.canRequest ? 'yes' : 'no'}`);
  for (const l of v.requestLimits ?? []) {
    const until = l.limitExpiresAt ? `, frees up ${new Date(l.limitExpiresAt * 1000).toISOString()}` : '';
    lines.push(`  requests ${l.timePeriod}: ${l.currentUsage}/${l.maxAllowed}${until}`);
  }
  return lines;
}

async function permissionsCheckCommand(ctx: ControlContext, number: string, user: string, opts: { json?: boolean }, io: CliIo): Promise<number> {
  const v = await ctx.plane.permissionsCheck(number, user);
  if (opts.json) printJson(io, v);
  else for (const l of viewLines(v)) io.out(l);
  return EXIT.ok;
}

async function permissionsRequestCommand(
  ctx: ControlContext, number: string, user: string,
  opts: { message?: 'auto' | 'interactive' | 'template'; body?: string; template?: string; language?: string; json?: boolean },
  io: CliIo,
): Promise<number> {
  const name = ctx.plane.number(number).config.name;
  const defaults = ctx.plane.requestOptionsFor(name);
  const req: RequestOptions = {
    ...defaults,
    ...(opts.message && { message: opts.message }),
    ...(opts.body !== undefined && { bodyText: opts.body }),
    ...(opts.template !== undefined && { template: { name: opts.template, language: opts.language ?? defaults.template?.language ?? 'en' } }),
  };
  const r = await ctx.plane.permissionsRequest(name, user, req);
  if (opts.json) { printJson(io, r); return r.outcome && !r.outcome.sent ? EXIT.failed : EXIT.ok; }
  for (const l of viewLines(r.before)) io.out(l);
  if (!r.outcome) { io.out('  already granted: no request sent'); return EXIT.ok; }
  if (r.outcome.sent) { io.out(`  permission request sent (${r.outcome.via} message ${r.outcome.messageId})`); return EXIT.ok; }
  io.err(`watrunk: no permission request sent: ${r.outcome.why}`);
  return EXIT.failed;
}

export function registerPermissionsCommand(program: Command): void {
  const permissions = program.command('permissions').description('Business-initiated call permissions: check, or ask the user (docs/whatsapp-calling.md#permissions)');

  permissions.command('check <number> <user>')
    .description('Whether the business may call the user now (GET call_permissions), with the request limits')
    .option('-c, --config <file>', 'config file (YAML)', DEFAULT_CONFIG)
    .option('--json', 'print JSON')
    .addHelpText('after', KEYS_HELP)
    .action(async (number: string, user: string, opts: { config: string; json?: boolean }) => {
      process.exitCode = await runControlCommand(opts.config, (ctx, io) => permissionsCheckCommand(ctx, number, user, opts, io), { number });
    });

  permissions.command('request <number> <user>')
    .description('Send a call permission request (billed; 1 per 24 h and 2 per 7 days per user) unless the user has granted permission')
    .option('-c, --config <file>', 'config file (YAML)', DEFAULT_CONFIG)
    .addOption(new Option('--message <kind>', 'auto (interactive; the template when the 24 h window is closed) | interactive | template')
      .choices(['auto', 'interactive', 'template']))
    .option('--body <text>', 'body of the interactive request')
    .option('--template <name>', 'approved template with a call_permission_request component')
    .option('--language <code>', 'template language (default: the trunk\'s, else "en")')
    .option('--json', 'print JSON')
    .addHelpText('after', `${KEYS_HELP}\n  trunks[].permission_policy.request (message, body_text, template) of the first trunk using the number: defaults.`)
    .action(async (number: string, user: string, opts: { config: string; message?: 'auto' | 'interactive' | 'template'; body?: string; template?: string; language?: string; json?: boolean }) => {
      process.exitCode = await runControlCommand(opts.config, (ctx, io) => permissionsRequestCommand(ctx, number, user, opts, io), { number });
    });
}
