import { describe, expect, it } from 'vitest';
import { NumberDirectory } from '../../src/calls/number-directory.js';
import { PbxAdmission } from '../../src/calls/pbx-admission.js';
import { PBX_INVITE_CHECKS, runInviteChecks, type InviteCheckDeps } from '../../src/calls/pbx-invite-checks.js';
import type { PbxInvite } from '../../src/calls/ports/sip.js';
import { numberSchema, trunkSchema } from '../../src/config/schema.js';
import { FakePbxUasLeg } from '../support/fakes/fake-pbx-uas-leg.js';
import { inviteFrom } from '../support/fakes/fake-pbx-invite.js';

const number = numberSchema.parse({ name: 'sales', phone_number_id: '1055', display_number: '15551112222', access_token_env: 'T', max_concurrent_calls: 1 });
const trunk = trunkSchema.parse({ name: 'pbx1', sources: ['127.0.0.1'], numbers: ['sales'], max_cps: 1 });

function deps(over: Partial<InviteCheckDeps> = {}, active = 0): InviteCheckDeps {
  return {
    admission: new PbxAdmission(new NumberDirectory([number]), () => active, () => 0),
    minSessionExpiresS: 90, takingCalls: () => true, mediaUp: async () => true, ...over,
  };
}

describe('PBX_INVITE_CHECKS: one ordered list', () => {
  it('is the documented order', () => {
    expect(PBX_INVITE_CHECKS.map((c) => c.name)).toEqual([
      'trunk', 'session interval', 'taking calls', 'overload', 'media engine', 'SDP present', 'SDP usable',
      'business number', 'dial plan', 'calls per second', 'concurrency',
    ]);
  });

  it('admits a good INVITE with what the checks found', async () => {
    const r = await runInviteChecks(inviteFrom(new FakePbxUasLeg({ to: '+447700900123' }), trunk), deps());
    expect(r).toMatchObject({ admitted: { trunk: { name: 'pbx1' }, number: { name: 'sales' }, callee: '447700900123', offer: { declined: [] } } });
  });

  it('stops at the first refusal: a draining watrunk answers 503 before asking the media engine', async () => {
    let asked = false;
    const r = await runInviteChecks(inviteFrom(new FakePbxUasLeg(), trunk), deps({ takingCalls: () => false, mediaUp: async () => { asked = true; return false; } }));
    expect(r).toMatchObject({ check: 'taking calls', refused: { status: 503, retryAfter: 5 } });
    expect(asked).toBe(false);
  });

  it('an unidentified trunk (the SIP adapter answered 401/403) ends the list with nothing more sent', async () => {
    const leg = new FakePbxUasLeg();
    const invite: PbxInvite = { leg, identifyTrunk: async () => undefined };
    expect(await runInviteChecks(invite, deps())).toEqual({ answeredBySip: true });
    expect(leg.responses).toEqual([]);
  });

  it('RFC 4028: Session-Expires below Min-SE is 422 with our Min-SE, unless the PBX cannot act on a 422', async () => {
    const leg = new FakePbxUasLeg();
    const r = await runInviteChecks(inviteFrom(leg, trunk, { seconds: 60, timerSupported: true }), deps());
    expect(r).toMatchObject({ check: 'session interval', refused: { status: 422, headers: { 'Min-SE': '90' } } });
    expect(await runInviteChecks(inviteFrom(leg, trunk, { seconds: 60, timerSupported: false }), deps())).toHaveProperty('admitted');
  });

  it.each([
    ['media engine', { mediaUp: async () => false }, undefined, 503],
    ['SDP present', {}, '', 488],
    ['SDP usable', {}, 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n', 488],
  ] as const)('%s refuses', async (check, over, sdp, status) => {
    const leg = new FakePbxUasLeg(sdp === undefined ? {} : { sdp });
    expect(await runInviteChecks(inviteFrom(leg, trunk), deps(over))).toMatchObject({ check, refused: { status } });
  });

  it('business number, dial plan, calls per second and concurrency refuse in that order', async () => {
    expect(await runInviteChecks(inviteFrom(new FakePbxUasLeg({ headers: { 'X-WA-Business-Number': 'other' } }), trunk), deps()))
      .toMatchObject({ check: 'business number', refused: { status: 403 } });
    expect(await runInviteChecks(inviteFrom(new FakePbxUasLeg({ to: '12' }), trunk), deps())).toMatchObject({ check: 'dial plan', refused: { status: 484 } });
    const d = deps();
    expect(await runInviteChecks(inviteFrom(new FakePbxUasLeg(), trunk), d)).toHaveProperty('admitted');
    expect(await runInviteChecks(inviteFrom(new FakePbxUasLeg(), trunk), d)).toMatchObject({ check: 'calls per second', refused: { status: 503 } });
    expect(await runInviteChecks(inviteFrom(new FakePbxUasLeg(), trunk), deps({}, 1))).toMatchObject({ check: 'concurrency', refused: { status: 503 } });
  });
});
