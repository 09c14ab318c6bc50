import { asNonEmptyString, asRecord } from '../meta/coerce.js';
import { MetaBodyCalls } from '../meta/meta-calls.js';
import type { D360Client } from './d360-client.js';
import { D360_PATHS, type D360Target } from './d360-types.js';

/**
 * The new call's id. 360dialog relays Meta's answer, {"messaging_product":"whatsapp","calls":[{"id":"wacid..."}]};
 * its public schema only promises {messaging_product, success}, so a flat call_id or id is accepted too.
 */
export function parseD360ConnectResponse(doc: unknown): { callId: string } {
  const body = asRecord(doc);
  if (!body) throw new Error('body: not a JSON object');
  const calls = body['calls'];
  const first = Array.isArray(calls) ? asRecord(calls[0]) : undefined;
  const callId = asNonEmptyString(first?.['id']) ?? asNonEmptyString(body['call_id']) ?? asNonEmptyString(body['id']);
  if (!callId) throw new Error('calls[0].id: missing (no call id in the connect answer)');
  return { callId };
}

/**
 * Call signalling over 360dialog's POST /calling/calls with Meta's body, unchanged
 * (https://docs.360dialog.com/docs/waba-messaging/making-and-receiving-calls/inbound-calls/how-to-handle-inbound-calls).
 * The public endpoint description lists pre_accept, accept, reject and connect; `terminate` is not
 * listed, but 360dialog passes Meta's body through, so it is sent the same way (unverified:
 * docs/providers.md#360dialog). Retries follow Meta's policy: connect is never retried.
 */
export class D360Calls extends MetaBodyCalls {
  constructor(client: D360Client, target: D360Target) {
    super(
      (operation, body, parse) => client.send(target, { operation, method: 'POST', path: D360_PATHS.calls, body, parse }),
      parseD360ConnectResponse,
    );
  }
}
