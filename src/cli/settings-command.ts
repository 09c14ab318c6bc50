import type { Command } from 'commander';
import { describeRestriction } from '../control/settings/restrictions-board.js';
import type { SettingsChange } from '../control/settings/settings-diff.js';
import type { ControlContext } from './control-context.js';
import { brief, EXIT, printJson, yamlBlock, type CliIo } from './output.js';
import { DEFAULT_CONFIG, runControlCommand } from './run-control-command.js';

/** `watrunk settings get|diff|apply` (docs/whatsapp-calling.md#settings). */

const KEYS_HELP = `
Config keys read: numbers[].name, .phone_number_id, .display_number, .access_token_env,
  .graph_version, .base_url, .timeout_ms, .mode, .provider and its block's API credentials (CAMS: settings
  read-only; Concepto Móvil: write-only), and numbers[].calling (the desired settings:
  status, call_icon_visibility, call_icons.restrict_to_user_countries, call_hours, callback_permission_status,
  srtp_key_exchange_protocol, audio.additional_codecs, voicemail, sip). See config/watrunk.example.yaml.
Only the numbers' access tokens are read from the environment.`;

function changeLines(c: SettingsChange): string[] {
  const simple = typeof c.live !== 'object' && typeof c.desired !== 'object';
  const lines = simple
    ? [`  ~ ${c.key}: ${brief(c.live)} → ${brief(c.desired)}`]
    : [`  ~ ${c.key}:`, `      Meta:   ${brief(c.live)}`, `      config: ${brief(c.desired)}`];
  for (const n of c.notes) lines.push(`      note: ${n}`);
  return lines;
}

export async function settingsGetCommand(ctx: ControlContext, number: string, opts: { json?: boolean }, io: CliIo): Promise<number> {
  const view = await ctx.plane.settingsGet(number);
  if (opts.json) { printJson(io, view); return EXIT.ok; }
  io.out(view.provider === 'meta'
    ? `${view.number} (phone_number_id ${view.phoneNumberId}, mode ${view.mode})`
    : `${view.number} (provider ${view.provider}, ${view.phoneNumberId}, mode ${view.mode})`);
  io.out('calling:');
  for (const l of yamlBlock(view.calling)) io.out(l);
  io.out(`restrictions: ${view.restrictions.length ? '' : 'none reported'}`);
  for (const r of view.restrictions) io.out(`  - ${describeRestriction(r)}`);
  io.out(`sip mode: ${view.sipMode.state} — ${view.sipMode.detail}`);
  if (view.sipMode.state === 'mismatch') io.err(`watrunk: WARNING: ${view.number}: ${view.sipMode.detail}`);
  return EXIT.ok;
}

export async function settingsDiffCommand(
  ctx: ControlContext, number: string | undefined, opts: { json?: boolean; exitCode?: boolean }, io: CliIo,
): Promise<number> {
  const diffs = await ctx.plane.settingsDiff(number);
  const differs = diffs.some((d) => d.changes.length > 0);
  if (opts.json) printJson(io, diffs);
  else {
    for (const d of diffs) {
      if (!d.declared) io.out(`${d.number}: no numbers[].calling block in the config — nothing managed`);
      else if (d.changes.length === 0) io.out(`${d.number}: in sync with Meta`);
      else if (d.liveUnknown) {
        io.out(`${d.number}: ${d.liveUnknown}; apply sends every declared key (${d.changes.length})`);
        for (const c of d.changes) io.out(`  ~ ${c.key}: ${brief(c.desired)}`);
      }
      else {
        io.out(`${d.number}: ${d.changes.length} focused update(s) to send`);
        for (const c of d.changes) for (const l of changeLines(c)) io.out(l);
      }
    }
  }
  return differs && opts.exitCode ? EXIT.differences : EXIT.ok;
}

export async function settingsApplyCommand(
  ctx: ControlContext, number: string | undefined, opts: { json?: boolean; dryRun?: boolean }, io: CliIo,
): Promise<number> {
  const results = await ctx.plane.settingsApply({ ...(number !== undefined && { number }), dryRun: opts.dryRun === true });
  if (opts.json) printJson(io, results);
  else {
    for (const r of results) {
      if (!r.declared) { io.out(`${r.number}: no numbers[].calling block in the config — nothing managed`); continue; }
      if (r.refused) {
        io.out(`${r.number}: nothing sent — ${r.refused.length === 1 && !r.refused[0]!.startsWith('calling.') ? 'refused:' : 'the settings break Meta\'s rules:'}`);
        for (const p of r.refused) io.out(`  ! ${p}`);
        continue;
      }
      if (r.changes.length === 0) { io.out(`${r.number}: in sync with Meta, nothing to send`); continue; }
      io.out(`${r.number}: ${r.dryRun ? 'dry run, nothing sent; would send' : 'sent'} ${r.changes.length} focused update(s)`);
      for (const c of r.changes) {
        const mark = r.dryRun ? '~' : c.applied ? '+' : c.error ? '!' : '-';
        const [first, ...rest] = changeLines(c);
        io.out(`${first!.replace('  ~', `  ${mark}`)}${c.error ? `  FAILED: ${c.error}` : ''}`);
        for (const l of rest) io.out(l);
      }
      if (!r.dryRun && r.remaining.length) io.out(`  still different on Meta after applying: ${r.remaining.map((c) => c.key).join(', ')}`);
      if (r.note) io.out(`  note: ${r.note}`);
    }
  }
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
}

export function registerSettingsCommand(program: Command): void {
  const settings = program.command('settings').description('Calling settings as code: read, compare with the config, apply (docs/whatsapp-calling.md#settings)');

  settings.command('get <number>')
    .description("Print the number's live calling settings (GET /settings), Meta's restrictions, and whether its sip.status matches the configured mode")
    .option('-c, --config <file>', 'config file (YAML)', DEFAULT_CONFIG)
    .option('--json', 'print JSON')
    .addHelpText('after', `\n<number> is a number's name, phone_number_id or display number.${KEYS_HELP}`)
    .action(async (number: string, opts: { config: string; json?: boolean }) => {
      process.exitCode = await runControlCommand(opts.config, (ctx, io) => settingsGetCommand(ctx, number, opts, io), { number });
    });

  settings.command('diff [number]')
    .description('Show, per number, what differs between numbers[].calling and Meta (all numbers when none is given)')
    .option('-c, --config <file>', 'config file (YAML)', DEFAULT_CONFIG)
    .option('--json', 'print JSON')
    .option('--exit-code', 'exit 3 when something differs')
    .addHelpText('after', KEYS_HELP)
    .action(async (number: string | undefined, opts: { config: string; json?: boolean; exitCode?: boolean }) => {
      process.exitCode = await runControlCommand(opts.config, (ctx, io) => settingsDiffCommand(ctx, number, opts, io), { ...(number !== undefined && { number }) });
    });

  settings.command('apply [number]')
    .description('Send only what differs, one feature group per request; omitting holiday_schedule deletes the holidays, so declared holidays are always sent with call_hours')
    .option('-c, --config <file>', 'config file (YAML)', DEFAULT_CONFIG)
    .option('--dry-run', 'show what would be sent, send nothing')
    .option('--json', 'print JSON')
    .addHelpText('after', `${KEYS_HELP}\nApplying twice changes nothing the second time. Exit 1 when an update failed.`)
    .action(async (number: string | undefined, opts: { config: string; dryRun?: boolean; json?: boolean }) => {
      process.exitCode = await runControlCommand(opts.config, (ctx, io) => settingsApplyCommand(ctx, number, opts, io), { ...(number !== undefined && { number }) });
    });
}
