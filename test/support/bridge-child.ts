/**
 * A watrunk bridge in a process of its own, for the crash-recovery test: fake SIP and media sides
 * (fake-pbx-bridge.ts), the real call journal and Graph client. Run with vite-node; configured by
 * the environment:
 *   WATRUNK_CHILD_SIM_URL   the simulator (Graph API base URL)
 *   WATRUNK_CHILD_PORT      the bridge's HTTP port (the simulator's webhook_url points at it)
 *   WATRUNK_CHILD_JOURNAL   journal.path
 * Logs (JSON lines, CDRs included) go to stdout. A line "bic <digits>" on stdin places a PBX call
 * to that WhatsApp number.
 */
import { createInterface } from 'node:readline';
import { openCallJournal } from '../../src/journal/call-journal.js';
import { createLogger } from '../../src/logging.js';
import { startFakePbxBridge } from './fake-pbx-bridge.js';
import { FakePbxUasLeg } from './fakes/fake-pbx-uas-leg.js';
import { inviteFrom } from './fakes/fake-pbx-invite.js';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

const logger = createLogger('info');
// The production default: a record counts once appended (kill -9 cannot undo that).
const journalConfig = { enabled: true, path: env('WATRUNK_CHILD_JOURNAL'), sync: 'interval' as const, sync_interval_ms: 100 };
const journal = await openCallJournal(journalConfig, logger);
const fx = await startFakePbxBridge({
  simUrl: env('WATRUNK_CHILD_SIM_URL'), port: Number(env('WATRUNK_CHILD_PORT')), logger,
  config: { journal: journalConfig }, ...(journal ? { journal } : {}),
});

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, to] = line.trim().split(/\s+/);
  if (command === 'bic' && to) void fx.bridge.pbxCalls!.handleInvite(inviteFrom(new FakePbxUasLeg({ to: `+${to}` }), fx.trunk));
});
process.on('SIGTERM', () => { void fx.bridge.stop().then(() => process.exit(0)); });
