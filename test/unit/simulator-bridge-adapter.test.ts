import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetaNumber, type MetaNumber } from '../../src/adapters/meta/meta-number.js';
import { numberSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/logging.js';
import { Metrics } from '../../src/metrics.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import { BridgeStub, DISPLAY, OFFER, PNID, startSim, TOKEN, type TestSim } from '../support/simulator-fixtures.js';

/**
 * Cross-check: the bridge's own Meta Graph adapter talks to the simulator (base_url pointed at it)
 * and reads its responses and error envelopes as it would Meta's.
 */

let stub: BridgeStub;
let t: TestSim;
let meta: MetaNumber;

beforeEach(async () => {
  stub = await BridgeStub.start();
  t = await startSim(stub, {
    users: [
      { match: '447700900001', ring_ms: 5, answer_after_ms: 5 },
      { match: '447700900002', permission: 'none', permission_reply: 'none' },
    ],
  });
  const config = numberSchema.parse({
    name: 'demo', phone_number_id: PNID, display_number: DISPLAY, access_token_env: 'UNUSED', base_url: t.url, graph_version: 'v24.0',
  });
  meta = createMetaNumber(config, TOKEN, { logger: createLogger('silent'), metrics: new Metrics(), retryDelayMs: 1 });
});
afterEach(async () => {
  await meta.close();
  await t.sim.close();
  await stub.close();
});

describe('the bridge\'s Meta adapter against the simulator', () => {
  it('connects and terminates a call', async () => {
    const { callId } = await meta.calls.connect({ to: '447700900001', sdpOffer: OFFER, trackingData: 'leg-9' });
    expect(callId).toMatch(/^wacid\./);
    await stub.waitFor(() => stub.summaries(callId).includes('status:ACCEPTED'));
    await meta.calls.terminate(callId);
    await stub.waitFor(() => stub.summaries(callId).includes('terminate:COMPLETED'));
    expect(t.sim.getCall(callId)).toMatchObject({ endedBy: 'business', bizOpaqueCallbackData: 'leg-9' });
  });

  it('surfaces Meta error codes and HTTP statuses as ProviderError', async () => {
    const err = await meta.calls.connect({ to: '447700900002', sdpOffer: OFFER }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe(138006);
    expect((err as ProviderError).httpStatus).toBe(401);
  });

  it('reads permissions, sends a permission request and round-trips settings', async () => {
    const perm = await meta.permissions.getCallPermission('447700900002');
    expect(perm.status).toBe('no_permission');
    expect(perm.actions.map((a) => a.name)).toEqual(['send_call_permission_request', 'start_call']);
    const { messageId } = await meta.permissions.sendPermissionRequest('447700900002', 'May we call?');
    expect(messageId).toMatch(/^wamid\./);
    await meta.settings.updateSettings({ status: 'ENABLED', sip: { status: 'ENABLED', servers: [{ hostname: 'sip.example.com' }] } });
    const settings = await meta.settings.getSettings({ includeSipCredentials: true });
    expect(settings).toMatchObject({ calling: { status: 'ENABLED', sip: { servers: [{ hostname: 'sip.example.com', sip_user_password: expect.any(String) }] } } });
  });
});
