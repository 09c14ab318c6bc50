import { afterEach, describe, expect, it } from 'vitest';
import { MetaPermissions } from '../../src/adapters/meta/meta-permissions.js';
import { isBsuid } from '../../src/adapters/meta/meta-recipient.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import { graphError, rejectionOf, startHarness, type Harness } from '../support/meta-graph-stub.js';

let h: Harness;
afterEach(async () => { await h?.close(); });

async function start(): Promise<MetaPermissions> {
  h = await startHarness();
  return new MetaPermissions(h.graph, h.target);
}

const BSUID = 'US.13491208655302741918';

// Meta's call_permissions sample (docs/whatsapp-calling.md#permissions).
const SAMPLE = {
  messaging_product: 'whatsapp',
  permission: { status: 'temporary', expiration_time: 1767772800 },
  actions: [
    {
      action_name: 'send_call_permission_request', can_perform_action: true,
      limits: [
        { time_period: 'PT24H', max_allowed: 1, current_usage: 0 },
        { time_period: 'P7D', max_allowed: 2, current_usage: 1 },
      ],
    },
    {
      action_name: 'start_call', can_perform_action: false,
      limits: [{ time_period: 'PT24H', max_allowed: 100, current_usage: 100, limit_expiration_time: 1767200000 }],
    },
  ],
};

describe('GET call_permissions', () => {
  it('asks by user_wa_id for a phone number (digits only)', async () => {
    const perms = await start();
    h.stub.reply({ body: SAMPLE });
    await perms.getCallPermission('+44 7700 900123');
    const req = h.stub.requests[0]!;
    expect(req.method).toBe('GET');
    expect(req.path).toBe('/v24.0/123456789012345/call_permissions');
    expect([...req.query.entries()]).toEqual([['user_wa_id', '447700900123']]);
  });

  it('asks by recipient for a BSUID', async () => {
    const perms = await start();
    h.stub.reply({ body: SAMPLE });
    await perms.getCallPermission(BSUID);
    expect([...h.stub.requests[0]!.query.entries()]).toEqual([['recipient', BSUID]]);
  });

  it('maps status, expiry, actions and limits', async () => {
    const perms = await start();
    h.stub.reply({ body: SAMPLE });
    expect(await perms.getCallPermission('447700900123')).toStrictEqual({
      status: 'temporary',
      expiresAt: 1767772800,
      actions: [
        {
          name: 'send_call_permission_request', canPerform: true,
          limits: [
            { timePeriod: 'PT24H', maxAllowed: 1, currentUsage: 0 },
            { timePeriod: 'P7D', maxAllowed: 2, currentUsage: 1 },
          ],
        },
        {
          name: 'start_call', canPerform: false,
          limits: [{ timePeriod: 'PT24H', maxAllowed: 100, currentUsage: 100, limitExpiresAt: 1767200000 }],
        },
      ],
    });
  });

  // Doc conflict (docs/whatsapp-calling.md#doc-conflicts): expiration_time (sample) vs expiration (table); numbers or strings.
  it.each([
    ['expiration_time as a number', { expiration_time: 1767772800 }],
    ['expiration_time as a string', { expiration_time: '1767772800' }],
    ['expiration as a number', { expiration: 1767772800 }],
    ['expiration as a string', { expiration: '1767772800' }],
  ])('reads the expiry from %s', async (_name, expiry) => {
    const perms = await start();
    h.stub.reply({ body: { permission: { status: 'temporary', ...expiry } } });
    const p = await perms.getCallPermission('447700900123');
    expect(p.expiresAt).toBe(1767772800);
    expect(p.actions).toEqual([]);
  });

  it('has no expiry for a permanent permission and keeps unknown statuses', async () => {
    const perms = await start();
    h.stub.reply({ body: { permission: { status: 'permanent' } } }, { body: { permission: { status: 'some_new_status' } } });
    const permanent = await perms.getCallPermission('447700900123');
    expect(permanent).toStrictEqual({ status: 'permanent', actions: [] });
    expect((await perms.getCallPermission('447700900123')).status).toBe('some_new_status');
  });

  it('accepts numeric strings in limits', async () => {
    const perms = await start();
    h.stub.reply({ body: { permission: { status: 'no_permission' }, actions: [
      { action_name: 'start_call', can_perform_action: 'false', limits: [{ time_period: 'PT24H', max_allowed: '100', current_usage: '3' }] },
    ] } });
    const p = await perms.getCallPermission('447700900123');
    expect(p.actions[0]).toStrictEqual({ name: 'start_call', canPerform: false, limits: [{ timePeriod: 'PT24H', maxAllowed: 100, currentUsage: 3 }] });
  });

  it('a 2xx without permission is a protocol error', async () => {
    const perms = await start();
    h.stub.reply({ body: { messaging_product: 'whatsapp', actions: [] } });
    const err = await rejectionOf(perms.getCallPermission('447700900123')) as ProviderError;
    expect(err.kind).toBe('protocol');
    expect(err.message).toContain('permission');
  });
});

describe('sendPermissionRequest', () => {
  it('POSTs the interactive call_permission_request with body text and returns the wamid', async () => {
    const perms = await start();
    h.stub.reply({ body: { messaging_product: 'whatsapp', contacts: [{ input: '447700900123', wa_id: '447700900123' }], messages: [{ id: 'wamid.HBgL' }] } });
    const res = await perms.sendPermissionRequest('447700900123', 'Can we call you about order 123?');
    expect(res).toEqual({ messageId: 'wamid.HBgL' });
    const req = h.stub.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v24.0/123456789012345/messages');
    expect(req.body).toStrictEqual({
      messaging_product: 'whatsapp', recipient_type: 'individual', to: '447700900123', type: 'interactive',
      interactive: {
        type: 'call_permission_request', action: { name: 'call_permission_request' },
        body: { text: 'Can we call you about order 123?' },
      },
    });
  });

  it('omits body without text and uses recipient for a BSUID', async () => {
    const perms = await start();
    h.stub.reply({ body: { messages: [{ id: 'wamid.A' }] } });
    await perms.sendPermissionRequest(BSUID);
    expect(h.stub.requests[0]!.body).toStrictEqual({
      messaging_product: 'whatsapp', recipient_type: 'individual', recipient: BSUID, type: 'interactive',
      interactive: { type: 'call_permission_request', action: { name: 'call_permission_request' } },
    });
  });

  it('a 2xx without messages[0].id is a protocol error; 138009 is typed', async () => {
    const perms = await start();
    h.stub.reply({ body: { messages: [] } }, { status: 400, body: graphError(138009, 'Permission request limit reached') });
    expect((await rejectionOf(perms.sendPermissionRequest('447700900123')) as ProviderError).kind).toBe('protocol');
    const limited = await rejectionOf(perms.sendPermissionRequest('447700900123')) as ProviderError;
    expect(limited.toLog()).toMatchObject({ kind: 'api', code: 138009, httpStatus: 400, operation: 'send_permission_request' });
  });
});

describe('isBsuid', () => {
  it('tells BSUIDs from phone numbers', () => {
    expect(isBsuid(BSUID)).toBe(true);
    expect(isBsuid('AbC123')).toBe(true);
    expect(isBsuid('447700900123')).toBe(false);
    expect(isBsuid('+44 7700 900123')).toBe(false);
  });
});
