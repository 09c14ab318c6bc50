/**
 * The real-phone harness on its own, no watrunk involved: baresip and linphonec run headless on
 * 127.0.0.1 with tone files as microphones, call each other (directly and through a
 * Record-Routing Kamailio), and the tones each one recorded prove audio flowed both ways.
 * Each test skips, saying why, when its binaries are missing.
 */
import { afterAll, afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { BaresipPhone } from '../support/phones/baresip-phone.js';
import { LinphonePhone } from '../support/phones/linphone-phone.js';
import { describeTone, toneReport } from '../support/phones/audio.js';
import type { SoftPhone } from '../support/phones/softphone.js';
import { tail } from '../support/phones/process.js';
import { kamailioSkipReason, sipOptionsPing, startKamailio, type KamailioInstance } from '../support/kamailio.js';
import { waitFor } from '../support/media/wait.js';

const baresipSkip = BaresipPhone.skipReason();
const linphoneSkip = LinphonePhone.skipReason();
const kamailioSkip = kamailioSkipReason();
for (const reason of [baresipSkip, linphoneSkip, kamailioSkip]) {
  if (reason) console.warn(`[real-phones] skipping tests that need it: ${reason}`);
}

/** Title suffix naming why a test skips. */
function skipNote(...reasons: (string | undefined)[]): string {
  const r = reasons.filter((x): x is string => x !== undefined);
  return r.length ? ` (skipped: ${r.join('; ')})` : '';
}

const A_HZ = 440;
const B_HZ = 1000;
/** Established within this; phones on loopback answer in well under a second. */
const CALL_MS = 5_000;

type Stoppable = { stop(): Promise<void> };
const running: Stoppable[] = [];
function track<T extends Stoppable>(x: T): T {
  running.push(x);
  return x;
}
async function stopAll(): Promise<void> {
  await Promise.all(running.splice(0).map((x) => x.stop().catch(() => undefined)));
}
afterEach(stopAll);
afterAll(stopAll);

/** On failure, print what each process said (the phones' SIP traces included). */
function dumpOnFailure(parts: Record<string, { logs(): string }>): void {
  onTestFailed(() => {
    for (const [name, p] of Object.entries(parts)) console.error(`--- ${name} ---\n${tail(p.logs(), 8_000)}`);
  });
}

/** Waits until `phone` has recorded at least `seconds` of audio, then returns the tone report. */
async function heard(phone: SoftPhone, hz: number, seconds = 2): Promise<ReturnType<typeof toneReport>> {
  const audio = await waitFor(`${phone.kind} :${phone.sipPort} recorded ${seconds} s`, async () => {
    const a = await phone.receivedAudio();
    return a.samples.length >= (seconds + 0.3) * a.sampleRate ? a : undefined;
  }, { timeoutMs: (seconds + 4) * 1_000, intervalMs: 100 });
  return toneReport(audio, hz);
}

function expectTone(r: ReturnType<typeof toneReport>, hz: number, who: string): void {
  expect(r.fraction, `${who}: ${describeTone(r, hz)}`).toBeGreaterThan(0.8);
  expect(r.dominantHz, `${who}: ${describeTone(r, hz)}`).toBeGreaterThanOrEqual(hz - 5);
  expect(r.dominantHz, `${who}: ${describeTone(r, hz)}`).toBeLessThanOrEqual(hz + 5);
}

/** SIP messages (sent and received) from a baresip trace whose start line matches `startLine`. */
function sipMessages(trace: string, startLine: RegExp): string[] {
  return trace.split(/\r?\n(?=[A-Z]+ sip:|SIP\/2\.0 \d{3})/).filter((m) => startLine.test(m.split(/\r?\n/)[0] ?? ''));
}

describe('real SIP phones on 127.0.0.1', () => {
  it.skipIf(baresipSkip !== undefined)(`baresip calls baresip directly with PCMU: tones both ways, a=ssrc in SDP, hangup ends both${skipNote(baresipSkip)}`, async () => {
    const a = track(new BaresipPhone());
    const b = track(new BaresipPhone());
    dumpOnFailure({ 'baresip A': a, 'baresip B': b });
    await Promise.all([
      a.start({ toneHz: A_HZ, codecs: ['PCMU'], autoAnswer: false }),
      b.start({ toneHz: B_HZ, codecs: ['PCMU'], autoAnswer: true }),
    ]);

    await a.dial(b.uri);
    const atCaller = await a.waitForEvent('CALL_ESTABLISHED', CALL_MS);
    const atCallee = await b.waitForEvent('CALL_ESTABLISHED', CALL_MS);
    expect(atCaller.peerUri).toBe(b.uri);
    expect(atCallee.peerUri).toContain('sip:phone@127.0.0.1');

    const atA = await heard(a, B_HZ);
    const atB = await heard(b, A_HZ);
    expectTone(atA, B_HZ, 'A hears B');
    expectTone(atB, A_HZ, 'B hears A');
    expect(atA.sampleRate).toBe(8000);

    // Offer restricted to PCMU (+ telephone-event), and baresip announces its SSRC.
    const invite = sipMessages(b.sipTrace(), /^INVITE /)[0] ?? '';
    expect(invite).toMatch(/^m=audio \d+ RTP\/AVP 0 101\r?$/m);
    expect(invite).toMatch(/^a=ssrc:\d+ cname:/m);

    await a.hangup();
    const closedA = await a.waitForEvent('CALL_CLOSED', CALL_MS);
    const closedB = await b.waitForEvent('CALL_CLOSED', CALL_MS);
    expect(closedA.type).toBe('CALL_CLOSED');
    expect(closedB.param ?? '').toMatch(/reset by peer|terminated|closed/i);
  });

  it.skipIf(baresipSkip !== undefined || kamailioSkip !== undefined)(`baresip → Kamailio (Record-Route) → baresip: Route set used in dialog, hold/resume, tones both ways${skipNote(baresipSkip, kamailioSkip)}`, async () => {
    const a = track(new BaresipPhone());
    const b = track(new BaresipPhone());
    await Promise.all([
      a.start({ toneHz: A_HZ, codecs: ['PCMU'], autoAnswer: false }),
      b.start({ toneHz: B_HZ, codecs: ['PCMU'], autoAnswer: true }),
    ]);
    const kam: KamailioInstance = track(await startKamailio({ transport: 'both', recordRoute: true, forwardTo: { host: '127.0.0.1', port: b.sipPort } }));
    dumpOnFailure({ 'baresip A': a, 'baresip B': b, kamailio: kam });
    expect(await sipOptionsPing(kam.port, 'udp')).toMatch(/^SIP\/2\.0 200/);

    await a.dial(`sip:phone@127.0.0.1:${kam.port}`);
    await a.waitForEvent('CALL_ESTABLISHED', CALL_MS);
    await b.waitForEvent('CALL_ESTABLISHED', CALL_MS);
    expectTone(await heard(a, B_HZ), B_HZ, 'A hears B via proxy');
    expectTone(await heard(b, A_HZ), A_HZ, 'B hears A via proxy');

    const rr = new RegExp(`^Record-Route: <sip:127\\.0\\.0\\.1:${kam.port};lr[^>]*>`, 'm');
    expect(sipMessages(b.sipTrace(), /^INVITE /)[0] ?? '').toMatch(rr);
    expect(sipMessages(a.sipTrace(), /^SIP\/2\.0 200/).find((m) => /CSeq: \d+ INVITE/.test(m)) ?? '').toMatch(rr);

    // In-dialog requests go via the proxy (Route header), not straight to B's Contact.
    const invitesAtProxy = (): number => (kam.logs().match(/rx INVITE /g) ?? []).length;
    expect(invitesAtProxy()).toBe(1);
    await a.hold();
    await waitFor('hold re-INVITE through Kamailio', () => invitesAtProxy() >= 2, { timeoutMs: CALL_MS });
    await a.resume();
    await waitFor('resume re-INVITE through Kamailio', () => invitesAtProxy() >= 3, { timeoutMs: CALL_MS });
    const reinvites = sipMessages(a.sipTrace(), /^INVITE /).slice(1);
    expect(reinvites[0]).toMatch(/^a=sendonly\r?$/m);
    expect(reinvites[1]).toMatch(/^a=sendrecv\r?$/m);
    for (const m of reinvites) expect(m).toMatch(new RegExp(`^Route: <sip:127\\.0\\.0\\.1:${kam.port};lr`, 'm'));

    await a.hangup();
    await a.waitForEvent('CALL_CLOSED', CALL_MS);
    await b.waitForEvent('CALL_CLOSED', CALL_MS);
    expect(kam.logs()).toMatch(/rx BYE sip:/);
  });

  it.skipIf(baresipSkip !== undefined || linphoneSkip !== undefined)(`linphonec calls baresip (auto-answer) with PCMU: tones both ways${skipNote(baresipSkip, linphoneSkip)}`, async () => {
    const lin = track(new LinphonePhone());
    const bare = track(new BaresipPhone());
    dumpOnFailure({ linphonec: lin, baresip: bare });
    await Promise.all([
      lin.start({ toneHz: A_HZ, codecs: ['PCMU'], autoAnswer: false }),
      bare.start({ toneHz: B_HZ, codecs: ['PCMU'], autoAnswer: true }),
    ]);

    await lin.dial(bare.uri);
    await lin.waitForEvent('CALL_ESTABLISHED', CALL_MS);
    await bare.waitForEvent('CALL_ESTABLISHED', CALL_MS);
    const atLin = await heard(lin, B_HZ);
    expectTone(atLin, B_HZ, 'linphonec hears baresip');
    expect(atLin.sampleRate).toBe(8000);
    expectTone(await heard(bare, A_HZ), A_HZ, 'baresip hears linphonec');

    const invite = sipMessages(bare.sipTrace(), /^INVITE /)[0] ?? '';
    expect(invite).toMatch(/^c=IN IP4 127\.0\.0\.1\r?$/m);
    expect(invite).toMatch(/^m=audio \d+ RTP\/AVP 0( \d+)*\r?$/m);

    await lin.hangup();
    await lin.waitForEvent('CALL_CLOSED', CALL_MS);
    await bare.waitForEvent('CALL_CLOSED', CALL_MS);
  });

  it.skipIf(baresipSkip !== undefined || linphoneSkip !== undefined)(`baresip calls linphonec, which answers by command and holds/resumes: tones both ways${skipNote(baresipSkip, linphoneSkip)}`, async () => {
    const bare = track(new BaresipPhone());
    const lin = track(new LinphonePhone());
    dumpOnFailure({ baresip: bare, linphonec: lin });
    await Promise.all([
      bare.start({ toneHz: A_HZ, codecs: ['PCMU'], autoAnswer: false }),
      lin.start({ toneHz: B_HZ, codecs: ['PCMU'], autoAnswer: false }),
    ]);

    await bare.dial(lin.uri);
    await lin.waitForEvent('CALL_INCOMING', CALL_MS);
    await bare.waitForEvent('CALL_RINGING', CALL_MS);
    await lin.answer();
    await bare.waitForEvent('CALL_ESTABLISHED', CALL_MS);
    await lin.waitForEvent('CALL_ESTABLISHED', CALL_MS);
    expectTone(await heard(bare, B_HZ), B_HZ, 'baresip hears linphonec');
    expectTone(await heard(lin, A_HZ), A_HZ, 'linphonec hears baresip');

    await lin.hold();
    await lin.waitForEvent('CALL_HOLD', CALL_MS);
    await lin.resume();
    await lin.waitForEvent('CALL_RESUMING', CALL_MS);
    const holdInvite = sipMessages(bare.sipTrace(), /^INVITE /)[1] ?? '';
    expect(holdInvite).toMatch(/^a=sendonly\r?$/m);

    await bare.hangup();
    await bare.waitForEvent('CALL_CLOSED', CALL_MS);
    const closed = await lin.waitForEvent('CALL_CLOSED', CALL_MS);
    expect(closed.param).toBeDefined();
  });
});
