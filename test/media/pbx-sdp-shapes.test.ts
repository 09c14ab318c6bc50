/**
 * The SDP that real PBXs and phones send (test/fixtures/pbx-sdp: Asterisk, FreeSWITCH, 3CX, desk
 * phones, baresip, Linphone, and the odd shapes), each through the real call logic, a real
 * rtpengine and a libwebrtc WhatsApp user, in both call directions. Audio is proven both ways by
 * tone detection, and the SDP the WhatsApp user got must carry no stream identity (a=ssrc/msid)
 * of the PBX's: a libwebrtc receiver mutes a stream whose SSRC was not the one announced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realMediaSkipReason } from '../support/media/media-fixture.js';
import { fillFixture } from '../support/media/pbx-sdp-fixtures.js';
import {
  hearsBothWays, placeBic, placeUic, startShapeStack, streamIdentityLines, type ShapeStack,
} from '../support/media/pbx-shape-calls.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';
import { FakePbxUasLeg } from '../support/fakes/fake-pbx-uas-leg.js';
import { waitFor } from '../support/media/wait.js';
import { inviteFrom } from '../support/fakes/fake-pbx-invite.js';

const skip = await realMediaSkipReason();

/** fixture -> the codec the PBX ends up sending on a business-initiated call. */
const BIC_SHAPES: [string, string][] = [
  ['asterisk-pjsip', 'PCMU'],
  ['freeswitch-g722', 'G722'],
  ['freeswitch-opus', 'opus'],
  ['3cx', 'PCMA'],
  ['yealink', 'PCMU'],
  ['polycom', 'G722'],
  ['cisco-spa', 'PCMU'],
  ['ssrc-announcing', 'PCMU'],
  ['rtcp-mux-pcma-only', 'PCMA'],
  ['pcmu-only-no-dtmf-no-direction', 'PCMU'],
  ['telephone-event-pt96', 'PCMU'],
  ['video-phone', 'PCMU'],
  ['baresip', 'opus'],
  ['linphone', 'opus'],
];

/** fixtures whose answer style is used on user-initiated calls (watrunk offers PCMU, PCMA, telephone-event). */
const UIC_SHAPES: [string, string][] = [
  ['asterisk-pjsip', 'PCMU'],
  ['3cx', 'PCMA'],
  ['polycom', 'PCMU'],
  ['cisco-spa', 'PCMU'],
  ['ssrc-announcing', 'PCMU'],
  ['rtcp-mux-pcma-only', 'PCMA'],
  ['pcmu-only-no-dtmf-no-direction', 'PCMU'],
  ['baresip', 'PCMU'],
  ['linphone', 'PCMU'],
];

describe.skipIf(skip !== undefined)(`SDP of real PBXs and phones, real rtpengine and WebRTC user${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let s: ShapeStack;
  beforeAll(async () => { s = await startShapeStack(); });
  afterAll(async () => { await s?.stop(); });

  describe('PBX -> WhatsApp: the fixture is the PBX\'s offer', () => {
    it.each(BIC_SHAPES)('%s: tones both ways with %s, no foreign a=ssrc toward WhatsApp, nothing left after BYE', async (name, codec) => {
      const { pbx, leg, call, wa } = await placeBic(s, name);
      try {
        expect(pbx.sendCodec?.toLowerCase()).toBe(codec.toLowerCase());
        expect(streamIdentityLines(wa.sdpFromBusiness)).toEqual([]);
        const heard = await hearsBothWays(pbx, wa);
        expect(heard.atUser).toBeGreaterThan(0.8);
        expect(heard.atPbx).toBeGreaterThan(0.8);
        if (name === 'video-phone') {
          // RFC 3264 §6: the declined video stream comes back with port 0, in the offer's order.
          expect(leg.responses.find((r) => r.status === 200)!.sdp!.split(/\r?\n/).filter((l) => l.startsWith('m='))).toEqual([
            expect.stringMatching(/^m=audio [1-9]\d* RTP\/AVP /), 'm=video 0 RTP/AVP 99',
          ]);
        }
      } finally {
        leg.bye();
        await call.whenEnded();
        await pbx.close();
      }
      expect(s.fx.media.openSessions()).toEqual([]);
    });

    it.each([
      ['webrtc-endpoint', /UDP\/TLS\/RTP\/SAVPF.*RTP\/AVP/],
      ['sdes-srtp', /RTP\/SAVP/],
      ['pcmu-16k-oddity', /no audio codec.*PCMU\/16000/],
    ])('%s is refused with 488 and a Warning that says why; Meta is never asked', async (name, warning) => {
      const pbx = await RtpEndpoint.create();
      const leg = new FakePbxUasLeg({ to: '+447700900123', sdp: fillFixture(name, { address: pbx.address, port: pbx.port }) });
      const connectsBefore = s.stack.sim.listCalls().length;
      const call = await s.stack.bridge.pbxCalls!.handleInvite(inviteFrom(leg, s.stack.trunk));
      expect(call).toBeUndefined(); // refused by the INVITE checks: no call object, no media session
      expect(leg.final?.status).toBe(488);
      expect(leg.final?.headers['Warning']).toMatch(warning);
      expect(s.stack.sim.listCalls().length).toBe(connectsBefore);
      expect(s.fx.media.openSessions()).toEqual([]);
      await pbx.close();
    });
  });

  describe('WhatsApp -> PBX: the PBX answers in the fixture\'s style', () => {
    it.each(UIC_SHAPES)('%s: tones both ways with %s, no foreign a=ssrc in the answer to WhatsApp', async (name, codec) => {
      const { pbx, leg, callId, wa } = await placeUic(s, name);
      try {
        expect(pbx.sendCodec?.toLowerCase()).toBe(codec.toLowerCase());
        expect(streamIdentityLines(wa.sdpFromBusiness)).toEqual([]);
        const heard = await hearsBothWays(pbx, wa);
        expect(heard.atUser).toBeGreaterThan(0.8);
        expect(heard.atPbx).toBeGreaterThan(0.8);
      } finally {
        leg.bye();
        await waitFor('terminate', () => s.stack.sim.getCall(callId)?.state === 'ended', { timeoutMs: 5_000 });
        await pbx.close();
      }
      await waitFor('media released', () => s.fx.media.openSessions().length === 0, { timeoutMs: 2_000 });
    });
  });
});
