import type { BusinessNumber, SimulatorRuntime } from './runtime.js';
import type { SimulatedUser } from './user-rules.js';
import type { DeliveryRecord } from './webhook-delivery.js';
import { permissionReplyPayload } from './webhook-payloads.js';

/**
 * The user's answer to a permission request, or an automatic grant/revoke, as a signed
 * `call_permission_reply` messages webhook (docs/whatsapp-calling.md#permission-replies). Updates the permission store first, so
 * a `GET call_permissions` made on receipt already sees the new state.
 */
export function sendPermissionReply(
  rt: SimulatorRuntime,
  number: BusinessNumber,
  user: SimulatedUser,
  reply: { response: 'accept' | 'reject'; source: 'user_action' | 'automatic'; contextId?: string; permanent?: boolean },
): DeliveryRecord {
  const pnid = number.identity.phoneNumberId;
  let expiresAt: number | undefined;
  if (reply.response === 'accept') {
    const granted = rt.permissions.grant(pnid, user, reply.permanent ?? false);
    expiresAt = granted.status === 'temporary' ? granted.expiresAt : undefined;
  } else {
    rt.permissions.revoke(pnid, user);
  }
  const payload = permissionReplyPayload(number.identity, {
    messageId: rt.ids.wamid(user.number || user.key),
    user,
    at: rt.clock(),
    response: reply.response,
    permanent: reply.permanent ?? false,
    source: reply.source,
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    ...(reply.contextId ? { contextId: reply.contextId } : {}),
  });
  return rt.webhooks.send(number.target, payload, { kind: 'permission_reply', summary: `permission_reply:${reply.response}` });
}
